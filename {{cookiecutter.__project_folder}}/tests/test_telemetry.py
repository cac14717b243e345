"""Telemetry is off unless the standard settings ask for it, and stamps spans with their run."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Tracer

import telemetry

PROJECT = Path(__file__).resolve().parent.parent


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
    spans = json.loads("[" + printed.replace("}\n{", "},{") + "]")
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
