"""Trace context through the backend as the Durable Task Scheduler keeps it, and devhost's spans.

The backend tests speak the Durable Task protocol to the backend directly, as durabletask's
worker does; the span tests run the basics app on devhost in this process with an
OpenTelemetry SDK provider that keeps every span in memory.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
import pytest
import requests
from agent_framework.observability import enable_instrumentation
from google.protobuf import wrappers_pb2
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from devhost.backend import LoopbackBackend
from devhost.host import DevHost
from devhost.invocation import bind_arguments
from devhost.tracing import CALLER_ATTRIBUTE, orchestration_context
from devhost.upstream import pb, stubs

from .workflow_driver import run_approved_order

PARENT = pb.TraceContext(
    traceParent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    spanID="b7ad6b7169203331",
)
ORCHESTRATION_SPAN = pb.OrchestrationTraceContext(
    spanID=wrappers_pb2.StringValue(value="00f067aa0ba902b7")
)
ITEM_SECONDS = 10.0


class Sidecar:
    """A durabletask worker's view of the backend: one work-item stream and the stub."""

    def __init__(self, address: str) -> None:
        self._channel = grpc.insecure_channel(address)
        self.stub = stubs.TaskHubSidecarServiceStub(self._channel)  # type: ignore[no-untyped-call]
        self._stream = self.stub.GetWorkItems(pb.GetWorkItemsRequest())
        self._reader = ThreadPoolExecutor(1)

    def next_item(self) -> pb.WorkItem:
        item: pb.WorkItem = self._reader.submit(next, self._stream).result(timeout=ITEM_SECONDS)
        return item

    def close(self) -> None:
        self._stream.cancel()
        self._reader.shutdown(wait=False)
        self._channel.close()


@pytest.fixture
def sidecar() -> Iterator[Sidecar]:
    backend = LoopbackBackend()
    connected = Sidecar(backend.start())
    try:
        yield connected
    finally:
        connected.close()
        backend.stop(grace=0)


def started_event(request: pb.OrchestratorRequest) -> pb.ExecutionStartedEvent:
    return next(
        event.executionStarted
        for event in (*request.pastEvents, *request.newEvents)
        if event.HasField("executionStarted")
    )


def start(sidecar: Sidecar, instance_id: str, parent: pb.TraceContext | None) -> None:
    sidecar.stub.StartInstance(
        pb.CreateInstanceRequest(instanceId=instance_id, name="parent", parentTraceContext=parent)
    )


def complete(
    sidecar: Sidecar,
    item: pb.WorkItem,
    actions: list[pb.OrchestratorAction],
    traced: pb.OrchestrationTraceContext | None = None,
) -> None:
    sidecar.stub.CompleteOrchestratorTask(
        pb.OrchestratorResponse(
            instanceId=item.orchestratorRequest.instanceId,
            actions=actions,
            completionToken=item.completionToken,
            orchestrationTraceContext=traced,
        )
    )


def test_a_new_instance_runs_with_the_trace_context_it_was_started_with(sidecar: Sidecar) -> None:
    start(sidecar, "traced", PARENT)
    start(sidecar, "untraced", None)

    first, second = sidecar.next_item(), sidecar.next_item()

    assert started_event(first.orchestratorRequest).parentTraceContext == PARENT
    assert not started_event(second.orchestratorRequest).HasField("parentTraceContext")


def test_activities_and_child_orchestrations_get_the_context_their_orchestrator_gave(
    sidecar: Sidecar,
) -> None:
    start(sidecar, "parent", PARENT)
    first = sidecar.next_item()
    schedule = pb.ScheduleTaskAction(name="work", parentTraceContext=PARENT)
    child = pb.CreateSubOrchestrationAction(
        instanceId="parent::child", name="child", parentTraceContext=PARENT
    )
    complete(
        sidecar,
        first,
        [
            pb.OrchestratorAction(id=0, scheduleTask=schedule),
            pb.OrchestratorAction(id=1, createSubOrchestration=child),
        ],
        ORCHESTRATION_SPAN,
    )

    handed_out = [sidecar.next_item(), sidecar.next_item()]
    activity = next(i.activityRequest for i in handed_out if i.HasField("activityRequest"))
    child_run = next(i.orchestratorRequest for i in handed_out if i.HasField("orchestratorRequest"))
    assert activity.parentTraceContext == PARENT
    assert started_event(child_run).parentTraceContext == PARENT

    sidecar.stub.CompleteActivityTask(
        pb.ActivityResponse(
            instanceId="parent",
            taskId=activity.taskId,
            result=wrappers_pb2.StringValue(value='"done"'),
            completionToken=next(
                i for i in handed_out if i.HasField("activityRequest")
            ).completionToken,
        )
    )
    again = sidecar.next_item().orchestratorRequest
    assert again.instanceId == "parent"
    assert again.orchestrationTraceContext == ORCHESTRATION_SPAN
    scheduled = {
        event.WhichOneof("eventType"): event
        for event in again.pastEvents
        if event.WhichOneof("eventType") in ("taskScheduled", "subOrchestrationInstanceCreated")
    }
    assert scheduled["taskScheduled"].taskScheduled.parentTraceContext == PARENT
    created = scheduled["subOrchestrationInstanceCreated"].subOrchestrationInstanceCreated
    assert created.parentTraceContext == PARENT


def test_a_new_execution_gets_no_span_back_and_continue_as_new_keeps_its_parent(
    sidecar: Sidecar,
) -> None:
    start(sidecar, "looping", PARENT)
    continued = pb.CompleteOrchestrationAction(
        orchestrationStatus=pb.ORCHESTRATION_STATUS_CONTINUED_AS_NEW
    )
    complete(
        sidecar,
        sidecar.next_item(),
        [pb.OrchestratorAction(id=-1, completeOrchestration=continued)],
        ORCHESTRATION_SPAN,
    )

    next_execution = sidecar.next_item().orchestratorRequest

    assert started_event(next_execution).parentTraceContext == PARENT
    assert not next_execution.HasField("orchestrationTraceContext")


def test_an_orchestrator_episode_parents_its_work_on_the_orchestration_span() -> None:
    started = pb.HistoryEvent(
        executionStarted=pb.ExecutionStartedEvent(name="o", parentTraceContext=PARENT)
    )
    with_span = pb.OrchestratorRequest(
        newEvents=[started], orchestrationTraceContext=ORCHESTRATION_SPAN
    )
    without_span = pb.OrchestratorRequest(newEvents=[started])

    assert orchestration_context(with_span) == pb.TraceContext(
        traceParent="00-0af7651916cd43dd8448eb211c80319c-00f067aa0ba902b7-01",
        spanID="00f067aa0ba902b7",
    )
    assert orchestration_context(without_span) == PARENT
    assert orchestration_context(pb.OrchestratorRequest()) is None


def test_a_function_taking_context_gets_its_invocation_span_as_trace_context() -> None:
    def function(context: Any) -> None:
        """A function that declares the invocation context."""

    invocation = SpanContext(
        trace_id=0x4BF92F3577B34DA6A3CE929D0E0E4736,
        span_id=0x00F067AA0BA902B7,
        is_remote=False,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
    )
    with trace.use_span(NonRecordingSpan(invocation)):
        traced = bind_arguments(function, {}, "f")["context"].trace_context
    untraced = bind_arguments(function, {}, "f")["context"].trace_context

    assert traced.trace_parent == "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    assert untraced.trace_parent == ""


# -- devhost's own spans ----------------------------------------------------------------


@pytest.fixture(scope="module")
def exporter() -> InMemorySpanExporter:
    """Every span of this process from now on, in memory (the provider can be set once)."""
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    kept = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(kept))
    return kept


def spans_of_trace(exporter: InMemorySpanExporter, trace_id: int) -> list[ReadableSpan]:
    return [
        s for s in exporter.get_finished_spans() if s.context and s.context.trace_id == trace_id
    ]


def wait_for(url: str, status: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        body: dict[str, Any] = requests.get(url, timeout=10).json()
        if body["runtimeStatus"] == status:
            return body
        time.sleep(0.05)
    raise AssertionError(f"{url} never reached {status}")


def by_name(spans: list[ReadableSpan]) -> dict[str, ReadableSpan]:
    return {span.name: span for span in spans}


def parent_name(spans: list[ReadableSpan], span: ReadableSpan) -> str | None:
    ids = {s.context.span_id: s.name for s in spans if s.context}
    return ids.get(span.parent.span_id) if span.parent else None


def test_a_started_run_is_one_trace_from_the_http_call_to_each_activity(
    basics: DevHost, exporter: InMemorySpanExporter
) -> None:
    caller = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    started = requests.post(
        f"{basics.base_url}/api/start/greetings",
        json=["Ana", "Bo"],
        headers={"traceparent": caller},
        timeout=10,
    )
    wait_for(started.json()["statusQueryGetUri"], "Completed")
    time.sleep(0.2)

    spans = spans_of_trace(exporter, int("4bf92f3577b34da6a3ce929d0e0e4736", 16))
    named = by_name(spans)
    http = named["POST /api/start/{orchestrator}"]
    assert http.kind == trace.SpanKind.SERVER
    assert http.parent is not None and http.parent.span_id == int("00f067aa0ba902b7", 16)
    assert parent_name(spans, named["create_orchestration:greetings"]) == http.name
    assert parent_name(spans, named["orchestration:greetings"]) == (
        "create_orchestration:greetings"
    )
    assert parent_name(spans, named["orchestration:shout"]) == "orchestration:greetings"
    assert parent_name(spans, named["activity:to_upper"]) == "orchestration:shout"
    hellos = [span for span in spans if span.name == "activity:say_hello"]
    assert len(hellos) == 2
    assert {parent_name(spans, span) for span in hellos} == {"orchestration:greetings"}
    orchestration = named["orchestration:greetings"]
    assert orchestration.attributes is not None
    assert orchestration.attributes["durabletask.task.instance_id"] == started.json()["id"]
    assert orchestration.attributes["durabletask.task.status"] == "Completed"


def test_an_event_is_sent_in_the_trace_of_the_instance_that_waits_for_it(
    basics: DevHost, exporter: InMemorySpanExporter
) -> None:
    started = requests.post(f"{basics.base_url}/api/start/approval", timeout=10).json()
    wait_for(started["statusQueryGetUri"], "Running")
    raised = requests.post(
        f"{basics.base_url}/api/raise/{started['id']}/decision", json={"approved": True}, timeout=10
    )
    assert raised.status_code == 202
    wait_for(started["statusQueryGetUri"], "Completed")
    time.sleep(0.2)

    finished = exporter.get_finished_spans()
    orchestration = next(
        s
        for s in finished
        if s.name == "orchestration:approval"
        and s.attributes
        and s.attributes["durabletask.task.instance_id"] == started["id"]
    )
    assert orchestration.context is not None
    spans = spans_of_trace(exporter, orchestration.context.trace_id)
    event = by_name(spans)["orchestration_event:decision"]
    assert event.kind == trace.SpanKind.PRODUCER
    assert parent_name(spans, event) == "orchestration:approval"
    raise_call = next(s for s in finished if s.name == "POST /api/raise/{instance_id}/{event}")
    assert raise_call.context is not None
    assert [link.context.span_id for link in event.links] == [raise_call.context.span_id]


def test_an_agent_invocation_is_an_entity_span_under_the_orchestration_that_called_it(
    agentic: DevHost, exporter: InMemorySpanExporter
) -> None:
    enable_instrumentation()  # the Agent Framework's agent and chat spans
    run = run_approved_order(agentic.base_url)
    assert run.runtime_status == "Completed"
    time.sleep(0.2)

    finished = exporter.get_finished_spans()
    entity = next(s for s in finished if s.name == "entity:dafx-orders-writer:run")
    assert entity.context is not None and entity.attributes is not None
    spans = spans_of_trace(exporter, entity.context.trace_id)
    caller = next(
        s
        for s in spans
        if s.context and entity.parent and s.context.span_id == entity.parent.span_id
    )
    assert caller.name == "orchestration:dafx-orders"
    assert caller.attributes is not None
    assert entity.attributes[CALLER_ATTRIBUTE] == caller.attributes["durabletask.task.instance_id"]
    assert entity.attributes["durabletask.task.instance_id"].startswith("@dafx-orders-writer@")
    agent = next(s for s in spans if s.name == "invoke_agent writer")
    assert agent.parent is not None and agent.parent.span_id == entity.context.span_id
