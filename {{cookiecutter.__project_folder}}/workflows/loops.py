"""Long loops at flat cost: a loop's rounds run in blocks, each block a sub-workflow.

On the durable hosts every superstep of a workflow adds events to its orchestration's
history, and each superstep replays the whole history so far. A loop of K rounds in one
workflow therefore costs O(K^2) and its history grows without bound (the Durable Task
Scheduler, like any backend, has a history size limit). The Agent Framework's durable
mapping has no continue-as-new to start a history afresh.

:func:`bounded_loop` builds the loop as a tree of sub-workflows instead. The innermost one
runs ``rounds_per_block`` rounds; each level above runs ``rounds_per_block`` blocks of the
level below, each block a child orchestration. Every orchestration's history stays below a
fixed size whatever K is, so each round costs the same at round 10 and at round 10,000.
The loop is one node in your workflow (a ``WorkflowExecutor``)::

    refine = bounded_loop("essay_refine", improve, done=good_enough, max_rounds=200)
    WorkflowBuilder(name="essay", start_executor=intake).add_chain([intake, refine, publish])

``improve`` takes the loop's state and returns the next state; ``good_enough`` says when to
stop. The node takes the first state and sends on a :class:`LoopProgress` with the last
state and the number of rounds run. A loop that is not done after ``max_rounds`` rounds
fails the run with :class:`LoopLimitError`, which names the limit: set it to the most
rounds a correct run needs, not to "unbounded". The module's ``WORKFLOW`` declaration lists
what the loop adds: ``sub_workflows=loop_sub_workflows(...)``, with the same arguments.

What to keep in mind:

- The state is pickled into each round's message: keep it small (ids and short text;
  put documents in Blob Storage and pass their names). It must be a module-level class.
- A round is an activity: it may call a model or an agent (``await agent.run(...)``);
  keep the conversation the next round needs in the state.
- Each level is a workflow named ``{name}_level{N}`` (``N`` = 0 for the innermost). Give
  each loop a name of its own: two loops sharing a name share their orchestrations.
- Building the loop logs the Agent Framework's "Self-loop detected" warning for the
  innermost level's ``round`` executor. It is expected: each level's ``max_iterations``
  bounds the rounds it runs.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from agent_framework import (
    Executor,
    FunctionExecutor,
    Workflow,
    WorkflowBuilder,
    WorkflowContext,
    WorkflowExecutor,
    executor,
)

from workflows.catalog import SubWorkflow

State = TypeVar("State")

DEFAULT_ROUNDS_PER_BLOCK = 10
# The deepest tree this module builds: rounds_per_block ** MAX_LEVELS rounds at most.
MAX_LEVELS = 6
# Workflow names are at most 63 characters; the longest suffix is "_level5".
NAME_PATTERN_MAX = 63 - len("_level5")


@dataclass
class LoopProgress(Generic[State]):
    """Where a loop stands: its state after ``rounds`` rounds, and whether it is done."""

    state: State
    rounds: int
    finished: bool


class LoopLimitError(RuntimeError):
    """A loop ran ``max_rounds`` rounds without being done."""


def levels_for(max_rounds: int, rounds_per_block: int) -> int:
    """How many levels of blocks hold ``max_rounds`` rounds (1: one block is enough)."""
    return max(1, math.ceil(math.log(max_rounds, rounds_per_block) - 1e-9))


def _check(name: str, max_rounds: int, rounds_per_block: int) -> int:
    if not 1 <= len(name) <= NAME_PATTERN_MAX:
        raise ValueError(f"A loop name has 1 to {NAME_PATTERN_MAX} characters, got {name!r}.")
    if max_rounds < 1:
        raise ValueError(f"max_rounds must be at least 1, got {max_rounds}.")
    if rounds_per_block < 2:
        raise ValueError(f"rounds_per_block must be at least 2, got {rounds_per_block}.")
    levels = levels_for(max_rounds, rounds_per_block)
    if levels > MAX_LEVELS:
        raise ValueError(
            f"max_rounds={max_rounds} needs {levels} levels of {rounds_per_block} rounds; "
            f"at most {MAX_LEVELS}: raise rounds_per_block."
        )
    return levels


def bounded_loop(
    name: str,
    step: Callable[[State], Awaitable[State]],
    *,
    done: Callable[[State], bool],
    max_rounds: int,
    rounds_per_block: int = DEFAULT_ROUNDS_PER_BLOCK,
    node_id: str | None = None,
) -> WorkflowExecutor:
    """A workflow node that runs ``step`` until ``done`` holds, in blocks of rounds.

    ``done`` is checked before the first round too: a state that is already done passes
    through with ``rounds=0``. ``node_id`` is the node's id in your workflow (``name`` by
    default).
    """
    levels = _check(name, max_rounds, rounds_per_block)
    inner: Workflow | None = None
    for level in range(levels):
        entry = _entry(done) if level == levels - 1 else None
        workflow_name = f"{name}_level{level}"
        if inner is None:
            inner = _rounds_workflow(
                workflow_name, name, step, done, rounds_per_block, max_rounds, entry
            )
        else:
            blocks = _blocks_workflow(inner, rounds_per_block ** (level + 1))
            inner = _build(workflow_name, blocks, 2 * rounds_per_block, entry)
    assert inner is not None
    return WorkflowExecutor(inner, id=node_id or name)


def loop_sub_workflows(
    name: str, *, max_rounds: int, rounds_per_block: int = DEFAULT_ROUNDS_PER_BLOCK
) -> tuple[SubWorkflow, ...]:
    """The sub-workflows a loop adds to your workflow, outermost first.

    Put them in your module's declaration (``DeclaredWorkflow(sub_workflows=...)``), with
    the same arguments as :func:`bounded_loop`, so the host contract test expects them.
    """
    levels = _check(name, max_rounds, rounds_per_block)
    declared = []
    for level in reversed(range(levels)):
        entry = ("enter",) if level == levels - 1 else ()
        own = ("round",) if level == 0 else ("gate",)
        declared.append(SubWorkflow(f"{name}_level{level}", activities=entry + own))
    return tuple(declared)


Edges = tuple[Executor, list[tuple[Executor, Executor]]]


def _build(workflow_name: str, graph: Edges, supersteps: int, entry: Executor | None) -> Workflow:
    """A level's workflow: its graph, behind the loop's entry at the top level.

    ``max_iterations`` is what the level needs (plus one superstep for the entry), so a
    level that would run longer fails instead of growing its history.
    """
    first, edges = graph
    start = first if entry is None else entry
    builder = WorkflowBuilder(
        name=workflow_name,
        start_executor=start,
        max_iterations=supersteps + (0 if entry is None else 1),
    )
    if entry is not None:
        builder.add_edge(entry, first)
    for source, target in edges:
        builder.add_edge(source, target)
    return builder.build()


def _entry(done: Callable[[Any], bool]) -> FunctionExecutor:
    """The loop's first step: wraps the state it is given, or passes a done state through."""

    async def enter(state: Any, ctx: WorkflowContext[LoopProgress[Any], LoopProgress[Any]]) -> None:
        if done(state):
            await ctx.yield_output(LoopProgress(state, 0, True))
        else:
            await ctx.send_message(LoopProgress(state, 0, False))

    return executor(id="enter", input=object)(enter)


def _rounds_workflow(
    workflow_name: str,
    loop_name: str,
    step: Callable[[Any], Awaitable[Any]],
    done: Callable[[Any], bool],
    rounds_per_block: int,
    max_rounds: int,
    entry: Executor | None,
) -> Workflow:
    """The innermost level: ``rounds_per_block`` rounds of ``step``, one superstep each."""

    async def run_round(
        progress: LoopProgress[Any],
        ctx: WorkflowContext[LoopProgress[Any], LoopProgress[Any]],
    ) -> None:
        state = await step(progress.state)
        after = LoopProgress(state, progress.rounds + 1, done(state))
        if not after.finished and after.rounds >= max_rounds:
            raise LoopLimitError(
                f"The loop {loop_name!r} was not done after max_rounds={max_rounds} rounds. "
                "Raise max_rounds if a correct run needs more rounds; otherwise its done "
                "condition never holds."
            )
        if after.finished or after.rounds % rounds_per_block == 0:
            await ctx.yield_output(after)
        else:
            await ctx.send_message(after)

    round_executor = executor(id="round")(run_round)
    graph: Edges = (round_executor, [(round_executor, round_executor)])
    return _build(workflow_name, graph, rounds_per_block, entry)


def _blocks_workflow(inner: Workflow, rounds_in_block: int) -> Edges:
    """A level above: blocks of the level below, each a child run, then a gate.

    Two supersteps per block: the child run, then the gate, which ends this level's block
    when the loop is done or has run ``rounds_in_block`` rounds in all.
    """
    block = WorkflowExecutor(inner, id="block")

    async def gate(
        progress: LoopProgress[Any],
        ctx: WorkflowContext[LoopProgress[Any], LoopProgress[Any]],
    ) -> None:
        if progress.finished or progress.rounds % rounds_in_block == 0:
            await ctx.yield_output(progress)
        else:
            await ctx.send_message(progress)

    gate_executor = executor(id="gate")(gate)
    return block, [(block, gate_executor), (gate_executor, block)]
