"""One run's spans on worker.py, exported by ``OTEL_TRACES_EXPORTER=console``: one linked trace.

A real ``python worker.py`` serves a nested workflow with a human request (the trip booking
starter: its fare check is a sub-workflow that asks a person) from devhost's loopback backend,
which keeps the trace context durabletask sends as the Durable Task Scheduler does. The test
starts the run inside a caller's span, answers the request, stops the worker and reads the
spans it printed.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from devhost.backend import LoopbackBackend
from tests.run_spans import FARE_CHECK, TRIP, WORKFLOW, ancestors, printed_spans
from worker import CONNECTION_SETTING, TASK_HUB_SETTING, WorkflowRuns, parse_connection
from workflows.trip_booking import WORKFLOW_NAME

PROJECT = Path(__file__).resolve().parents[1]
RUN_SECONDS = 60
STOP_SECONDS = 30
# The span of whoever starts the run (a front end, another service), in another process.
CALLER = SpanContext(
    trace_id=0x0AF7651916CD43DD8448EB211C80319C,
    span_id=0xB7AD6B7169203331,
    is_remote=True,
    trace_flags=TraceFlags(TraceFlags.SAMPLED),
)


def traced_trip_run(spans_file: Path) -> str:
    backend = LoopbackBackend()
    address = backend.start()
    environment = {
        **os.environ,
        CONNECTION_SETTING: f"Endpoint=http://{address};Authentication=None",
        TASK_HUB_SETTING: "default",
        "OTEL_TRACES_EXPORTER": "console",
    }
    with spans_file.open("wb") as spans:
        worker = subprocess.Popen(
            [sys.executable, "worker.py", "--workflows", "tests.conftest:offline_workflows"],
            cwd=PROJECT,
            env=environment,
            stdout=spans,
            stderr=subprocess.DEVNULL,
        )
    try:
        runs = WorkflowRuns(parse_connection(environment))
        # durabletask's client sends the current trace context with the new instance.
        with trace.use_span(NonRecordingSpan(CALLER)):
            instance_id = runs.start(TRIP.workflow, TRIP.body)
        answered: set[str] = set()
        deadline = time.monotonic() + RUN_SECONDS
        status = runs.status(instance_id)
        while status["runtimeStatus"] != "COMPLETED":
            assert time.monotonic() < deadline, f"run not completed in {RUN_SECONDS}s: {status}"
            for request in status["pendingHumanInputRequests"]:
                if request["request_id"] not in answered:
                    answered.add(request["request_id"])
                    runs.respond(instance_id, request["request_id"], TRIP.answers[0])
            time.sleep(0.05)
            status = runs.status(instance_id)
        assert len(answered) == 1
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=STOP_SECONDS)
        backend.stop()
    return instance_id


@pytest.fixture(scope="module")
def trip_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, list[dict[str, Any]]]:
    """The run's instance id and every span the worker printed."""
    spans_file = tmp_path_factory.mktemp("worker") / "spans.json"
    instance_id = traced_trip_run(spans_file)
    return instance_id, printed_spans(spans_file.read_text())


def test_every_span_of_a_nested_run_with_a_human_answer_names_the_run(
    trip_run: tuple[str, list[dict[str, Any]]],
) -> None:
    instance_id, spans = trip_run
    durable = [s for s in spans if s["attributes"].get("durabletask.task.instance_id")]
    run = [s for s in spans if s["attributes"].get("dafx.run.instance_id") == instance_id]

    names = {s["name"] for s in durable}
    assert {name for name in names if name.startswith("orchestration:")} == {
        f"orchestration:dafx-{WORKFLOW_NAME}",
        f"orchestration:dafx-{FARE_CHECK}",
    }
    # Activity names are dafx-{workflow}-{executor id}; this starter's ids have no dash.
    assert {
        name.removeprefix("activity:dafx-").rpartition("-")[0]
        for name in names
        if name.startswith("activity:")
    } == {WORKFLOW_NAME, FARE_CHECK}
    # durabletask emits its orchestration spans and the CLIENT spans of its calls after the
    # fact, straight to the exporters, so span processors never see them start: their own
    # attributes name the run. Every span started in the worker carries the run's.
    after_the_fact = [
        s
        for s in durable
        if s["kind"] == "SpanKind.CLIENT" or s["name"].startswith("orchestration:")
    ]
    assert all(
        s["attributes"]["durabletask.task.instance_id"].startswith(instance_id)
        for s in after_the_fact
    )
    started = [s for s in spans if s not in after_the_fact]
    assert {s["name"].split()[0] for s in started} >= {"executor.process", "message.send"}
    assert all(s in run for s in started)
    assert {
        (s["name"].removeprefix("activity:dafx-").rpartition("-")[0], s["attributes"][WORKFLOW])
        for s in started
        if s["name"].startswith("activity:")
    } == {(WORKFLOW_NAME, WORKFLOW_NAME), (FARE_CHECK, FARE_CHECK)}


def test_the_run_is_one_trace_from_its_caller_through_each_orchestration_to_each_executor(
    trip_run: tuple[str, list[dict[str, Any]]],
) -> None:
    _, spans = trip_run
    by_id = {s["context"]["span_id"]: s for s in spans}
    servers = [s for s in spans if s["kind"] == "SpanKind.SERVER"]
    top = next(s for s in servers if s["name"] == f"orchestration:dafx-{WORKFLOW_NAME}")
    child = next(s for s in servers if s["name"] == f"orchestration:dafx-{FARE_CHECK}")
    activities = [s for s in servers if s["name"].startswith("activity:")]
    executors = [s for s in spans if s["name"].startswith("executor.process ")]

    assert {s["context"]["trace_id"] for s in spans} == {f"0x{CALLER.trace_id:032x}"}
    assert top["parent_id"] == f"0x{CALLER.span_id:016x}"
    assert top["name"] in ancestors(child, by_id)
    assert {s["name"] for s in activities} >= {
        f"activity:dafx-{WORKFLOW_NAME}-plan_trip",
        f"activity:dafx-{FARE_CHECK}-fare_hold",
    }
    for activity in activities:
        owner = child if FARE_CHECK in activity["name"] else top
        assert owner["name"] in ancestors(activity, by_id)
    assert executors
    assert all(by_id[s["parent_id"]] in activities for s in executors)
