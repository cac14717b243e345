"""Supplier quotes: fan a purchase request out to three suppliers in parallel, then pick one."""

from dataclasses import dataclass
from typing import Annotated

from agent_framework import FunctionExecutor, Workflow, WorkflowBuilder, WorkflowContext, executor
from pydantic import Field

from workflows.catalog import DeclaredWorkflow, Example, RejectedStart
from workflows.messages import InboundMessage, NonEmptyText, parse_start_message

WORKFLOW_NAME = "{{ cookiecutter.fanout_workflow }}"


class PurchaseRequest(InboundMessage):
    item: NonEmptyText
    quantity: Annotated[int, Field(ge=1)]
    needed_within_days: Annotated[int, Field(ge=0)] = 14


@dataclass
class Quote:
    supplier: str
    unit_price: float
    total_price: float
    delivery_days: int


@dataclass
class QuoteDecision:
    item: str
    quantity: int
    chosen: Quote | None
    quotes: list[Quote]
    reason: str


@dataclass(frozen=True)
class SupplierTerms:
    name: str
    unit_price: float
    bulk_discount: float
    delivery_days: int


SUPPLIERS = (
    SupplierTerms("northwind", unit_price=12.0, bulk_discount=0.10, delivery_days=10),
    SupplierTerms("contoso", unit_price=11.0, bulk_discount=0.0, delivery_days=21),
    SupplierTerms("fabrikam", unit_price=13.5, bulk_discount=0.20, delivery_days=5),
)
BULK_QUANTITY = 100


def quote(terms: SupplierTerms, request: PurchaseRequest) -> Quote:
    discount = terms.bulk_discount if request.quantity >= BULK_QUANTITY else 0.0
    unit_price = round(terms.unit_price * (1 - discount), 2)
    return Quote(
        terms.name, unit_price, round(unit_price * request.quantity, 2), terms.delivery_days
    )


def choose(request: PurchaseRequest, quotes: list[Quote]) -> QuoteDecision:
    in_time = [q for q in quotes if q.delivery_days <= request.needed_within_days]
    if not in_time:
        reason = f"no supplier delivers within {request.needed_within_days} days"
        return QuoteDecision(request.item, request.quantity, None, quotes, reason)
    best = min(in_time, key=lambda q: (q.total_price, q.delivery_days))
    reason = (
        f"cheapest of {len(in_time)} quotes delivering within {request.needed_within_days} days"
    )
    return QuoteDecision(request.item, request.quantity, best, quotes, reason)


@dataclass
class QuoteReply:
    request: PurchaseRequest
    quote: Quote


async def broadcast_request(body: object, ctx: WorkflowContext[PurchaseRequest]) -> None:
    await ctx.send_message(parse_start_message(PurchaseRequest, body))


def supplier(terms: SupplierTerms) -> FunctionExecutor:
    async def reply(request: PurchaseRequest, ctx: WorkflowContext[QuoteReply]) -> None:
        await ctx.send_message(QuoteReply(request, quote(terms, request)))

    return executor(id=f"supplier_{terms.name}")(reply)


async def choose_quote(
    replies: list[QuoteReply], ctx: WorkflowContext[None, QuoteDecision]
) -> None:
    await ctx.yield_output(choose(replies[0].request, [reply.quote for reply in replies]))


def build_quotes_workflow() -> Workflow:
    dispatcher = executor(id="broadcast_request")(broadcast_request)
    suppliers = [supplier(terms) for terms in SUPPLIERS]
    chooser = executor(id="choose_quote")(choose_quote)
    return (
        WorkflowBuilder(name=WORKFLOW_NAME, start_executor=dispatcher)
        .add_fan_out_edges(dispatcher, suppliers)
        .add_fan_in_edges(suppliers, chooser)
        .build()
    )


WORKFLOW = DeclaredWorkflow(
    name=WORKFLOW_NAME,
    build=build_quotes_workflow,
    activities=(
        "broadcast_request",
        "supplier_northwind",
        "supplier_contoso",
        "supplier_fabrikam",
        "choose_quote",
    ),
    examples=(
        Example(
            "cheapest-timely-quote-wins",
            {"item": "desk lamp", "quantity": 150, "needed_within_days": 14},
            {
                "item": "desk lamp",
                "chosen": {
                    "supplier": "fabrikam",
                    "unit_price": 10.8,
                    "total_price": 1620.0,
                    "delivery_days": 5,
                },
            },
        ),
        Example(
            "no-quote-when-nobody-delivers-in-time",
            {"item": "desk lamp", "quantity": 10, "needed_within_days": 2},
            {"chosen": None, "reason": "no supplier delivers within 2 days"},
        ),
    ),
    rejected_starts=(
        RejectedStart(
            "purchase-with-a-list-item-and-a-fractional-quantity",
            {"item": ["lamp"], "quantity": 2.5},
            (
                'item: Input should be a valid string, got ["lamp"]',
                "quantity: Input should be a valid integer, got 2.5",
            ),
        ),
        RejectedStart("purchase-that-is-a-number", 42, ("must be a JSON object, got 42",)),
    ),
)
