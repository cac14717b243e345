"""One trace per run on ``python -m devhost --instances 2``, exported by
``OTEL_TRACES_EXPORTER=console``: from the HTTP start through both instances.

Two trip bookings (the nested starter with a human request) are started together over HTTP,
each request answered over HTTP, and devhost stopped, which has it and its instances export
what they hold; the test reads the spans they printed in devhost's log.
"""

from typing import Any

import pytest

from tests.http_host import EMBEDDED_APP, embedded_host
from tests.run_spans import FARE_CHECK, TRIP, ancestors, printed_spans
from workflows.trip_booking import WORKFLOW_NAME

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
