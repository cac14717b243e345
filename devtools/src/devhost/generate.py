"""Write each workflow's generated files from its declaration: a diagram page and requests.

    devhost generate           # write what is missing or stale, remove what no workflow owns
    devhost generate --check   # change nothing; exit 1 naming each stale file

For every module ``workflows/<module>.py`` that declares ``WORKFLOW`` (``workflows.catalog``):

- ``docs/workflows/<module>.md``: the workflow drawn as Mermaid (diagrams.py) and a table of
  how each step runs durably;
- ``http/<module>.http``: the declaration's examples as requests to send by hand (VS Code
  REST Client, JetBrains HTTP client): start, status, and each answer a person gives.

``docs/workflows.md``, the legend the pages link to, is written too; it names no workflow.
So adding a workflow adds files and changes none, and ``devhost new-workflow`` writes the new
workflow's pair with its module. A generated file carries ``MARKER``; one whose workflow is
gone is removed. ``devhost diagrams`` is the same command under its earlier name.
"""

from __future__ import annotations

import argparse
import importlib
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent_framework import Workflow
from agent_framework_durabletask import collect_hosted_workflows

from .diagrams import LEGEND_ROWS, DiagramError, mermaid_block, step_table, summary

COMMAND = "devhost generate"
MARKER = f"Written by `{COMMAND}`"
LEGEND = Path("docs") / "workflows.md"
PAGES = Path("docs") / "workflows"
REQUESTS = Path("http")
BASE_URL = "http://localhost:7071/api"
NEEDS_THE_MODEL = " (needs the model settings)"
NOT_A_WORD = re.compile(r"\W+")


class GenerateError(Exception):
    """The project's workflows cannot be loaded or drawn; the message says why."""


@dataclass(frozen=True)
class Declared:
    """A workflow module's declaration and the workflow it builds."""

    module: str
    declaration: Any
    workflow: Workflow


def page_path(module: str) -> Path:
    return PAGES / f"{module}.md"


def requests_path(module: str) -> Path:
    return REQUESTS / f"{module}.http"


def legend() -> str:
    rows = "".join(f"| {mark} | {meaning} |\n" for mark, meaning in LEGEND_ROWS)
    return f"""\
# Workflows

<!-- {MARKER} from its own code; do not edit by hand.
`python -m pytest` fails when this file no longer matches the code. -->

Each workflow module `workflows/<module>.py` has a page, `docs/workflows/<module>.md`: the
workflow drawn by the Agent Framework's `WorkflowViz` from the code, marked with how
`AgentFunctionApp` runs each step on the Durable Task Scheduler. Its requests to send by hand
are in `http/<module>.http`. After changing a workflow, run `{COMMAND}`.

See the pages in [workflows/](workflows/).

| In a diagram | Meaning |
|---|---|
{rows}"""


def page(declared: Declared) -> str:
    """The workflow's page: what runs durably, its routes, its diagram and its steps."""
    workflow, module = declared.workflow, declared.module
    lines = [
        f"# `{workflow.name}`",
        "",
        f"<!-- {MARKER} from workflows/{module}.py; do not edit by hand.",
        "`python -m pytest` fails when this page no longer matches the code. -->",
        "",
        f"{summary(workflow)} Routes: `workflow/{workflow.name}/run`, "
        "`.../status/{instanceId}`, `.../respond/{instanceId}/{requestId}`.",
        f"Requests to send: [http/{module}.http](../../http/{module}.http). "
        "What the marks mean: [the legend](../workflows.md).",
        "",
        *mermaid_block(workflow),
    ]
    for hosted in collect_hosted_workflows(workflow):
        lines += ["", *step_table(hosted)]
    return "\n".join(lines) + "\n"


def request_name(example_id: str, *parts: str) -> str:
    """A REST Client request name: word characters only (a ``-`` ends the name there)."""
    return "_".join(NOT_A_WORD.sub("_", text).strip("_") for text in (example_id, *parts))


def body_lines(body: Any) -> list[str]:
    """A start body as sent: text as plain text, anything else as JSON."""
    if isinstance(body, str):
        return ["Content-Type: text/plain", "", body]
    return ["Content-Type: application/json", "", json.dumps(body, ensure_ascii=False)]


def requests(declared: Declared) -> str:
    """The declaration's examples as requests, in the order a person sends them."""
    name, module = declared.workflow.name, declared.module
    lines = [
        f"# {name}: its examples as requests (VS Code REST Client, JetBrains HTTP client, curl).",
        f"# {MARKER} from the examples in workflows/{module}.py; do not edit by hand.",
        "# Works against `devhost` and `func start` (port 7071). In Azure, set @base to",
        "# https://<app>.azurewebsites.net/api and add an `x-functions-key: <key>` header.",
        f"@base = {BASE_URL}",
    ]
    if not declared.declaration.examples:
        lines += [
            "",
            f"# {name} declares no example: add one to WORKFLOW in workflows/{module}.py.",
        ]
    for example in declared.declaration.examples:
        note = NEEDS_THE_MODEL if example.calls_the_model else ""
        start = request_name(example.id)
        status = request_name(example.id, "status")
        lines += [
            "",
            f"### {name}: {example.id}{note}",
            f"# @name {start}",
            f"POST {{{{base}}}}/workflow/{name}/run",
            *body_lines(example.body),
            "",
            f"### {name}: {example.id}, status{note}",
            f"# @name {status}",
            f"GET {{{{{start}.response.body.$.statusQueryGetUri}}}}",
        ]
        for number, answer in enumerate(example.answers, start=1):
            if number > 1:
                status = request_name(example.id, "status", "after", "answer", str(number - 1))
                lines += [
                    "",
                    f"### {name}: {example.id}, status after answer {number - 1}{note}",
                    f"# @name {status}",
                    f"GET {{{{{start}.response.body.$.statusQueryGetUri}}}}",
                ]
            lines += [
                "",
                f"### {name}: {example.id}, a person answers{note}",
                "# The status shows pendingHumanInputRequests[0].respondUrl.",
                f"POST {{{{{status}.response.body.$.pendingHumanInputRequests[0].respondUrl}}}}",
                *body_lines(answer),
            ]
    return "\n".join(lines) + "\n"


def files_for(declared: Declared) -> dict[Path, str]:
    """The generated files of one workflow module, by project-relative path."""
    return {
        page_path(declared.module): page(declared),
        requests_path(declared.module): requests(declared),
    }


def load(project: Path, only: str | None = None) -> list[Declared]:
    """The project's declared workflows (or the one in module ``only``), built as the app does."""
    sys.path.insert(0, str(project))
    try:
        catalog = importlib.import_module("workflows.catalog")
        if only is None:
            found = catalog.declared_by_module()
        else:
            module = importlib.import_module(f"workflows.{only}")
            found = {only: module.WORKFLOW}
        return [
            Declared(module, declaration, build(declaration))
            for module, declaration in found.items()
        ]
    except Exception as error:  # the user's code: any failure is reported, not a traceback
        raise GenerateError(
            f"could not load the workflows: {type(error).__name__}: {error}"
        ) from error
    finally:
        sys.path.remove(str(project))


def build(declaration: Any) -> Workflow:
    """The workflow as ``workflows.build_workflows`` builds it (the app's model for agents)."""
    workflow: Workflow = declaration.build(None) if declaration.uses_model else declaration.build()
    return workflow


def generated_files(project: Path) -> list[Path]:
    """Every file this command wrote before, found by its marker."""
    found = [LEGEND] if (project / LEGEND).is_file() else []
    for folder, pattern in ((PAGES, "*.md"), (REQUESTS, "*.http")):
        for path in sorted((project / folder).glob(pattern)):
            if MARKER in path.read_text(encoding="utf-8"):
                found.append(path.relative_to(project))
    return found


def expected_files(project: Path) -> dict[Path, str]:
    expected = {LEGEND: legend()}
    for declared in load(project):
        expected.update(files_for(declared))
    return expected


def out_of_date(project: Path, expected: dict[Path, str]) -> tuple[list[Path], list[Path]]:
    """Expected files missing or changed in ``project``, and generated files no longer expected."""
    stale = [
        path
        for path, text in expected.items()
        if not (project / path).is_file() or (project / path).read_text(encoding="utf-8") != text
    ]
    orphans = [path for path in generated_files(project) if path not in expected]
    return stale, orphans


def write_new(project: Path, texts: dict[Path, str]) -> list[Path]:
    """Create each file, none existing; on a failure remove those created and raise."""
    written: list[Path] = []
    try:
        for path, text in texts.items():
            target = project / path
            target.parent.mkdir(parents=True, exist_ok=True)
            with target.open("x", encoding="utf-8") as file:
                written.append(target)
                file.write(text)
    except OSError as error:
        for done in written:
            done.unlink(missing_ok=True)
        raise GenerateError(f"could not write {path}: {error}") from error
    return written


def main(argv: list[str] | None = None) -> int:
    """The command: check or write the generated files of the project in ``--project-dir``."""
    parser = argparse.ArgumentParser(
        prog=COMMAND,
        description="Write each workflow's diagram page and requests from its declaration.",
    )
    parser.add_argument(
        "--check", action="store_true", help="change nothing; exit 1 if a file is out of date"
    )
    parser.add_argument(
        "--project-dir", type=Path, default=Path.cwd(), help="the project (default: current)"
    )
    arguments = parser.parse_args(argv)
    project = arguments.project_dir.resolve()
    try:
        expected = expected_files(project)
    except (GenerateError, DiagramError) as error:
        print(f"{COMMAND}: {error}", file=sys.stderr)
        return 2
    stale, orphans = out_of_date(project, expected)
    if arguments.check:
        for path in stale:
            print(f"{path} does not match the workflows: run {COMMAND}", file=sys.stderr)
        for path in orphans:
            print(f"{path} belongs to no workflow: run {COMMAND}", file=sys.stderr)
        return 1 if stale or orphans else 0
    for path in stale:
        (project / path).parent.mkdir(parents=True, exist_ok=True)
        (project / path).write_text(expected[path], encoding="utf-8")
        print(f"wrote {path}")
    for path in orphans:
        (project / path).unlink()
        print(f"removed {path}")
    return 0
