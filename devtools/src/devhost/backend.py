"""The Durable Task backend devhost runs on, and the payload limit it enforces.

durabletask's in-memory backend stores orchestrations, activities, timers, events and
entities and hands out work items over gRPC. devhost serves it on loopback only, with
message limits large enough for any history made of payloads the Durable Task Scheduler
accepts, and checks each payload against the scheduler's own limit so that an app which
works here does not fail there.
"""

from __future__ import annotations

import itertools
import logging
import os
import queue
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, NoReturn, TypeVar, cast

import grpc
from durabletask.testing import InMemoryOrchestrationBackend

from .otlp import add_trace_service
from .placements import WorkLog
from .tracing import OrchestrationSpans, execution_started
from .upstream import (
    backend_lock,
    instance_events,
    instance_name,
    matches_filter,
    parse_work_item_filters,
    pb,
    requeue_activity,
    serve_backend,
    stored_custom_status,
    stored_entity_state,
    wait_for_state,
    wake_dispatcher,
)

logger = logging.getLogger("devhost")

# The Durable Task Scheduler's limits, the one place devhost, the project's tests and the
# benchmark take them from (all run on this backend; worker.py leaves them to its backend).
#
# Payload: an orchestration input or output, an activity input or result, an event's data.
# The scheduler refuses one above 1 MiB ("payloads that exceed the 1MB limit",
# https://github.com/Azure/Durable-Task-Scheduler/issues/24; its large-payload sample offloads
# payloads "before they approach the 1 MiB scheduler ceiling" and requires the offload
# threshold to stay at or below 1,048,576 bytes). Its large-payload support, which moves
# bigger ones to Blob Storage, covers Durable Functions in .NET isolated only, not Python
# Functions apps (https://learn.microsoft.com/azure/durable-task/scheduler/durable-task-scheduler-large-payloads).
PAYLOAD_LIMIT_BYTES = 1024 * 1024
# History events per orchestration instance: Durable Functions fails an orchestration past
# 100,000, whatever its storage provider (https://github.com/microsoft/durabletask-mssql/issues/125).
# durabletask's in-memory backend defaults to 10,000. DEVHOST_HISTORY_EVENTS_LIMIT lowers it,
# to see where a workflow would reach it (the project's oversize tests do, to reach it in seconds).
HISTORY_EVENTS_LIMIT = 100_000
HISTORY_EVENTS_LIMIT_SETTING = "DEVHOST_HISTORY_EVENTS_LIMIT"
# A work item carries a whole history; gRPC's default 4 MB would stall an instance whose
# history outgrows it. 256 MiB leaves room for hundreds of maximum-size payloads. This is
# devhost's transport, not a scheduler limit: worker.py accepts messages of any size.
GRPC_MESSAGE_LIMIT_BYTES = 256 * 1024 * 1024
GRPC_OPTIONS = [
    ("grpc.max_send_message_length", GRPC_MESSAGE_LIMIT_BYTES),
    ("grpc.max_receive_message_length", GRPC_MESSAGE_LIMIT_BYTES),
]
# gRPC metadata key an instance sends with its work-item stream to name itself in the logs.
INSTANCE_METADATA_KEY = "devhost-instance"
_SERVER_THREADS = 32
Request = TypeVar("Request")
Response = TypeVar("Response")


class BackendCallError(Exception):
    """The backend refused an in-process call, with the gRPC status it would have answered."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(f"{code.name}: {details}")
        self.code = code
        self.details = details


class InProcessCall:
    """The servicer context of a call the host makes to its own backend, without gRPC.

    The management API and the host's own dispatcher (one instance) run in the process that
    owns the backend, so they call the servicer methods directly: a status read or a
    completion then costs a lock instead of a loopback gRPC round trip. Only the unary
    methods that use nothing of their context but `abort` are called this way (not the
    waits or the work-item stream); `abort` raises `BackendCallError` where a real call
    would end with that status.
    """

    def abort(self, code: grpc.StatusCode, details: str) -> NoReturn:
        raise BackendCallError(code, details)


def call_in_process(
    method: Callable[[Request, grpc.ServicerContext], Response], request: Request
) -> Response:
    """Call one unary servicer method of the backend directly; `BackendCallError` if it aborts."""
    return method(request, cast(grpc.ServicerContext, InProcessCall()))


class PayloadTooLargeError(Exception):
    """A payload is bigger than the Durable Task Scheduler accepts."""


def check_payload(what: str, encoded: str | None) -> None:
    """Raise `PayloadTooLargeError` naming the limit when `encoded` is over it."""
    if encoded is None:
        return
    size = len(encoded.encode("utf-8"))
    if size > PAYLOAD_LIMIT_BYTES:
        raise PayloadTooLargeError(
            f"{what} is {size:,} bytes; the Durable Task Scheduler accepts at most "
            f"{PAYLOAD_LIMIT_BYTES:,} bytes (1 MiB) per payload. Pass a reference "
            "(a blob URL or an id) instead of the data."
        )


class HistoryLimitSettingError(ValueError):
    """DEVHOST_HISTORY_EVENTS_LIMIT is not a whole number within the scheduler's limit."""


def history_events_limit(environ: dict[str, str] | None = None) -> int:
    """The history events one orchestration may hold: the scheduler's, or lower if set."""
    raw = (os.environ if environ is None else environ).get(HISTORY_EVENTS_LIMIT_SETTING, "")
    if not raw.strip():
        return HISTORY_EVENTS_LIMIT
    try:
        limit = int(raw)
    except ValueError:
        limit = 0
    if not 1 <= limit <= HISTORY_EVENTS_LIMIT:
        raise HistoryLimitSettingError(
            f"{HISTORY_EVENTS_LIMIT_SETTING} must be a whole number from 1 to "
            f"{HISTORY_EVENTS_LIMIT:,} (the scheduler's limit), got '{raw}'."
        )
    return limit


def history_problem(instance_id: str, events: int, limit: int) -> str:
    return (
        f"Orchestration '{instance_id}' would hold {events:,} history events; the Durable Task "
        f"Scheduler allows at most {limit:,} history events per orchestration. Keep each "
        "orchestration's history bounded: run a long loop or a large batch as sub-workflows "
        "of bounded size."
    )


def action_payloads(action: pb.OrchestratorAction) -> Iterator[tuple[str, str]]:
    """What an orchestrator action carries that the scheduler counts as a payload."""
    if action.HasField("scheduleTask"):
        yield f"The input of activity '{action.scheduleTask.name}'", action.scheduleTask.input.value
    elif action.HasField("createSubOrchestration"):
        child = action.createSubOrchestration
        yield f"The input of sub-orchestration '{child.name}'", child.input.value
    elif action.HasField("sendEvent"):
        yield f"The data of event '{action.sendEvent.name}'", action.sendEvent.data.value
    elif action.HasField("completeOrchestration"):
        yield "The orchestration output", action.completeOrchestration.result.value


def fail_instead(request: pb.OrchestratorResponse, error_type: str, message: str) -> None:
    """Make a work item's completion fail the orchestration with `message`, and nothing else."""
    del request.actions[:]
    complete = request.actions.add(id=-1).completeOrchestration
    complete.orchestrationStatus = pb.ORCHESTRATION_STATUS_FAILED
    complete.failureDetails.errorType = error_type
    complete.failureDetails.errorMessage = message
    complete.failureDetails.isNonRetriable = True


def payload_problem(what: str, encoded: str | None) -> str | None:
    """The message `check_payload` would raise, or None when the payload fits."""
    try:
        check_payload(what, encoded)
    except PayloadTooLargeError as error:
        return str(error)
    return None


def work_item_kind(item: pb.WorkItem) -> str:
    if item.HasField("orchestratorRequest"):
        return "orchestrator"
    if item.HasField("activityRequest"):
        return "activity"
    return "entity"


def lease_key(item: pb.WorkItem) -> tuple[str, str, str]:
    """What identifies a streamed work item and the completion that answers it."""
    if item.HasField("orchestratorRequest"):
        return ("orchestrator", item.orchestratorRequest.instanceId, item.completionToken)
    if item.HasField("activityRequest"):
        request = item.activityRequest
        return ("activity", request.orchestrationInstance.instanceId, str(request.taskId))
    return ("entity", item.entityRequestV2.instanceId, item.completionToken)


def entity_name(instance_id: str) -> str:
    """The entity name of an entity instance id (``@name@key``), lower case as stored."""
    return instance_id.split("@")[1] if instance_id.startswith("@") else instance_id


def stream_name(metadata: dict[str, object]) -> str:
    """How the logs and the dashboard name a work-item stream.

    devhost's instances send their name; a durabletask worker sends ``workerid`` as
    ``host:pid:uuid``, so a worker of your own is named by its process id.
    """
    instance = metadata.get(INSTANCE_METADATA_KEY)
    if instance:
        return str(instance)
    parts = str(metadata.get("workerid", "")).split(":")
    if len(parts) >= 2 and parts[1].isdigit():
        return f"worker pid {parts[1]}"
    return "worker"


def describe_work_item(item: pb.WorkItem) -> str:
    if item.HasField("orchestratorRequest"):
        return f"orchestration {item.orchestratorRequest.instanceId}"
    if item.HasField("activityRequest"):
        request = item.activityRequest
        return f"activity '{request.name}' of {request.orchestrationInstance.instanceId}"
    return f"entity {item.entityRequestV2.instanceId}"


@dataclass
class _Stream:
    """One instance's work-item stream: how items reach it and what it holds unanswered.

    `deliver` is called on the pump thread, under the streams lock, so it must not block.
    `filters` are the work item filters the worker sent (None: it takes every work item).
    """

    name: str
    deliver: Callable[[pb.WorkItem], None]
    filters: pb.WorkItemFilters | None = None
    leases: dict[tuple[str, str, str], pb.WorkItem] = field(default_factory=dict)
    open: bool = True

    def __post_init__(self) -> None:
        request = pb.GetWorkItemsRequest()
        if self.filters is not None:
            request.workItemFilters.CopyFrom(self.filters)
        self._orchestrations, self._activities, self._entities = parse_work_item_filters(request)

    def accepts(self, kind: str, name: str, version: str | None) -> bool:
        """Whether this worker's filters take a work item of this kind, name and version."""
        if kind == "orchestrator":
            return matches_filter(name, version, self._orchestrations)
        if kind == "activity":
            return matches_filter(name, version, self._activities)
        return matches_filter(name, None, self._entities)


class _AlwaysActive:
    """The call context the pump hands the in-memory backend's own work-item loop."""

    def __init__(self, stopped: threading.Event) -> None:
        self._stopped = stopped

    def is_active(self) -> bool:
        return not self._stopped.is_set()


def _trace_scheduled(
    history: list[pb.HistoryEvent], event_id: int, kind: str, parent: pb.TraceContext
) -> bool:
    """Put `parent` on the `kind` event (taskScheduled, ...Created) numbered `event_id`."""
    for event in reversed(history):
        if event.eventId == event_id and event.HasField(kind):
            getattr(event, kind).parentTraceContext.CopyFrom(parent)
            return True
    return False


class LoopbackBackend(InMemoryOrchestrationBackend):
    """durabletask's in-memory backend on a free loopback port, with five behaviours of DTS.

    It enforces the scheduler's limits (above) on every worker: a start input or event data
    over the payload limit is refused (INVALID_ARGUMENT), an activity result over it fails
    the activity, an entity operation whose result or new state is over it fails (the
    entity keeps its old state), and an orchestrator step with a payload over it, or that
    would take the history past the history events limit, fails the orchestration; each
    names the limit.

    Besides keeping custom status (below), it hands work out as the scheduler does to
    several workers: one pump takes each item from the in-memory queues and gives it to the
    connected instances in turn (one rotation per kind, so consecutive activities land on
    different instances), and it remembers which instance holds which item until that item
    is completed. When an instance's stream ends (the process died), everything it held goes
    back to the queue for another instance, as when a worker's lock lapses on the scheduler,
    and a late completion of such an item is ignored, so nothing runs to completion twice.

    It also keeps the trace context durabletask sends, where the scheduler keeps it: a new
    instance's ``parentTraceContext`` on its ExecutionStarted event; an activity's on its
    TaskScheduled event and on the activity work item handed out; a child orchestration's
    on its SubOrchestrationInstanceCreated event and the child's ExecutionStarted; and the
    ``orchestrationTraceContext`` (the orchestration span's id and start time) a worker
    returns, handed back with the instance's next work item until the execution ends. A
    continued-as-new execution keeps its parent context. With `spans`, the backend also
    makes devhost's own ``orchestration:`` span of each execution (see tracing.py).
    """

    def __init__(
        self, spans: OrchestrationSpans | None = None, history_events: int | None = None
    ) -> None:
        # The base class refuses a completion past its limit with RESOURCE_EXHAUSTED, which
        # leaves the instance Running for good; this class fails it instead, naming the limit.
        super().__init__(max_history_size=sys.maxsize)
        self.history_events_limit = history_events or history_events_limit()
        self.spans = spans
        self._activity_traces: dict[tuple[str, int], pb.TraceContext] = {}
        self._orchestration_traces: dict[str, pb.OrchestrationTraceContext] = {}
        self._streams: list[_Stream] = []
        self._streams_changed = threading.Condition()
        self._turns: dict[str, itertools.count[int]] = {}
        self._pump_stopped = threading.Event()
        self._pump: threading.Thread | None = None
        self.requeued: list[str] = []
        # Who took each work item and when (the dashboard's "ran on" and waterfall).
        self.work_log = WorkLog()
        # Work items no connected worker's filters take, in arrival order: each goes to the
        # first worker that connects with a filter taking it (guarded by _streams_changed).
        self._waiting: list[tuple[pb.WorkItem, tuple[str, str, str | None]]] = []
        self._announced_waits: set[str] = set()

    # durabletask 1.12's in-memory backend turns a wait without a limit
    # (`_wait_for_state(timeout=None)`) into 30 s. Its watcher of each child orchestration waits
    # that way, so a child that runs longer than 30 s never reports to its parent, which then
    # waits for good. Here such a wait goes on, slice by slice, while the instance exists and
    # the backend runs.
    state_wait_slice_seconds = 30.0

    def _wait_for_state(
        self,
        instance_id: str,
        predicate: Callable[[Any], bool],
        timeout: float | None,
    ) -> Any:
        if timeout is not None:
            return wait_for_state(self, instance_id, predicate, timeout)
        while True:
            found = wait_for_state(self, instance_id, predicate, self.state_wait_slice_seconds)
            if found is not None:
                return found
            # A stopped backend ends such waits, so no request thread outlives it.
            if self._pump_stopped.is_set():
                return None
            with self._lock:
                if instance_id not in self._instances:
                    return None

    def start(self, port: int = 0) -> str:
        """Serve on a loopback port (0: a free one); the address workers connect to. The
        same server takes OTLP trace exports (otlp.py)."""
        address = serve_backend(self, GRPC_OPTIONS, _SERVER_THREADS, port, add_trace_service)
        self._pump_stopped.clear()
        self._pump = threading.Thread(target=self._distribute, name="devhost-pump", daemon=True)
        self._pump.start()
        return address

    def stop_handing_out(self) -> None:
        """Hand out no more work and requeue nothing: the host is stopping."""
        self._pump_stopped.set()
        with self._streams_changed:
            self._streams_changed.notify_all()

    def stop(self, grace: float | None = None) -> None:
        self.stop_handing_out()
        super().stop(grace)
        if self.spans is not None:
            self.spans.end_all()

    def connected_instances(self) -> list[str]:
        with self._streams_changed:
            return [stream.name for stream in self._streams if stream.open]

    def _distribute(self) -> None:
        """Take work items from the in-memory queues and hand each to one instance."""
        context = _AlwaysActive(self._pump_stopped)
        while not self._pump_stopped.is_set():
            with self._streams_changed:
                while not self._pump_stopped.is_set() and not self._streams:
                    self._streams_changed.wait(timeout=0.1)
            if self._pump_stopped.is_set():
                return
            # The base loop yields work as it appears and stops when the context does.
            for item in super().GetWorkItems(pb.GetWorkItemsRequest(), context):
                self._hand_out(item)
                with self._streams_changed:
                    if not self._streams:
                        break

    def _hand_out(self, item: pb.WorkItem) -> None:
        self._add_trace_context(item)
        kind, name, version = self._routing_key(item)
        with self._streams_changed:
            if self._streams:
                takers = [s for s in self._streams if s.accepts(kind, name, version)]
                if not takers:
                    self._wait_for_a_taker(item, (kind, name, version))
                    return
                turn = next(self._turns.setdefault(kind, itertools.count()))
                stream = takers[turn % len(takers)]
                stream.leases[lease_key(item)] = item
                self.work_log.handed_out(item, lease_key(item), stream.name)
                stream.deliver(item)
                return
        self._requeue([item])

    def _routing_key(self, item: pb.WorkItem) -> tuple[str, str, str | None]:
        """The kind, name and version a worker's work item filters are matched against."""
        kind = work_item_kind(item)
        if kind == "activity":
            request = item.activityRequest
            version = request.version.value if request.HasField("version") else None
            return kind, request.name, version
        if kind == "orchestrator":
            return kind, instance_name(self, item.orchestratorRequest.instanceId) or "", None
        return kind, entity_name(item.entityRequestV2.instanceId), None

    def _wait_for_a_taker(
        self, item: pb.WorkItem, routing_key: tuple[str, str, str | None]
    ) -> None:
        """Keep an item no connected worker takes until one that does connects; hold the lock.

        The Durable Task Scheduler does the same with work whose name is in no connected
        worker's filters: the run waits at that step, and nothing fails.
        """
        self._waiting.append((item, routing_key))
        kind, name, _ = routing_key
        if name not in self._announced_waits:
            self._announced_waits.add(name)
            logger.warning(
                "No connected worker takes %s '%s' (their work item filters leave it out): "
                "%s waits until a worker that hosts it connects (for a pool's step: "
                "python worker.py --pool NAME).",
                kind,
                name,
                describe_work_item(item),
            )

    def waiting_work(self) -> list[str]:
        """What waits for a worker that takes it, one line per work item, oldest first."""
        with self._streams_changed:
            return [describe_work_item(item) for item, _ in self._waiting]

    def _offer_waiting(self, stream: _Stream) -> None:
        """Hand a newly connected worker the waiting items its filters take; hold the lock."""
        kept: list[tuple[pb.WorkItem, tuple[str, str, str | None]]] = []
        for item, routing_key in self._waiting:
            if stream.accepts(*routing_key):
                stream.leases[lease_key(item)] = item
                self.work_log.handed_out(item, lease_key(item), stream.name)
                stream.deliver(item)
                self._announced_waits.discard(routing_key[1])
            else:
                kept.append((item, routing_key))
        self._waiting = kept

    def _add_trace_context(self, item: pb.WorkItem) -> None:
        if item.HasField("orchestratorRequest"):
            request = item.orchestratorRequest
            kept = self._orchestration_traces.get(request.instanceId)
            if kept is not None:
                request.orchestrationTraceContext.CopyFrom(kept)
            if self.spans is not None:
                self.spans.begin(request)
        elif item.HasField("activityRequest"):
            activity = item.activityRequest
            parent = self._activity_traces.get(
                (activity.orchestrationInstance.instanceId, activity.taskId)
            )
            if parent is not None:
                activity.parentTraceContext.CopyFrom(parent)

    def StartInstance(
        self, request: pb.CreateInstanceRequest, context: grpc.ServicerContext
    ) -> pb.CreateInstanceResponse:
        self._refuse_oversized(context, "The orchestration input", request.input.value)
        with backend_lock(self):
            response = super().StartInstance(request, context)
            self._stamp(response.instanceId)
            self._orchestration_traces.pop(response.instanceId, None)
            if request.HasField("parentTraceContext"):
                self._trace_start(response.instanceId, request.parentTraceContext)
        return response

    def RaiseEvent(
        self, request: pb.RaiseEventRequest, context: grpc.ServicerContext
    ) -> pb.RaiseEventResponse:
        self._refuse_oversized(context, f"The data of event '{request.name}'", request.input.value)
        with backend_lock(self):
            response = super().RaiseEvent(request, context)
            self._stamp(request.instanceId)
        return response

    def _refuse_oversized(self, context: grpc.ServicerContext, what: str, encoded: str) -> None:
        """Refuse a request whose payload is over the limit, as the scheduler does."""
        problem = payload_problem(what, encoded)
        if problem is not None:
            logger.warning("Refused a payload over the limit: %s", problem)
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, problem)

    def _stamp(self, instance_id: str) -> None:
        """Give the instance's events the time devhost stored them (under the backend lock).

        The in-memory backend leaves most events it makes (TaskCompleted, EventRaised, ...)
        at the zero time; the history `showHistory` shows and the dashboard's timeline need
        the time each happened, as the Durable Task Scheduler records it. An event the
        backend makes on its own (a timer firing) gets the time of the next call that stores
        something for that instance.
        """
        events = instance_events(self, instance_id)
        if events is None:
            return
        for event in (*events.history, *events.dispatched, *events.pending):
            if event.timestamp.seconds == 0 and event.timestamp.nanos == 0:
                event.timestamp.GetCurrentTime()

    def _trace_start(self, instance_id: str, parent: pb.TraceContext) -> None:
        """Put `parent` on the ExecutionStarted event an instance is waiting to run."""
        events = instance_events(self, instance_id)
        started = None if events is None else execution_started(events.pending)
        if started is not None:
            started.parentTraceContext.CopyFrom(parent)

    def _execution_trace(self, instance_id: str) -> pb.TraceContext | None:
        events = instance_events(self, instance_id)
        started = (
            None
            if events is None
            else execution_started(events.history, events.dispatched, events.pending)
        )
        if started is None or not started.HasField("parentTraceContext"):
            return None
        kept = pb.TraceContext()
        kept.CopyFrom(started.parentTraceContext)
        return kept

    def _keep_trace_contexts(
        self, response: pb.OrchestratorResponse, execution_parent: pb.TraceContext | None
    ) -> None:
        """What the scheduler keeps of an orchestrator's trace contexts; hold the lock."""
        instance_id = response.instanceId
        completion = next(
            (
                a.completeOrchestration
                for a in response.actions
                if a.HasField("completeOrchestration")
            ),
            None,
        )
        if completion is not None:
            self._orchestration_traces.pop(instance_id, None)
            if self.spans is not None:
                self.spans.end(instance_id, completion)
        elif response.HasField("orchestrationTraceContext"):
            self._orchestration_traces[instance_id] = response.orchestrationTraceContext
        events = instance_events(self, instance_id)
        if events is None:
            return
        history = events.history
        for action in response.actions:
            if action.HasField("scheduleTask"):
                task = action.scheduleTask
                if task.HasField("parentTraceContext") and _trace_scheduled(
                    history, action.id, "taskScheduled", task.parentTraceContext
                ):
                    self._activity_traces[(instance_id, action.id)] = task.parentTraceContext
            elif action.HasField("createSubOrchestration"):
                child = action.createSubOrchestration
                if child.HasField("parentTraceContext"):
                    _trace_scheduled(
                        history,
                        action.id,
                        "subOrchestrationInstanceCreated",
                        child.parentTraceContext,
                    )
                    self._trace_start(child.instanceId, child.parentTraceContext)
        continued = pb.ORCHESTRATION_STATUS_CONTINUED_AS_NEW
        continues = completion is not None and completion.orchestrationStatus == continued
        if continues and execution_parent is not None:
            self._trace_start(instance_id, execution_parent)

    def _fail_over_limits(self, request: pb.OrchestratorResponse) -> None:
        """Fail the orchestration, naming the limit, where the scheduler would refuse the step.

        A payload over the limit in any action, or a history that would pass the history
        limit, turns the completion into a failure; hold the lock.
        """
        for action in request.actions:
            for what, encoded in action_payloads(action):
                problem = payload_problem(what, encoded)
                if problem is not None:
                    logger.warning("Orchestration %s failed: %s", request.instanceId, problem)
                    fail_instead(request, "PayloadTooLargeError", problem)
                    return
        events = instance_events(self, request.instanceId)
        if events is None:
            return
        held = len(events.history) + len(events.dispatched) + len(request.actions)
        if held > self.history_events_limit:
            problem = history_problem(request.instanceId, held, self.history_events_limit)
            logger.warning("Orchestration %s failed: %s", request.instanceId, problem)
            fail_instead(request, "HistoryTooLargeError", problem)

    def GetWorkItems(
        self, request: pb.GetWorkItemsRequest, context: grpc.ServicerContext
    ) -> Iterator[pb.WorkItem]:
        metadata = dict(context.invocation_metadata() or ())
        outbox: queue.Queue[pb.WorkItem] = queue.Queue()
        filters = request.workItemFilters if request.HasField("workItemFilters") else None
        stream = _Stream(stream_name(metadata), outbox.put, filters)
        context.add_callback(lambda: self._drop(stream))
        self._add_stream(stream)
        try:
            while context.is_active() and not self._pump_stopped.is_set():
                try:
                    yield outbox.get(timeout=0.1)
                except queue.Empty:
                    continue
        finally:
            self._drop(stream)

    def connect(
        self,
        name: str,
        deliver: Callable[[pb.WorkItem], None],
        filters: pb.WorkItemFilters | None = None,
    ) -> Callable[[], None]:
        """A work-item stream in this process, without gRPC; returns the call that ends it.

        The host's own dispatcher (one instance) takes its work this way: the same turns,
        leases, filters and requeueing as a gRPC stream, without serializing every work item
        and completion through a loopback connection. `deliver` gets each item on the pump
        thread and must not block. Ending the stream gives back what it holds, as when an
        instance's gRPC stream ends.
        """
        stream = _Stream(name, deliver, filters)
        self._add_stream(stream)
        return lambda: self._drop(stream)

    def _add_stream(self, stream: _Stream) -> None:
        with self._streams_changed:
            self._streams.append(stream)
            self._offer_waiting(stream)
            self._streams_changed.notify_all()

    def _drop(self, stream: _Stream) -> None:
        """The stream ended: every item it held and did not complete goes back to the queue."""
        with self._streams_changed:
            if not stream.open:
                return
            stream.open = False
            self._streams.remove(stream)
            held = list(stream.leases.values())
            stream.leases.clear()
            self._streams_changed.notify_all()
        if held and not self._pump_stopped.is_set():
            logger.warning(
                "%s lost its work-item stream; %d unfinished work item(s) go back to the queue: %s",
                stream.name,
                len(held),
                ", ".join(describe_work_item(item) for item in held),
            )
            self._requeue(held)

    def _requeue(self, items: list[pb.WorkItem]) -> None:
        for item in items:
            self.requeued.append(describe_work_item(item))
            if item.HasField("orchestratorRequest"):
                self.AbandonTaskOrchestratorWorkItem(
                    pb.AbandonOrchestrationTaskRequest(completionToken=item.completionToken),
                    None,
                )
            elif item.HasField("activityRequest"):
                requeue_activity(self, item.activityRequest, item.completionToken)
            else:
                self.AbandonTaskEntityWorkItem(
                    pb.AbandonEntityTaskRequest(completionToken=item.completionToken),
                    None,
                )

    def _release(self, key: tuple[str, str, str]) -> bool:
        """Whether a completion answers an item some instance still holds (and free it)."""
        with self._streams_changed:
            for stream in self._streams:
                if stream.leases.pop(key, None) is not None:
                    self.work_log.completed(key)
                    return True
        logger.warning(
            "Ignored a completion for %s %s: its work item had gone back to the queue", *key[:2]
        )
        return False

    def CompleteActivityTask(
        self, request: pb.ActivityResponse, context: grpc.ServicerContext
    ) -> pb.CompleteTaskResponse:
        if not self._release(("activity", request.instanceId, str(request.taskId))):
            return pb.CompleteTaskResponse()
        self._activity_traces.pop((request.instanceId, request.taskId), None)
        problem = payload_problem("The result of an activity", request.result.value)
        if problem is not None:
            # The scheduler would refuse the result; the activity fails, naming the limit.
            logger.warning(
                "Activity #%d of %s failed: %s", request.taskId, request.instanceId, problem
            )
            request.ClearField("result")
            request.failureDetails.errorType = "PayloadTooLargeError"
            request.failureDetails.errorMessage = problem
            request.failureDetails.isNonRetriable = True
        with backend_lock(self):
            completed = super().CompleteActivityTask(request, context)
            self._stamp(request.instanceId)
        return completed

    def CompleteEntityTask(
        self, request: pb.EntityBatchResult, context: grpc.ServicerContext
    ) -> pb.CompleteTaskResponse:
        entity_id = self._leased_entity(request.completionToken)
        if entity_id is None or not self._release(("entity", entity_id, request.completionToken)):
            return pb.CompleteTaskResponse()
        self._fail_entity_over_limits(entity_id, request)
        return super().CompleteEntityTask(request, context)

    def _fail_entity_over_limits(self, entity_id: str, request: pb.EntityBatchResult) -> None:
        """Fail the operations whose result, or the batch whose new state, is over the limit.

        A state over the limit is not kept: the entity keeps the state it had, and every
        operation of the batch fails naming the limit.
        """
        state_problem = payload_problem(
            f"The state of entity '{entity_id}'", request.entityState.value
        )
        for index, result in enumerate(request.results):
            problem = state_problem
            if problem is None and result.HasField("success"):
                what = f"The result of operation {index + 1} of entity '{entity_id}'"
                problem = payload_problem(what, result.success.result.value)
            if problem is not None:
                result.ClearField("success")
                result.failure.failureDetails.errorType = "PayloadTooLargeError"
                result.failure.failureDetails.errorMessage = problem
                result.failure.failureDetails.isNonRetriable = True
                logger.warning("Entity %s: %s", entity_id, problem)
        if state_problem is not None:
            kept = stored_entity_state(self, entity_id)
            if kept is None:
                request.ClearField("entityState")
            else:
                request.entityState.value = kept

    def _leased_entity(self, completion_token: str) -> str | None:
        with self._streams_changed:
            for stream in self._streams:
                for kind, instance_id, token in stream.leases:
                    if kind == "entity" and token == completion_token:
                        return instance_id
        logger.warning("Ignored an entity completion whose work item had gone back to the queue")
        return None

    def CompleteOrchestratorTask(
        self, request: pb.OrchestratorResponse, context: grpc.ServicerContext
    ) -> pb.CompleteTaskResponse:
        # The Durable Task Scheduler keeps an instance's custom status when a work item
        # reports none; the in-memory backend would clear it. Agent Framework workflows set
        # their status only on live (non-replayed) steps and rely on it being kept.
        if not self._release(("orchestrator", request.instanceId, request.completionToken)):
            return pb.CompleteTaskResponse()
        if not request.HasField("customStatus"):
            kept = stored_custom_status(self, request.instanceId)
            if kept:
                request.customStatus.value = kept
        try:
            with backend_lock(self):
                self._fail_over_limits(request)
                execution_parent = self._execution_trace(request.instanceId)
                completed = super().CompleteOrchestratorTask(request, context)
                self._stamp(request.instanceId)
                self.work_log.children_started(request.instanceId, list(request.actions))
                self._keep_trace_contexts(request, execution_parent)
            return completed
        finally:
            # Results that arrived while the orchestrator ran are waiting: dispatch them now,
            # not after the backend's 0.1 s poll (the fan-out stall).
            wake_dispatcher(self)
