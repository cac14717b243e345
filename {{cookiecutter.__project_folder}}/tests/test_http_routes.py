"""Every workflow over real HTTP: run, status, respond, completed; bad bodies and answers.

By default the app is served by the embedded development host (``python -m devhost``);
see ``tests/http_host.py`` to run the same tests against ``func start`` or any running host.
"""

from collections.abc import Callable
from typing import Any

import pytest
import requests

from tests.http_host import Host, pending_request, run_scenario, start
from tests.scenarios import (
    INVALID_ANSWERS,
    REJECTED_STARTS,
    SCENARIOS,
    RejectedStart,
    Scenario,
    first_scenario,
    output_matches,
)

pytestmark = pytest.mark.http
ASKING = [scenario for scenario in SCENARIOS if scenario.answers]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.id)
def test_scenario_runs_over_http(host: Host, scenario: Scenario) -> None:
    run_scenario(host, scenario)


@pytest.mark.parametrize("rejected", REJECTED_STARTS, ids=lambda r: r.id)
def test_a_bad_start_body_fails_the_run_naming_every_problem(
    host: Host, rejected: RejectedStart
) -> None:
    response = host.start(rejected.workflow, rejected.body)
    assert response.status_code == 202, response.text

    final = host.finished(response.json()["statusQueryGetUri"])

    assert final["runtimeStatus"] == "Failed"
    for problem in rejected.problems:
        assert problem in final["error"]


def refused(answer: Any) -> Callable[[dict[str, Any]], bool]:
    """Whether a pending request is the question asked again after ``answer`` was refused."""
    return lambda request: (
        "rejected_answer" in request["requestData"]
        and (request["requestData"]["rejected_answer"] == answer)
    )


@pytest.mark.parametrize("scenario", ASKING, ids=lambda s: s.id)
def test_invalid_answers_keep_the_run_waiting_and_say_what_was_wrong(
    host: Host, scenario: Scenario
) -> None:
    status_url = start(host, scenario)
    first = pending_request(host, status_url)

    for answer in INVALID_ANSWERS:
        response = host.post_json(first["respondUrl"], answer)
        assert response.status_code == 200, response.text
        asked_again = pending_request(host, status_url, refused(answer))
        assert asked_again["requestData"]["problem"].startswith("The last answer was not used: ")
        assert asked_again["requestData"]["answer_with"] == first["requestData"]["answer_with"]

    response = host.post_json(first["respondUrl"], scenario.answers[0])
    assert response.status_code == 200, response.text
    final = host.finished(status_url)
    assert final["runtimeStatus"] == "Completed", final
    assert output_matches(final["output"][-1], scenario.expected_output), final["output"]


@pytest.mark.parametrize("scenario", ASKING, ids=lambda s: s.id)
def test_a_refused_answer_is_asked_again_under_the_request_id_the_caller_was_given(
    host: Host, scenario: Scenario
) -> None:
    status_url = start(host, scenario)
    first = pending_request(host, status_url)

    host.post_json(first["respondUrl"], "yes")
    asked_again = pending_request(host, status_url, refused("yes"))

    assert asked_again["requestId"] == first["requestId"]
    assert asked_again["respondUrl"] == first["respondUrl"]


def test_status_of_an_unknown_instance_is_404(host: Host) -> None:
    workflow = first_scenario().workflow

    response = requests.get(
        host.url(f"workflow/{workflow}/status/no-such-instance"), headers=host.headers, timeout=10
    )

    assert response.status_code == 404


def test_run_without_a_body_is_400(host: Host) -> None:
    workflow = first_scenario().workflow

    response = requests.post(host.url(f"workflow/{workflow}/run"), headers=host.headers, timeout=10)

    assert response.status_code == 400
    assert "body" in response.text.lower()


@pytest.fixture
def waiting_run(host: Host) -> dict[str, Any]:
    """A run paused on a human request: that request, with its ``respondUrl``."""
    if not ASKING:
        pytest.skip("no workflow in this project asks for human input")
    return pending_request(host, start(host, ASKING[0]))


def test_an_answer_that_is_not_json_is_400(host: Host, waiting_run: dict[str, Any]) -> None:
    response = requests.post(
        waiting_run["respondUrl"], data="yes please", headers=host.headers, timeout=10
    )

    assert response.status_code == 400
    assert "JSON" in response.text


def test_an_answer_to_an_unknown_nested_request_is_404(
    host: Host, waiting_run: dict[str, Any]
) -> None:
    unknown = waiting_run["respondUrl"].rsplit("/", 1)[0] + "/missing~0~request"

    response = host.post_json(unknown, {"approved": True})

    assert response.status_code == 404
