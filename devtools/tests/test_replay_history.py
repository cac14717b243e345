"""devhost keeps each running instance's translated history between replays.

Every work item carries the instance's whole history. Translating it into the engine's
events afresh on each replay makes a loop of K steps cost O(K^2) translations; devhost keeps
what earlier replays translated and translates only the rest. These tests drive the real
Durable Functions engine with work items shaped as the in-memory backend builds them and
check that the kept history gives the engine exactly what the whole history gives it.
"""

from __future__ import annotations

import json
from collections.abc import Generator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from azure.durable_functions import DurableOrchestrationContext, Orchestrator
from google.protobuf import timestamp_pb2, wrappers_pb2

from devhost import orchestrations
from devhost.orchestrations import (
    HistoryTranslator,
    OrchestrationOutcome,
    OrchestrationTranslator,
    run_orchestrator,
)
from devhost.upstream import OrchestratorHandle, pb

STEPS = 12
START = datetime(2026, 12, 7, 21, 0, tzinfo=UTC)


def counting(context: DurableOrchestrationContext) -> Generator[Any, Any, int]:
    """Adds one per activity call, STEPS times, and notes what each replay sees."""
    total: int = context.get_input()
    for _ in range(STEPS):
        total = yield context.call_activity("add_one", total)
    return total


def observing(seen: list[dict[str, Any]]) -> OrchestratorHandle:
    def orchestrator(context: DurableOrchestrationContext) -> Generator[Any, Any, int]:
        seen.append(
            {
                "instance": context.instance_id,
                "parent": context.parent_instance_id,
                "input": context.get_input(),
                "now": context.current_utc_datetime,
                "replaying": context.is_replaying,
                "events": [
                    {**vars(event), "_timestamp": event.timestamp} for event in context.histories
                ],
            }
        )
        return (yield from counting(context))

    handle: OrchestratorHandle = Orchestrator.create(orchestrator)  # type: ignore[assignment]
    return handle


def stamp(seconds: float) -> timestamp_pb2.Timestamp:
    moment = timestamp_pb2.Timestamp()
    moment.FromDatetime(START + timedelta(seconds=seconds))
    return moment


class Backend:
    """Work items for one instance, shaped as durabletask's in-memory backend builds them."""

    def __init__(self, instance_id: str, first_input: int, offset: float = 0.0) -> None:
        self.instance_id = instance_id
        self.clock = offset
        self.history: list[pb.HistoryEvent] = []
        self.new: list[pb.HistoryEvent] = [
            self.started(),
            pb.HistoryEvent(
                eventId=-1,
                timestamp=stamp(self.clock),
                executionStarted=pb.ExecutionStartedEvent(
                    name="counting",
                    input=wrappers_pb2.StringValue(value=json.dumps(first_input)),
                ),
            ),
        ]

    def started(self) -> pb.HistoryEvent:
        self.clock += 1
        return pb.HistoryEvent(
            eventId=-1,
            timestamp=stamp(self.clock),
            orchestratorStarted=pb.OrchestratorStartedEvent(),
        )

    def work_item(self) -> pb.OrchestratorRequest:
        return pb.OrchestratorRequest(
            instanceId=self.instance_id, pastEvents=self.history, newEvents=self.new
        )

    def complete(self, outcome: OrchestrationOutcome) -> None:
        """Store the work item's events and its scheduled tasks; answer each task."""
        self.history += self.new
        self.new = []
        for action in outcome.actions:
            if action.HasField("scheduleTask"):
                scheduled = pb.HistoryEvent(
                    eventId=action.id,
                    timestamp=stamp(self.clock),
                    taskScheduled=pb.TaskScheduledEvent(name=action.scheduleTask.name),
                )
                self.history.append(scheduled)
                value = json.loads(action.scheduleTask.input.value) + 1
                self.new = [
                    self.started(),
                    pb.HistoryEvent(
                        eventId=-1,
                        timestamp=stamp(self.clock),
                        taskCompleted=pb.TaskCompletedEvent(
                            taskScheduledId=action.id,
                            result=wrappers_pb2.StringValue(value=json.dumps(value)),
                        ),
                    ),
                ]
        self.history.append(
            pb.HistoryEvent(
                eventId=-1,
                timestamp=stamp(self.clock),
                orchestratorCompleted=pb.OrchestratorCompletedEvent(),
            )
        )


def drive(backend: Backend, replay: Any) -> Iterator[OrchestrationOutcome]:
    """Work items until the instance finishes; a run needing more than the steps fails."""
    for _ in range(STEPS + 1):
        outcome: OrchestrationOutcome = replay(backend.work_item())
        yield outcome
        if outcome.status != "Running":
            return
        backend.complete(outcome)
    raise AssertionError(f"the instance was still running after {STEPS + 1} work items")


def test_replays_on_the_kept_history_see_what_replays_of_the_whole_history_see() -> None:
    whole_seen: list[dict[str, Any]] = []
    whole = observing(whole_seen)
    whole_outcomes = list(
        drive(Backend("loop", 5), lambda request: run_orchestrator(whole, request))
    )
    kept_seen: list[dict[str, Any]] = []
    kept = observing(kept_seen)
    translator = OrchestrationTranslator()
    kept_outcomes = list(drive(Backend("loop", 5), lambda request: translator.run(kept, request)))

    assert len(kept_outcomes) == STEPS + 1
    assert kept_outcomes == whole_outcomes
    assert kept_outcomes[-1].status == "Completed"
    assert kept_seen == whole_seen
    assert len(kept_seen[-1]["events"]) > 3 * STEPS


def test_each_event_of_a_long_history_is_translated_at_most_twice(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    translated = 0
    translate = HistoryTranslator.translate

    def count(self: HistoryTranslator, event: pb.HistoryEvent, is_played: bool) -> Any:
        nonlocal translated
        translated += 1
        return translate(self, event, is_played)

    monkeypatch.setattr(orchestrations.HistoryTranslator, "translate", count)
    handle: OrchestratorHandle = Orchestrator.create(counting)  # type: ignore[assignment]
    translator = OrchestrationTranslator()
    backend = Backend("loop", 0)

    outcomes = list(drive(backend, lambda request: translator.run(handle, request)))

    assert outcomes[-1].status == "Completed"
    events = len(backend.history) + len(backend.new)
    assert translated <= 2 * events


def test_a_history_that_does_not_continue_the_kept_one_is_translated_afresh() -> None:
    handle: OrchestratorHandle = Orchestrator.create(counting)  # type: ignore[assignment]
    translator = OrchestrationTranslator()
    first = Backend("same-id", 0)
    for _ in range(3):
        first.complete(translator.run(handle, first.work_item()))
    second = Backend("same-id", 100, offset=1000.0)

    outcomes = list(drive(second, lambda request: translator.run(handle, request)))

    completion = outcomes[-1].actions[-1].completeOrchestration
    assert (outcomes[-1].status, completion.result.value) == ("Completed", str(100 + STEPS))


def test_a_finished_instance_leaves_no_kept_history() -> None:
    handle: OrchestratorHandle = Orchestrator.create(counting)  # type: ignore[assignment]
    translator = OrchestrationTranslator()
    running = Backend("running", 0)
    running.complete(translator.run(handle, running.work_item()))

    list(drive(Backend("finished", 0), lambda request: translator.run(handle, request)))

    assert translator.kept_instances() == {"running"}
