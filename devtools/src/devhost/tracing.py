"""The spans devhost makes as the Functions host, and the trace context it carries.

The Functions host in OpenTelemetry mode makes a span per function invocation and hands its
trace context to the worker; devhost does the same with the OpenTelemetry API only. It never
sets up the app's SDK: spans go to whatever tracer provider the app configured in the process
(its ``telemetry.py``), and with none to a provider of devhost's own that exports nothing.
Either way the process keeps them for the dashboard's waterfall (span_log.py).

Names and attributes follow durabletask's own spans (``durabletask.internal.tracing``), so an
app's span processors treat devhost's spans as they treat durabletask's:

- ``orchestration:<name>`` (SERVER), one per orchestration execution, from its first work
  item to its completion. It is made in the host process, which sees the whole life of an
  instance whichever instance process runs each episode; its id reaches the episodes in the
  Durable Task protocol's ``orchestrationTraceContext``, and every activity and child
  orchestration the episodes schedule carries it as its parent trace context (an entity
  operation, for which the protocol has no field, in its request id).
- ``activity:<name>`` and ``entity:<name>:<operation>`` (SERVER), in the process that runs
  them, children of the orchestration that scheduled them.
- ``create_orchestration:<name>`` and ``orchestration_event:<name>`` (PRODUCER), made by the
  management API when an instance is started or sent an event.
- ``<METHOD> <route>`` (SERVER) for each HTTP function invocation, continuing an incoming
  ``traceparent`` header. Management calls the function's durable client makes belong to it:
  each invocation's client binding names the invocation in its ``rpcBaseUrl``.
"""

from __future__ import annotations

import itertools
import re
import secrets
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager

from google.protobuf import timestamp_pb2, wrappers_pb2
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Link, Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from . import span_log
from .upstream import pb

TRACER_NAME = "devhost"
# durabletask's span attributes and type values.
TYPE_ATTRIBUTE = "durabletask.type"
NAME_ATTRIBUTE = "durabletask.task.name"
INSTANCE_ATTRIBUTE = "durabletask.task.instance_id"
TASK_ID_ATTRIBUTE = "durabletask.task.task_id"
STATUS_ATTRIBUTE = "durabletask.task.status"
TARGET_INSTANCE_ATTRIBUTE = "durabletask.event.target_instance_id"
OPERATION_ATTRIBUTE = "durabletask.entity.operation"

# devhost's attribute naming the orchestration that called an entity operation: an entity's
# own instance id (``@name@key``) says nothing about the run it works for.
CALLER_ATTRIBUTE = "devhost.entity.caller_instance_id"

_PROPAGATOR = TraceContextTextMapPropagator()
_TRACEPARENT = re.compile(r"[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}")
_REQUEST_TRACE_SEPARATOR = "|"
_FINAL_STATUS = {
    pb.ORCHESTRATION_STATUS_COMPLETED: "Completed",
    pb.ORCHESTRATION_STATUS_FAILED: "Failed",
    pb.ORCHESTRATION_STATUS_TERMINATED: "Terminated",
    pb.ORCHESTRATION_STATUS_CONTINUED_AS_NEW: "ContinuedAsNew",
}


def _tracer() -> trace.Tracer:
    # The app's provider when it set one up, else devhost's own: either way this process
    # keeps the spans for the dashboard (span_log.py).
    return span_log.tracer(TRACER_NAME)


def flush(timeout_seconds: float = 2.0) -> None:
    """Export the spans the app's provider still holds: devhost ends its processes abruptly.

    Only an SDK provider has ``force_flush``; the API's default provider holds nothing.
    """
    force_flush = getattr(trace.get_tracer_provider(), "force_flush", None)
    if callable(force_flush):
        force_flush(int(timeout_seconds * 1000))


def current_trace_headers() -> dict[str, str]:
    """The current span as W3C ``traceparent``/``tracestate`` headers (none without one)."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier


def to_proto(context: Context | None = None) -> pb.TraceContext | None:
    """The span current in `context` (default: now) as a protocol trace context."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier, context=context)
    parent = carrier.get("traceparent")
    if not parent:
        return None
    proto = _proto_of(parent)
    if carrier.get("tracestate"):
        proto.traceState.CopyFrom(wrappers_pb2.StringValue(value=carrier["tracestate"]))
    return proto


def _proto_of(traceparent: str) -> pb.TraceContext:
    # A W3C traceparent is version-traceid-spanid-flags.
    return pb.TraceContext(traceParent=traceparent, spanID=traceparent.split("-")[2])


def from_proto(proto: pb.TraceContext | None) -> Context | None:
    """A context whose (remote) parent span is the one `proto` names; None if it names none."""
    if proto is None or not proto.traceParent:
        return None
    carrier = {"traceparent": proto.traceParent}
    if proto.HasField("traceState") and proto.traceState.value:
        carrier["tracestate"] = proto.traceState.value
    return from_headers(carrier)


def from_headers(headers: Mapping[str, str]) -> Context | None:
    """The caller's context from W3C ``traceparent``/``tracestate`` headers, if it sent one."""
    context = _PROPAGATOR.extract(headers)
    return context if trace.get_current_span(context).get_span_context().is_valid else None


def execution_started(*events: Iterable[pb.HistoryEvent]) -> pb.ExecutionStartedEvent | None:
    """The ExecutionStarted event among `events`, taken in order."""
    # ExecutionStarted comes first: stop there rather than walk a long history.
    for event in itertools.chain(*events):
        if event.HasField("executionStarted"):
            started: pb.ExecutionStartedEvent = event.executionStarted
            return started
    return None


def orchestration_context(request: pb.OrchestratorRequest) -> pb.TraceContext | None:
    """The trace context an orchestrator episode gives everything it schedules.

    The orchestration span's id (``orchestrationTraceContext.spanID``) in the trace of the
    instance's parent context, as durabletask's worker rebuilds it; the parent context
    itself when the orchestration has no span of its own.
    """
    started = execution_started(request.pastEvents, request.newEvents)
    if started is None or not started.HasField("parentTraceContext"):
        return None
    parent = started.parentTraceContext
    span_id = request.orchestrationTraceContext.spanID.value
    parts = parent.traceParent.split("-")
    if not span_id or len(parts) < 4:
        return parent
    return pb.TraceContext(
        traceParent=f"{parts[0]}-{parts[1]}-{span_id}-{parts[3]}",
        spanID=span_id,
        traceState=parent.traceState if parent.HasField("traceState") else None,
    )


def traced_request_id(request_id: str, parent: pb.TraceContext | None) -> str:
    """An entity operation's request id that also names the caller's trace context.

    The protocol's entity operation events have no trace context field (durabletask's own
    worker links entity calls only through the older batch request). The request id is
    devhost's to choose and only ever compared whole, so devhost appends the caller's W3C
    ``traceparent`` to it, and the entity's span continues that trace.
    """
    if parent is None or not _TRACEPARENT.fullmatch(parent.traceParent):
        return request_id
    return f"{request_id}{_REQUEST_TRACE_SEPARATOR}{parent.traceParent}"


def request_parent(request_id: str) -> pb.TraceContext | None:
    """The caller's trace context `traced_request_id` put in a request id, if any."""
    _, separator, parent = request_id.rpartition(_REQUEST_TRACE_SEPARATOR)
    if not separator or not _TRACEPARENT.fullmatch(parent):
        return None
    return _proto_of(parent)


def stamp_actions(actions: list[pb.OrchestratorAction], parent: pb.TraceContext | None) -> None:
    """Give each activity, child orchestration and entity operation the orchestration's context.

    The backend keeps it as the Durable Task Scheduler does: on the activity work item it
    hands out and on the child's ExecutionStarted; entity operations carry it in their
    request id (`traced_request_id`).
    """
    if parent is None:
        return
    for action in actions:
        if action.HasField("scheduleTask"):
            action.scheduleTask.parentTraceContext.CopyFrom(parent)
        elif action.HasField("createSubOrchestration"):
            action.createSubOrchestration.parentTraceContext.CopyFrom(parent)
        elif action.HasField("sendEntityMessage"):
            message = action.sendEntityMessage
            if message.HasField("entityOperationCalled"):
                called = message.entityOperationCalled
                called.requestId = traced_request_id(called.requestId, parent)
            elif message.HasField("entityOperationSignaled"):
                signaled = message.entityOperationSignaled
                signaled.requestId = traced_request_id(signaled.requestId, parent)


class OrchestrationSpans:
    """The open ``orchestration:`` span of each running instance, kept in the host process.

    `begin` is called for every orchestrator work item handed out: the first one of an
    execution starts the span (a child of the instance's parent trace context), and each
    one carries the span's id and start time in ``orchestrationTraceContext``. `end` closes
    it when the execution completes, fails, is terminated or continues as new.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[str, tuple[Span, int]] = {}

    def begin(self, request: pb.OrchestratorRequest) -> None:
        started = execution_started(request.pastEvents, request.newEvents)
        if started is None or not started.HasField("parentTraceContext"):
            return
        instance_id = request.instanceId
        with self._lock:
            if instance_id not in self._open:
                start_ns = time.time_ns()
                span = _tracer().start_span(
                    f"orchestration:{started.name}",
                    context=from_proto(started.parentTraceContext),
                    kind=SpanKind.SERVER,
                    attributes={
                        TYPE_ATTRIBUTE: "orchestration",
                        NAME_ATTRIBUTE: started.name,
                        INSTANCE_ATTRIBUTE: instance_id,
                    },
                    start_time=start_ns,
                )
                if not span.is_recording():
                    # No tracer provider: children take the parent context as it is.
                    return
                self._open[instance_id] = (span, start_ns)
            span, start_ns = self._open[instance_id]
        stamp = timestamp_pb2.Timestamp()
        stamp.FromNanoseconds(start_ns)
        traced = request.orchestrationTraceContext
        traced.spanStartTime.CopyFrom(stamp)
        traced.spanID.value = format(span.get_span_context().span_id, "016x")

    def end(self, instance_id: str, completion: pb.CompleteOrchestrationAction) -> None:
        with self._lock:
            opened = self._open.pop(instance_id, None)
        if opened is None:
            return
        span = opened[0]
        status = _FINAL_STATUS.get(completion.orchestrationStatus, "Completed")
        span.set_attribute(STATUS_ATTRIBUTE, status)
        if status == "Failed":
            record_failure(span, completion.failureDetails.errorMessage)
        span.end()

    def context(self, instance_id: str) -> Context | None:
        """A context whose current span is the instance's open orchestration span."""
        with self._lock:
            opened = self._open.get(instance_id)
        return None if opened is None else trace.set_span_in_context(opened[0])

    def end_all(self) -> None:
        """The host is stopping: close the spans of instances that did not finish."""
        with self._lock:
            opened = list(self._open.values())
            self._open.clear()
        for span, _ in opened:
            span.set_attribute(STATUS_ATTRIBUTE, "Abandoned")
            span.end()


class InvocationContexts:
    """The trace context of each HTTP invocation, by the token in its client binding."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._contexts: dict[str, Context] = {}

    def add(self, context: Context) -> str:
        token = secrets.token_hex(8)
        with self._lock:
            self._contexts[token] = context
        return token

    def discard(self, token: str) -> None:
        with self._lock:
            self._contexts.pop(token, None)

    def get(self, token: str) -> Context | None:
        with self._lock:
            return self._contexts.get(token)


@contextmanager
def http_span(
    method: str, path: str, route: str, function_name: str, headers: Mapping[str, str]
) -> Iterator[Span]:
    """The SERVER span of one HTTP function invocation, current while it runs."""
    attributes = {
        "http.request.method": method,
        "url.path": path,
        "http.route": route,
        "faas.trigger": "http",
        "faas.name": function_name,
    }
    with _tracer().start_as_current_span(
        f"{method} {route}",
        context=from_headers(headers),
        kind=SpanKind.SERVER,
        attributes=attributes,
    ) as span:
        yield span


def record_http_status(span: Span, status: int) -> None:
    span.set_attribute("http.response.status_code", status)
    if status >= 500:
        span.set_status(Status(StatusCode.ERROR))


@contextmanager
def producer_span(
    name: str,
    attributes: dict[str, str],
    parent: Context | None,
    link: Context | None = None,
) -> Iterator[pb.TraceContext | None]:
    """A PRODUCER span around a management call; yields its context for the backend."""
    links = []
    if link is not None:
        linked = trace.get_current_span(link).get_span_context()
        if linked.is_valid:
            links.append(Link(linked))
    span = _tracer().start_span(
        name, context=parent, kind=SpanKind.PRODUCER, attributes=attributes, links=links
    )
    with trace.use_span(span, end_on_exit=True):
        yield to_proto(trace.set_span_in_context(span))


def create_orchestration_span(
    name: str, instance_id: str, parent: Context | None
) -> AbstractContextManager[pb.TraceContext | None]:
    """The PRODUCER span of starting an instance, as durabletask's client makes it."""
    return producer_span(
        f"create_orchestration:{name}",
        {TYPE_ATTRIBUTE: "orchestration", NAME_ATTRIBUTE: name, INSTANCE_ATTRIBUTE: instance_id},
        parent,
    )


@contextmanager
def activity_span(request: pb.ActivityRequest) -> Iterator[Span]:
    """The SERVER span of one activity, current while it runs."""
    parent = request.parentTraceContext if request.HasField("parentTraceContext") else None
    with _tracer().start_as_current_span(
        f"activity:{request.name}",
        context=from_proto(parent),
        kind=SpanKind.SERVER,
        attributes={
            TYPE_ATTRIBUTE: "activity",
            NAME_ATTRIBUTE: request.name,
            INSTANCE_ATTRIBUTE: request.orchestrationInstance.instanceId,
            TASK_ID_ATTRIBUTE: str(request.taskId),
        },
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        yield span


def record_failure(span: Span, message: str) -> None:
    span.set_status(Status(StatusCode.ERROR, message))


@contextmanager
def entity_spans(request: pb.EntityRequest, entity_name: str) -> Iterator[list[Span]]:
    """One SERVER span per operation of an entity batch, each a child of its caller.

    A batch runs as one call, so the spans cover the same time; with a single operation
    (the usual case) its span is current while the batch runs.
    """
    spans: list[Span] = []
    for event in request.operationRequests:
        attributes = {
            TYPE_ATTRIBUTE: "entity",
            NAME_ATTRIBUTE: entity_name,
            INSTANCE_ATTRIBUTE: request.instanceId,
        }
        if event.HasField("entityOperationCalled"):
            called = event.entityOperationCalled
            operation, request_id = called.operation, called.requestId
            if called.parentInstanceId.value:
                attributes[CALLER_ATTRIBUTE] = called.parentInstanceId.value
        elif event.HasField("entityOperationSignaled"):
            signaled = event.entityOperationSignaled
            operation, request_id = signaled.operation, signaled.requestId
        else:
            continue
        attributes[OPERATION_ATTRIBUTE] = operation
        spans.append(
            _tracer().start_span(
                f"entity:{entity_name}:{operation}",
                context=from_proto(request_parent(request_id)),
                kind=SpanKind.SERVER,
                attributes=attributes,
            )
        )
    token = None
    if len(spans) == 1:
        token = otel_context.attach(trace.set_span_in_context(spans[0]))
    try:
        yield spans
    finally:
        if token is not None:
            otel_context.detach(token)
        for span in spans:
            span.end()
