"""The app on ``python -m devhost --instances 2``, as two Flex instances share it.

Durable work is spread over two worker processes, so state kept in a module-level variable
between executors breaks here. devhost and its instances trace to the console
(``OTEL_TRACES_EXPORTER=console``), as they would export to Application Insights; the trace
tests stop devhost, which has it and its instances export what they hold, and read what they
printed in its log.
"""

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
{% if cookiecutter.composition_workflow != "none" %}
from typing import Any
{% endif %}

import pytest

from tests.http_host import EMBEDDED_APP, Host, embedded_host, run_scenario
{% if cookiecutter.composition_workflow != "none" %}
from tests.run_spans import FARE_CHECK, TRIP, ancestors, printed_spans
{% endif %}
from tests.scenarios import SCENARIOS, Scenario
{% if cookiecutter.composition_workflow != "none" %}
from workflows.trip_booking import WORKFLOW_NAME
{% endif %}

INSTANCES = 2
{% if cookiecutter.composition_workflow != "none" %}
TRACED_RUNS = 2
HTTP_START = f"POST /api/workflow/{WORKFLOW_NAME}/run"
{% endif %}


@dataclass
class TwoInstances:
    host: Host
    log: Path
    stop: Callable[[], None]
    """Stops devhost (once); the module's last step."""


@pytest.fixture(scope="module")
def two_instances(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoInstances]:
    log_dir = tmp_path_factory.mktemp("devhost")
    settings = {"OTEL_TRACES_EXPORTER": "console"}
    with ExitStack() as running:
        host = running.enter_context(embedded_host(log_dir, EMBEDDED_APP, settings, INSTANCES))
        host.offline_model = True
        yield TwoInstances(host, log_dir / f"embedded-host-{INSTANCES}.log", running.close)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.id)
def test_scenario_runs_on_two_instances(two_instances: TwoInstances, scenario: Scenario) -> None:
    run_scenario(two_instances.host, scenario)
{% if cookiecutter.composition_workflow != "none" %}


@pytest.fixture(scope="module")
def trip_runs(two_instances: TwoInstances) -> tuple[list[str], list[dict[str, Any]], str]:
    """Trip bookings started together, each answered once; then devhost stopped.

    Their instance ids, the spans devhost and its instances printed, and devhost's log.
    """
    host = two_instances.host
    started = [host.start(TRIP.workflow, TRIP.body).json() for _ in range(TRACED_RUNS)]
    for run in started:
        waiting = host.status_until(
            run["statusQueryGetUri"], lambda body: body.get("pendingHumanInputRequests")
        )
        (request,) = waiting["pendingHumanInputRequests"]
        answered = host.post_json(request["respondUrl"], TRIP.answers[0])
        assert answered.status_code < 300, answered.text
    for run in started:
        assert host.finished(run["statusQueryGetUri"])["runtimeStatus"] == "Completed"
    two_instances.stop()
    log = two_instances.log.read_text()
    return [run["instanceId"] for run in started], printed_spans(log), log


def test_each_run_is_one_trace_from_its_http_start_across_both_instances(
    trip_runs: tuple[list[str], list[dict[str, Any]], str],
) -> None:
    instance_ids, spans, log = trip_runs
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
    assert len(traces) == TRACED_RUNS
{% endif %}
