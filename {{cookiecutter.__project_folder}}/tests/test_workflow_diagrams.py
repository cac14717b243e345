"""docs/workflows.md and the README's list of workflows match the code and what the app registers.

Both are written by ``devhost diagrams`` from ``build_workflows()``; a
workflow changed without redrawing them fails here with that command in the message. The
check of the project itself runs that command; the checks of a copy made stale call its
``main`` in this process, pointed at the copy.
"""

import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from devhost import diagrams

from tests.function_index import registered_in_this_process

PROJECT = Path(__file__).resolve().parents[1]
COMMAND = "devhost diagrams"
DOC = Path("docs") / "workflows.md"
MERMAID_BLOCK = re.compile(r"^```mermaid\n(.*?)\n```$", re.MULTILINE | re.DOTALL)
STEP_ROW = re.compile(
    r"^\| `(?P<executor>[^`]+)`(?: \(start\))? \| "
    r"(?P<kind>activity|entity|child orchestration) \| `(?P<name>[^`]+)` \|",
    re.MULTILINE,
)
ORCHESTRATION_LINE = re.compile(r"^Orchestration `(?P<name>[^`]+)`:$", re.MULTILINE)


@dataclass(frozen=True)
class Drawn:
    exit_code: int
    stderr: str


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    """The files the script checks and writes, copied so a test can make them stale."""
    for name in (DOC, Path("README.md")):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(PROJECT / name, tmp_path / name)
    return tmp_path


@pytest.fixture
def draw(capsys: pytest.CaptureFixture[str]) -> Callable[..., Drawn]:
    """The script's command line on a copy of the project, in this process."""

    def drawn(project: Path, *arguments: str) -> Drawn:
        capsys.readouterr()
        exit_code = diagrams.main([*arguments, "--project-dir", str(project)])
        return Drawn(exit_code, capsys.readouterr().err)

    return drawn


@pytest.fixture(scope="module")
def registered() -> dict[str, str]:
    """Every function name the app registers, with its trigger type."""
    return {f["name"]: f["trigger"] for f in registered_in_this_process()}


def drawn_names(kind: str) -> set[str]:
    doc = (PROJECT / DOC).read_text(encoding="utf-8")
    return {row["name"] for row in STEP_ROW.finditer(doc) if row["kind"] == kind}


def test_the_diagrams_match_the_workflows() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "devhost", "diagrams", "--check"],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, f"{result.stderr}\nRedraw them: {COMMAND}"


def test_check_names_a_stale_file_and_the_command_then_redrawing_fixes_it(
    project_copy: Path, draw: Callable[..., Drawn]
) -> None:
    drawn = (project_copy / DOC).read_text(encoding="utf-8")
    (project_copy / DOC).write_text(drawn.replace("activity", "entity", 1), encoding="utf-8")

    stale = draw(project_copy, "--check")
    redrawn = draw(project_copy)

    assert stale.exit_code == 1
    assert f"{DOC} does not match the workflows: run {COMMAND}" in stale.stderr
    assert "README.md" not in stale.stderr
    assert redrawn.exit_code == 0, redrawn.stderr
    assert (project_copy / DOC).read_text(encoding="utf-8") == drawn


def test_check_reports_a_missing_file(project_copy: Path, draw: Callable[..., Drawn]) -> None:
    (project_copy / DOC).unlink()

    result = draw(project_copy, "--check")

    assert result.exit_code == 1
    assert f"{DOC} does not match the workflows: run {COMMAND}" in result.stderr
    assert not (project_copy / DOC).exists()


def test_the_readme_links_every_workflows_diagram(registered: dict[str, str]) -> None:
    readme = (PROJECT / "README.md").read_text(encoding="utf-8")
    doc = (PROJECT / DOC).read_text(encoding="utf-8")
    drawn = re.findall(r"^## `([^`]+)`$", doc, flags=re.MULTILINE)

    for name in drawn:
        assert f"### `{name}`" in readme
        assert f"](docs/workflows.md#{name.lower()})" in readme


def test_the_activities_drawn_are_the_apps_activities(registered: dict[str, str]) -> None:
    activities = {name for name, trigger in registered.items() if trigger == "activityTrigger"}

    assert drawn_names("activity") == activities


def test_the_entities_drawn_are_the_apps_entities(registered: dict[str, str]) -> None:
    entities = {name for name, trigger in registered.items() if trigger == "entityTrigger"}

    assert drawn_names("entity") == entities


def test_every_orchestration_drawn_is_one_the_app_registers(registered: dict[str, str]) -> None:
    doc = (PROJECT / DOC).read_text(encoding="utf-8")
    drawn = {line["name"] for line in ORCHESTRATION_LINE.finditer(doc)}
    orchestrations = {
        name for name, trigger in registered.items() if trigger == "orchestrationTrigger"
    }

    assert drawn == orchestrations
    assert drawn_names("child orchestration") <= orchestrations
