"""A small workflow with one step placed on a worker pool, for the placement tests.

``prepare`` and ``finish`` run where the workflow runs; ``crunch`` computes (a chain of
SHA-256 digests) on pool ``gpu``. Each step records the process it ran in, so a run's output
says where its steps ran, as its spans do.

With ``PLACEMENT_DEMO_GATE`` naming a folder, ``crunch`` leaves a file there when it starts
and waits for a file named ``open`` before it finishes: the tests use it to kill a pool worker
while it surely holds a step.
"""

import asyncio
import hashlib
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import azure.functions as func
from agent_framework import Workflow, WorkflowBuilder, WorkflowContext, executor
from agent_framework_azurefunctions import AgentFunctionApp

import telemetry
from workflows.placement import runs_on

WORKFLOW_NAME = "placement_demo"
POOL = "gpu"
CRUNCH = f"dafx-{WORKFLOW_NAME}-crunch"
GATE_SETTING = "PLACEMENT_DEMO_GATE"
GATE_POLL_SECONDS = 0.01


@dataclass
class Job:
    label: str
    rounds: int
    prepared_by: int


@dataclass
class Crunched:
    job: Job
    digest: str
    crunched_by: int


def digest_chain(label: str, rounds: int) -> str:
    value = label.encode()
    for _ in range(rounds):
        value = hashlib.sha256(value).digest()
    return value.hex()


async def wait_at_the_gate() -> None:
    gate = os.environ.get(GATE_SETTING)
    if not gate:
        return
    folder = Path(gate)
    (folder / f"started-{os.getpid()}-{uuid.uuid4().hex}").touch()
    while not (folder / "open").exists():
        await asyncio.sleep(GATE_POLL_SECONDS)


async def prepare(body: object, ctx: WorkflowContext[Job]) -> None:
    if not isinstance(body, dict):
        raise ValueError(f"expected an object with a label and rounds, got {body!r}")
    await ctx.send_message(Job(str(body["label"]), int(body["rounds"]), os.getpid()))


async def crunch(job: Job, ctx: WorkflowContext[Crunched]) -> None:
    await wait_at_the_gate()
    await ctx.send_message(Crunched(job, digest_chain(job.label, job.rounds), os.getpid()))


async def finish(result: Crunched, ctx: WorkflowContext[None, dict[str, object]]) -> None:
    await ctx.yield_output(
        {
            "label": result.job.label,
            "digest": result.digest,
            "prepared_by": result.job.prepared_by,
            "crunched_by": result.crunched_by,
            "finished_by": os.getpid(),
        }
    )


def build_placement_demo() -> Workflow:
    start = executor(id="prepare")(prepare)
    heavy = runs_on(POOL)(executor(id="crunch")(crunch))
    end = executor(id="finish")(finish)
    return (
        WorkflowBuilder(name=WORKFLOW_NAME, start_executor=start)
        .add_chain([start, heavy, end])
        .build()
    )


def build_workflows() -> list[Workflow]:
    return [build_placement_demo()]


def create_app() -> AgentFunctionApp:
    workflows = build_workflows()
    telemetry.configure_from_environment(workflows)
    return AgentFunctionApp(workflows=workflows, http_auth_level=func.AuthLevel.ANONYMOUS)
