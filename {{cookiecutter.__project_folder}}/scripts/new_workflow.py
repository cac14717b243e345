"""Add a workflow to this project in one command.

    python scripts/new_workflow.py NAME [--shape chain|approval|fanout]

Writes ``workflows/<module>.py`` (typed messages, one executor per step), lists it in
``build_workflows()``, writes its in-process tests, adds a scenario and a rejected start
body to ``tests/scenarios.py`` (so the durable and HTTP tests run it) and what it registers
to ``tests/test_host_contract.py``, then redraws the workflow diagrams (docs/workflows.md
and the README's, with ``scripts/workflow_diagrams.py``). ``python -m pytest`` passes right
after, and the new routes are served by ``python -m devhost``. NAME follows AgentFunctionApp's
rules, the same the project's template checked: 1 to 63 ASCII letters, digits, ``_`` or ``-``,
starting with a letter, unique ignoring case.

Shapes: ``chain`` (three plain steps in a row), ``approval`` (a person approves or rejects,
with the answer validated), ``fanout`` (three reviewers in parallel, then one summary).
"""

import argparse
import keyword
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from string import Template

PROJECT = Path(__file__).resolve().parents[1]
WORKFLOW_NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,62}$")
DECLARED_NAME = re.compile(r'^\w*WORKFLOW_NAME = "([^"]+)"', re.MULTILINE)
RESERVED_MODULES = {"__init__", "messages", "human_input"}


class NewWorkflowError(Exception):
    """The workflow cannot be added as asked; the message says why and what to do."""


@dataclass(frozen=True)
class Shape:
    module: str
    tests: str
    activities: tuple[str, ...]
    scenario: str
    rejected_start: str


CHAIN = Shape(
    module='''"""$title.

Three plain steps in a row, each an activity on the durable hosts.
"""

from dataclasses import dataclass
from typing import Annotated

from agent_framework import Workflow, WorkflowBuilder, WorkflowContext, executor
from pydantic import Field

from workflows.messages import InboundMessage, NonEmptyText, parse_start_message

WORKFLOW_NAME = "$name"


class ${prefix}Request(InboundMessage):
    subject: NonEmptyText
    quantity: Annotated[int, Field(ge=1)] = 1


@dataclass
class ${prefix}Work:
    subject: str
    quantity: int
    steps: list[str]


async def receive(body: object, ctx: WorkflowContext[${prefix}Work]) -> None:
    request = parse_start_message(${prefix}Request, body)
    await ctx.send_message(${prefix}Work(request.subject, request.quantity, ["receive"]))


async def process(work: ${prefix}Work, ctx: WorkflowContext[${prefix}Work]) -> None:
    await ctx.send_message(${prefix}Work(work.subject, work.quantity, [*work.steps, "process"]))


async def finish(work: ${prefix}Work, ctx: WorkflowContext[None, ${prefix}Work]) -> None:
    await ctx.yield_output(${prefix}Work(work.subject, work.quantity, [*work.steps, "finish"]))


def build_${module}_workflow() -> Workflow:
    first = executor(id="receive")(receive)
    steps = [first, executor(id="process")(process), executor(id="finish")(finish)]
    return WorkflowBuilder(name=WORKFLOW_NAME, start_executor=first).add_chain(steps).build()
''',
    tests='''"""$title, run in-process."""

import pytest

from workflows.$module import ${prefix}Request, ${prefix}Work, build_${module}_workflow


async def test_every_step_runs_in_order() -> None:
    request = ${prefix}Request(subject="hello", quantity=2)

    result = await build_${module}_workflow().run(request)

    assert result.get_outputs() == [${prefix}Work("hello", 2, ["receive", "process", "finish"])]


async def test_a_bad_request_is_refused_naming_the_field() -> None:
    with pytest.raises(ValueError, match="quantity: Input should be greater than"):
        await build_${module}_workflow().run({"subject": "hello", "quantity": 0})
''',
    activities=("receive", "process", "finish"),
    scenario="""    Scenario(
        "$name-runs-every-step",
        $constant,
        {"subject": "hello", "quantity": 2},
        {"quantity": 2, "steps": ["receive", "process", "finish"]},
    ),
""",
    rejected_start="""    RejectedStart(
        "$name-with-an-empty-subject",
        $constant,
        {"subject": "", "quantity": 0},
        (
            "subject: String should have at least 1 character",
            "quantity: Input should be greater than or equal to 1",
        ),
    ),
""",
)

APPROVAL = Shape(
    module='''"""$title.

A person approves or rejects each request; only a valid answer decides.
"""

from dataclasses import dataclass
from typing import Annotated, Any

from agent_framework import (
    Executor,
    Workflow,
    WorkflowBuilder,
    WorkflowContext,
    handler,
    response_handler,
)
from pydantic import Field

from workflows.human_input import ask, read_answer
from workflows.messages import InboundMessage, NonEmptyText, parse_start_message

WORKFLOW_NAME = "$name"


class ${prefix}Request(InboundMessage):
    subject: NonEmptyText
    amount: Annotated[float, Field(gt=0)]


class ${prefix}Answer(InboundMessage):
    approved: bool
    comment: str = ""


@dataclass
class ${prefix}Decision:
    subject: str
    amount: float
    approved: bool
    comment: str


class ${prefix}Approval(Executor):
    """Asks a person about every request and decides on their valid answer."""

    def __init__(self) -> None:
        super().__init__(id="approval")

    @handler
    async def ask_for_approval(
        self, body: object, ctx: WorkflowContext[None, ${prefix}Decision]
    ) -> None:
        request = parse_start_message(${prefix}Request, body)
        question = {
            "question": f"Approve {request.subject} for {request.amount:.2f}?",
            "subject": request.subject,
            "amount": request.amount,
        }
        await ask(ctx, question, ${prefix}Answer)

    @response_handler
    async def on_answer(
        self,
        request: dict[str, Any],
        answer: object,
        ctx: WorkflowContext[None, ${prefix}Decision],
    ) -> None:
        decision = await read_answer(ctx, request, answer, ${prefix}Answer)
        if decision is None:
            return
        await ctx.yield_output(
            ${prefix}Decision(
                request["subject"], request["amount"], decision.approved, decision.comment
            )
        )


def build_${module}_workflow() -> Workflow:
    return WorkflowBuilder(name=WORKFLOW_NAME, start_executor=${prefix}Approval()).build()
''',
    tests='''"""$title, run in-process."""

from workflows.$module import ${prefix}Decision, ${prefix}Request, build_${module}_workflow

LAPTOP = ${prefix}Request(subject="laptop", amount=1200)


async def test_a_valid_answer_decides() -> None:
    workflow = build_${module}_workflow()
    (request,) = (await workflow.run(LAPTOP)).get_request_info_events()

    result = await workflow.run(responses={request.request_id: {"approved": True}})

    assert result.get_outputs() == [${prefix}Decision("laptop", 1200, True, "")]


async def test_an_invalid_answer_decides_nothing_and_asks_again() -> None:
    workflow = build_${module}_workflow()
    (request,) = (await workflow.run(LAPTOP)).get_request_info_events()

    result = await workflow.run(responses={request.request_id: {"approved": "yes"}})

    assert result.get_outputs() == []
    (again,) = result.get_request_info_events()
    assert "approved: Input should be a valid boolean" in again.data["problem"]
''',
    activities=("approval",),
    scenario="""    Scenario(
        "$name-waits-for-a-person",
        $constant,
        {"subject": "laptop", "amount": 1200},
        {"approved": True, "comment": "ok"},
        answers=({"approved": True, "comment": "ok"},),
        expected_request={"subject": "laptop", "amount": 1200},
    ),
""",
    rejected_start="""    RejectedStart(
        "$name-with-a-negative-amount",
        $constant,
        {"subject": "laptop", "amount": -1},
        ("amount: Input should be greater than 0, got -1",),
    ),
""",
)

FANOUT = Shape(
    module='''"""$title.

Three reviewers look at a request in parallel, then one step sums up.
"""

from dataclasses import dataclass

from agent_framework import FunctionExecutor, Workflow, WorkflowBuilder, WorkflowContext, executor

from workflows.messages import InboundMessage, NonEmptyText, parse_start_message

WORKFLOW_NAME = "$name"
REVIEWERS = ("alpha", "beta", "gamma")


class ${prefix}Request(InboundMessage):
    subject: NonEmptyText


@dataclass
class ${prefix}Finding:
    subject: str
    reviewer: str


@dataclass
class ${prefix}Summary:
    subject: str
    reviewers: list[str]


async def dispatch(body: object, ctx: WorkflowContext[${prefix}Request]) -> None:
    await ctx.send_message(parse_start_message(${prefix}Request, body))


def reviewer(name: str) -> FunctionExecutor:
    async def review(request: ${prefix}Request, ctx: WorkflowContext[${prefix}Finding]) -> None:
        await ctx.send_message(${prefix}Finding(request.subject, name))

    return executor(id=f"review_{name}")(review)


async def summarize(
    findings: list[${prefix}Finding], ctx: WorkflowContext[None, ${prefix}Summary]
) -> None:
    reviewers = sorted(finding.reviewer for finding in findings)
    await ctx.yield_output(${prefix}Summary(findings[0].subject, reviewers))


def build_${module}_workflow() -> Workflow:
    dispatcher = executor(id="dispatch")(dispatch)
    reviewers = [reviewer(name) for name in REVIEWERS]
    summary = executor(id="summarize")(summarize)
    return (
        WorkflowBuilder(name=WORKFLOW_NAME, start_executor=dispatcher)
        .add_fan_out_edges(dispatcher, reviewers)
        .add_fan_in_edges(reviewers, summary)
        .build()
    )
''',
    tests='''"""$title, run in-process."""

from workflows.$module import ${prefix}Request, ${prefix}Summary, build_${module}_workflow


async def test_every_reviewer_looks_and_one_summary_follows() -> None:
    result = await build_${module}_workflow().run(${prefix}Request(subject="draft"))

    assert result.get_outputs() == [${prefix}Summary("draft", ["alpha", "beta", "gamma"])]
''',
    activities=("dispatch", "review_alpha", "review_beta", "review_gamma", "summarize"),
    scenario="""    Scenario(
        "$name-asks-every-reviewer",
        $constant,
        {"subject": "draft"},
        {"subject": "draft", "reviewers": ["alpha", "beta", "gamma"]},
    ),
""",
    rejected_start="""    RejectedStart(
        "$name-that-is-a-list",
        $constant,
        ["draft"],
        ('must be a JSON object, got ["draft"]',),
    ),
""",
)

SHAPES = {"chain": CHAIN, "approval": APPROVAL, "fanout": FANOUT}


def declared_names(workflows_dir: Path) -> list[str]:
    """Every workflow name the project's modules declare (sub-workflows included)."""
    names: list[str] = []
    for module in sorted(workflows_dir.glob("*.py")):
        names += DECLARED_NAME.findall(module.read_text())
    return names


def check_name(name: str, existing: list[str]) -> None:
    if not WORKFLOW_NAME_PATTERN.match(name):
        raise NewWorkflowError(
            f"{name!r} is not a valid workflow name: use 1 to 63 ASCII letters, digits, '_' or"
            " '-', starting with a letter."
        )
    clashes = [other for other in existing if other.casefold() == name.casefold()]
    if clashes:
        raise NewWorkflowError(
            f"{name!r} clashes with the workflow {clashes[0]!r}: workflow names must be unique,"
            " ignoring case."
        )


def module_for(name: str, workflows_dir: Path) -> str:
    module = name.lower().replace("-", "_")
    if keyword.iskeyword(module) or module in RESERVED_MODULES:
        raise NewWorkflowError(f"{name!r} would make the module {module}.py: choose another name.")
    if (workflows_dir / f"{module}.py").exists():
        raise NewWorkflowError(f"workflows/{module}.py already exists: choose another name.")
    return module


def insert_import(text: str, line: str) -> str:
    """Add ``line`` to the block of ``from workflows.`` imports, in sorted order."""
    lines = text.splitlines(keepends=True)
    block = [i for i, existing in enumerate(lines) if existing.startswith("from workflows.")]
    if not block:
        raise NewWorkflowError("found no 'from workflows.' import to add the new one beside")
    position = next((i for i in block if lines[i] > line), block[-1] + 1)
    lines.insert(position, line + "\n")
    return "".join(lines)


def insert_entry(text: str, opener: str, entry: str) -> str:
    """Add ``entry`` as the last item of the literal that starts at the line ``opener``."""
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.rstrip() == opener), None)
    if start is None:
        raise NewWorkflowError(f"found no line {opener!r} to add {entry.strip()!r} to")
    indent = opener[: len(opener) - len(opener.lstrip())]
    closing = next(
        i for i in range(start + 1, len(lines)) if lines[i].rstrip() in {indent + "]", indent + "}"}
    )
    lines.insert(closing, entry if entry.endswith("\n") else entry + "\n")
    return "".join(lines)


def edit(path: Path, *changes: tuple[str, ...]) -> None:
    text = path.read_text()
    for change in changes:
        if len(change) == 1:
            text = insert_import(text, change[0])
        else:
            text = insert_entry(text, change[0], change[1])
    path.write_text(text)


def add_workflow(project: Path, name: str, shape: Shape) -> list[Path]:
    """Write and register the workflow; return the files written or changed."""
    workflows_dir = project / "workflows"
    check_name(name, declared_names(workflows_dir))
    module = module_for(name, workflows_dir)
    constant = f"{module.upper()}_WORKFLOW"
    values = {
        "name": name,
        "module": module,
        "prefix": "".join(part.capitalize() for part in module.split("_")),
        "title": name.replace("_", " ").replace("-", " ").capitalize(),
        "constant": constant,
    }
    module_file = workflows_dir / f"{module}.py"
    test_file = project / "tests" / "workflows" / f"test_{module}.py"
    module_file.write_text(Template(shape.module).substitute(values))
    test_file.write_text(Template(shape.tests).substitute(values))
    name_import = f"from workflows.{module} import WORKFLOW_NAME as {constant}"
    activities = ", ".join(f'"{activity}"' for activity in shape.activities)
    edit(
        workflows_dir / "__init__.py",
        (f"from workflows.{module} import build_{module}_workflow",),
        ("    return [", f"        build_{module}_workflow(),"),
    )
    edit(
        project / "tests" / "test_host_contract.py",
        (name_import,),
        ("TOP_LEVEL_WORKFLOWS = [", f"    {constant},"),
        ("EXECUTOR_ACTIVITIES = {", f"    {constant}: [{activities}],"),
    )
    edit(
        project / "tests" / "scenarios.py",
        (name_import,),
        ("SCENARIOS = [", Template(shape.scenario).substitute(values)),
        ("REJECTED_STARTS = [", Template(shape.rejected_start).substitute(values)),
    )
    return [
        module_file,
        test_file,
        workflows_dir / "__init__.py",
        project / "tests" / "test_host_contract.py",
        project / "tests" / "scenarios.py",
    ]


def tidy(paths: list[Path]) -> bool:
    """Format and sort imports with the project's ruff, so long names still pass its checks."""
    files = [str(path) for path in paths]
    commands = (["format", *files], ["check", "--fix", "--select", "I", *files])
    return all(
        subprocess.run(
            [sys.executable, "-m", "ruff", *command], capture_output=True, check=False
        ).returncode
        == 0
        for command in commands
    )


def redraw_diagrams() -> bool:
    """Redraw docs/workflows.md and the README's diagrams, now with the new workflow."""
    drawn = subprocess.run(
        [sys.executable, str(PROJECT / "scripts" / "workflow_diagrams.py")],
        capture_output=True,
        text=True,
        check=False,
    )
    print(drawn.stdout, end="")
    print(drawn.stderr, end="", file=sys.stderr)
    return drawn.returncode == 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Add a workflow to this project.")
    parser.add_argument("name", help="the workflow's name: its route segment and durable name")
    parser.add_argument("--shape", choices=sorted(SHAPES), default="chain")
    arguments = parser.parse_args(argv)
    try:
        written = add_workflow(PROJECT, arguments.name, SHAPES[arguments.shape])
    except NewWorkflowError as error:
        print(f"new_workflow: {error}", file=sys.stderr)
        return 2
    for path in written:
        print(f"wrote {path.relative_to(PROJECT)}")
    if not tidy(written):
        print("ruff could not format them: pip install -r requirements-dev.txt, then ruff format .")
    if not redraw_diagrams():
        print("Could not redraw the diagrams: pip install -r requirements-dev.txt, then")
        print("python scripts/workflow_diagrams.py")
    print(f"Next: python -m pytest, then POST /api/workflow/{arguments.name}/run")
    return 0


if __name__ == "__main__":
    sys.exit(main())
