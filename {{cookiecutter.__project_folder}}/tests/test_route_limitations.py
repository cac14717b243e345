"""What AgentFunctionApp's routes do today where a caller could lose an answer or a run.

These routes belong to the library, not to this project, so they are pinned here rather
than patched: when an upgrade changes one of these behaviours, its test fails, and the
docs/known-limitations.md is updated with it.

devhost checks an answer before the respond route runs and refuses, with a 4xx naming what to
answer, one the route would acknowledge and drop. The Functions host has no such check, so
these tests turn it off (``DEVHOST_ANSWER_CHECK=off``) and pin the route as Azure serves it.
"""

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from devhost.backend import PAYLOAD_LIMIT_BYTES

from tests.http_host import Host, running_host
from tests.scenarios import SCENARIOS, Scenario, first_scenario, output_matches

pytestmark = pytest.mark.http
ASKING = [scenario for scenario in SCENARIOS if scenario.answers]
TYPED = [scenario for scenario in SCENARIOS if not scenario.calls_the_model]


def oversized(message: Any) -> Any:
    """``message`` made bigger than the payload limit: a longer text, or one more field."""
    padding = "x" * PAYLOAD_LIMIT_BYTES
    if isinstance(message, str):
        return message + padding
    return {**message, "padding": padding}


# A sub-workflow's request reaches the top-level run under a qualified id ("executor~n~id").
NESTED = "~"


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Host]:
    """The host, with devhost's answer check off: the route as the Functions host serves it."""
    log_dir = Path(tmp_path_factory.mktemp("route-host"))
    with running_host(log_dir, {"DEVHOST_ANSWER_CHECK": "off"}) as running:
        yield running


def first_or_skip(scenarios: list[Scenario], none_because: str) -> Scenario:
    if not scenarios:
        pytest.skip(f"no workflow in this project asks for human input{none_because}")
    return scenarios[0]


@pytest.fixture
def asking() -> Scenario:
    return first_or_skip(ASKING, "")


@pytest.fixture
def asking_itself() -> Scenario:
    """A workflow that asks a person in its own orchestration, not through a sub-workflow."""
    plain = [scenario for scenario in ASKING if NESTED not in scenario.request_prefix]
    return first_or_skip(plain, " in its own orchestration")


@pytest.fixture
def asking_through_a_sub_workflow() -> Scenario:
    nested = [scenario for scenario in ASKING if NESTED in scenario.request_prefix]
    return first_or_skip(nested, " through a sub-workflow")


def answer_after_the_end(host: Host, scenario: Scenario) -> requests.Response:
    """Answer the run's request, let it finish, then send the same answer again."""
    started, pending = waiting(host, scenario)
    assert host.post_json(pending["respondUrl"], scenario.answers[0]).status_code == 200
    host.finished(started["statusQueryGetUri"])
    return host.post_json(pending["respondUrl"], scenario.answers[0])


def start(host: Host, scenario: Scenario, run_id: str | None = None) -> dict[str, Any]:
    response = host.start(scenario.workflow, scenario.body, run_id)
    assert response.status_code == 202, response.text
    started: dict[str, Any] = response.json()
    return started


def waiting(host: Host, scenario: Scenario) -> tuple[dict[str, Any], dict[str, Any]]:
    """Start ``scenario`` and return the run and its pending request."""
    started = start(host, scenario)
    status = host.status_until(
        started["statusQueryGetUri"], lambda body: body.get("pendingHumanInputRequests")
    )
    return started, status["pendingHumanInputRequests"][0]


def test_an_answer_to_an_unknown_plain_request_id_is_acknowledged_and_ignored(
    host: Host, asking: Scenario
) -> None:
    started, pending = waiting(host, asking)
    unknown = pending["respondUrl"].rsplit("/", 1)[0] + "/no-such-request"

    response = host.post_json(unknown, asking.answers[0])

    assert response.status_code == 200
    status = requests.get(started["statusQueryGetUri"], headers=host.headers, timeout=10).json()
    assert status["runtimeStatus"] == "Running"
    assert [r["requestId"] for r in status["pendingHumanInputRequests"]] == [pending["requestId"]]


def under_the_sub_workflow(pending: dict[str, Any], request_id: str) -> str:
    """The respond URL of ``request_id`` under the sub-workflow that asked ``pending``."""
    base, qualified = pending["respondUrl"].rsplit("/", 1)
    executor_and_ordinal = qualified.rsplit(NESTED, 1)[0]
    return f"{base}/{executor_and_ordinal}{NESTED}{request_id}"


def test_an_answer_to_an_unknown_request_of_a_live_sub_workflow_is_acknowledged_and_ignored(
    host: Host, asking_through_a_sub_workflow: Scenario
) -> None:
    scenario = asking_through_a_sub_workflow
    started, pending = waiting(host, scenario)

    response = host.post_json(
        under_the_sub_workflow(pending, "no-such-request"), scenario.answers[0]
    )

    assert response.status_code == 200
    status = requests.get(started["statusQueryGetUri"], headers=host.headers, timeout=10).json()
    assert status["runtimeStatus"] == "Running"
    assert [r["requestId"] for r in status["pendingHumanInputRequests"]] == [pending["requestId"]]


def test_an_answer_to_the_empty_request_id_of_a_sub_workflow_is_500_with_an_empty_body(
    host: Host, asking_through_a_sub_workflow: Scenario
) -> None:
    scenario = asking_through_a_sub_workflow
    started, pending = waiting(host, scenario)

    response = host.post_json(under_the_sub_workflow(pending, ""), scenario.answers[0])

    assert (response.status_code, response.text) == (500, "")
    status = requests.get(started["statusQueryGetUri"], headers=host.headers, timeout=10).json()
    assert [r["requestId"] for r in status["pendingHumanInputRequests"]] == [pending["requestId"]]


def instance_action(host: Host, instance_id: str, action: str) -> None:
    """Suspend or resume an instance through the durable management API."""
    url = f"{host.base_url}/runtime/webhooks/durabletask/instances/{instance_id}/{action}"
    response = requests.post(url, params={"reason": "test"}, headers=host.headers, timeout=10)
    assert response.status_code == 202, response.text


def test_two_answers_to_one_request_are_both_acknowledged_and_only_one_is_used(
    host: Host, asking_itself: Scenario
) -> None:
    # Suspending the run holds both answers back; a sub-workflow's request would be taken by
    # the child orchestration, which a suspended parent does not hold.
    started, pending = waiting(host, asking_itself)
    answer = asking_itself.answers[0]
    instance_action(host, started["instanceId"], "suspend")

    codes = [host.post_json(pending["respondUrl"], answer).status_code for _ in "ab"]
    instance_action(host, started["instanceId"], "resume")
    final = host.finished(started["statusQueryGetUri"])

    assert codes == [200, 200]
    assert final["runtimeStatus"] == "Completed"
    assert len(final["output"]) == 1
    assert output_matches(final["output"][0], asking_itself.expected_output)


def test_an_answer_to_a_finished_run_is_500_with_an_empty_body(
    host: Host, asking_itself: Scenario
) -> None:
    response = answer_after_the_end(host, asking_itself)

    assert (response.status_code, response.text) == (500, "")


def test_an_answer_to_a_finished_runs_sub_workflow_request_is_404_saying_it_is_not_pending(
    host: Host, asking_through_a_sub_workflow: Scenario
) -> None:
    response = answer_after_the_end(host, asking_through_a_sub_workflow)

    assert (response.status_code, response.json()) == (404, {"error": "Pending request not found"})


def test_run_id_of_a_finished_run_of_another_workflow_silently_replaces_it(host: Host) -> None:
    first_of_each: dict[str, Scenario] = {}
    for scenario in TYPED:
        if not scenario.answers:
            first_of_each.setdefault(scenario.workflow, scenario)
    if len(first_of_each) < 2:
        pytest.skip("this project hosts fewer than two workflows that finish on their own")
    first, second = list(first_of_each.values())[:2]
    finished = start(host, first, run_id=f"shared-{uuid.uuid4().hex}")
    host.finished(finished["statusQueryGetUri"])

    replacing = host.start(second.workflow, second.body, finished["instanceId"])
    assert replacing.status_code == 202, replacing.text
    host.finished(replacing.json()["statusQueryGetUri"])

    old = requests.get(finished["statusQueryGetUri"], headers=host.headers, timeout=10)
    assert old.status_code == 404


def test_run_id_of_a_running_instance_is_500_with_an_empty_body(
    host: Host, asking: Scenario
) -> None:
    started, _ = waiting(host, asking)

    response = host.start(asking.workflow, asking.body, started["instanceId"])

    assert (response.status_code, response.text) == (500, "")
    status = requests.get(started["statusQueryGetUri"], headers=host.headers, timeout=10).json()
    assert status["runtimeStatus"] == "Running"


def test_a_start_body_over_the_payload_limit_is_500_with_an_empty_body_and_starts_nothing(
    host: Host,
) -> None:
    scenario = first_scenario()
    run_id = f"too-big-{uuid.uuid4().hex}"

    response = host.start(scenario.workflow, oversized(scenario.body), run_id)

    assert (response.status_code, response.text) == (500, "")
    status_url = host.url(f"workflow/{scenario.workflow}/status/{run_id}")
    assert requests.get(status_url, headers=host.headers, timeout=10).status_code == 404


def test_an_answer_over_the_payload_limit_is_500_with_an_empty_body_and_the_run_waits(
    host: Host, asking: Scenario
) -> None:
    started, pending = waiting(host, asking)

    response = host.post_json(pending["respondUrl"], oversized(asking.answers[0]))

    assert (response.status_code, response.text) == (500, "")
    status = requests.get(started["statusQueryGetUri"], headers=host.headers, timeout=10).json()
    assert status["runtimeStatus"] == "Running"
    assert [r["requestId"] for r in status["pendingHumanInputRequests"]] == [pending["requestId"]]
