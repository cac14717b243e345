"""A baked project's starters give the same runs on devhost and on the durable worker.

Not collected by the template's suite: ``devtools/tests/test_starter_cross_check.py`` copies
this file and ``workflow_driver.py`` into a fresh bake's ``tests/`` and runs it there, so it
uses the bake's own scenarios, fixtures and copy of devhost. Each scenario runs twice: over
HTTP against ``python -m devhost`` serving the app the HTTP tests serve, and in-process on
durabletask's standalone worker (the bake's ``durable_client`` fixture). Outputs and the
shape of the answered request ids (``{executor}~{n}~<id>``) must match.
"""

import json
from collections.abc import Iterator
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

import pytest
from agent_framework_durabletask import DurableWorkflowClient
from tests.devhost_workflow_driver import run_in_process, run_over_http
from tests.http_host import running_host
from tests.scenarios import SCENARIOS


@pytest.fixture(scope="module")
def devhost_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_host(Path(tmp_path_factory.mktemp("host"))) as host:
        yield host.base_url


def as_json(value: Any) -> Any:
    """What the HTTP status route shows for a workflow output."""

    def fallback(item: Any) -> Any:
        if is_dataclass(item) and not isinstance(item, type):
            return asdict(item)
        if hasattr(item, "model_dump"):
            return item.model_dump(mode="json")
        return str(item)

    return json.loads(json.dumps(value, default=fallback))


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda item: item.id)
def test_devhost_matches_the_durable_worker(
    devhost_url: str, durable_client: DurableWorkflowClient, scenario: Any
) -> None:
    def answers() -> Any:
        remaining = iter(scenario.answers)
        return lambda _request: as_json(next(remaining))

    body = as_json(scenario.body)
    over_http = run_over_http(devhost_url, scenario.workflow, body, answers())
    in_process = run_in_process(durable_client, scenario.workflow, body, answers())
    assert over_http.runtime_status == in_process.runtime_status == "Completed"
    assert over_http.output == as_json(in_process.output)
    assert over_http.request_id_shapes == in_process.request_id_shapes
