"""An AgentFunctionApp written without devhost in mind, driven over its documented routes."""

from __future__ import annotations

import re
from typing import Any

import requests

from devhost.host import DevHost

from .conftest import finished, wait_for
from .workflow_driver import request_id_shape, run_approved_order, run_over_http


def run(host: DevHost, workflow: str, payload: Any) -> dict[str, Any]:
    response = requests.post(
        f"{host.base_url}/api/workflow/{workflow}/run", json=payload, timeout=30
    )
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    return body


def pending_requests(host: DevHost, status_url: str, count: int = 1) -> list[dict[str, Any]]:
    """The run's pending human requests, once there are at least `count` of them.

    Parallel children reach their requests one after the other, so a run that asks several
    people is read once all have asked.
    """
    status = wait_for(
        status_url, lambda r: len(r.json().get("pendingHumanInputRequests") or []) >= count
    )
    requests_: list[dict[str, Any]] = status.json()["pendingHumanInputRequests"]
    return requests_


def pending_ids(status: requests.Response) -> list[str]:
    return [pending["requestId"] for pending in status.json().get("pendingHumanInputRequests", [])]


def test_health_route_answers_without_a_key(agentic: DevHost) -> None:
    response = requests.get(f"{agentic.base_url}/api/health", timeout=10)
    assert response.status_code == 200
    assert response.json()["status"] == "healthy"


def test_run_route_returns_202_with_status_and_respond_links(agentic: DevHost) -> None:
    started = run(agentic, "orders", {"item": "kettle"})
    instance_id = started["instanceId"]
    base = f"{agentic.base_url}/api/workflow/orders"
    assert started["statusQueryGetUri"] == f"{base}/status/{instance_id}"
    assert started["respondUri"] == f"{base}/respond/{instance_id}/{{requestId}}"


def test_nested_request_surfaces_on_the_top_level_instance_with_a_qualified_id(
    agentic: DevHost,
) -> None:
    started = run(agentic, "orders", {"item": "kettle", "customer": "ada"})
    [pending] = pending_requests(agentic, started["statusQueryGetUri"])
    assert request_id_shape(pending["requestId"]) == "review~0~<id>"
    assert pending["sourceExecutor"] == "reviewer"
    assert pending["requestData"] == {"draft": "ANNOUNCE KETTLE FOR ADA", "question": "ship it?"}
    assert pending["respondUrl"].startswith(
        f"{agentic.base_url}/api/workflow/orders/respond/{started['instanceId']}/review~0~"
    )


def test_child_orchestration_id_is_parent_executor_ordinal(agentic: DevHost) -> None:
    started = run(agentic, "orders", {"item": "lamp"})
    status = wait_for(
        started["statusQueryGetUri"], lambda r: bool(r.json().get("pendingHumanInputRequests"))
    ).json()
    assert status["customStatus"]["subworkflows"] == {
        "review": [f"{started['instanceId']}::review::0"]
    }


def test_answering_the_nested_request_completes_the_workflow(agentic: DevHost) -> None:
    outcome = run_approved_order(agentic.base_url)
    assert outcome.runtime_status == "Completed"
    assert outcome.output == [{"shipped": True, "text": "ANNOUNCE KETTLE FOR ADA"}]


def test_top_level_request_is_answered_on_the_same_instance(agentic: DevHost) -> None:
    outcome = run_over_http(agentic.base_url, "signoff", "budget", lambda _: {"verdict": "yes"})
    assert outcome.output == ["budget: yes"]
    assert [request_id_shape(request_id) for request_id in outcome.answered_request_ids] == ["<id>"]


def test_wait_for_response_returns_the_output_inline(agentic: DevHost) -> None:
    response = requests.post(
        f"{agentic.base_url}/api/workflow/echo/run?waitForResponse=true",
        data="devhost",
        headers={"Content-Type": "text/plain"},
        timeout=30,
    )
    assert response.status_code == 200
    assert response.json()["runtimeStatus"] == "Completed"
    assert response.json()["output"] == ["tsohved"]


def test_failing_executor_surfaces_as_failed_with_its_error(agentic: DevHost) -> None:
    started = run(agentic, "orders", {"customer": "no item"})
    status = wait_for(
        started["statusQueryGetUri"], lambda r: r.json()["runtimeStatus"] in ("Completed", "Failed")
    ).json()
    assert status["runtimeStatus"] == "Failed"
    assert re.search(r"ValueError: an order needs an item", status["error"])


def test_answer_for_an_unknown_request_is_404(agentic: DevHost) -> None:
    started = run(agentic, "signoff", "budget")
    pending_requests(agentic, started["statusQueryGetUri"])
    url = started["respondUri"].replace("{requestId}", "review~3~not-a-request")
    assert requests.post(url, json={"verdict": "no"}, timeout=10).status_code == 404


def test_status_of_another_workflows_instance_is_404(agentic: DevHost) -> None:
    started = run(agentic, "signoff", "budget")
    url = f"{agentic.base_url}/api/workflow/orders/status/{started['instanceId']}"
    assert requests.get(url, timeout=10).status_code == 404


def test_agent_route_runs_the_agent_entity_and_reads_its_state(agentic: DevHost) -> None:
    response = requests.post(
        f"{agentic.base_url}/api/agents/orders-writer/run", json={"message": "hi there"}, timeout=30
    )
    assert response.status_code == 200
    assert response.json()["response"] == "HI THERE"


def test_second_child_request_stays_answerable_after_the_first_child_finishes(
    agentic: DevHost,
) -> None:
    started = run(agentic, "batch", "pen,cup")
    first, second = sorted(
        pending_requests(agentic, started["statusQueryGetUri"], count=2),
        key=lambda pending: str(pending["requestId"]),
    )
    assert [request_id_shape(first["requestId"]), request_id_shape(second["requestId"])] == [
        "check~0~<id>",
        "check~1~<id>",
    ]
    assert requests.post(first["respondUrl"], json={"verdict": "keep"}, timeout=10).ok
    wait_for(started["statusQueryGetUri"], lambda r: pending_ids(r) == [second["requestId"]])
    assert requests.post(second["respondUrl"], json={"verdict": "drop"}, timeout=10).ok
    status = wait_for(started["statusQueryGetUri"], finished).json()
    assert status["runtimeStatus"] == "Completed"
    assert sorted(status["output"]) == ["cup: drop", "pen: keep"]
