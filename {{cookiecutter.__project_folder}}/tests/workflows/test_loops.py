"""Long loops in blocks (``workflows.loops``), in-process and on a durable backend.

The loop here counts down: each round takes one off ``left``; the loop is done at zero. Its
rounds run four to a block, so 20 rounds need three levels of sub-workflows.
"""

from dataclasses import dataclass
from typing import Any

import pytest
from agent_framework import Workflow, WorkflowBuilder, WorkflowContext, executor
from agent_framework_durabletask import (
    DurableWorkflowClient,
    collect_hosted_workflows,
    plan_workflow_registration,
)

from tests.conftest import hosted_durably
from workflows.loops import (
    MAX_LEVELS,
    LoopLimitError,
    LoopProgress,
    bounded_loop,
    levels_for,
    loop_sub_workflows,
)

ROUNDS_PER_BLOCK = 4
MAX_ROUNDS = 64  # three levels of four
WORKFLOW_NAME = "countdown"
TIMEOUT_SECONDS = 60


@dataclass
class Countdown:
    left: int
    steps_taken: int


async def count_one_down(state: Countdown) -> Countdown:
    return Countdown(state.left - 1, state.steps_taken + 1)


def at_zero(state: Countdown) -> bool:
    return state.left <= 0


@executor(id="take_count")
async def take_count(body: int, ctx: WorkflowContext[Countdown]) -> None:
    await ctx.send_message(Countdown(body, 0))


@executor(id="report")
async def report(
    progress: LoopProgress[Countdown], ctx: WorkflowContext[None, dict[str, int]]
) -> None:
    await ctx.yield_output({"rounds": progress.rounds, "steps": progress.state.steps_taken})


def build_countdown_workflow(max_rounds: int = MAX_ROUNDS) -> Workflow:
    loop = bounded_loop(
        "countdown_loop",
        count_one_down,
        done=at_zero,
        max_rounds=max_rounds,
        rounds_per_block=ROUNDS_PER_BLOCK,
    )
    return (
        WorkflowBuilder(name=WORKFLOW_NAME, start_executor=take_count)
        .add_chain([take_count, loop, report])
        .build()
    )


async def run_in_process(count: int, max_rounds: int = MAX_ROUNDS) -> list[Any]:
    outputs: list[Any] = (await build_countdown_workflow(max_rounds).run(count)).get_outputs()
    return outputs


async def test_the_loop_runs_rounds_until_it_is_done() -> None:
    assert await run_in_process(21) == [{"rounds": 21, "steps": 21}]


async def test_a_state_that_is_already_done_passes_through_without_a_round() -> None:
    assert await run_in_process(0) == [{"rounds": 0, "steps": 0}]


async def test_a_loop_of_exactly_max_rounds_rounds_completes() -> None:
    assert await run_in_process(MAX_ROUNDS) == [{"rounds": MAX_ROUNDS, "steps": MAX_ROUNDS}]


async def test_a_loop_not_done_after_max_rounds_fails_naming_the_limit() -> None:
    with pytest.raises(LoopLimitError, match=f"max_rounds={MAX_ROUNDS}"):
        await run_in_process(MAX_ROUNDS + 1)


@pytest.mark.parametrize(
    ("max_rounds", "rounds_per_block", "levels"),
    [(1, 10, 1), (10, 10, 1), (11, 10, 2), (100, 10, 2), (101, 10, 3), (1000, 10, 3), (64, 4, 3)],
)
def test_the_levels_hold_max_rounds(max_rounds: int, rounds_per_block: int, levels: int) -> None:
    assert levels_for(max_rounds, rounds_per_block) == levels


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"name": ""}, "1 to"),
        ({"name": "x" * 57}, "1 to"),
        ({"max_rounds": 0}, "max_rounds must be at least 1"),
        ({"rounds_per_block": 1}, "rounds_per_block must be at least 2"),
        ({"max_rounds": 2 ** (MAX_LEVELS + 1), "rounds_per_block": 2}, "raise rounds_per_block"),
    ],
)
def test_a_loop_that_cannot_be_built_is_refused_naming_the_argument(
    arguments: dict[str, Any], message: str
) -> None:
    settings: dict[str, Any] = {"name": "loop", "max_rounds": 10, **arguments}
    with pytest.raises(ValueError, match=message):
        bounded_loop(settings.pop("name"), count_one_down, done=at_zero, **settings)


def test_the_declared_sub_workflows_are_what_the_host_registers() -> None:
    hosted = list(collect_hosted_workflows(build_countdown_workflow()))[1:]
    registered = [
        (
            workflow.name,
            sorted(e.id for e in plan_workflow_registration(workflow).activity_executors),
        )
        for workflow in hosted
    ]

    declared = loop_sub_workflows(
        "countdown_loop", max_rounds=MAX_ROUNDS, rounds_per_block=ROUNDS_PER_BLOCK
    )

    assert registered == [(sub.name, sorted(sub.activities)) for sub in declared]


@pytest.fixture(scope="module")
def durable() -> Any:
    with hosted_durably([build_countdown_workflow()]) as client:
        yield client


def history_sizes(client: Any, root: str) -> dict[str, int]:
    """Events in the history of the run ``root`` and of every child orchestration it made."""
    return {
        state.instance_id: len(client.get_orchestration_history(state.instance_id))
        for state in client.get_all_orchestration_states()
        if state.instance_id.startswith(root)
    }


def run_durably(client: Any, count: int) -> tuple[str, list[Any]]:
    workflows = DurableWorkflowClient(client)
    instance_id = workflows.start_workflow(count, workflow_name=WORKFLOW_NAME)
    outputs = workflows.await_workflow_output(instance_id, timeout_seconds=TIMEOUT_SECONDS)
    return instance_id, outputs


def test_the_loop_gives_the_same_output_on_a_durable_host(durable: Any) -> None:
    _, outputs = run_durably(durable, 21)

    assert outputs == [{"rounds": 21, "steps": 21}]


def test_no_orchestration_history_grows_with_the_number_of_rounds(durable: Any) -> None:
    short, _ = run_durably(durable, ROUNDS_PER_BLOCK)
    long, _ = run_durably(durable, MAX_ROUNDS)

    short_sizes, long_sizes = history_sizes(durable, short), history_sizes(durable, long)
    assert len(long_sizes) > len(short_sizes)
    assert max(long_sizes.values()) <= 2 * max(short_sizes.values())


def test_a_durable_loop_not_done_after_max_rounds_fails_naming_the_limit(durable: Any) -> None:
    workflows = DurableWorkflowClient(durable)
    instance_id = workflows.start_workflow(MAX_ROUNDS + 1, workflow_name=WORKFLOW_NAME)

    state = durable.wait_for_orchestration_completion(instance_id, timeout=TIMEOUT_SECONDS)

    assert state is not None
    assert state.runtime_status.name == "FAILED"
    assert f"max_rounds={MAX_ROUNDS}" in str(state.failure_details.message)
