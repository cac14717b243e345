"""devhost's check before AgentFunctionApp's respond route: an answer is used or refused.

The route acknowledges an answer to any request id of a running run and the run drops one it
does not wait for; for an ended run it answers 500 with an empty body. devhost reads the run's
status first and refuses with a 4xx naming what to answer instead (see answers.py).
"""

from __future__ import annotations

from typing import Any

import requests

from devhost.host import DevHost

from .conftest import finished, wait_for
from .test_agent_function_app import pending_ids, pending_requests, run

APPROVE = {"verdict": "keep"}


def waiting(host: DevHost, workflow: str, payload: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """A run of `workflow` and the one request it waits for."""
    started = run(host, workflow, payload)
    (pending,) = pending_requests(host, started["statusQueryGetUri"])
    return started, pending


def respond_url(pending: dict[str, Any], request_id: str) -> str:
    return str(pending["respondUrl"]).rsplit("/", 1)[0] + "/" + request_id


def status_of(started: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = requests.get(started["statusQueryGetUri"], timeout=10).json()
    return body


def assert_refused_naming(response: requests.Response, pending: dict[str, Any]) -> None:
    assert response.status_code == 404, response.text
    body = response.json()
    assert f"'{pending['requestId']}'" in body["error"]
    assert body["pendingHumanInputRequests"] == [
        {"requestId": pending["requestId"], "respondUrl": pending["respondUrl"]}
    ]


def test_an_answer_to_an_unknown_request_is_404_naming_the_request_to_answer(
    agentic: DevHost,
) -> None:
    started, pending = waiting(agentic, "signoff", "budget")

    response = requests.post(respond_url(pending, "no-such-request"), json=APPROVE, timeout=30)

    assert_refused_naming(response, pending)
    assert "'no-such-request'" in response.json()["error"]
    assert pending_ids_now(started) == [pending["requestId"]]


def pending_ids_now(started: dict[str, Any]) -> list[str]:
    return [p["requestId"] for p in status_of(started).get("pendingHumanInputRequests") or []]


def test_unknown_empty_and_bare_ids_under_a_waiting_sub_workflow_are_404_naming_its_request(
    agentic: DevHost,
) -> None:
    started, pending = waiting(agentic, "orders", {"customer": "ada", "item": "lamp"})
    executor, ordinal, bare = str(pending["requestId"]).split("~")

    for request_id in [
        f"{executor}~{ordinal}~no-such-request",
        f"{executor}~{ordinal}~",
        f"{executor}~x~{bare}",
        bare,
        "~~",
    ]:
        response = requests.post(respond_url(pending, request_id), json=APPROVE, timeout=30)
        assert_refused_naming(response, pending)

    assert pending_ids_now(started) == [pending["requestId"]]


def test_an_answer_to_an_ended_run_is_409_saying_it_has_ended(agentic: DevHost) -> None:
    started, pending = waiting(agentic, "signoff", "budget")
    assert requests.post(pending["respondUrl"], json=APPROVE, timeout=30).status_code == 200
    ended = wait_for(started["statusQueryGetUri"], finished).json()["runtimeStatus"]

    again = requests.post(pending["respondUrl"], json=APPROVE, timeout=30)

    assert again.status_code == 409, again.text
    assert (
        again.json()["error"]
        == f"Run {started['instanceId']} has ended ({ended}): it waits for no answer."
    )


def test_a_second_answer_before_the_run_takes_the_first_is_409_and_the_first_is_used(
    agentic: DevHost,
) -> None:
    # A suspended run takes no event, so the first answer waits until it is resumed.
    started, pending = waiting(agentic, "signoff", "budget")
    instance = f"{agentic.base_url}/runtime/webhooks/durabletask/instances/{started['instanceId']}"
    assert requests.post(f"{instance}/suspend", timeout=10).status_code == 202

    first = requests.post(pending["respondUrl"], json={"verdict": "keep"}, timeout=30)
    second = requests.post(pending["respondUrl"], json={"verdict": "drop"}, timeout=30)
    assert requests.post(f"{instance}/resume", timeout=10).status_code == 202
    final = wait_for(started["statusQueryGetUri"], finished).json()

    assert first.status_code == 200
    assert second.status_code == 409, second.text
    assert "has not taken it yet" in second.json()["error"]
    assert final["runtimeStatus"] == "Completed"
    assert final["output"] == ["budget: keep"]


def test_an_answer_to_the_pending_request_is_delivered_as_the_route_delivers_it(
    agentic: DevHost,
) -> None:
    started, pending = waiting(agentic, "signoff", "budget")

    response = requests.post(pending["respondUrl"], json=APPROVE, timeout=30)

    assert response.status_code == 200
    assert response.json()["message"] == "Response delivered successfully"
    wait_for(started["statusQueryGetUri"], lambda r: pending_ids(r) == [] and finished(r))


def test_an_answer_with_no_request_id_is_404_saying_where_to_answer(agentic: DevHost) -> None:
    started, pending = waiting(agentic, "signoff", "budget")

    response = requests.post(respond_url(pending, ""), json=APPROVE, timeout=30)

    assert response.status_code == 404
    assert "respondUrl" in response.json()["error"]
    assert pending_ids_now(started) == [pending["requestId"]]
