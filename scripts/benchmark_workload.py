"""A workflow whose executors compute, for the scale-out part of `benchmark.py`.

The starters' executors do almost nothing, so their runs measure the hosts' own overhead.
Here each of two parallel executors holds the CPU in Python for about 10 ms (a loop that never
releases the GIL), the kind of work that one Python process can do only one at a time and
more instances or workers spread. `benchmark.py` copies this file into the baked project and
serves it with `python -m devhost --app benchmark_workload:app` and with
`python worker.py --workflows benchmark_workload:build_workflows`.
"""

from dataclasses import dataclass

from agent_framework import (
    FunctionExecutor,
    Workflow,
    WorkflowBuilder,
    WorkflowContext,
    executor,
)
from agent_framework_azurefunctions import AgentFunctionApp

WORKFLOW_NAME = "compute_heavy"
PARTS = ("left", "right")


@dataclass
class Batch:
    size: int


@dataclass
class PartResult:
    part: str
    checksum: int


def checksum(size: int) -> int:
    """Pure-Python arithmetic over `size` numbers: it holds the GIL the whole time."""
    total = 0
    for number in range(size):
        total = (total * 31 + number * number) % 1_000_003
    return total


@executor(id="split")
async def split(body: dict[str, int], ctx: WorkflowContext[Batch]) -> None:
    await ctx.send_message(Batch(int(body["size"])))


def part(name: str) -> FunctionExecutor:
    async def compute(batch: Batch, ctx: WorkflowContext[PartResult]) -> None:
        await ctx.send_message(PartResult(name, checksum(batch.size)))

    return executor(id=f"compute_{name}")(compute)


@executor(id="combine")
async def combine(results: list[PartResult], ctx: WorkflowContext[None, dict[str, int]]) -> None:
    await ctx.yield_output({result.part: result.checksum for result in results})


def build_workflows() -> list[Workflow]:
    parts = [part(name) for name in PARTS]
    workflow = (
        WorkflowBuilder(name=WORKFLOW_NAME, start_executor=split)
        .add_fan_out_edges(split, parts)
        .add_fan_in_edges(parts, combine)
        .build()
    )
    return [workflow]


app = AgentFunctionApp(workflows=build_workflows())
