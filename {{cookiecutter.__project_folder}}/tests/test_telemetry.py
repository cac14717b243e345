"""Telemetry is off unless the standard settings ask for it, stamps spans with their run,
turns them into run metrics, and is configured once whoever configures it first."""

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode, Tracer

import telemetry
import upstream

PROJECT = Path(__file__).resolve().parent.parent
PROJECT_SLUG = "{{ cookiecutter.project_slug }}"
SECOND = 1_000_000_000
# An arbitrary instant, in nanoseconds, that the metric tests' spans start from.
T0 = 1_700_000_000 * SECOND


def run_python(code: str, environ: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=PROJECT,
        env={"PATH": "/usr/bin:/bin", **environ},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def stamping_tracer() -> tuple[Tracer, InMemorySpanExporter]:
    """A tracer whose spans pass `run_attributes` and land in the returned exporter."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(telemetry.run_attributes())
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider.get_tracer("test"), exporter


def metered_tracer() -> tuple[Tracer, InMemoryMetricReader]:
    """A tracer whose spans pass `run_attributes` then `run_metrics`, read by the reader."""
    reader = InMemoryMetricReader()
    provider = TracerProvider()
    provider.add_span_processor(telemetry.run_attributes())
    provider.add_span_processor(telemetry.run_metrics(meter_provider=MeterProvider([reader])))
    return provider.get_tracer("test"), reader


def data_points(reader: InMemoryMetricReader) -> dict[tuple[str, str], Any]:
    """(metric name, executor or workflow) -> a counter's value or a histogram's (count, sum)."""
    found: dict[tuple[str, str], Any] = {}
    data = reader.get_metrics_data()
    for resource in data.resource_metrics if data else ():
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                for point in metric.data.data_points:
                    attributes = dict(point.attributes or {})
                    subject = attributes.get("dafx.executor.id") or attributes.get(
                        "dafx.workflow.name"
                    )
                    value: Any = (
                        (point.count, round(point.sum, 6))
                        if isinstance(point, HistogramDataPoint)
                        else getattr(point, "value", None)
                    )
                    found[(metric.name, f"{subject}@{attributes.get('dafx.run.instance_id')}")] = (
                        value
                    )
    return found


def printed_documents(text: str) -> list[Any]:
    """The JSON documents the console exporters printed, each starting a line."""
    decoder = json.JSONDecoder()
    documents, position = [], 0
    while (start := text.find("{", position)) >= 0:
        if start > 0 and text[start - 1] != "\n":
            position = start + 1
            continue
        document, position = decoder.raw_decode(text, start)
        documents.append(document)
    return documents


def test_the_upstream_releases_are_the_ones_its_private_uses_were_checked_against() -> None:
    assert upstream.version_mismatches() == []


def test_host_json_turns_on_the_durable_extensions_distributed_tracing_v2() -> None:
    host = json.loads((PROJECT / "host.json").read_text())
    bundle = re.fullmatch(r"\[(\d+)\.(\d+)\.(\d+), .*", host["extensionBundle"]["version"])

    assert host["extensions"]["durableTask"]["tracing"] == {
        "DistributedTracingEnabled": True,
        "Version": "V2",
    }
    assert host["telemetryMode"] == "OpenTelemetry"
    # Bundles from 4.18.0 on (Preview) carry the Durable extension 2.13, the first with tracing V2;
    # the GA range starts later, at 4.38.1 (tests/test_host_settings.py).
    assert bundle is not None
    assert tuple(map(int, bundle.groups())) >= (4, 18, 0)


def test_telemetry_is_off_without_settings() -> None:
    assert telemetry.requested_exporter({}) is None
    assert telemetry.configure_from_environment({}) is None


@pytest.mark.parametrize(
    ("environ", "exporter"),
    [
        ({"OTEL_TRACES_EXPORTER": "console"}, "console"),
        ({"OTEL_TRACES_EXPORTER": "otlp"}, "otlp"),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://localhost:4317"}, "otlp"),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://localhost:4317"}, "otlp"),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://x"}, None),
        ({"APPLICATIONINSIGHTS_CONNECTION_STRING": "InstrumentationKey=k"}, "azure_monitor"),
    ],
)
def test_the_standard_settings_choose_the_exporter(
    environ: dict[str, str], exporter: str | None
) -> None:
    assert telemetry.requested_exporter(environ) == exporter


def test_an_unsupported_exporter_is_an_error_naming_the_setting() -> None:
    with pytest.raises(telemetry.TelemetrySettingError, match="OTEL_TRACES_EXPORTER=zipkin"):
        telemetry.requested_exporter({"OTEL_TRACES_EXPORTER": "zipkin"})


def test_application_insights_signs_in_as_the_identity_the_authentication_string_names() -> None:
    environ = {"APPLICATIONINSIGHTS_AUTHENTICATION_STRING": "ClientId=abc-123;Authorization=AAD"}

    assert telemetry.managed_identity_client_id(environ) == "abc-123"
    assert telemetry.managed_identity_client_id({}) is None


def test_every_span_under_an_orchestration_carries_its_workflow_and_instance() -> None:
    tracer, exporter = stamping_tracer()
    orchestration = {
        "durabletask.type": "orchestration",
        "durabletask.task.name": "dafx-some_workflow",
        "durabletask.task.instance_id": "run-1",
    }

    with (
        tracer.start_as_current_span("orchestration", attributes=orchestration),
        tracer.start_as_current_span("executor.process"),
        tracer.start_as_current_span("chat"),
    ):
        pass
    with tracer.start_as_current_span("unrelated"):
        pass

    stamped = {
        span.name: (
            (span.attributes or {}).get("dafx.workflow.name"),
            (span.attributes or {}).get("dafx.run.instance_id"),
        )
        for span in exporter.get_finished_spans()
    }
    assert stamped == {
        "orchestration": ("some_workflow", "run-1"),
        "executor.process": ("some_workflow", "run-1"),
        "chat": ("some_workflow", "run-1"),
        "unrelated": (None, None),
    }


def test_an_entity_span_names_the_run_of_the_orchestration_that_called_it() -> None:
    tracer, exporter = stamping_tracer()
    entity = {
        "durabletask.type": "entity",
        "durabletask.task.name": "dafx-some_workflow-writer",
        "durabletask.task.instance_id": "@dafx-some_workflow-writer@session-1",
    }
    called = {**entity, "devhost.entity.caller_instance_id": "run-2::review::0"}

    with (
        tracer.start_as_current_span("called entity", attributes=called),
        tracer.start_as_current_span("chat"),
    ):
        pass
    with tracer.start_as_current_span("signalled entity", attributes=entity):
        pass

    runs = {
        span.name: (span.attributes or {}).get("dafx.run.instance_id")
        for span in exporter.get_finished_spans()
    }
    assert runs == {"called entity": "run-2", "chat": "run-2", "signalled entity": None}


def test_executor_and_workflow_metrics_carry_their_run_and_workflow() -> None:
    tracer, reader = metered_tracer()
    orchestration = {
        "durabletask.type": "orchestration",
        "durabletask.task.name": "dafx-some_workflow",
        "durabletask.task.instance_id": "run-1",
    }
    run = tracer.start_span("orchestration", attributes=orchestration, start_time=T0)
    in_run = trace.set_span_in_context(run)
    first = tracer.start_span(
        "executor.process a", in_run, attributes={"executor.id": "a"}, start_time=T0 + SECOND
    )
    send = tracer.start_span(
        "message.send", trace.set_span_in_context(first), start_time=T0 + SECOND
    )
    send.end(end_time=T0 + 3 * SECOND // 2)
    first.end(end_time=T0 + 2 * SECOND)
    second = tracer.start_span(
        "executor.process b", in_run, attributes={"executor.id": "b"}, start_time=T0 + 4 * SECOND
    )
    second.set_status(Status(StatusCode.ERROR))
    second.end(end_time=T0 + 6 * SECOND)
    run.end(end_time=T0 + 10 * SECOND)

    assert data_points(reader) == {
        ("dafx.executor.invocations", "a@run-1"): 1,
        ("dafx.executor.invocations", "b@run-1"): 1,
        ("dafx.executor.duration", "a@run-1"): (1, 1.0),
        ("dafx.executor.duration", "b@run-1"): (1, 2.0),
        ("dafx.executor.failures", "b@run-1"): 1,
        ("dafx.executor.message_wait", "b@run-1"): (1, 2.5),
        ("dafx.workflow.runs", "some_workflow@run-1"): 1,
        ("dafx.workflow.duration", "some_workflow@run-1"): (1, 10.0),
    }


def test_an_executor_waits_for_its_predecessors_message_not_a_parallel_branchs() -> None:
    from agent_framework import WorkflowBuilder, WorkflowContext, executor

    async def step(text: str, ctx: WorkflowContext[str]) -> None:
        await ctx.send_message(text)

    start, a, b, c, d = (executor(id=name)(step) for name in "sabcd")
    workflow = (
        WorkflowBuilder(name="branches", start_executor=start)
        .add_fan_out_edges(start, [a, c])
        .add_edge(a, b)
        .add_edge(c, d)
        .build()
    )
    reader = InMemoryMetricReader()
    provider = TracerProvider()
    provider.add_span_processor(telemetry.run_attributes([workflow]))
    provider.add_span_processor(telemetry.run_metrics([workflow], MeterProvider([reader])))
    tracer = provider.get_tracer("test")
    orchestration = {
        "durabletask.type": "orchestration",
        "durabletask.task.name": "dafx-branches",
        "durabletask.task.instance_id": "run-5",
    }
    run = trace.set_span_in_context(
        tracer.start_span("orchestration", attributes=orchestration, start_time=T0)
    )
    for sender, sent in (("a", 1), ("c", 3)):
        span = tracer.start_span(
            f"executor.process {sender}",
            run,
            attributes={"executor.id": sender},
            start_time=T0 + sent * SECOND,
        )
        send = tracer.start_span(
            "message.send", trace.set_span_in_context(span), start_time=T0 + sent * SECOND
        )
        send.end(end_time=T0 + sent * SECOND)
        span.end(end_time=T0 + sent * SECOND)
    tracer.start_span(
        "executor.process b", run, attributes={"executor.id": "b"}, start_time=T0 + 4 * SECOND
    ).end(end_time=T0 + 4 * SECOND)

    assert data_points(reader)[("dafx.executor.message_wait", "b@run-5")] == (1, 3.0)


def test_an_agent_outside_any_executor_span_counts_as_its_executor() -> None:
    """On the durable hosts an agent runs as an entity: its invoke_agent span is the
    executor's invocation, and its reply is the message the next executor waits for."""
    tracer, reader = metered_tracer()
    entity = {
        "durabletask.type": "entity",
        "durabletask.task.name": "dafx-some_workflow-writer",
        "devhost.entity.caller_instance_id": "run-3",
    }
    agent = {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "writer"}
    host = tracer.start_span("entity", attributes=entity, start_time=T0)
    invoke = tracer.start_span(
        "invoke_agent writer", trace.set_span_in_context(host), attributes=agent, start_time=T0
    )
    invoke.end(end_time=T0 + 3 * SECOND)
    host.end(end_time=T0 + 3 * SECOND)
    step = tracer.start_span(
        "executor.process publish",
        trace.set_span_in_context(
            tracer.start_span(
                "activity",
                attributes={
                    "durabletask.type": "activity",
                    "durabletask.task.name": "dafx-some_workflow-publish",
                    "durabletask.task.instance_id": "run-3",
                },
            )
        ),
        attributes={"executor.id": "publish"},
        start_time=T0 + 4 * SECOND,
    )
    step.end(end_time=T0 + 4 * SECOND)

    points = data_points(reader)
    assert points[("dafx.executor.invocations", "writer@run-3")] == 1
    assert points[("dafx.executor.duration", "writer@run-3")] == (1, 3.0)
    assert points[("dafx.executor.message_wait", "publish@run-3")] == (1, 1.0)


def test_a_real_in_process_run_records_the_metrics_from_the_agent_frameworks_spans() -> None:
    code = """
import asyncio, json
from agent_framework import WorkflowBuilder, WorkflowContext, executor
from agent_framework.observability import enable_instrumentation
from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
import telemetry

@executor(id="shout")
async def shout(text: str, ctx: WorkflowContext[str]) -> None:
    await ctx.send_message(text.upper())

@executor(id="fail")
async def fail(text: str, ctx: WorkflowContext[None, str]) -> None:
    raise ValueError(text)

workflow = WorkflowBuilder(name="loud", start_executor=shout).add_edge(shout, fail).build()
reader = InMemoryMetricReader()
provider = TracerProvider()
provider.add_span_processor(telemetry.run_attributes([workflow]))
provider.add_span_processor(telemetry.run_metrics([workflow], MeterProvider([reader])))
trace.set_tracer_provider(provider)
enable_instrumentation()
try:
    asyncio.run(workflow.run("hi"))
except ValueError:
    pass
points = {}
for resource in reader.get_metrics_data().resource_metrics:
    for scope in resource.scope_metrics:
        for metric in scope.metrics:
            for point in metric.data.data_points:
                key = metric.name + " " + str(point.attributes.get("dafx.executor.id"))
                points[key] = getattr(point, "value", None) or point.count
print(json.dumps(points))
"""
    result = run_python(code, {})

    assert result.returncode == 0, result.stderr
    points = json.loads(result.stdout.strip().splitlines()[-1])
    assert points == {
        "dafx.executor.invocations shout": 1,
        "dafx.executor.invocations fail": 1,
        "dafx.executor.duration shout": 1,
        "dafx.executor.duration fail": 1,
        "dafx.executor.failures fail": 1,
        "dafx.executor.message_wait fail": 1,
        "dafx.workflow.runs None": 1,
        "dafx.workflow.duration None": 1,
        "dafx.workflow.failures None": 1,
    }


def test_telemetry_configured_before_the_app_is_joined_once_not_configured_again() -> None:
    """The Functions Python worker configures Azure Monitor before it imports the app; the
    app's processors join that provider, and neither azure-monitor nor a second provider is
    set up, however often the app configures."""
    code = """
import json, sys
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
import telemetry

reader, exporter, provider = InMemoryMetricReader(), InMemorySpanExporter(), TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(provider)
metrics.set_meter_provider(MeterProvider([reader]))
environ = {"APPLICATIONINSIGHTS_CONNECTION_STRING": "InstrumentationKey=k"}
print(telemetry.configure_from_environment([], environ))
print(telemetry.configure_from_environment([], environ))
attributes = {"durabletask.type": "orchestration",
    "durabletask.task.name": "dafx-other", "durabletask.task.instance_id": "run-9"}
trace.get_tracer("test").start_span("orchestration", attributes=attributes).end()
runs = [point.value for resource in reader.get_metrics_data().resource_metrics
    for scope in resource.scope_metrics for metric in scope.metrics
    if metric.name == "dafx.workflow.runs" for point in metric.data.data_points]
print(json.dumps({
    "same_provider": trace.get_tracer_provider() is provider,
    "run": exporter.get_finished_spans()[0].attributes["dafx.run.instance_id"],
    "runs": runs,
    "azure_monitor_loaded": "azure.monitor.opentelemetry" in sys.modules,
}))
"""
    result = run_python(code, {})

    assert result.returncode == 0, result.stderr
    first, second, outcome = result.stdout.strip().splitlines()[-3:]
    assert (first, second) == ("azure_monitor", "azure_monitor")
    assert json.loads(outcome) == {
        "same_provider": True,
        "run": "run-9",
        "runs": [1],
        "azure_monitor_loaded": False,
    }
    assert "Overriding of current" not in result.stderr


def test_a_function_invocation_names_its_run_on_the_spans_and_metrics_it_makes() -> None:
    """In Azure the host makes the durable spans; the Python worker calls the app's extension
    hooks around each invocation (azure-functions-python-worker, ExtensionManager), and the
    executor's activity input names its run. The worker's invocation is replayed here: its
    hooks, then the real activity function AgentFunctionApp registers, then its hooks."""
    code = """
import json, logging
from agent_framework import WorkflowBuilder, WorkflowContext, executor
from agent_framework_azurefunctions import AgentFunctionApp
from azure.functions import ExtensionMeta
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
import telemetry

@executor(id="shout")
async def shout(text: str, ctx: WorkflowContext[str]) -> None:
    await ctx.send_message(text.upper())

@executor(id="echo")
async def echo(text: str, ctx: WorkflowContext[None, str]) -> None:
    await ctx.yield_output(text)

workflow = WorkflowBuilder(name="loud", start_executor=shout).add_edge(shout, echo).build()
reader, exporter, provider = InMemoryMetricReader(), InMemorySpanExporter(), TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(provider)
metrics.set_meter_provider(MeterProvider([reader]))
environ = {"APPLICATIONINSIGHTS_CONNECTION_STRING": "InstrumentationKey=k"}
telemetry.configure_from_environment([workflow], environ)
registered = [telemetry.name_runs_of_function_invocations([workflow]) for _ in range(2)]
app = AgentFunctionApp(workflows=[workflow])
functions = {f.get_function_name(): f.get_user_function() for f in app.get_functions()}

class TraceContext:
    trace_parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    trace_state = ""
    attributes = {}

class Context:
    function_name = "dafx-loud-shout"
    invocation_id = "invocation-1"
    trace_context = TraceContext()

arguments = {"inputData": json.dumps({
    "executor_id": "shout", "message": "hi", "shared_state_snapshot": {},
    "source_executor_ids": ["__orchestrator__"],
    "host_context": {"instance_id": "run-42", "workflow_name": "loud", "request_path_prefix": ""},
})}
hooks = ExtensionMeta.get_application_hooks()
log = logging.getLogger("extension")
for hook in hooks.pre_invocation_app_level:
    hook.ext_impl(log, Context(), arguments)
result = functions[Context.function_name](**arguments)
for hook in hooks.post_invocation_app_level:
    hook.ext_impl(log, Context(), arguments, result)
trace.get_tracer("test").start_span("after the invocation").end()
spans = {span.name: {
    "run": span.attributes.get("dafx.run.instance_id"),
    "workflow": span.attributes.get("dafx.workflow.name"),
    "trace": format(span.context.trace_id, "032x"),
    "parent": format(span.parent.span_id, "016x") if span.parent else None,
} for span in exporter.get_finished_spans()}
points = [dict(point.attributes) for resource in reader.get_metrics_data().resource_metrics
    for scope in resource.scope_metrics for metric in scope.metrics
    if metric.name == "dafx.executor.invocations" for point in metric.data.data_points]
print(json.dumps({"registered": registered, "sent": json.loads(result)["sent_messages"] != [],
    "spans": spans, "points": points}))
"""
    result = run_python(code, {})

    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["registered"] == [True, False]
    assert outcome["sent"]
    spans = outcome["spans"]
    assert spans["executor.process shout"] == {
        "run": "run-42",
        "workflow": "loud",
        "trace": "0af7651916cd43dd8448eb211c80319c",
        "parent": "b7ad6b7169203331",
    }
    assert spans["message.send"]["run"] == "run-42"
    assert spans["after the invocation"]["run"] is None
    assert outcome["points"] == [
        {
            "dafx.workflow.name": "loud",
            "dafx.run.instance_id": "run-42",
            "dafx.executor.id": "shout",
        }
    ]


def test_an_agent_entity_invocation_names_the_run_of_the_orchestration_that_called_it() -> None:
    """An agent entity's key is the calling orchestration's instance id; a sub-workflow's holds
    its top-level run's before ``::``. The worker hands the entity its batch as an EntityContext."""
    from azure.functions import EntityContext

    owners = {"dafx-trip-writer": "trip"}
    batch = {
        "self": {"name": "dafx-trip-writer", "key": "run-7::book::0"},
        "exists": True,
        "state": None,
        "batch": [{"name": "run", "signal": False, "input": "{}"}],
    }

    found = telemetry.function_invocation_run(
        "dafx-Trip-Writer", {"context": EntityContext(json.dumps(batch))}, owners
    )

    assert found == ("run-7", "trip")


def test_an_invocation_of_no_workflow_function_names_no_run() -> None:
    owners = {"dafx-loud-shout": "loud"}

    assert telemetry.function_invocation_run("health", {"req": object()}, owners) is None
    assert telemetry.function_invocation_run("dafx-loud-shout", {"inputData": "[]"}, owners) is None


def test_console_telemetry_names_the_project_and_exports_metrics_and_each_log_record_once() -> None:
    code = """
import logging
import telemetry
from opentelemetry import _logs, metrics, trace
print("exporter", telemetry.configure_from_environment())
telemetry.configure_from_environment()
attributes = {"durabletask.type": "orchestration",
    "durabletask.task.name": "dafx-other", "durabletask.task.instance_id": "run-8"}
trace.get_tracer("test").start_span("orchestration", attributes=attributes).end()
logging.getLogger("workflows.other").warning("a warning from the app")
logging.getLogger("agent_framework").warning("a warning from the Agent Framework")
trace.get_tracer_provider().force_flush()
_logs.get_logger_provider().force_flush()
metrics.get_meter_provider().force_flush()
"""
    result = run_python(code, {"OTEL_TRACES_EXPORTER": "console"})

    assert result.returncode == 0, result.stderr
    documents = printed_documents(result.stdout)
    spans = [d for d in documents if "context" in d and "kind" in d]
    logs = [d for d in documents if "body" in d]
    metric_data = [d for d in documents if "resource_metrics" in d]
    services = [span["resource"]["attributes"]["service.name"] for span in spans]
    assert services == [PROJECT_SLUG]
    bodies = [log["body"] for log in logs]
    assert bodies.count("a warning from the app") == 1
    assert bodies.count("a warning from the Agent Framework") == 1
    runs = [
        point["value"]
        for data in metric_data
        for resource in data["resource_metrics"]
        for scope in resource["scope_metrics"]
        for metric in scope["metrics"]
        if metric["name"] == "dafx.workflow.runs"
        for point in metric["data"]["data_points"]
    ]
    # Exported at the flush and again at exit, cumulatively: one run, counted once.
    assert runs
    assert set(runs) == {1}


def test_local_telemetry_names_the_process_that_made_each_span() -> None:
    code = """
import os
import telemetry
from opentelemetry import trace
telemetry.configure_from_environment()
print("pid", os.getpid())
trace.get_tracer("test").start_span("step").end()
trace.get_tracer_provider().force_flush()
"""
    result = run_python(code, {"OTEL_TRACES_EXPORTER": "console"})

    assert result.returncode == 0, result.stderr
    pid = next(line.split()[1] for line in result.stdout.splitlines() if line.startswith("pid "))
    spans = [d for d in printed_documents(result.stdout) if "context" in d and "kind" in d]
    assert [span["resource"]["attributes"]["process.pid"] for span in spans] == [int(pid)]


def test_azure_names_the_service_after_the_project_for_the_worker_and_the_app() -> None:
    """The Functions Python worker configures telemetry before the app does, reading the same
    OTEL_SERVICE_NAME app setting; without it, service.name would be the Function App's name."""
    parameters = json.loads((PROJECT / "infra" / "main.parameters.json").read_text())
    bicep = (PROJECT / "infra" / "main.bicep").read_text()

    assert parameters["parameters"]["serviceName"]["value"] == PROJECT_SLUG
    assert re.search(r"^\s*OTEL_SERVICE_NAME: serviceName$", bicep, re.MULTILINE)


def test_otel_service_name_overrides_the_project_name() -> None:
    assert telemetry.service_name({"OTEL_SERVICE_NAME": "shop"}) == "shop"
    assert telemetry.service_name({}) == PROJECT_SLUG


def test_the_console_exporter_prints_the_agent_framework_spans_with_their_run() -> None:
    code = (
        "import telemetry\n"
        "from opentelemetry import trace\n"
        "print('exporter', telemetry.configure_from_environment())\n"
        "tracer = trace.get_tracer('test')\n"
        "attributes = {'durabletask.type': 'orchestration',\n"
        "    'durabletask.task.name': 'dafx-other', 'durabletask.task.instance_id': 'run-7'}\n"
        "with tracer.start_as_current_span('orchestration', attributes=attributes):\n"
        "    with tracer.start_as_current_span('executor.process'):\n"
        "        pass\n"
        "trace.get_tracer_provider().force_flush()\n"
    )

    result = run_python(code, {"OTEL_TRACES_EXPORTER": "console"})

    assert result.returncode == 0, result.stderr
    first_line, _, printed = result.stdout.partition("\n")
    assert first_line == "exporter console"
    spans = [d for d in printed_documents(printed) if "context" in d and "kind" in d]
    assert {span["name"]: span["attributes"]["dafx.run.instance_id"] for span in spans} == {
        "orchestration": "run-7",
        "executor.process": "run-7",
    }
    assert len({span["context"]["trace_id"] for span in spans}) == 1
{% if cookiecutter.__hosted_agent_workflow != "none" %}


def test_every_agent_entity_the_app_registers_names_its_workflow() -> None:
    from tests.fake_chat_client import FakeChatClient
    from tests.function_index import registered_in_this_process
    from workflows import build_workflows

    owners = telemetry.activity_workflows(build_workflows(chat_client=FakeChatClient()))
    registered = registered_in_this_process()
    entities = {f["name"] for f in registered if f["trigger"] == "entityTrigger"}

    assert entities
    assert {name.casefold() for name in entities} <= set(owners)
{% endif %}
