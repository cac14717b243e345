"""One run's spans on worker.py, exported by ``OTEL_TRACES_EXPORTER=console``: one linked trace.

A real ``python worker.py`` serves a nested workflow with a human request (the trip booking
starter: its fare check is a sub-workflow that asks a person) from devhost's loopback backend,
which keeps the trace context durabletask sends as the Durable Task Scheduler does. The test
starts the run inside a caller's span, answers the request, stops the worker and reads the
spans it printed.
"""

import json
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
from tests.http_host import EMBEDDED_APP, embedded_host
from tests.scenarios import SCENARIOS
from worker import CONNECTION_SETTING, TASK_HUB_SETTING, WorkflowRuns, parse_connection
from workflows.trip_booking import WORKFLOW_NAME

PROJECT = Path(__file__).resolve().parents[1]
RUN_SECONDS = 60
STOP_SECONDS = 30
TRIP = next(scenario for scenario in SCENARIOS if scenario.workflow == WORKFLOW_NAME)
FARE_CHECK = f"{WORKFLOW_NAME}_fare_check"
WORKFLOW = "dafx.workflow.name"
# The span of whoever starts the run (a front end, another service), in another process.
CALLER = SpanContext(
    trace_id=0x0AF7651916CD43DD8448EB211C80319C,
    span_id=0xB7AD6B7169203331,
    is_remote=True,
    trace_flags=TraceFlags(TraceFlags.SAMPLED),
)


def printed_spans(text: str) -> list[dict[str, Any]]:
    """The spans among the JSON documents the console exporters printed (each starts a line;
    devhost's log lines between them start with a timestamp)."""
    decoder = json.JSONDecoder()
    documents, position = [], 0
    while (start := text.find("{", position)) >= 0:
        if start > 0 and text[start - 1] != "\n":
            position = start + 1
            continue
        document, position = decoder.raw_decode(text, start)
        documents.append(document)
    return [d for d in documents if isinstance(d, dict) and "context" in d and "kind" in d]


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


def ancestors(span: dict[str, Any], by_id: dict[str, dict[str, Any]]) -> list[str]:
    """The names of the span's parent, its parent's parent, ... as far as they were printed."""
    names = []
    while span.get("parent_id") in by_id:
        span = by_id[span["parent_id"]]
        names.append(span["name"])
    return names


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


# -- the same run on python -m devhost --instances 2 ----------------------------------------

RUNS = 2
HTTP_START = f"POST /api/workflow/{WORKFLOW_NAME}/run"


@pytest.fixture(scope="module")
def devhost_runs(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[list[str], list[dict[str, Any]], str]:
    """Trip bookings started together on two devhost instances, each answered once.

    Their instance ids, the spans devhost and its instances printed, and devhost's log.
    """
    log_dir = tmp_path_factory.mktemp("devhost")
    with embedded_host(log_dir, EMBEDDED_APP, {"OTEL_TRACES_EXPORTER": "console"}, 2) as host:
        started = [host.start(TRIP.workflow, TRIP.body).json() for _ in range(RUNS)]
        for run in started:
            waiting = host.status_until(
                run["statusQueryGetUri"], lambda body: body.get("pendingHumanInputRequests")
            )
            (request,) = waiting["pendingHumanInputRequests"]
            answered = host.post_json(request["respondUrl"], TRIP.answers[0])
            assert answered.status_code < 300, answered.text
        for run in started:
            assert host.finished(run["statusQueryGetUri"])["runtimeStatus"] == "Completed"
    # Stopping devhost has it and its instances export what they hold.
    log = (log_dir / "embedded-host-2.log").read_text()
    return [run["instanceId"] for run in started], printed_spans(log), log


def test_each_devhost_run_is_one_trace_from_its_http_start_across_both_instances(
    devhost_runs: tuple[list[str], list[dict[str, Any]], str],
) -> None:
    instance_ids, spans, log = devhost_runs
    by_id = {s["context"]["span_id"]: s for s in spans}
    assert "[instance 1, pid" in log
    assert "[instance 2, pid" in log
    traces = set()
    for instance_id in instance_ids:
        named = [s for s in spans if s["attributes"].get("dafx.run.instance_id") == instance_id]
        (trace_id,) = {s["context"]["trace_id"] for s in named}
        traces.add(trace_id)
        run = [s for s in spans if s["context"]["trace_id"] == trace_id]

        def parent(span: dict[str, Any], run: list[dict[str, Any]] = run) -> str:
            return str(by_id[span["parent_id"]]["name"]) if span["parent_id"] else ""

        def one(name: str, run: list[dict[str, Any]] = run) -> dict[str, Any]:
            (span,) = [s for s in run if s["name"] == name and s["kind"] != "SpanKind.CLIENT"]
            return span

        http = one(HTTP_START)
        assert http["kind"] == "SpanKind.SERVER"
        assert http["parent_id"] is None
        assert parent(one(f"create_orchestration:dafx-{WORKFLOW_NAME}")) == HTTP_START
        top = one(f"orchestration:dafx-{WORKFLOW_NAME}")
        child = one(f"orchestration:dafx-{FARE_CHECK}")
        assert parent(top) == f"create_orchestration:dafx-{WORKFLOW_NAME}"
        assert parent(child) == top["name"]
        activities = [s for s in run if s["name"].startswith("activity:")]
        assert {s["name"] for s in activities} >= {
            f"activity:dafx-{WORKFLOW_NAME}-plan_trip",
            f"activity:dafx-{FARE_CHECK}-fare_hold",
        }
        for activity in activities:
            owner = child if FARE_CHECK in activity["name"] else top
            assert activity["parent_id"] == owner["context"]["span_id"]
        executors = [s for s in run if s["name"].startswith("executor.process ")]
        assert executors
        assert all(by_id[s["parent_id"]] in activities for s in executors)
        (answer,) = [s for s in run if s["name"].startswith("orchestration_event:")]
        assert parent(answer) in {top["name"], child["name"]}
        (respond,) = [by_id[link["context"]["span_id"]] for link in answer["links"]]
        assert respond["name"].startswith(f"POST /api/workflow/{WORKFLOW_NAME}/respond/")

        # Every span of the run names it, except the HTTP call that started it: that span
        # starts before the instance exists.
        assert [s for s in run if s not in named] == [http]
        for span in named:
            in_fare_check = span is child or child["name"] in ancestors(span, by_id)
            expected = FARE_CHECK if in_fare_check else WORKFLOW_NAME
            assert span["attributes"]["dafx.workflow.name"] == expected, span["name"]
    assert len(traces) == RUNS
