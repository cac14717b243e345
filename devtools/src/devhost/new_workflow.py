"""Add a workflow to this project in one command.

    devhost new-workflow NAME [--shape chain|approval|fanout|loop]

Writes four new files and changes none: ``workflows/<module>.py`` (typed messages, one
executor per step, and the ``WORKFLOW`` declaration with an example run and a refused start
body), ``tests/workflows/test_<module>.py`` (its in-process tests), and what ``devhost
generate`` draws from the declaration: ``docs/workflows/<module>.md`` and
``http/<module>.http``. It writes all four or, on any failure, none. The app, the durable and
HTTP test scenarios and the host contract test find the module through its declaration
(``workflows.catalog``). ``python -m pytest`` passes right after, and ``devhost`` serves the
new routes. NAME follows AgentFunctionApp's rules, the same the project's template checked: 1
to 63 ASCII letters, digits, ``_`` or ``-``, starting with a letter, unique ignoring case.

Shapes: ``chain`` (three plain steps in a row), ``approval`` (a person approves or rejects,
with the answer validated), ``fanout`` (three reviewers in parallel, then one summary),
``loop`` (rounds until done, in blocks of sub-workflows with ``workflows.loops``; its name has
at most 51 characters, since its loop's levels are workflows named ``NAME_loop_level<N>``).
"""

import argparse
import keyword
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from string import Template

from . import generate
from .diagrams import DiagramError

MAX_NAME_LENGTH = 63
WORKFLOW_NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,62}$")
# A loop workflow's loop is named NAME_loop and its levels NAME_loop_level0 ... _level5
# (workflows/loops.py: at most MAX_LEVELS = 6 levels), each itself a workflow name.
LOOP_SUFFIX = "_loop"
LONGEST_LEVEL_SUFFIX = "_level5"
MAX_LOOP_NAME_LENGTH = MAX_NAME_LENGTH - len(LOOP_SUFFIX) - len(LONGEST_LEVEL_SUFFIX)
DECLARED_NAME = re.compile(r'^\w*WORKFLOW_NAME = "([^"]+)"', re.MULTILINE)
RESERVED_MODULES = {"__init__", "catalog", "messages", "human_input", "loops"}


class NewWorkflowError(Exception):
    """The workflow cannot be added as asked; the message says why and what to do."""


@dataclass(frozen=True)
class Shape:
    """A workflow module, its in-process tests, and the ``WORKFLOW`` it declares.

    ``example`` and ``rejected_start`` are the declaration's run and refused start body,
    which the project's durable and HTTP tests run.
    """

    module: str
    tests: str
    activities: tuple[str, ...]
    example: str
    rejected_start: str
    sub_workflows: str = ""
    longest_name: int = MAX_NAME_LENGTH
    why_shorter: str = ""

    def declaration(self) -> str:
        activities = "".join(f'        "{activity}",\n' for activity in self.activities)
        sub_workflows = f"    sub_workflows={self.sub_workflows},\n" if self.sub_workflows else ""
        return (
            "\n\nWORKFLOW = DeclaredWorkflow(\n"
            "    name=WORKFLOW_NAME,\n"
            "    build=build_${module}_workflow,\n"
            f"    activities=(\n{activities}    ),\n"
            f"{sub_workflows}"
            f"    examples=(\n{self.example}    ),\n"
            f"    rejected_starts=(\n{self.rejected_start}    ),\n"
            ")\n"
        )


CHAIN = Shape(
    module='''"""$title.

Three plain steps in a row, each an activity on the durable hosts.
"""

from dataclasses import dataclass
from typing import Annotated

from agent_framework import Workflow, WorkflowBuilder, WorkflowContext, executor
from pydantic import Field

from workflows.catalog import DeclaredWorkflow, Example, RejectedStart
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
    example="""        Example(
            "$name-runs-every-step",
            {"subject": "hello", "quantity": 2},
            {"quantity": 2, "steps": ["receive", "process", "finish"]},
        ),
""",
    rejected_start="""        RejectedStart(
            "$name-with-an-empty-subject",
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

from workflows.catalog import DeclaredWorkflow, Example, RejectedStart
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
    example="""        Example(
            "$name-waits-for-a-person",
            {"subject": "laptop", "amount": 1200},
            {"approved": True, "comment": "ok"},
            answers=({"approved": True, "comment": "ok"},),
            expected_request={"subject": "laptop", "amount": 1200},
        ),
""",
    rejected_start="""        RejectedStart(
            "$name-with-a-negative-amount",
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

from workflows.catalog import DeclaredWorkflow, Example, RejectedStart
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
    example="""        Example(
            "$name-asks-every-reviewer",
            {"subject": "draft"},
            {"subject": "draft", "reviewers": ["alpha", "beta", "gamma"]},
        ),
""",
    rejected_start="""        RejectedStart(
            "$name-that-is-a-list",
            ["draft"],
            ('must be a JSON object, got ["draft"]',),
        ),
""",
)

LOOP = Shape(
    module='''"""$title.

A loop of rounds until the work is done, run in blocks of rounds (``workflows.loops``): each
block is a sub-workflow, so a run's history stays small however many rounds it takes.
"""

from dataclasses import dataclass
from typing import Annotated

from agent_framework import Workflow, WorkflowBuilder, WorkflowContext, executor
from pydantic import Field

from workflows.catalog import DeclaredWorkflow, Example, RejectedStart
from workflows.loops import LoopProgress, bounded_loop, loop_sub_workflows
from workflows.messages import InboundMessage, NonEmptyText, parse_start_message

WORKFLOW_NAME = "$name"
LOOP_NAME = f"{WORKFLOW_NAME}_loop"
# The most rounds a correct run needs: a run not done after them fails with LoopLimitError.
MAX_ROUNDS = 100
ROUNDS_PER_BLOCK = 10


class ${prefix}Request(InboundMessage):
    subject: NonEmptyText
    rounds: Annotated[int, Field(ge=0, le=MAX_ROUNDS)]


@dataclass
class ${prefix}State:
    """What one round hands the next; pickled into each round's message, so keep it small."""

    subject: str
    rounds_left: int
    rounds_run: int


@dataclass
class ${prefix}Result:
    subject: str
    rounds: int


async def receive(body: object, ctx: WorkflowContext[${prefix}State]) -> None:
    request = parse_start_message(${prefix}Request, body)
    await ctx.send_message(${prefix}State(request.subject, request.rounds, 0))


async def one_round(state: ${prefix}State) -> ${prefix}State:
    """One round, one activity: put your step here (it may call a model or an agent)."""
    return ${prefix}State(state.subject, state.rounds_left - 1, state.rounds_run + 1)


def is_done(state: ${prefix}State) -> bool:
    return state.rounds_left <= 0


async def report(
    progress: LoopProgress[${prefix}State], ctx: WorkflowContext[None, ${prefix}Result]
) -> None:
    await ctx.yield_output(${prefix}Result(progress.state.subject, progress.rounds))


def build_${module}_workflow(max_rounds: int = MAX_ROUNDS) -> Workflow:
    first = executor(id="receive")(receive)
    loop = bounded_loop(
        LOOP_NAME,
        one_round,
        done=is_done,
        max_rounds=max_rounds,
        rounds_per_block=ROUNDS_PER_BLOCK,
        node_id="loop",
    )
    last = executor(id="report")(report)
    return (
        WorkflowBuilder(name=WORKFLOW_NAME, start_executor=first)
        .add_chain([first, loop, last])
        .build()
    )
''',
    tests='''"""$title, run in-process."""

import pytest

from workflows.$module import ${prefix}Request, ${prefix}Result, build_${module}_workflow
from workflows.loops import LoopLimitError


async def test_the_loop_runs_every_round_asked_for_in_blocks() -> None:
    result = await build_${module}_workflow().run(${prefix}Request(subject="draft", rounds=12))

    assert result.get_outputs() == [${prefix}Result("draft", 12)]


async def test_a_run_that_needs_no_round_passes_straight_through() -> None:
    result = await build_${module}_workflow().run(${prefix}Request(subject="draft", rounds=0))

    assert result.get_outputs() == [${prefix}Result("draft", 0)]


async def test_a_loop_not_done_after_max_rounds_fails_naming_the_limit() -> None:
    with pytest.raises(LoopLimitError, match="max_rounds=5"):
        await build_${module}_workflow(max_rounds=5).run(
            ${prefix}Request(subject="draft", rounds=12)
        )
''',
    activities=("receive", "report"),
    sub_workflows=(
        "loop_sub_workflows(LOOP_NAME, max_rounds=MAX_ROUNDS, rounds_per_block=ROUNDS_PER_BLOCK)"
    ),
    example="""        Example(
            "$name-runs-its-rounds-in-blocks",
            {"subject": "draft", "rounds": 12},
            {"subject": "draft", "rounds": 12},
        ),
""",
    rejected_start="""        RejectedStart(
            "$name-with-too-many-rounds",
            {"subject": "draft", "rounds": 1000},
            ("rounds: Input should be less than or equal to 100, got 1000",),
        ),
""",
    longest_name=MAX_LOOP_NAME_LENGTH,
    why_shorter=(
        f"its loop's levels are workflows named NAME{LOOP_SUFFIX}{LONGEST_LEVEL_SUFFIX} at most, "
        f"and a workflow name has at most {MAX_NAME_LENGTH} characters"
    ),
)

SHAPES = {"chain": CHAIN, "approval": APPROVAL, "fanout": FANOUT, "loop": LOOP}


def declared_names(workflows_dir: Path) -> list[str]:
    """Every workflow name the project's modules declare (sub-workflows included)."""
    names: list[str] = []
    for module in sorted(workflows_dir.glob("*.py")):
        names += DECLARED_NAME.findall(module.read_text())
    return names


def check_name(name: str, existing: list[str], shape: Shape) -> None:
    if not WORKFLOW_NAME_PATTERN.match(name):
        raise NewWorkflowError(
            f"{name!r} is not a valid workflow name: use 1 to 63 ASCII letters, digits, '_' or"
            " '-', starting with a letter."
        )
    if len(name) > shape.longest_name:
        raise NewWorkflowError(
            f"{name!r} has {len(name)} characters; this shape allows at most "
            f"{shape.longest_name}: {shape.why_shorter}."
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


def add_workflow(project: Path, name: str, shape: Shape) -> list[Path]:
    """Write the workflow's module, its tests, its diagram page and its requests; return them.

    Every file is new and nothing the user wrote is changed: ``workflows.catalog`` finds the
    module by its ``WORKFLOW`` declaration. The module and tests are written first (and
    formatted), then the page and requests are drawn from the new module. A failure at any
    point removes what was written, so the tree is left as it was.
    """
    workflows_dir = project / "workflows"
    check_name(name, declared_names(workflows_dir), shape)
    module = module_for(name, workflows_dir)
    values = {
        "name": name,
        "module": module,
        "prefix": "".join(part.capitalize() for part in module.split("_")),
        "title": name.replace("_", " ").replace("-", " ").capitalize(),
    }
    sources = {
        workflows_dir / f"{module}.py": Template(shape.module + shape.declaration()).substitute(
            values
        ),
        project / "tests" / "workflows" / f"test_{module}.py": Template(shape.tests).substitute(
            values
        ),
    }
    generated_paths = [
        project / generate.page_path(module),
        project / generate.requests_path(module),
    ]
    existing = [path for path in [*sources, *generated_paths] if path.exists()]
    if existing:
        raise NewWorkflowError(f"{existing[0].relative_to(project)} already exists")
    relative = {path.relative_to(project): text for path, text in sources.items()}
    try:
        written = generate.write_new(project, relative)
    except generate.GenerateError as error:
        raise NewWorkflowError(str(error)) from error
    try:
        if not tidy(written):
            print("ruff could not format them: pip install -r requirements-dev.txt; ruff format .")
        (declared,) = generate.load(project, only=module)
        written += generate.write_new(project, generate.files_for(declared))
    except (generate.GenerateError, DiagramError) as error:
        for path in written:
            path.unlink(missing_ok=True)
        raise NewWorkflowError(f"{error}; nothing was added") from error
    return written


def tidy(paths: list[Path]) -> bool:
    """Format and sort imports with the project's ruff, so long names still pass its checks."""
    files = [str(path) for path in paths]
    commands = (
        ["format", "--no-cache", *files],
        ["check", "--no-cache", "--fix", "--select", "I", *files],
    )
    return all(
        subprocess.run(
            [sys.executable, "-m", "ruff", *command], capture_output=True, check=False
        ).returncode
        == 0
        for command in commands
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="devhost new-workflow", description="Add a workflow to this project."
    )
    parser.add_argument("name", help="the workflow's name: its route segment and durable name")
    parser.add_argument("--shape", choices=sorted(SHAPES), default="chain")
    parser.add_argument(
        "--project-dir", type=Path, default=Path.cwd(), help="the project (default: current)"
    )
    arguments = parser.parse_args(argv)
    project = arguments.project_dir.resolve()
    try:
        written = add_workflow(project, arguments.name, SHAPES[arguments.shape])
    except NewWorkflowError as error:
        print(f"devhost new-workflow: {error}", file=sys.stderr)
        return 2
    for path in written:
        print(f"wrote {path.relative_to(project)}")
    print(f"Next: python -m pytest, then POST /api/workflow/{arguments.name}/run")
    return 0
