"""One run's spans on worker.py, exported by ``OTEL_TRACES_EXPORTER=console``, all name the run.

A real ``python worker.py`` serves a nested workflow with a human request (the trip booking
starter: its fare check is a sub-workflow that asks a person) from devhost's loopback backend;
the test answers the request, stops the worker and reads the spans it printed.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from devhost.backend import LoopbackBackend
from tests.scenarios import SCENARIOS
from worker import CONNECTION_SETTING, TASK_HUB_SETTING, WorkflowRuns, parse_connection
from workflows.trip_booking import WORKFLOW_NAME

PROJECT = Path(__file__).resolve().parents[1]
RUN_SECONDS = 60
STOP_SECONDS = 30
TRIP = next(scenario for scenario in SCENARIOS if scenario.workflow == WORKFLOW_NAME)
FARE_CHECK = f"{WORKFLOW_NAME}_fare_check"


def printed_spans(text: str) -> list[dict[str, Any]]:
    """The spans among the JSON documents the console exporters printed one after another."""
    decoder = json.JSONDecoder()
    documents, position = [], 0
    while position < len(text):
        if text[position].isspace():
            position += 1
            continue
        document, position = decoder.raw_decode(text, position)
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


def test_every_span_of_a_nested_run_with_a_human_answer_names_the_run(tmp_path: Path) -> None:
    instance_id = traced_trip_run(tmp_path / "spans.json")
    spans = printed_spans((tmp_path / "spans.json").read_text())
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
    assert all(s in run for s in durable)
    assert {s["name"].split()[0] for s in run} >= {"executor.process", "message.send"}
    assert {
        (s["name"], s["attributes"]["dafx.workflow.name"])
        for s in run
        if s["name"].startswith("orchestration:")
    } == {
        (f"orchestration:dafx-{WORKFLOW_NAME}", WORKFLOW_NAME),
        (f"orchestration:dafx-{FARE_CHECK}", FARE_CHECK),
    }


def test_executor_spans_are_children_of_their_activity_span_in_one_trace(tmp_path: Path) -> None:
    traced_trip_run(tmp_path / "spans.json")
    spans = printed_spans((tmp_path / "spans.json").read_text())
    by_id = {s["context"]["span_id"]: s for s in spans}
    executors = [s for s in spans if s["name"].startswith("executor.process ")]

    parents = [by_id[s["parent_id"]] for s in executors]
    assert executors
    assert all(parent["name"].startswith("activity:") for parent in parents)
    assert all(
        s["context"]["trace_id"] == p["context"]["trace_id"]
        for s, p in zip(executors, parents, strict=True)
    )
