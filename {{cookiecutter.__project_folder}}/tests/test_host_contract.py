"""What Azure indexes: importing function_app in a fresh process with no settings registers
exactly these, and loads no telemetry SDK."""

from typing import Any

import pytest

from tests.function_index import FreshImport, import_app_in_fresh_process
from workflows.catalog import declared_workflows

AUTH_LEVEL = "{{ cookiecutter.http_auth_level.upper() }}"
DECLARED = declared_workflows()
TOP_LEVEL_WORKFLOWS = [declared.name for declared in DECLARED]
SUB_WORKFLOWS = [sub.name for declared in DECLARED for sub in declared.sub_workflows]
EXECUTOR_ACTIVITIES = {declared.name: declared.activities for declared in DECLARED} | {
    sub.name: sub.activities for declared in DECLARED for sub in declared.sub_workflows
}
AGENT_ENTITIES = {declared.name: declared.agents for declared in DECLARED if declared.agents}
ROUTE_ACTIONS = {
    "run": "POST",
    "status/{% raw %}{instanceId}{% endraw %}": "GET",
    "respond/{% raw %}{instanceId}/{requestId}{% endraw %}": "POST",
}


@pytest.fixture(scope="module")
def fresh_import() -> FreshImport:
    return import_app_in_fresh_process()


@pytest.fixture(scope="module")
def registered(fresh_import: FreshImport) -> list[dict[str, Any]]:
    return fresh_import.functions


def test_importing_the_app_loads_no_telemetry_sdk_or_exporter(fresh_import: FreshImport) -> None:
    assert fresh_import.telemetry_modules == []


def names_of(functions: list[dict[str, Any]], trigger: str) -> set[str]:
    return {f["name"] for f in functions if f["trigger"] == trigger}


def test_every_workflow_and_sub_workflow_is_one_orchestration(
    registered: list[dict[str, Any]],
) -> None:
    expected = {f"dafx-{name}" for name in TOP_LEVEL_WORKFLOWS + SUB_WORKFLOWS}

    assert names_of(registered, "orchestrationTrigger") == expected


def test_every_plain_executor_is_an_activity(registered: list[dict[str, Any]]) -> None:
    expected = {
        f"dafx-{workflow}-{executor}"
        for workflow, executors in EXECUTOR_ACTIVITIES.items()
        for executor in executors
    }

    assert names_of(registered, "activityTrigger") == expected


def test_every_agent_executor_is_an_entity(registered: list[dict[str, Any]]) -> None:
    expected = {
        f"dafx-{workflow}-{agent}"
        for workflow, agents in AGENT_ENTITIES.items()
        for agent in agents
    }

    assert names_of(registered, "entityTrigger") == expected


@pytest.mark.parametrize("name", TOP_LEVEL_WORKFLOWS)
def test_every_top_level_workflow_has_run_status_and_respond_routes(
    registered: list[dict[str, Any]], name: str
) -> None:
    routes = {
        (f["route"], tuple(f["methods"])) for f in registered if f["trigger"] == "httpTrigger"
    }

    for action, method in ROUTE_ACTIONS.items():
        assert (f"workflow/{name}/{action}", (method,)) in routes


@pytest.mark.parametrize("name", SUB_WORKFLOWS)
def test_sub_workflows_have_no_routes_of_their_own(
    registered: list[dict[str, Any]], name: str
) -> None:
    routes = [f["route"] for f in registered if f["trigger"] == "httpTrigger"]

    assert not [route for route in routes if route.startswith(f"workflow/{name}/")]


def test_only_the_expected_routes_exist(registered: list[dict[str, Any]]) -> None:
    agent_routes = {
        f"agents/{workflow}-{agent}/run"
        for workflow, agents in AGENT_ENTITIES.items()
        for agent in agents
    }
    workflow_routes = {
        f"workflow/{name}/{action}" for name in TOP_LEVEL_WORKFLOWS for action in ROUTE_ACTIONS
    }
    routes = {f["route"] for f in registered if f["trigger"] == "httpTrigger"}

    assert routes == workflow_routes | agent_routes | {"health"}


def test_every_route_uses_the_chosen_auth_level(registered: list[dict[str, Any]]) -> None:
    levels = {f["authLevel"] for f in registered if f["trigger"] == "httpTrigger"}

    assert levels == {AUTH_LEVEL}
