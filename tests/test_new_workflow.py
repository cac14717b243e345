"""scripts/new_workflow.py, run as a new user would: the project still passes everything.

A fresh bake gets one workflow of every shape (one with a long name, one with a hyphen and
capitals), then its own lint, type check and whole suite run, HTTP routes on devhost
included. Bad names are refused before any file changes.
"""

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import ONE_PROCESS_SUITE, bake_copy, load_hook, run_python

pytestmark = pytest.mark.slow
NEW_WORKFLOWS = (
    ("order_intake", "chain"),
    ("Leave-Request", "approval"),
    ("peer_review_with_a_rather_long_and_descriptive_name_to_wrap", "fanout"),
)


@pytest.fixture(scope="module")
def grown(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A default bake of this module's own with one new workflow of every shape."""
    project = bake_copy(tmp_path_factory)
    for name, shape in NEW_WORKFLOWS:
        result = run_python(project, "scripts/new_workflow.py", name, "--shape", shape)
        assert result.returncode == 0, result.stderr
    return project


@pytest.mark.parametrize(
    "check",
    [("-m", "ruff", "check", "."), ("-m", "ruff", "format", "--check", ".")],
    ids=["ruff-check", "ruff-format"],
)
def test_new_workflows_pass_the_projects_lint(grown: Path, check: tuple[str]) -> None:
    result = run_python(grown, *check)

    assert result.returncode == 0, result.stdout + result.stderr


def test_new_workflows_pass_mypy_strict(
    grown: Path, mypy_strict: Callable[[Path], subprocess.CompletedProcess[str]]
) -> None:
    result = mypy_strict(grown)

    assert result.returncode == 0, result.stdout + result.stderr


def test_the_suite_passes_with_new_workflows_served_by_devhost(grown: Path) -> None:
    # -rA lists every passed test by id: the new workflows' scenarios must be among them.
    result = run_python(grown, "-m", "pytest", *ONE_PROCESS_SUITE, "-rA")

    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    passed = [line for line in result.stdout.splitlines() if line.startswith("PASSED ")]
    for name, _ in NEW_WORKFLOWS:
        assert any(f"[{name}-" in line for line in passed), name


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("support triage", "is not a valid workflow name"),
        ("Support_Triage", "clashes with the workflow 'support_triage'"),
        ("messages", "would make the module messages.py"),
        ("trip-booking", "workflows/trip_booking.py already exists"),
    ],
)
def test_a_bad_name_is_refused_and_nothing_changes(
    bake: Callable[..., Path], name: str, problem: str
) -> None:
    project = bake(project_slug="refusing")
    before = {path: path.read_bytes() for path in project.rglob("*.py")}

    result = run_python(project, "scripts/new_workflow.py", name)

    assert result.returncode == 2
    assert problem in result.stderr
    assert {path: path.read_bytes() for path in project.rglob("*.py")} == before


def test_names_follow_the_same_rules_as_the_template_answers(bake: Callable[..., Path]) -> None:
    project = bake(project_slug="rules")
    script = run_python(
        project, "-c", "import scripts.new_workflow as s; print(s.WORKFLOW_NAME_PATTERN.pattern)"
    )

    assert script.stdout.strip() == load_hook("pre_gen_project").WORKFLOW_NAME_PATTERN.pattern
