"""Run orchestrator functions with the azure-functions-durable replay engine.

The in-memory Durable Task backend hands out work items in the Durable Task protocol:
protobuf history events in, protobuf actions out. Orchestrators registered on a `DFApp`
speak the Durable Functions out-of-process protocol instead: a JSON context carrying the
whole history in, a JSON list of every action scheduled so far out. This module converts
between the two and leaves replay itself to the real engine.
"""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Callable, Iterable, Iterator, Set
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import durabletask.internal.orchestrator_service_pb2 as pb
from azure.durable_functions import DurableOrchestrationContext, Orchestrator
from azure.durable_functions.models.actions.NoOpAction import NoOpAction
from azure.durable_functions.models.Task import RetryAbleTask, TaskBase
from dateutil.parser import isoparse
from google.protobuf import timestamp_pb2, wrappers_pb2

# Values of azure.durable_functions HistoryEventType and ActionType (out-of-proc protocol).
_EXECUTION_STARTED = 0
_TASK_SCHEDULED = 4
_TASK_COMPLETED = 5
_TASK_FAILED = 6
_SUB_ORCHESTRATION_CREATED = 7
_SUB_ORCHESTRATION_COMPLETED = 8
_SUB_ORCHESTRATION_FAILED = 9
_TIMER_CREATED = 10
_TIMER_FIRED = 11
_ORCHESTRATOR_STARTED = 12
_ORCHESTRATOR_COMPLETED = 13
_EVENT_SENT = 14
_EVENT_RAISED = 15

_CALL_ACTIVITY = 0
_CALL_ACTIVITY_WITH_RETRY = 1
_CALL_SUB_ORCHESTRATOR = 2
_CALL_SUB_ORCHESTRATOR_WITH_RETRY = 3
_CONTINUE_AS_NEW = 4
_CREATE_TIMER = 5
_WAIT_FOR_EXTERNAL_EVENT = 6
_CALL_ENTITY = 7
_CALL_HTTP = 8
_SIGNAL_ENTITY = 9
_WHEN_ANY = 11
_WHEN_ALL = 12

# ReplaySchema.V2: one flat action list per invocation, with compound when_all/when_any.
_REPLAY_SCHEMA = 1
_OUT_OF_PROC_ERROR_MARKER = "\n\n$OutOfProcData$:"


class OrchestratorHandle(Protocol):
    """What `Orchestrator.create` registers: the trigger handle, carrying the user's function."""

    orchestrator_function: Callable[[DurableOrchestrationContext], Any]

    def __call__(self, context: Any) -> str: ...


class UnsupportedActionError(Exception):
    """An orchestrator scheduled something this host cannot emulate."""


@dataclass(frozen=True)
class OrchestrationOutcome:
    """The Durable Task answer to one orchestrator work item."""

    actions: list[pb.OrchestratorAction]
    custom_status: str | None
    status: str
    retry_ids: frozenset[int] = frozenset()


def _timestamp_text(stamp: timestamp_pb2.Timestamp) -> str:
    moment: datetime = stamp.ToDatetime(tzinfo=UTC)
    return moment.isoformat()


def _text(value: wrappers_pb2.StringValue, present: bool) -> str | None:
    return value.value if present else None


def _failure_reason(details: pb.TaskFailureDetails) -> str:
    # The stack trace stays in the console log; the orchestrator sees type and message.
    reason = details.errorMessage
    if details.errorType and not reason.startswith(details.errorType):
        reason = f"{details.errorType}: {reason}"
    return reason


def _apply_suspension(events: Iterable[pb.HistoryEvent]) -> Iterator[pb.HistoryEvent]:
    """Hold back events that arrived while the instance was suspended until it resumes."""
    held: list[pb.HistoryEvent] = []
    suspended = False
    for event in events:
        if event.HasField("executionSuspended"):
            suspended = True
        elif event.HasField("executionResumed"):
            suspended = False
            yield from held
            held.clear()
        elif suspended and not event.HasField("orchestratorStarted"):
            held.append(event)
        else:
            yield event


class HistoryTranslator:
    """Turns Durable Task history events into Durable Functions history events."""

    def __init__(self) -> None:
        self._names_by_task_id: dict[int, str] = {}

    def translate(self, event: pb.HistoryEvent, is_played: bool) -> dict[str, Any] | None:
        common: dict[str, Any] = {
            "EventId": event.eventId,
            "IsPlayed": is_played,
            "Timestamp": _timestamp_text(event.timestamp),
        }
        kind = event.WhichOneof("eventType")
        specific = self._specific_fields(event, kind)
        if specific is None:
            return None
        return {**common, **specific}

    def _specific_fields(self, event: pb.HistoryEvent, kind: str | None) -> dict[str, Any] | None:
        if kind == "orchestratorStarted":
            return {"EventType": _ORCHESTRATOR_STARTED}
        if kind == "orchestratorCompleted":
            return {"EventType": _ORCHESTRATOR_COMPLETED}
        if kind == "executionStarted":
            started = event.executionStarted
            return {
                "EventType": _EXECUTION_STARTED,
                "Name": started.name,
                "Input": _text(started.input, started.HasField("input")),
                "Version": started.version.value if started.HasField("version") else None,
            }
        if kind in ("taskScheduled", "subOrchestrationInstanceCreated", "timerCreated"):
            return self._scheduled_fields(event, kind)
        if kind in ("taskCompleted", "subOrchestrationInstanceCompleted"):
            return self._completed_fields(event, kind)
        if kind in ("taskFailed", "subOrchestrationInstanceFailed"):
            return self._failed_fields(event, kind)
        if kind == "timerFired":
            fired = event.timerFired
            return {
                "EventType": _TIMER_FIRED,
                "TimerId": fired.timerId,
                "FireAt": _timestamp_text(fired.fireAt),
            }
        if kind == "eventRaised":
            raised = event.eventRaised
            return {
                "EventType": _EVENT_RAISED,
                "Name": raised.name,
                "Input": _text(raised.input, raised.HasField("input")),
            }
        if kind == "eventSent":
            sent = event.eventSent
            return {
                "EventType": _EVENT_SENT,
                "Name": sent.name,
                "InstanceId": sent.instanceId,
                "Input": _text(sent.input, sent.HasField("input")),
            }
        return self._entity_fields(event, kind)

    def _scheduled_fields(self, event: pb.HistoryEvent, kind: str) -> dict[str, Any]:
        if kind == "taskScheduled":
            self._names_by_task_id[event.eventId] = (
                f"Activity function '{event.taskScheduled.name}'"
            )
            return {"EventType": _TASK_SCHEDULED, "Name": event.taskScheduled.name}
        if kind == "subOrchestrationInstanceCreated":
            created = event.subOrchestrationInstanceCreated
            self._names_by_task_id[event.eventId] = f"Orchestrator function '{created.name}'"
            return {
                "EventType": _SUB_ORCHESTRATION_CREATED,
                "Name": created.name,
                "InstanceId": created.instanceId,
            }
        return {"EventType": _TIMER_CREATED, "FireAt": _timestamp_text(event.timerCreated.fireAt)}

    @staticmethod
    def _completed_fields(event: pb.HistoryEvent, kind: str) -> dict[str, Any]:
        if kind == "taskCompleted":
            done = event.taskCompleted
            event_type = _TASK_COMPLETED
        else:
            done = event.subOrchestrationInstanceCompleted
            event_type = _SUB_ORCHESTRATION_COMPLETED
        return {
            "EventType": event_type,
            "TaskScheduledId": done.taskScheduledId,
            "Result": _text(done.result, done.HasField("result")),
        }

    def _failed_fields(self, event: pb.HistoryEvent, kind: str) -> dict[str, Any]:
        if kind == "taskFailed":
            failed = event.taskFailed
            event_type = _TASK_FAILED
        else:
            failed = event.subOrchestrationInstanceFailed
            event_type = _SUB_ORCHESTRATION_FAILED
        reason = _failure_reason(failed.failureDetails)
        source = self._names_by_task_id.get(failed.taskScheduledId)
        if source:
            reason = f"{source} failed: {reason}"
        return {
            "EventType": event_type,
            "TaskScheduledId": failed.taskScheduledId,
            "Reason": reason,
            "Details": "",
        }

    @staticmethod
    def _entity_fields(event: pb.HistoryEvent, kind: str | None) -> dict[str, Any] | None:
        # The Durable Functions engine tracks an entity call as an EventSent carrying the
        # request id, answered by an EventRaised named after that id.
        if kind == "entityOperationCalled":
            called = event.entityOperationCalled
            return {
                "EventType": _EVENT_SENT,
                "Name": "op",
                "InstanceId": called.targetInstanceId.value,
                "Input": json.dumps({"id": called.requestId, "op": called.operation}),
            }
        if kind == "entityOperationSignaled":
            signaled = event.entityOperationSignaled
            return {
                "EventType": _EVENT_SENT,
                "Name": "op",
                "InstanceId": signaled.targetInstanceId.value,
                "Input": json.dumps({"id": signaled.requestId, "signal": True}),
            }
        if kind == "entityOperationCompleted":
            completed = event.entityOperationCompleted
            result = completed.output.value if completed.HasField("output") else "null"
            return {
                "EventType": _EVENT_RAISED,
                "Name": completed.requestId,
                "Input": json.dumps({"result": result}),
            }
        if kind == "entityOperationFailed":
            failed = event.entityOperationFailed
            details = failed.failureDetails
            response = {
                "result": json.dumps(details.errorMessage),
                "exceptionType": details.errorType or "Exception",
            }
            return {
                "EventType": _EVENT_RAISED,
                "Name": failed.requestId,
                "Input": json.dumps(response),
            }
        return None


def build_context(
    instance_id: str,
    past_events: Iterable[pb.HistoryEvent],
    new_events: Iterable[pb.HistoryEvent],
    parent_instance_id: str | None,
) -> str:
    """Build the JSON orchestration context the Durable Functions engine replays."""
    translator = HistoryTranslator()
    history: list[dict[str, Any]] = []
    encoded_input: str | None = None
    past = list(past_events)
    for index, event in enumerate(_apply_suspension([*past, *new_events])):
        translated = translator.translate(event, is_played=index < len(past))
        if translated is None:
            continue
        if translated["EventType"] == _EXECUTION_STARTED:
            encoded_input = translated["Input"]
            started = event.executionStarted
            if started.HasField("parentInstance"):
                parent_instance_id = started.parentInstance.orchestrationInstance.instanceId
        history.append(translated)
    return json.dumps(
        {
            "history": history,
            "instanceId": instance_id,
            "isReplaying": bool(past),
            "parentInstanceId": parent_instance_id,
            "input": encoded_input,
            "upperSchemaVersion": _REPLAY_SCHEMA,
        }
    )


def _flatten(actions: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for action in actions:
        if action.get("actionType") in (_WHEN_ALL, _WHEN_ANY):
            yield from _flatten(action.get("compoundActions", []))
        else:
            yield action


def _string_value(text: str | None) -> wrappers_pb2.StringValue | None:
    return None if text is None else wrappers_pb2.StringValue(value=text)


def timestamp_from_text(text: str) -> timestamp_pb2.Timestamp:
    """A protobuf timestamp from an ISO 8601 text (UTC when it names no zone)."""
    moment = isoparse(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(moment.astimezone(UTC))
    return stamp


def _complete(
    status: int,
    result: str | None = None,
    failure: pb.TaskFailureDetails | None = None,
) -> pb.OrchestratorAction:
    return pb.OrchestratorAction(
        id=-1,
        completeOrchestration=pb.CompleteOrchestrationAction(
            orchestrationStatus=status,  # type: ignore[arg-type]
            result=_string_value(result),
            failureDetails=failure,
        ),
    )


def _scheduled_ids(events: Iterable[pb.HistoryEvent]) -> set[int]:
    scheduling_kinds = {
        "taskScheduled",
        "subOrchestrationInstanceCreated",
        "timerCreated",
        "entityOperationCalled",
        "entityOperationSignaled",
        "eventSent",
    }
    return {event.eventId for event in events if event.WhichOneof("eventType") in scheduling_kinds}


def _to_durable_task_action(
    action_id: int, action: dict[str, Any], instance_id: str
) -> pb.OrchestratorAction | None:
    kind = action["actionType"]
    if kind in (_CALL_ACTIVITY, _CALL_ACTIVITY_WITH_RETRY):
        return pb.OrchestratorAction(
            id=action_id,
            scheduleTask=pb.ScheduleTaskAction(
                name=action["functionName"], input=_string_value(action.get("input"))
            ),
        )
    if kind in (_CALL_SUB_ORCHESTRATOR, _CALL_SUB_ORCHESTRATOR_WITH_RETRY):
        return pb.OrchestratorAction(
            id=action_id,
            createSubOrchestration=pb.CreateSubOrchestrationAction(
                instanceId=action.get("instanceId") or uuid.uuid4().hex,
                name=action["functionName"],
                input=_string_value(action.get("input")),
            ),
        )
    if kind == _CREATE_TIMER:
        if action.get("isCanceled"):
            return None
        return pb.OrchestratorAction(
            id=action_id,
            createTimer=pb.CreateTimerAction(fireAt=timestamp_from_text(action["fireAt"])),
        )
    if kind == _CALL_ENTITY:
        called = pb.EntityOperationCalledEvent(
            requestId=str(uuid.uuid4()),
            operation=action["operation"],
            input=_string_value(action.get("input")),
            parentInstanceId=wrappers_pb2.StringValue(value=instance_id),
            targetInstanceId=wrappers_pb2.StringValue(value=action["instanceId"]),
        )
        message = pb.SendEntityMessageAction(entityOperationCalled=called)
        return pb.OrchestratorAction(id=action_id, sendEntityMessage=message)
    if kind == _SIGNAL_ENTITY:
        signaled = pb.EntityOperationSignaledEvent(
            requestId=str(uuid.uuid4()),
            operation=action["operation"],
            input=_string_value(action.get("input")),
            targetInstanceId=wrappers_pb2.StringValue(value=action["instanceId"]),
        )
        message = pb.SendEntityMessageAction(entityOperationSignaled=signaled)
        return pb.OrchestratorAction(id=action_id, sendEntityMessage=message)
    if kind == _CALL_HTTP:
        raise UnsupportedActionError("call_http (durable HTTP) is not emulated by devhost")
    raise UnsupportedActionError(f"unknown Durable Functions action type {kind}")


def failure_details(
    error_type: str, message: str, stack: str | None = None
) -> pb.TaskFailureDetails:
    return pb.TaskFailureDetails(
        errorType=error_type,
        errorMessage=message,
        stackTrace=_string_value(stack),
        isNonRetriable=True,
    )


def _new_actions(
    state: dict[str, Any], instance_id: str, already_scheduled: set[int], retry_ids: Set[int]
) -> tuple[list[pb.OrchestratorAction], pb.OrchestratorAction | None]:
    """Number actions as the engine does and keep those the history does not hold yet.

    The engine numbers actions in the order it creates them; retry steps take numbers too.
    """
    new_actions: list[pb.OrchestratorAction] = []
    continue_as_new: pb.OrchestratorAction | None = None
    free_ids = (number for number in itertools.count() if number not in retry_ids)
    for batch in state.get("actions", []):
        for action in _flatten(batch):
            if action.get("actionType") == _WAIT_FOR_EXTERNAL_EVENT:
                continue
            action_id = next(free_ids)
            if action.get("actionType") == _CONTINUE_AS_NEW:
                status = pb.ORCHESTRATION_STATUS_CONTINUED_AS_NEW
                continue_as_new = _complete(status, action.get("input"))
                continue
            if action_id in already_scheduled:
                continue
            translated = _to_durable_task_action(action_id, action, instance_id)
            if translated is not None:
                new_actions.append(translated)
    return new_actions, continue_as_new


def _open_tasks(engine: DurableOrchestrationContext) -> Iterator[TaskBase]:
    for entry in engine.open_tasks.values():
        yield from entry if isinstance(entry, list) else [entry]


def _retry_steps(
    engine: DurableOrchestrationContext, instance_id: str, already_scheduled: set[int]
) -> list[pb.OrchestratorAction]:
    """The timers and repeat attempts that calls with a retry policy are waiting on.

    On the Functions host the Durable Task Framework runs the retry loop: after a failed
    attempt it creates a timer, and when the timer fires it schedules the call again. The
    engine numbers these steps itself and waits on them as anonymous tasks.
    """
    steps: list[pb.OrchestratorAction] = []
    for task in _open_tasks(engine):
        retry = task.parent
        is_step = isinstance(task.action_repr, NoOpAction) and isinstance(retry, RetryAbleTask)
        if not is_step or task.id in already_scheduled:
            continue
        if retry.is_waiting_on_timer:
            # RetryOptions in Python carry no backoff: every wait is the first interval.
            wait = timedelta(milliseconds=retry.retry_options.first_retry_interval_in_milliseconds)
            fire_at = timestamp_from_text((engine.current_utc_datetime + wait).isoformat())
            timer = pb.CreateTimerAction(fireAt=fire_at)
            steps.append(pb.OrchestratorAction(id=task.id, createTimer=timer))
        else:
            repeat = _to_durable_task_action(task.id, retry.actions.to_json(), instance_id)
            if repeat is not None:
                steps.append(repeat)
    return steps


def _replay(
    handle: OrchestratorHandle, context_json: str
) -> tuple[dict[str, Any], DurableOrchestrationContext]:
    """Run the engine as `Orchestrator.create`'s handle does, keeping its context."""
    context = DurableOrchestrationContext.from_json(context_json)
    context._input_expected_type = getattr(handle, "_df_input_type", None)
    state = json.loads(Orchestrator(handle.orchestrator_function).handle(context))
    return state, context


def _terminated(new_events: Iterable[pb.HistoryEvent]) -> pb.OrchestratorAction | None:
    for event in new_events:
        if event.HasField("executionTerminated"):
            terminated = event.executionTerminated
            reason = terminated.input.value if terminated.HasField("input") else None
            return _complete(pb.ORCHESTRATION_STATUS_TERMINATED, reason)
    return None


def _failed(error: Exception) -> OrchestrationOutcome:
    message = str(error).strip()
    custom_status: str | None = None
    if _OUT_OF_PROC_ERROR_MARKER in message:
        message, _, state_text = message.partition(_OUT_OF_PROC_ERROR_MARKER)
        message = message.strip()
        state = json.loads(state_text)
        if state.get("customStatus") is not None:
            custom_status = json.dumps(state["customStatus"])
    cause = error.__cause__ or error
    details = failure_details(type(cause).__name__, message)
    return OrchestrationOutcome(
        actions=[_complete(pb.ORCHESTRATION_STATUS_FAILED, failure=details)],
        custom_status=custom_status,
        status="Failed",
    )


def run_orchestrator(
    handle: OrchestratorHandle,
    request: pb.OrchestratorRequest,
    parent_instance_id: str | None = None,
    retry_ids: frozenset[int] = frozenset(),
) -> OrchestrationOutcome:
    """Replay one orchestrator work item through the Durable Functions engine.

    `retry_ids` are the ids of the retry steps scheduled for this instance so far; the
    outcome carries them on, with any new ones.
    """
    terminated = _terminated(request.newEvents)
    if terminated is not None:
        return OrchestrationOutcome(actions=[terminated], custom_status=None, status="Terminated")
    context_json = build_context(
        request.instanceId, request.pastEvents, request.newEvents, parent_instance_id
    )
    try:
        state, engine = _replay(handle, context_json)
        already_scheduled = _scheduled_ids(request.pastEvents)
        retry_steps = _retry_steps(engine, request.instanceId, already_scheduled)
        retry_ids = retry_ids | {step.id for step in retry_steps}
        actions, continue_as_new = _new_actions(
            state, request.instanceId, already_scheduled, retry_ids
        )
    except Exception as error:  # the user's orchestrator failed: the instance fails
        return _failed(error)
    actions = sorted([*actions, *retry_steps], key=lambda action: action.id)
    custom_status = state.get("customStatus")
    encoded_status = None if custom_status is None else json.dumps(custom_status)
    if continue_as_new is not None:
        return OrchestrationOutcome([*actions, continue_as_new], encoded_status, "ContinuedAsNew")
    if state.get("isDone"):
        output = json.dumps(state["output"]) if "output" in state else None
        completion = _complete(pb.ORCHESTRATION_STATUS_COMPLETED, output)
        return OrchestrationOutcome([*actions, completion], encoded_status, "Completed")
    return OrchestrationOutcome(actions, encoded_status, "Running", retry_ids)
