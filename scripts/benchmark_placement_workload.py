"""Two workflows for the placement part of `benchmark.py`: one step of one on a worker pool.

`placed_work` runs `prepare`, then `crunch` on pool `gpu` (pure-Python arithmetic that holds
the GIL for the whole step, the kind of work one process does one at a time), then `finish`;
each step reports the process it ran in. `light_work` is one step where the workflow runs.
`benchmark.py` copies this file into the baked project, serves it with
`python -m devhost --app benchmark_placement_workload:app` (the crunch activity disabled) and
runs the pool as `python worker.py --workflows benchmark_placement_workload:build_workflows
--pool gpu`.

With `PLACEMENT_STEP_MARKS` set to a folder, each crunch step keeps a file named
`<pid>-<random>` there while it computes, then moves it into the folder's `done/`: the benchmark
times its kills by the steps done, kills a pool worker while it runs a step, and counts the files
that process left behind (the steps it was running when it died).
"""

import os
import uuid
from dataclasses import dataclass
from pathlib import Path

from agent_framework import Workflow, WorkflowBuilder, WorkflowContext, executor
from agent_framework_azurefunctions import AgentFunctionApp
from workflows.placement import runs_on

PLACED = "placed_work"
LIGHT = "light_work"
POOL = "gpu"
CRUNCH_ACTIVITY = f"dafx-{PLACED}-crunch"
STEP_MARKS = "PLACEMENT_STEP_MARKS"


@dataclass
class Job:
    label: str
    size: int
    prepared_by: int


@dataclass
class Crunched:
    job: Job
    checksum: int
    crunched_by: int


def checksum(size: int) -> int:
    total = 0
    for number in range(size):
        total = (total * 31 + number * number) % 1_000_003
    return total


async def prepare(body: dict[str, object], ctx: WorkflowContext[Job]) -> None:
    await ctx.send_message(Job(str(body["label"]), int(str(body["size"])), os.getpid()))


async def crunch(job: Job, ctx: WorkflowContext[Crunched]) -> None:
    marks = os.environ.get(STEP_MARKS)
    mark = Path(marks, f"{os.getpid()}-{uuid.uuid4().hex}") if marks else None
    if mark is not None:
        mark.write_text(job.label)
    result = checksum(job.size)
    if mark is not None:
        mark.replace(mark.parent / "done" / mark.name)
    await ctx.send_message(Crunched(job, result, os.getpid()))


async def finish(result: Crunched, ctx: WorkflowContext[None, dict[str, object]]) -> None:
    await ctx.yield_output(
        {
            "label": result.job.label,
            "checksum": result.checksum,
            "prepared_by": result.job.prepared_by,
            "crunched_by": result.crunched_by,
            "finished_by": os.getpid(),
        }
    )


async def note(body: dict[str, object], ctx: WorkflowContext[None, dict[str, object]]) -> None:
    await ctx.yield_output({"label": body["label"], "noted_by": os.getpid()})


def build_workflows() -> list[Workflow]:
    start = executor(id="prepare")(prepare)
    heavy = runs_on(POOL)(executor(id="crunch")(crunch))
    end = executor(id="finish")(finish)
    placed = WorkflowBuilder(name=PLACED, start_executor=start).add_chain([start, heavy, end])
    light = executor(id="note")(note)
    return [placed.build(), WorkflowBuilder(name=LIGHT, start_executor=light).build()]


app = AgentFunctionApp(workflows=build_workflows())
