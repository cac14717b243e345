"""Every scenario gives the same outputs in-process and on a durable host.

The durable mapping differs from in-process MAF in ways a workflow can trip over (see the
docs/known-limitations.md): a workflow that passes its in-process tests can still end
differently durably. Each scenario of ``tests/scenarios.py`` runs both ways, answering its
human requests in turn, and the test names the first difference between the two outputs.
"""

from typing import Any

import pytest
from agent_framework import Workflow
from agent_framework_durabletask import DurableWorkflowClient
from pydantic_core import to_jsonable_python

from tests.conftest import offline_workflows
from tests.scenarios import SCENARIOS, Scenario
from tests.test_durable_end_to_end import TIMEOUT_SECONDS, wait_for_request


def workflow_named(name: str) -> Workflow:
    return next(workflow for workflow in offline_workflows() if workflow.name == name)


async def outputs_in_process(scenario: Scenario) -> list[Any]:
    workflow = workflow_named(scenario.workflow)
    result = await workflow.run(scenario.body)
    for answer in scenario.answers:
        requests = result.get_request_info_events()
        assert requests, f"in-process, {scenario.workflow} asked nothing to answer {answer}"
        result = await workflow.run(responses={requests[0].request_id: answer})
    assert not result.get_request_info_events(), "in-process, the run is still asking"
    return list(result.get_outputs())


def outputs_durably(client: DurableWorkflowClient, scenario: Scenario) -> list[Any]:
    instance_id = client.start_workflow(scenario.body, workflow_name=scenario.workflow)
    for answer in scenario.answers:
        request = wait_for_request(client, instance_id)
        client.send_hitl_response(instance_id, request["request_id"], answer)
    outputs: list[Any] = client.await_workflow_output(instance_id, timeout_seconds=TIMEOUT_SECONDS)
    return outputs


def differences(in_process: Any, durable: Any, path: str = "outputs") -> list[str]:
    """Where two JSON values differ, as ``path: in-process X, durably Y`` lines."""
    if isinstance(in_process, dict) and isinstance(durable, dict):
        found = []
        for key in sorted(in_process.keys() | durable.keys()):
            if key not in durable:
                found.append(f"{path}.{key}: in-process {in_process[key]!r}, durably missing")
            elif key not in in_process:
                found.append(f"{path}.{key}: in-process missing, durably {durable[key]!r}")
            else:
                found += differences(in_process[key], durable[key], f"{path}.{key}")
        return found
    if isinstance(in_process, list) and isinstance(durable, list):
        if len(in_process) != len(durable):
            return [
                f"{path}: in-process {len(in_process)} item(s) {in_process!r}, "
                f"durably {len(durable)} item(s) {durable!r}"
            ]
        found = []
        for index, (left, right) in enumerate(zip(in_process, durable, strict=True)):
            found += differences(left, right, f"{path}[{index}]")
        return found
    return (
        [] if in_process == durable else [f"{path}: in-process {in_process!r}, durably {durable!r}"]
    )


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.id)
async def test_a_scenario_outputs_the_same_in_process_and_durably(
    durable_client: DurableWorkflowClient, scenario: Scenario
) -> None:
    in_process = to_jsonable_python(await outputs_in_process(scenario))
    durable = to_jsonable_python(outputs_durably(durable_client, scenario))

    assert differences(in_process, durable) == []
