"""Trip booking, run in-process: the fare check sub-workflow's question reaches the top."""

from typing import Any

from agent_framework import Workflow

from workflows.trip_booking import Booking, TripRequest, build_trip_booking_workflow

LISBON = TripRequest(traveller="ana", destination="Lisbon", nights=3, budget=1000)


async def ask_fare(workflow: Workflow, trip: TripRequest) -> tuple[str, dict[str, Any]]:
    (request,) = (await workflow.run(trip)).get_request_info_events()
    return request.request_id, request.data


async def test_fare_question_surfaces_from_the_sub_workflow() -> None:
    _, question = await ask_fare(build_trip_booking_workflow(), LISBON)

    assert question["question"] == "Hold the lisbon fare of 180.00 for ana?"
    assert (question["trip_total"], question["over_budget"]) == (600.0, False)


async def test_trips_over_budget_are_flagged_in_the_question() -> None:
    tokyo = TripRequest(traveller="bo", destination="Tokyo", nights=5, budget=900)

    _, question = await ask_fare(build_trip_booking_workflow(), tokyo)

    assert question["over_budget"] is True


async def test_confirmed_fare_books_the_trip() -> None:
    workflow = build_trip_booking_workflow()
    request_id, _ = await ask_fare(workflow, LISBON)

    result = await workflow.run(responses={request_id: {"confirm": True, "note": "aisle"}})

    assert result.get_outputs() == [Booking("ana", "lisbon", "booked", 600.0, "aisle")]


async def test_declined_fare_cancels_the_trip_at_no_cost() -> None:
    workflow = build_trip_booking_workflow()
    request_id, _ = await ask_fare(workflow, LISBON)

    result = await workflow.run(responses={request_id: {"confirm": False}})

    assert result.get_outputs() == [Booking("ana", "lisbon", "cancelled", 0.0, "")]


async def test_an_invalid_nested_answer_books_nothing_and_asks_again() -> None:
    workflow = build_trip_booking_workflow()
    request_id, _ = await ask_fare(workflow, LISBON)

    result = await workflow.run(responses={request_id: {"confirm": "yes"}})

    assert result.get_outputs() == []
    (again,) = result.get_request_info_events()
    assert 'confirm: Input should be a valid boolean, got "yes"' in again.data["problem"]
    booked = await workflow.run(responses={again.request_id: {"confirm": True}})
    assert booked.get_outputs() == [Booking("ana", "lisbon", "booked", 600.0, "")]
