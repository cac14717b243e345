"""The project's own workflows give the same runs on devhost and on the durable worker.

Each scenario of ``tests/scenarios.py`` runs twice: over HTTP against ``python -m devhost``
serving ``function_app.py``, and in-process on durabletask's worker (the ``durable_client``
fixture). Outputs and the shape of the answered request ids (``{executor}~{n}~<id>``) must
match. Devhost serves the app the HTTP tests serve (``tests.http_host.EMBEDDED_APP``), so
agent workflows answer from the same offline fake model on both sides.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, is_dataclass
from typing import Any

import pytest
from agent_framework_durabletask import DurableWorkflowClient

from .conftest import PROJECT_ROOT, DevhostProcess, free_port
from .workflow_driver import run_in_process, run_over_http

scenarios = pytest.importorskip("tests.scenarios", reason="the project defines no scenarios")
http_host = pytest.importorskip("tests.http_host", reason="the project has no HTTP tests")


@pytest.fixture(scope="module")
def project_devhost() -> Iterator[str]:
    child = DevhostProcess(free_port(), PROJECT_ROOT, app=http_host.EMBEDDED_APP)
    child.read_until("listening on")
    yield f"http://127.0.0.1:{child.port}"
    child.stop()


def as_json(value: Any) -> Any:
    """What the HTTP status route shows for a workflow output."""

    def fallback(item: Any) -> Any:
        if is_dataclass(item) and not isinstance(item, type):
            return asdict(item)
        return str(item)

    return json.loads(json.dumps(value, default=fallback))


@pytest.mark.parametrize("scenario", scenarios.SCENARIOS, ids=lambda item: item.id)
def test_devhost_matches_the_durable_worker(
    project_devhost: str, durable_client: DurableWorkflowClient, scenario: Any
) -> None:
    def answers() -> Any:
        remaining = iter(scenario.answers)
        return lambda _request: next(remaining)

    over_http = run_over_http(project_devhost, scenario.workflow, scenario.body, answers())
    in_process = run_in_process(durable_client, scenario.workflow, scenario.body, answers())
    assert over_http.runtime_status == in_process.runtime_status == "Completed"
    assert over_http.output == as_json(in_process.output)
    assert over_http.request_id_shapes == in_process.request_id_shapes
