"""The generated workflow files match the code, and the diagrams match what the app registers.

``devhost generate`` writes, from each workflow module's declaration, its page
``docs/workflows/<module>.md`` (diagram and steps) and its requests ``http/<module>.http``,
and the legend ``docs/workflows.md``. A workflow changed without rewriting them fails here
with that command in the message. The check of the project itself runs that command; the
checks of a copy made stale call its ``main`` in this process, pointed at the copy.
"""

import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from devhost import generate

from tests.function_index import registered_in_this_process

PROJECT = Path(__file__).resolve().parents[1]
COMMAND = "devhost generate"
LEGEND = Path("docs") / "workflows.md"
PAGES = Path("docs") / "workflows"
STEP_ROW = re.compile(
    r"^\| `(?P<executor>[^`]+)`(?: \(start\))? \| "
    r"(?P<kind>activity|entity|child orchestration) \| `(?P<name>[^`]+)` \|",
    re.MULTILINE,
)
ORCHESTRATION_LINE = re.compile(r"^Orchestration `(?P<name>[^`]+)`:$", re.MULTILINE)


@dataclass(frozen=True)
class Written:
    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    """The files the command checks and writes, copied so a test can make them stale."""
    (tmp_path / "docs").mkdir()
    shutil.copy2(PROJECT / LEGEND, tmp_path / LEGEND)
    for folder in (PAGES, Path("http")):
        if (PROJECT / folder).is_dir():
            shutil.copytree(PROJECT / folder, tmp_path / folder)
    return tmp_path


@pytest.fixture
def write(capsys: pytest.CaptureFixture[str]) -> Callable[..., Written]:
    """The command line on a copy of the project, in this process."""

    def written(project: Path, *arguments: str) -> Written:
        capsys.readouterr()
        exit_code = generate.main([*arguments, "--project-dir", str(project)])
        captured = capsys.readouterr()
        return Written(exit_code, captured.out, captured.err)

    return written


def pages() -> str:
    found = sorted((PROJECT / PAGES).glob("*.md"))
    return "".join(path.read_text(encoding="utf-8") for path in found)


@pytest.fixture(scope="module")
def registered() -> dict[str, str]:
    """Every function name the app registers, with its trigger type."""
    return {f["name"]: f["trigger"] for f in registered_in_this_process()}


def drawn_names(kind: str) -> set[str]:
    return {row["name"] for row in STEP_ROW.finditer(pages()) if row["kind"] == kind}


def test_the_generated_files_match_the_workflows() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "devhost", "generate", "--check"],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, f"{result.stderr}\nRewrite them: {COMMAND}"


def test_check_names_a_stale_file_and_the_command_then_rewriting_fixes_it(
    project_copy: Path, write: Callable[..., Written]
) -> None:
    legend = (project_copy / LEGEND).read_text(encoding="utf-8")
    (project_copy / LEGEND).write_text(legend.replace("activity", "entity", 1), encoding="utf-8")

    stale = write(project_copy, "--check")
    rewritten = write(project_copy)

    assert stale.exit_code == 1
    assert f"{LEGEND} does not match the workflows: run {COMMAND}" in stale.stderr
    assert rewritten.exit_code == 0, rewritten.stderr
    assert (project_copy / LEGEND).read_text(encoding="utf-8") == legend


def test_check_reports_a_missing_file(project_copy: Path, write: Callable[..., Written]) -> None:
    (project_copy / LEGEND).unlink()

    result = write(project_copy, "--check")

    assert result.exit_code == 1
    assert f"{LEGEND} does not match the workflows: run {COMMAND}" in result.stderr
    assert not (project_copy / LEGEND).exists()


def test_a_generated_file_whose_workflow_is_gone_is_reported_then_removed(
    project_copy: Path, write: Callable[..., Written]
) -> None:
    retired = PAGES / "retired.md"
    (project_copy / PAGES).mkdir(parents=True, exist_ok=True)
    (project_copy / retired).write_text(f"# `retired`\n\n<!-- {generate.MARKER} -->\n")

    stale = write(project_copy, "--check")
    rewritten = write(project_copy)

    assert stale.exit_code == 1
    assert f"{retired} belongs to no workflow: run {COMMAND}" in stale.stderr
    assert rewritten.exit_code == 0, rewritten.stderr
    assert f"removed {retired}" in rewritten.stdout
    assert not (project_copy / retired).exists()


def test_a_file_the_command_did_not_write_is_left_alone(
    project_copy: Path, write: Callable[..., Written]
) -> None:
    notes = Path("http") / "my-notes.http"
    (project_copy / notes).parent.mkdir(exist_ok=True)
    (project_copy / notes).write_text("GET http://localhost:7071/api/health\n")

    result = write(project_copy)

    assert result.exit_code == 0, result.stderr
    assert (project_copy / notes).read_text() == "GET http://localhost:7071/api/health\n"


def test_the_activities_drawn_are_the_apps_activities(registered: dict[str, str]) -> None:
    activities = {name for name, trigger in registered.items() if trigger == "activityTrigger"}

    assert drawn_names("activity") == activities


def test_the_entities_drawn_are_the_apps_entities(registered: dict[str, str]) -> None:
    entities = {name for name, trigger in registered.items() if trigger == "entityTrigger"}

    assert drawn_names("entity") == entities


def test_every_orchestration_drawn_is_one_the_app_registers(registered: dict[str, str]) -> None:
    drawn = {line["name"] for line in ORCHESTRATION_LINE.finditer(pages())}
    orchestrations = {
        name for name, trigger in registered.items() if trigger == "orchestrationTrigger"
    }

    assert drawn == orchestrations
    assert drawn_names("child orchestration") <= orchestrations
