"""What a workflow declaration refuses, so a workflow fails alike on every host."""

import pytest
from agent_framework import Executor, Workflow, WorkflowBuilder, WorkflowContext, handler
from agent_framework_azurefunctions import AgentFunctionApp

from tests.function_index import registered_functions
from workflows.catalog import ROUTE_FUNCTIONS, DeclaredWorkflow


class Forward(Executor):
    @handler
    async def forward(self, text: str, ctx: WorkflowContext[str]) -> None:
        await ctx.send_message(text)


class Finish(Executor):
    @handler
    async def finish(self, text: str, ctx: WorkflowContext[None, str]) -> None:
        await ctx.yield_output(text)


def two_steps(first: str) -> Workflow:
    start, end = Forward(id=first), Finish(id="finish")
    return WorkflowBuilder(start_executor=start, name="clash").add_edge(start, end).build()


@pytest.mark.parametrize("route", ROUTE_FUNCTIONS)
def test_the_functions_worker_refuses_an_executor_named_after_a_route(route: str) -> None:
    app = AgentFunctionApp(workflows=[two_steps(route)])

    with pytest.raises(ValueError, match=f"dafx-clash-{route} does not have a unique"):
        registered_functions(app)


def test_an_executor_named_otherwise_is_indexed() -> None:
    app = AgentFunctionApp(workflows=[two_steps("starter")])

    assert "dafx-clash-starter" in {f["name"] for f in registered_functions(app)}


@pytest.mark.parametrize("route", ROUTE_FUNCTIONS)
def test_a_declaration_refuses_an_executor_named_after_a_route(route: str) -> None:
    with pytest.raises(ValueError, match=f"executor id '{route}'.*Rename the executor"):
        DeclaredWorkflow(name="clash", build=lambda: two_steps(route), activities=(route, "finish"))


def test_a_declaration_refuses_a_route_name_in_any_case() -> None:
    with pytest.raises(ValueError, match="executor id 'Start'"):
        DeclaredWorkflow(name="clash", build=lambda: two_steps("Start"), activities=("Start",))
