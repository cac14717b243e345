"""Loops of K rounds, for the `--loops` part of `benchmark.py` (`benchmark_loops.py`).

`pattern_loop` runs its rounds with the template's `workflows.loops.bounded_loop` (ten
rounds to a block, blocks of blocks above them); `naive_loop` runs them as one executor with
an edge back to itself, all in one orchestration. Each round does no work of its own, so the
figures are the hosts' cost per round. `benchmark.py` copies this file into the baked project
and serves it with `python -m devhost --app benchmark_loop_workload:app` and
`python worker.py --workflows benchmark_loop_workload:build_workflows`.
"""

from dataclasses import dataclass

from agent_framework import Workflow, WorkflowBuilder, WorkflowContext, executor
from agent_framework_azurefunctions import AgentFunctionApp
from workflows.loops import LoopProgress, bounded_loop

PATTERN_WORKFLOW = "pattern_loop"
NAIVE_WORKFLOW = "naive_loop"
# The most rounds either loop runs: the benchmark's largest K.
MAX_ROUNDS = 1_000


@dataclass
class Count:
    left: int
    done: int


async def count_round(count: Count) -> Count:
    return Count(count.left - 1, count.done + 1)


def counted_out(count: Count) -> bool:
    return count.left <= 0


def begin_executor(name: str):  # type: ignore[no-untyped-def]
    async def begin(body: dict[str, int], ctx: WorkflowContext[Count]) -> None:
        await ctx.send_message(Count(int(body["steps"]), 0))

    return executor(id=f"begin_{name}")(begin)


@executor(id="report")
async def report(progress: LoopProgress[Count], ctx: WorkflowContext[None, int]) -> None:
    await ctx.yield_output(progress.state.done)


@executor(id="round")
async def naive_round(count: Count, ctx: WorkflowContext[Count, int]) -> None:
    after = await count_round(count)
    if counted_out(after):
        await ctx.yield_output(after.done)
    else:
        await ctx.send_message(after)


def build_workflows() -> list[Workflow]:
    loop = bounded_loop("pattern_rounds", count_round, done=counted_out, max_rounds=MAX_ROUNDS)
    begin_pattern = begin_executor("pattern")
    pattern = (
        WorkflowBuilder(name=PATTERN_WORKFLOW, start_executor=begin_pattern)
        .add_chain([begin_pattern, loop, report])
        .build()
    )
    begin_naive = begin_executor("naive")
    naive = (
        # One superstep per round, one for the start: set for the benchmark's largest K.
        WorkflowBuilder(
            name=NAIVE_WORKFLOW, start_executor=begin_naive, max_iterations=MAX_ROUNDS + 1
        )
        .add_edge(begin_naive, naive_round)
        .add_edge(naive_round, naive_round)
        .build()
    )
    return [pattern, naive]


app = AgentFunctionApp(workflows=build_workflows())
