"""Where an executor runs: on the workflow's host, or on a worker pool of its own.

Mark an executor with the pool it needs, next to its definition::

    analyzer = runs_on("gpu")(executor(id="analyze_chunk")(analyze_chunk))

    @runs_on("gpu")
    class Embedder(Executor): ...

An unmarked executor runs where its workflow runs (the Function App, devhost or a general
``python worker.py``). A marked one is a durable activity that only ``python worker.py --pool
gpu`` takes: the Durable Task Scheduler routes each work item to a worker whose work item
filters name it, and every other host leaves the pool's activities out of its filters.
Until a pool worker connects, the run waits at that step; nothing fails or is lost.

Only plain executors (durable activities) can be placed. Agent executors are durable
entities and sub-workflows are child orchestrations: both run where the workflow runs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from agent_framework import AgentExecutor, Executor, Workflow, WorkflowExecutor
from agent_framework_durabletask import (
    DURABLE_NAME_PREFIX,
    collect_hosted_workflows,
    plan_workflow_registration,
    workflow_orchestrator_name,
)
from durabletask.worker import (
    ActivityWorkItemFilter,
    EntityWorkItemFilter,
    OrchestrationWorkItemFilter,
    WorkItemFilters,
)

from upstream import workflow_executor_activity_name, workflow_scoped_executor_id

# Pool names become part of Azure resource names (a Container App per pool).
POOL_NAME = re.compile(r"^[a-z](?:[a-z0-9-]{0,14}[a-z0-9])?$")
POOL_ATTRIBUTE = "dafx_worker_pool"

Placeable = TypeVar("Placeable", bound=Executor | type[Executor])


class PlacementError(ValueError):
    """An executor was placed on a pool it cannot run on, or on a pool with a bad name."""


def check_pool_name(pool: str) -> str:
    if not isinstance(pool, str) or not POOL_NAME.match(pool):
        raise PlacementError(
            f"Pool name {pool!r} is not valid: use 1 to 16 lowercase letters, digits or '-', "
            "starting with a letter and not ending with '-' (for example 'gpu')."
        )
    return pool


def runs_on(pool: str) -> Callable[[Placeable], Placeable]:
    """Mark an executor (an instance, or an ``Executor`` subclass) to run on ``pool``."""
    check_pool_name(pool)

    def mark(target: Placeable) -> Placeable:
        kind = target if isinstance(target, type) else type(target)
        if not issubclass(kind, Executor):
            raise PlacementError(f"runs_on({pool!r}) marks executors, not {target!r}.")
        if issubclass(kind, (AgentExecutor, WorkflowExecutor)):
            what = "an agent executor (a durable entity)"
            if issubclass(kind, WorkflowExecutor):
                what = "a sub-workflow (a child orchestration)"
            raise PlacementError(
                f"runs_on({pool!r}) cannot place {what}: it runs where its workflow runs. "
                "Place the plain executors it calls instead."
            )
        # On an instance, an instance attribute: other instances of its class stay unplaced.
        setattr(target, POOL_ATTRIBUTE, pool)
        return target

    return mark


def pool_of(executor: Executor) -> str | None:
    """The pool an executor is marked for, or None when it runs where its workflow runs."""
    pool = getattr(executor, POOL_ATTRIBUTE, None)
    return pool if isinstance(pool, str) else None


def activity_name(workflow: Workflow, executor: Executor) -> str:
    """The durable activity (and Functions function) name of a plain executor."""
    return workflow_executor_activity_name(workflow.name, executor.id)


@dataclass(frozen=True)
class Placement:
    """One executor placed on a pool, and the durable activity it runs as."""

    pool: str
    workflow: str
    executor: str
    activity: str


@dataclass(frozen=True)
class HostedNames:
    """The durable names a worker hosting these workflows registers."""

    orchestrations: tuple[str, ...]
    activities: tuple[str, ...]
    entities: tuple[str, ...]


def hosted_names(workflows: Iterable[Workflow]) -> HostedNames:
    """Every orchestration, activity and entity the workflows register, sub-workflows included."""
    orchestrations: dict[str, None] = {}
    activities: dict[str, None] = {}
    entities: dict[str, None] = {}
    for top in workflows:
        for workflow in collect_hosted_workflows(top):
            orchestrations[workflow_orchestrator_name(workflow.name)] = None
            plan = plan_workflow_registration(workflow)
            for executor in plan.activity_executors:
                activities[activity_name(workflow, executor)] = None
            for agent in plan.agent_executors:
                scoped = workflow_scoped_executor_id(workflow.name, agent.id)
                entities[f"{DURABLE_NAME_PREFIX}{scoped}"] = None
    return HostedNames(tuple(orchestrations), tuple(activities), tuple(entities))


def placements(workflows: Iterable[Workflow]) -> list[Placement]:
    """Every executor of the workflows (sub-workflows included) that is placed on a pool."""
    found: dict[str, Placement] = {}
    for top in workflows:
        for workflow in collect_hosted_workflows(top):
            for executor in workflow.executors.values():
                pool = pool_of(executor)
                if pool is None:
                    continue
                if isinstance(executor, (AgentExecutor, WorkflowExecutor)):
                    raise PlacementError(
                        f"Executor '{executor.id}' of workflow '{workflow.name}' is marked for "
                        f"pool '{pool}', but agents and sub-workflows run where the workflow runs."
                    )
                name = activity_name(workflow, executor)
                found[name] = Placement(pool, workflow.name, executor.id, name)
    return list(found.values())


def pools(workflows: Iterable[Workflow]) -> list[str]:
    """The pools the workflows place executors on, sorted."""
    return sorted({placement.pool for placement in placements(workflows)})


def disabled_function_settings(workflows: Iterable[Workflow]) -> dict[str, str]:
    """The app settings that keep a Functions host from taking the pools' activities.

    ``AzureWebJobs.<function>.Disabled`` is how Azure Functions disables a function; with
    work item filtering on, the Durable Functions extension leaves disabled activities out of
    the filters it sends the scheduler, so their work waits for a pool worker instead.
    """
    return {
        f"AzureWebJobs.{placement.activity}.Disabled": "true" for placement in placements(workflows)
    }


def work_item_filters(workflows: Iterable[Workflow], pool: str | None = None) -> WorkItemFilters:
    """What a worker hosting ``workflows`` asks the scheduler for.

    With ``pool``, only the activities placed on that pool; without, everything the workflows
    register except the activities placed on any pool.
    """
    hosted = list(workflows)
    placed = placements(hosted)
    if pool is not None:
        check_pool_name(pool)
        return WorkItemFilters(
            activities=[ActivityWorkItemFilter(p.activity) for p in placed if p.pool == pool]
        )
    elsewhere = {p.activity for p in placed}
    names = hosted_names(hosted)
    return WorkItemFilters(
        orchestrations=[OrchestrationWorkItemFilter(name) for name in names.orchestrations],
        activities=[
            ActivityWorkItemFilter(name) for name in names.activities if name not in elsewhere
        ],
        entities=[EntityWorkItemFilter(name) for name in names.entities],
    )
