"""Every workflow over real HTTP: run, status, respond, completed.

By default the app is served by the embedded development host (``python -m devhost``);
see ``tests/http_host.py`` to run the same tests against ``func start`` or any running host.
"""

import os
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.http_host import Host, running_host
from tests.scenarios import SCENARIOS, Scenario, output_matches

pytestmark = pytest.mark.http
TIMEOUT_SECONDS = 60
FINISHED = {"Completed", "Failed", "Terminated", "Canceled"}


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Host]:
    with running_host(Path(tmp_path_factory.mktemp("host"))) as running:
        yield running


def status_until(host: Host, status_url: str, done: Any) -> dict[str, Any]:
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        response = requests.get(status_url, headers=host.headers, timeout=10)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if done(body):
            return body
        time.sleep(0.2)
    raise AssertionError(f"{status_url} did not get there within {TIMEOUT_SECONDS}s")


def start(host: Host, scenario: Scenario) -> dict[str, Any]:
    response = requests.post(
        host.url(f"workflow/{scenario.workflow}/run"),
        json=scenario.body,
        headers=host.headers,
        timeout=30,
    )
    assert response.status_code == 202, response.text
    started: dict[str, Any] = response.json()
    return started


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.id)
def test_scenario_runs_over_http(host: Host, scenario: Scenario) -> None:
    if scenario.calls_the_model and not (host.offline_model or os.environ.get("DAFX_REAL_MODEL")):
        pytest.skip(
            "this host would call the real model: configure the model settings, `az login`,"
            " and set DAFX_REAL_MODEL=1 to include it"
        )
    started = start(host, scenario)
    status_url = started["statusQueryGetUri"]

    for answer in scenario.answers:
        status = status_until(
            host,
            status_url,
            lambda body: body.get("pendingHumanInputRequests") or body["runtimeStatus"] in FINISHED,
        )
        (pending,) = status["pendingHumanInputRequests"]
        assert pending["requestId"].startswith(scenario.request_prefix)
        assert output_matches(pending["requestData"], scenario.expected_request)
        response = requests.post(
            pending["respondUrl"], json=answer, headers=host.headers, timeout=30
        )
        assert response.status_code == 200, response.text

    final = status_until(host, status_url, lambda body: body["runtimeStatus"] in FINISHED)
    assert final["runtimeStatus"] == "Completed", final
    assert output_matches(final["output"][-1], scenario.expected_output), final["output"]


def test_a_run_whose_body_misses_fields_fails_naming_them(host: Host) -> None:
    typed = [scenario for scenario in SCENARIOS if isinstance(scenario.body, dict)]
    if not typed:
        pytest.skip("no workflow in this project starts from a JSON object")
    started = start(host, replace(typed[0], body={"unexpected": 1}))

    final = status_until(
        host, started["statusQueryGetUri"], lambda body: body["runtimeStatus"] in FINISHED
    )

    assert final["runtimeStatus"] == "Failed"
    assert "missing" in final["error"] and "unknown unexpected" in final["error"]


def test_status_of_an_unknown_instance_is_404(host: Host) -> None:
    workflow = SCENARIOS[0].workflow

    response = requests.get(
        host.url(f"workflow/{workflow}/status/no-such-instance"), headers=host.headers, timeout=10
    )

    assert response.status_code == 404


def test_run_without_a_body_is_400(host: Host) -> None:
    workflow = SCENARIOS[0].workflow

    response = requests.post(host.url(f"workflow/{workflow}/run"), headers=host.headers, timeout=10)

    assert response.status_code == 400
    assert "body" in response.text.lower()


@pytest.fixture
def waiting_run(host: Host) -> dict[str, Any]:
    """A run paused on a human request: its status, with ``pendingHumanInputRequests``."""
    asking = [scenario for scenario in SCENARIOS if scenario.answers]
    if not asking:
        pytest.skip("no workflow in this project asks for human input")
    started = start(host, asking[0])
    return status_until(
        host, started["statusQueryGetUri"], lambda body: body.get("pendingHumanInputRequests")
    )


def test_an_answer_that_is_not_json_is_400(host: Host, waiting_run: dict[str, Any]) -> None:
    respond_url = waiting_run["pendingHumanInputRequests"][0]["respondUrl"]

    response = requests.post(respond_url, data="yes please", headers=host.headers, timeout=10)

    assert response.status_code == 400
    assert "JSON" in response.text


def test_an_answer_to_an_unknown_request_is_404(host: Host, waiting_run: dict[str, Any]) -> None:
    respond_url = waiting_run["pendingHumanInputRequests"][0]["respondUrl"]
    unknown = respond_url.rsplit("/", 1)[0] + "/missing~0~request"

    response = requests.post(unknown, json={"approved": True}, headers=host.headers, timeout=10)

    assert response.status_code == 404
