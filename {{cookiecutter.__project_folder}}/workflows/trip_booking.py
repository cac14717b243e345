"""Trip booking: an outer workflow prices a trip, then embeds a fare check sub-workflow.

The fare check runs as a child orchestration and asks a human to confirm the fare. Its
request surfaces on the outer instance with a qualified id (``fare_check~0~<id>``) and is
answered there, so callers only ever talk to the trip they started. An answer that is not
``{"confirm": true|false, "note": "..."}`` is refused and the question asked again.
"""

from dataclasses import asdict, dataclass
from typing import Annotated, Any

from agent_framework import (
    Executor,
    Workflow,
    WorkflowBuilder,
    WorkflowContext,
    WorkflowExecutor,
    executor,
    handler,
    response_handler,
)
from pydantic import Field

from workflows.catalog import DeclaredWorkflow, Example, RejectedStart, SubWorkflow
from workflows.human_input import ask, read_answer
from workflows.messages import InboundMessage, NonEmptyText, parse_start_message

WORKFLOW_NAME = "{{ cookiecutter.composition_workflow }}"
FARE_CHECK_WORKFLOW_NAME = "{{ cookiecutter.composition_workflow }}_fare_check"

NIGHTLY_RATES = {"lisbon": 140.0, "tokyo": 210.0, "nairobi": 120.0}
DEFAULT_NIGHTLY_RATE = 160.0
FARES = {"lisbon": 180.0, "tokyo": 950.0, "nairobi": 640.0}
DEFAULT_FARE = 500.0


class TripRequest(InboundMessage):
    traveller: NonEmptyText
    destination: NonEmptyText
    nights: Annotated[int, Field(ge=1)]
    budget: Annotated[float, Field(gt=0)]


class FareAnswer(InboundMessage):
    confirm: bool
    note: str = ""


@dataclass
class FareQuote:
    traveller: str
    destination: str
    fare: float
    hotel_total: float
    budget: float


@dataclass
class FareConfirmation:
    quote: FareQuote
    confirmed: bool
    note: str


@dataclass
class Booking:
    traveller: str
    destination: str
    status: str
    total_cost: float
    note: str


def price_trip(request: TripRequest) -> FareQuote:
    destination = request.destination.strip().lower()
    nightly = NIGHTLY_RATES.get(destination, DEFAULT_NIGHTLY_RATE)
    fare = FARES.get(destination, DEFAULT_FARE)
    return FareQuote(request.traveller, destination, fare, nightly * request.nights, request.budget)


def fare_question(quote: FareQuote) -> dict[str, Any]:
    total = quote.fare + quote.hotel_total
    return {
        "question": f"Hold the {quote.destination} fare of {quote.fare:.2f} for {quote.traveller}?",
        "quote": asdict(quote),
        "trip_total": total,
        "over_budget": total > quote.budget,
    }


class FareHold(Executor):
    """Holds a fare only after a human confirms it."""

    def __init__(self) -> None:
        super().__init__(id="fare_hold")

    @handler
    async def ask_traveller(self, quote: FareQuote, ctx: WorkflowContext) -> None:
        await ask(ctx, fare_question(quote), FareAnswer)

    @response_handler
    async def on_answer(
        self,
        request: dict[str, Any],
        answer: object,
        ctx: WorkflowContext[None, FareConfirmation],
    ) -> None:
        decision = await read_answer(ctx, request, answer, FareAnswer)
        if decision is None:
            return
        quote = FareQuote(**request["quote"])
        await ctx.yield_output(FareConfirmation(quote, decision.confirm, decision.note))


def booking_from(confirmation: FareConfirmation) -> Booking:
    quote = confirmation.quote
    status = "booked" if confirmation.confirmed else "cancelled"
    total = quote.fare + quote.hotel_total if confirmation.confirmed else 0.0
    return Booking(quote.traveller, quote.destination, status, total, confirmation.note)


async def plan_trip(body: object, ctx: WorkflowContext[FareQuote]) -> None:
    await ctx.send_message(price_trip(parse_start_message(TripRequest, body)))


async def finalize_booking(
    confirmation: FareConfirmation, ctx: WorkflowContext[None, Booking]
) -> None:
    await ctx.yield_output(booking_from(confirmation))


def build_fare_check_workflow() -> Workflow:
    return WorkflowBuilder(name=FARE_CHECK_WORKFLOW_NAME, start_executor=FareHold()).build()


def build_trip_booking_workflow() -> Workflow:
    planner = executor(id="plan_trip")(plan_trip)
    fare_check = WorkflowExecutor(
        build_fare_check_workflow(), id="fare_check", propagate_request=True
    )
    finalizer = executor(id="finalize_booking")(finalize_booking)
    return (
        WorkflowBuilder(name=WORKFLOW_NAME, start_executor=planner)
        .add_chain([planner, fare_check, finalizer])
        .build()
    )


WORKFLOW = DeclaredWorkflow(
    name=WORKFLOW_NAME,
    build=build_trip_booking_workflow,
    activities=("plan_trip", "finalize_booking"),
    sub_workflows=(SubWorkflow(FARE_CHECK_WORKFLOW_NAME, activities=("fare_hold",)),),
    examples=(
        Example(
            "trip-fare-is-confirmed-on-the-outer-instance",
            {"traveller": "ana", "destination": "Lisbon", "nights": 3, "budget": 1000},
            {"status": "booked", "destination": "lisbon", "total_cost": 600.0, "note": "aisle"},
            answers=({"confirm": True, "note": "aisle"},),
            request_prefix="fare_check~0~",
            expected_request={"trip_total": 600.0, "over_budget": False},
        ),
    ),
    rejected_starts=(
        RejectedStart(
            "trip-with-nights-in-words",
            {"traveller": "ana", "destination": "Lisbon", "nights": "three", "budget": 1000},
            ('nights: Input should be a valid integer, got "three"',),
        ),
        RejectedStart(
            "trip-missing-its-budget",
            {"traveller": "ana", "destination": "Lisbon", "nights": 0},
            ("nights: Input should be greater than or equal to 1, got 0", "budget is missing"),
        ),
    ),
)
