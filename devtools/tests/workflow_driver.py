"""Drive an AgentFunctionApp workflow to completion, over HTTP or in-process.

Both drivers answer every human-input request with `answer(request_data)` and report
the workflow output plus the request ids they answered, so two hosts can be compared.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests
from agent_framework_durabletask import DurableWorkflowClient

Answer = Callable[[Any], Any]
_GUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}|[0-9a-fA-F]{32}")


def request_id_shape(request_id: str) -> str:
    """A request id with its generated parts blanked: `review~0~<id>`."""
    return _GUID.sub("<id>", request_id)


@dataclass
class WorkflowRun:
    runtime_status: str
    output: Any
    answered_request_ids: list[str] = field(default_factory=list)

    @property
    def request_id_shapes(self) -> list[str]:
        return [request_id_shape(request_id) for request_id in self.answered_request_ids]


def run_over_http(
    base_url: str, workflow: str, payload: Any, answer: Answer, timeout: float = 60.0
) -> WorkflowRun:
    """Start `workflow` through its run route and answer its requests via respondUrl."""
    started = requests.post(f"{base_url}/api/workflow/{workflow}/run", json=payload, timeout=30)
    assert started.status_code == 202, started.text
    status_url = started.json()["statusQueryGetUri"]
    answered: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = requests.get(status_url, timeout=30).json()
        if status["runtimeStatus"] in ("Completed", "Failed", "Terminated"):
            return WorkflowRun(status["runtimeStatus"], status["output"], answered)
        for pending in status.get("pendingHumanInputRequests", []):
            if pending["requestId"] in answered:
                continue
            response = requests.post(
                pending["respondUrl"], json=answer(pending["requestData"]), timeout=30
            )
            assert response.status_code == 200, response.text
            answered.append(pending["requestId"])
        time.sleep(0.05)
    raise AssertionError(f"workflow '{workflow}' did not finish within {timeout}s")


def run_approved_order(base_url: str) -> WorkflowRun:
    """The agentic app's kettle order for ada with every request approved: the run that goes
    through its agent, its sub-workflow and both of its requests."""
    return run_over_http(
        base_url, "orders", {"item": "kettle", "customer": "ada"}, lambda _: {"approved": True}
    )


def run_in_process(
    client: DurableWorkflowClient,
    workflow: str,
    payload: Any,
    answer: Answer,
    timeout: float = 60.0,
) -> WorkflowRun:
    """The same run on the standalone durabletask worker, through DurableWorkflowClient."""
    instance_id = client.start_workflow(payload, workflow_name=workflow)
    answered: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.get_runtime_status(instance_id, workflow_name=workflow)
        if status in ("COMPLETED", "FAILED", "TERMINATED"):
            output = (
                client.await_workflow_output(instance_id, workflow_name=workflow)
                if status == "COMPLETED"
                else None
            )
            return WorkflowRun(status.capitalize(), output, answered)
        for pending in client.get_pending_hitl_requests(instance_id, workflow_name=workflow):
            if pending["request_id"] in answered:
                continue
            client.send_hitl_response(
                instance_id, pending["request_id"], answer(pending["data"]), workflow_name=workflow
            )
            answered.append(pending["request_id"])
        time.sleep(0.05)
    raise AssertionError(f"workflow '{workflow}' did not finish within {timeout}s")
