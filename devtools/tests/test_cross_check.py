"""devhost and the standalone durabletask worker agree on outputs and HITL request ids."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import pytest
from agent_framework_durabletask import DurableAIAgentWorker, DurableWorkflowClient
from durabletask.client import TaskHubGrpcClient
from durabletask.worker import TaskHubGrpcWorker

from devhost.backend import LoopbackBackend
from devhost.host import DevHost

from .workflow_driver import Answer, run_in_process, run_over_http

SCENARIOS: list[tuple[str, Any, Answer]] = [
    ("orders", {"item": "kettle", "customer": "ada"}, lambda _: {"approved": True}),
    ("orders", {"item": "lamp"}, lambda _: {"approved": False}),
    ("signoff", "budget", lambda _: {"verdict": "later"}),
    ("batch", "pen,cup", lambda request: {"verdict": f"seen {request['item']}"}),
    ("echo", "level", lambda _: None),
]


@pytest.fixture(scope="session")
def standalone(agentic: DevHost) -> Iterator[DurableWorkflowClient]:
    """The same workflows on durabletask's worker (the app module is already imported)."""
    app_module = sys.modules["agentic_app"]
    backend = LoopbackBackend()
    address = backend.start()
    worker = DurableAIAgentWorker(TaskHubGrpcWorker(host_address=address))
    builders = (
        app_module.build_orders,
        app_module.build_signoff,
        app_module.build_batch,
        app_module.build_echo,
    )
    for build in builders:
        worker.configure_workflow(build())
    worker.start()
    try:
        yield DurableWorkflowClient(TaskHubGrpcClient(host_address=address))
    finally:
        worker.stop()
        backend.stop(grace=1)


@pytest.mark.parametrize(("workflow", "payload", "answer"), SCENARIOS)
def test_devhost_and_standalone_worker_give_the_same_run(
    agentic: DevHost,
    standalone: DurableWorkflowClient,
    workflow: str,
    payload: Any,
    answer: Answer,
) -> None:
    over_http = run_over_http(agentic.base_url, workflow, payload, answer)
    in_process = run_in_process(standalone, workflow, payload, answer)
    assert over_http.runtime_status == in_process.runtime_status == "Completed"
    assert over_http.output == in_process.output
    # Requests pending together (one per child) may be answered in either order.
    assert sorted(over_http.request_id_shapes) == sorted(in_process.request_id_shapes)
