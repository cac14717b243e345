"""Where the durable hosts run a workflow differently from in-process MAF, pinned.

The durable mapping (agent-framework-durabletask, the same on the Functions host) belongs to
the library, not to this project. Each behaviour below is asserted as it is today, with the
way around it the docs/known-limitations.md gives, so an upgrade that changes one fails
here. ``tests/test_hosts_agree.py`` catches the same kind of difference in the app's own
workflows.
"""

from collections.abc import Iterator
from typing import Any

import pytest
from agent_framework import Executor, Workflow, WorkflowBuilder, WorkflowContext, executor, handler
from agent_framework_durabletask import DurableWorkflowClient
from durabletask.client import OrchestrationState, TaskHubGrpcClient

from tests.conftest import hosted_durably
from tests.test_hosts_agree import differences

TIMEOUT_SECONDS = 60
COUNTERS = 3


@executor(id="split")
async def split(count_from: int, ctx: WorkflowContext[int]) -> None:
    ctx.set_state("count", count_from)
    await ctx.send_message(count_from)


def counter(index: int) -> Executor:
    async def count_in_state(_: int, ctx: WorkflowContext[str]) -> None:
        ctx.set_state("count", ctx.get_state("count") + 1)
        await ctx.send_message("counted")

    return executor(id=f"count_{index}")(count_in_state)


def counter_by_message(index: int) -> Executor:
    async def count_in_message(_: int, ctx: WorkflowContext[int]) -> None:
        await ctx.send_message(1)

    return executor(id=f"count_{index}")(count_in_message)


class StateCollector(Executor):
    """Outputs the count once every counter has added its one, as read from shared state."""

    @handler
    async def collect(self, counted: list[str], ctx: WorkflowContext[Any, int]) -> None:
        if ctx.get_state("count") == len(counted):
            await ctx.yield_output(len(counted))


class MessageCollector(Executor):
    """Outputs the sum of what the counters sent: no shared state written in parallel."""

    @handler
    async def collect(self, counts: list[int], ctx: WorkflowContext[Any, int]) -> None:
        await ctx.yield_output(sum(counts))


def fan_out_counting(name: str, count: Any, collector: Executor) -> Workflow:
    counters = [count(index) for index in range(COUNTERS)]
    return (
        WorkflowBuilder(name=name, start_executor=split, output_from=[collector])
        .add_fan_out_edges(split, counters)
        .add_fan_in_edges(counters, collector)
        .build()
    )


def counting_in_shared_state() -> Workflow:
    return fan_out_counting("counting_in_shared_state", counter, StateCollector(id="collect"))


def counting_in_messages() -> Workflow:
    return fan_out_counting(
        "counting_in_messages", counter_by_message, MessageCollector(id="collect")
    )


@executor(id="emit")
async def emit(_: int, ctx: WorkflowContext[int | str]) -> None:
    """Declares that it sends numbers or text; this run it sends text."""
    await ctx.send_message("text")


@executor(id="takes_int")
async def takes_int(number: int, ctx: WorkflowContext[Any, str]) -> None:
    await ctx.yield_output(f"number {number}")


@executor(id="takes_str")
async def takes_str(text: str, ctx: WorkflowContext[Any, str]) -> None:
    await ctx.yield_output(f"text {text}")


def edges_of_two_types(name: str, *, conditions: bool) -> Workflow:
    builder = WorkflowBuilder(name=name, start_executor=emit, output_from=[takes_int, takes_str])
    if conditions:
        builder.add_edge(emit, takes_int, condition=lambda message: isinstance(message, int))
        builder.add_edge(emit, takes_str, condition=lambda message: isinstance(message, str))
    else:
        builder.add_edge(emit, takes_int).add_edge(emit, takes_str)
    return builder.build()


def mismatched_edges() -> Workflow:
    return edges_of_two_types("mismatched_edges", conditions=False)


def edges_with_type_conditions() -> Workflow:
    return edges_of_two_types("edges_with_type_conditions", conditions=True)


BUILDERS = (
    counting_in_shared_state,
    counting_in_messages,
    mismatched_edges,
    edges_with_type_conditions,
)


@pytest.fixture(scope="module")
def durable() -> Iterator[TaskHubGrpcClient]:
    with hosted_durably([build() for build in BUILDERS]) as client:
        yield client


def run_durably(client: TaskHubGrpcClient, workflow: str) -> OrchestrationState:
    instance_id = DurableWorkflowClient(client).start_workflow(0, workflow_name=workflow)
    state = client.wait_for_orchestration_completion(instance_id, timeout=TIMEOUT_SECONDS)
    assert state is not None, f"{workflow} did not finish within {TIMEOUT_SECONDS}s"
    return state


def outputs_of(client: TaskHubGrpcClient, workflow: str) -> Any:
    return DurableWorkflowClient(client).await_workflow_output(
        run_durably(client, workflow).instance_id, timeout_seconds=TIMEOUT_SECONDS
    )


async def test_parallel_writes_to_shared_state_all_count_in_process() -> None:
    result = await counting_in_shared_state().run(0)

    assert result.get_outputs() == [COUNTERS]


async def test_parallel_writes_to_shared_state_keep_only_the_last_durably(
    durable: TaskHubGrpcClient,
) -> None:
    state = run_durably(durable, "counting_in_shared_state")

    assert state.runtime_status.name == "COMPLETED"
    assert outputs_of(durable, "counting_in_shared_state") == []


async def test_the_host_comparison_names_the_missing_output(durable: TaskHubGrpcClient) -> None:
    in_process = (await counting_in_shared_state().run(0)).get_outputs()

    found = differences(in_process, outputs_of(durable, "counting_in_shared_state"))

    assert found == ["outputs: in-process 1 item(s) [3], durably 0 item(s) []"]


def test_results_sent_as_messages_count_alike_durably(durable: TaskHubGrpcClient) -> None:
    assert outputs_of(durable, "counting_in_messages") == [COUNTERS]


async def test_a_message_of_the_wrong_type_for_an_edge_is_dropped_in_process() -> None:
    result = await mismatched_edges().run(0)

    assert result.get_outputs() == ["text text"]


def test_a_message_of_the_wrong_type_for_an_edge_fails_the_run_durably(
    durable: TaskHubGrpcClient,
) -> None:
    state = run_durably(durable, "mismatched_edges")

    assert state.runtime_status.name == "FAILED"
    assert state.failure_details is not None
    assert "cannot handle message of type <class 'str'>" in state.failure_details.message


def test_edge_conditions_on_the_message_type_route_alike_durably(
    durable: TaskHubGrpcClient,
) -> None:
    assert outputs_of(durable, "edges_with_type_conditions") == ["text text"]
