"""What a workflow module declares, and the list of every workflow: one definition of each.

A workflow module ends with ``WORKFLOW = DeclaredWorkflow(...)``: its name, how to build it,
what AgentFunctionApp registers for it, and example runs. :func:`declared_workflows` finds
every module of this package that declares one. The app (``build_workflows``), the test
scenarios, the host contract test, the diagram pages and the request files all read this
list, so adding a workflow is adding a module (``devhost new-workflow NAME`` writes one),
its test and its generated files.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from agent_framework import Workflow


@dataclass(frozen=True)
class Example:
    """A run: the start body, each human answer in turn, and what the output must hold.

    A human request's id must start with ``request_prefix`` (nested requests are qualified
    with the sub-workflow executor's id) and its data must hold ``expected_request``.
    """

    id: str
    body: Any
    expected_output: dict[str, Any]
    answers: tuple[dict[str, Any], ...] = ()
    request_prefix: str = ""
    expected_request: dict[str, Any] = field(default_factory=dict)
    calls_the_model: bool = False


@dataclass(frozen=True)
class RejectedStart:
    """A start body the workflow refuses: the run fails with an error holding each problem."""

    id: str
    body: Any
    problems: tuple[str, ...]


@dataclass(frozen=True)
class SubWorkflow:
    """A workflow embedded with ``WorkflowExecutor``: a child orchestration, no routes."""

    name: str
    activities: tuple[str, ...]


# AgentFunctionApp names a workflow's HTTP functions ``dafx-{workflow}-{route}`` and a plain
# executor's activity ``dafx-{workflow}-{executor id}``, so an executor named after a route
# gives two functions one name: the Functions worker refuses to index the app, while
# worker.py and in-process runs work. Refusing it here fails on every host alike.
ROUTE_FUNCTIONS = ("start", "status", "respond")


@dataclass(frozen=True)
class DeclaredWorkflow:
    """A hosted workflow and what AgentFunctionApp registers for it.

    ``activities`` are the plain executors (one activity each), ``agents`` the agent
    executors (one entity each). ``build`` takes the chat client when ``uses_model``.
    """

    name: str
    build: Callable[..., Workflow]
    activities: tuple[str, ...]
    agents: tuple[str, ...] = ()
    sub_workflows: tuple[SubWorkflow, ...] = ()
    examples: tuple[Example, ...] = ()
    rejected_starts: tuple[RejectedStart, ...] = ()
    uses_model: bool = False

    def __post_init__(self) -> None:
        clashing = [a for a in self.activities if a.casefold() in ROUTE_FUNCTIONS]
        if clashing:
            raise ValueError(
                f"Workflow '{self.name}': executor id '{clashing[0]}' would name its activity "
                f"'dafx-{self.name}-{clashing[0]}', the name of the workflow's "
                f"{clashing[0].casefold()} route function, and the Functions host refuses to "
                f"index two functions of one name. Rename the executor (not one of "
                f"{', '.join(ROUTE_FUNCTIONS)})."
            )


def declared_by_module() -> dict[str, DeclaredWorkflow]:
    """Every workflow a module of this package declares, by module name, in name order."""
    package = importlib.import_module(__package__ or "workflows")
    declared = {}
    for module in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        imported = importlib.import_module(f"{package.__name__}.{module.name}")
        found = getattr(imported, "WORKFLOW", None)
        if isinstance(found, DeclaredWorkflow):
            declared[module.name] = found
    return declared


def declared_workflows() -> list[DeclaredWorkflow]:
    """Every workflow a module of this package declares, in module-name order."""
    return list(declared_by_module().values())
