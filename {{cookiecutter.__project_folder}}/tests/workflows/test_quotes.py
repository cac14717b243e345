"""Supplier quotes, run in-process: every supplier answers, the best timely quote wins."""

from workflows.quotes import PurchaseRequest, QuoteDecision, build_quotes_workflow


async def decide(request: PurchaseRequest) -> QuoteDecision:
    outputs = (await build_quotes_workflow().run(request)).get_outputs()
    assert len(outputs) == 1
    decision: QuoteDecision = outputs[0]
    return decision


async def test_every_supplier_is_asked_in_parallel() -> None:
    decision = await decide(PurchaseRequest(item="chair", quantity=10, needed_within_days=30))

    assert sorted(q.supplier for q in decision.quotes) == ["contoso", "fabrikam", "northwind"]


async def test_cheapest_quote_within_the_deadline_wins() -> None:
    decision = await decide(PurchaseRequest(item="chair", quantity=10, needed_within_days=30))

    assert decision.chosen is not None
    assert (decision.chosen.supplier, decision.chosen.total_price) == ("contoso", 110.0)


async def test_bulk_orders_get_discounted_prices() -> None:
    decision = await decide(PurchaseRequest(item="chair", quantity=100, needed_within_days=30))

    assert decision.chosen is not None
    assert (decision.chosen.supplier, decision.chosen.unit_price) == ("fabrikam", 10.8)


async def test_slow_suppliers_are_skipped_when_the_deadline_is_short() -> None:
    decision = await decide(PurchaseRequest(item="chair", quantity=10, needed_within_days=7))

    assert decision.chosen is not None
    assert decision.chosen.supplier == "fabrikam"


async def test_no_quote_is_chosen_when_nobody_delivers_in_time() -> None:
    decision = await decide(PurchaseRequest(item="chair", quantity=10, needed_within_days=1))

    assert decision.chosen is None
    assert decision.reason == "no supplier delivers within 1 days"
