"""An instance's history as the Durable Functions HTTP API shows it (`showHistory=true`).

The Functions host turns the Durable Task history into `historyEvents`: a scheduled task and
its outcome become one event (`TaskCompleted` with `FunctionName` and `ScheduledTime`), as do a
sub-orchestration's creation and outcome; the orchestrator's own episode markers are left out,
and results and inputs are shown only with `showHistoryOutput=true`. Work that is scheduled and
not finished stays as its scheduling event (`TaskScheduled`, `SubOrchestrationInstanceCreated`).
"""

from __future__ import annotations

import json
from typing import Any

from google.protobuf import timestamp_pb2, wrappers_pb2

from .upstream import pb

# Events of the orchestrator's own episodes, which the Functions host leaves out.
_LEFT_OUT = {"orchestratorStarted", "orchestratorCompleted", "historyState", "genericEvent"}
# Outcome event kind -> the kind of the event that scheduled it.
_SCHEDULED_BY = {
    "taskCompleted": "taskScheduled",
    "taskFailed": "taskScheduled",
    "subOrchestrationInstanceCompleted": "subOrchestrationInstanceCreated",
    "subOrchestrationInstanceFailed": "subOrchestrationInstanceCreated",
}


def _time(stamp: timestamp_pb2.Timestamp) -> str:
    text: str = stamp.ToJsonString()
    return text


def _value(wrapper: wrappers_pb2.StringValue) -> Any:
    try:
        return json.loads(wrapper.value)
    except ValueError:
        return wrapper.value


def _failure(details: pb.TaskFailureDetails) -> dict[str, Any]:
    reason = f"{details.errorType}: {details.errorMessage}" if details.errorType else ""
    return {"Reason": reason or details.errorMessage, "Details": details.stackTrace.value or None}


def _type_name(kind: str) -> str:
    return kind[0].upper() + kind[1:]


def history_events(events: list[pb.HistoryEvent], show_output: bool) -> list[dict[str, Any]]:
    """`historyEvents` of the status of an instance whose history is `events`."""
    scheduled: dict[int, pb.HistoryEvent] = {}
    for event in events:
        if event.WhichOneof("eventType") in _SCHEDULED_BY.values():
            scheduled[event.eventId] = event
    merged: set[int] = set()
    shown: list[dict[str, Any]] = []
    for event in events:
        kind = event.WhichOneof("eventType")
        if kind is None or kind in _LEFT_OUT:
            continue
        body = getattr(event, kind)
        item: dict[str, Any] = {"EventType": _type_name(kind), "EventId": event.eventId}
        item["Timestamp"] = _time(event.timestamp)
        if kind in _SCHEDULED_BY:
            origin = scheduled.get(body.taskScheduledId)
            item["TaskScheduledId"] = body.taskScheduledId
            if origin is not None:
                merged.add(origin.eventId)
                created = getattr(origin, _SCHEDULED_BY[kind])
                item["FunctionName"] = created.name
                item["ScheduledTime"] = _time(origin.timestamp)
                if kind.startswith("subOrchestration"):
                    item["InstanceId"] = created.instanceId
            if kind.endswith("Failed"):
                item.update(_failure(body.failureDetails))
            elif show_output and body.HasField("result"):
                item["Result"] = _value(body.result)
        elif kind in ("taskScheduled", "subOrchestrationInstanceCreated"):
            item["FunctionName"] = body.name
            if kind == "subOrchestrationInstanceCreated":
                item["InstanceId"] = body.instanceId
            if show_output and body.HasField("input"):
                item["Input"] = _value(body.input)
        elif kind == "executionStarted":
            item["FunctionName"] = body.name
            if body.HasField("parentInstance"):
                item["ParentInstanceId"] = body.parentInstance.orchestrationInstance.instanceId
            if show_output and body.HasField("input"):
                item["Input"] = _value(body.input)
        elif kind == "executionCompleted":
            item["OrchestrationStatus"] = _status_name(body.orchestrationStatus)
            if body.HasField("failureDetails") and body.failureDetails.errorMessage:
                item.update(_failure(body.failureDetails))
            elif show_output and body.HasField("result"):
                item["Result"] = _value(body.result)
        elif kind in ("timerCreated", "timerFired"):
            item["FireAt"] = _time(body.fireAt)
            if kind == "timerFired":
                item["TimerId"] = body.timerId
        elif kind in ("eventRaised", "eventSent"):
            item["Name"] = body.name
            if kind == "eventSent":
                item["InstanceId"] = body.instanceId
            if show_output and body.HasField("input"):
                item["Input"] = _value(body.input)
        elif kind in ("executionTerminated", "executionSuspended", "executionResumed"):
            if body.HasField("input"):
                item["Reason"] = _value(body.input)
        elif kind in ("entityOperationCalled", "entityOperationSignaled"):
            item["Name"] = body.operation
            item["TargetInstanceId"] = body.targetInstanceId.value
            if show_output and body.HasField("input"):
                item["Input"] = _value(body.input)
        elif kind == "entityOperationCompleted":
            if show_output and body.HasField("output"):
                item["Result"] = _value(body.output)
        elif kind == "entityOperationFailed":
            item.update(_failure(body.failureDetails))
        elif kind == "continueAsNew" and show_output and body.HasField("input"):
            item["Input"] = _value(body.input)
        shown.append(item)
    return [item for item in shown if not _was_merged(item, merged)]


def _was_merged(item: dict[str, Any], merged: set[int]) -> bool:
    kind = item["EventType"]
    return (
        kind in ("TaskScheduled", "SubOrchestrationInstanceCreated") and item["EventId"] in merged
    )


def _status_name(value: int) -> str:
    name: str = pb.OrchestrationStatus.Name(value)
    return "".join(
        part.capitalize() for part in name.removeprefix("ORCHESTRATION_STATUS_").split("_")
    )
