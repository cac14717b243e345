"""Every scenario on a real durable backend, through the standalone durabletask worker.

This is the same orchestration code the Functions host runs (``dafx-{workflow}``
orchestrations driving activities, entities and child orchestrations), on durabletask's
in-memory backend instead of the Durable Task Scheduler.
"""

import time
from collections.abc import Callable
from typing import Any

import pytest
from agent_framework_durabletask import DurableWorkflowClient

from tests.scenarios import SCENARIOS, Scenario, output_matches

ASKING = [scenario for scenario in SCENARIOS if scenario.answers]

TIMEOUT_SECONDS = 60


def wait_for_request(
    client: DurableWorkflowClient,
    instance_id: str,
    asked: Callable[[dict[str, Any]], bool] = lambda _: True,
) -> dict[str, Any]:
    """The instance's first pending request for which ``asked`` holds."""
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        pending = [
            request for request in client.get_pending_hitl_requests(instance_id) if asked(request)
        ]
        if pending:
            return pending[0]
        time.sleep(0.01)
    raise AssertionError(f"{instance_id} asked for no such human input within {TIMEOUT_SECONDS}s")


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.id)
def test_scenario_completes_durably(
    durable_client: DurableWorkflowClient, scenario: Scenario
) -> None:
    instance_id = durable_client.start_workflow(scenario.body, workflow_name=scenario.workflow)

    for answer in scenario.answers:
        request = wait_for_request(durable_client, instance_id)
        assert request["request_id"].startswith(scenario.request_prefix)
        assert output_matches(request["data"], scenario.expected_request)
        durable_client.send_hitl_response(instance_id, request["request_id"], answer)

    outputs = durable_client.await_workflow_output(instance_id, timeout_seconds=TIMEOUT_SECONDS)
    assert output_matches(outputs[-1], scenario.expected_output), outputs


@pytest.mark.parametrize("scenario", ASKING, ids=lambda s: s.id)
def test_an_answer_after_a_refusal_is_used_under_the_request_id_first_given(
    durable_client: DurableWorkflowClient, scenario: Scenario
) -> None:
    instance_id = durable_client.start_workflow(scenario.body, workflow_name=scenario.workflow)
    first = wait_for_request(durable_client, instance_id)

    durable_client.send_hitl_response(instance_id, first["request_id"], "yes")
    again = wait_for_request(
        durable_client, instance_id, lambda request: "rejected_answer" in request["data"]
    )
    durable_client.send_hitl_response(instance_id, first["request_id"], scenario.answers[0])

    assert again["request_id"] == first["request_id"]
    outputs = durable_client.await_workflow_output(instance_id, timeout_seconds=TIMEOUT_SECONDS)
    assert output_matches(outputs[-1], scenario.expected_output), outputs
