"""Ticket triage, run in-process: each ticket reaches exactly one desk."""

import pytest

from workflows.triage import Ticket, TriageDecision, build_triage_workflow


async def triage(ticket: Ticket) -> TriageDecision:
    outputs = (await build_triage_workflow().run(ticket)).get_outputs()
    assert len(outputs) == 1
    decision: TriageDecision = outputs[0]
    return decision


@pytest.mark.parametrize(
    ("subject", "body", "queue"),
    [
        ("Refund please", "I was charged twice", "billing"),
        ("App crash", "It shows an error on login", "technical"),
        ("Hello", "Do you ship to Norway?", "general"),
    ],
)
async def test_ticket_is_routed_to_the_desk_for_its_category(
    subject: str, body: str, queue: str
) -> None:
    decision = await triage(Ticket(subject=subject, body=body))

    assert (decision.category, decision.queue) == (queue, queue)


async def test_premium_customers_get_high_priority() -> None:
    decision = await triage(
        Ticket(subject="Question", body="How do I export data?", customer_tier="premium")
    )

    assert decision.priority == "high"


async def test_urgent_tickets_get_high_priority() -> None:
    decision = await triage(Ticket(subject="URGENT", body="Our invoice is wrong"))

    assert (decision.queue, decision.priority) == ("billing", "high")


async def test_ordinary_tickets_get_normal_priority() -> None:
    decision = await triage(Ticket(subject="Question", body="How do I export data?"))

    assert decision.priority == "normal"
