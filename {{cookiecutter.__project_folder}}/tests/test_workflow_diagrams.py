"""docs/workflows.md and the README's diagrams match the code and what the app registers.

Both are written by ``python scripts/workflow_diagrams.py`` from ``build_workflows()``; a
workflow changed without redrawing them fails here with that command in the message.
"""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.registered_functions import registered_functions

PROJECT = Path(__file__).resolve().parents[1]
COMMAND = "python scripts/workflow_diagrams.py"
DOC = Path("docs") / "workflows.md"
MERMAID_BLOCK = re.compile(r"^```mermaid\n(.*?)\n```$", re.MULTILINE | re.DOTALL)
STEP_ROW = re.compile(
    r"^\| `(?P<executor>[^`]+)`(?: \(start\))? \| "
    r"(?P<kind>activity|entity|child orchestration) \| `(?P<name>[^`]+)` \|",
    re.MULTILINE,
)
ORCHESTRATION_LINE = re.compile(r"^Orchestration `(?P<name>[^`]+)`:$", re.MULTILINE)
COPIED = ("workflows", "scripts", "docs", "README.md", "model_client.py")


def run_diagrams(project: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "scripts/workflow_diagrams.py", *arguments],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    """What the script reads and writes, copied so a test can make it stale."""
    for name in COPIED:
        source = PROJECT / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif source.is_file():
            shutil.copy2(source, tmp_path / name)
    return tmp_path


@pytest.fixture(scope="module")
def registered() -> dict[str, str]:
    """Every function name the app registers, with its trigger type, from a fresh import."""
    return {function["name"]: function["trigger"] for function in registered_functions()}


def drawn_names(kind: str) -> set[str]:
    doc = (PROJECT / DOC).read_text(encoding="utf-8")
    return {row["name"] for row in STEP_ROW.finditer(doc) if row["kind"] == kind}


def test_the_diagrams_match_the_workflows() -> None:
    result = run_diagrams(PROJECT, "--check")

    assert result.returncode == 0, f"{result.stderr}\nRedraw them: {COMMAND}"


def test_check_names_a_stale_file_and_the_command_then_redrawing_fixes_it(
    project_copy: Path,
) -> None:
    drawn = (project_copy / DOC).read_text(encoding="utf-8")
    (project_copy / DOC).write_text(drawn.replace("activity", "entity", 1), encoding="utf-8")

    stale = run_diagrams(project_copy, "--check")
    redrawn = run_diagrams(project_copy)

    assert stale.returncode == 1
    assert f"{DOC} does not match the workflows: run {COMMAND}" in stale.stderr
    assert "README.md" not in stale.stderr
    assert redrawn.returncode == 0, redrawn.stderr
    assert (project_copy / DOC).read_text(encoding="utf-8") == drawn


def test_check_reports_a_missing_file(project_copy: Path) -> None:
    (project_copy / DOC).unlink()

    result = run_diagrams(project_copy, "--check")

    assert result.returncode == 1
    assert f"{DOC} does not match the workflows: run {COMMAND}" in result.stderr
    assert not (project_copy / DOC).exists()


def test_the_readme_embeds_every_diagram() -> None:
    doc = (PROJECT / DOC).read_text(encoding="utf-8")
    readme = (PROJECT / "README.md").read_text(encoding="utf-8")

    assert MERMAID_BLOCK.findall(readme) == MERMAID_BLOCK.findall(doc)
    assert "](docs/workflows.md)" in readme


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
