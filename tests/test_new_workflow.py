"""``devhost new-workflow``, run as a new user would: the project still passes everything.

A fresh bake gets one workflow of every shape (one with a long name, one with a hyphen and
capitals, a loop with the longest name a loop allows), then its own lint, type check and whole
suite run, HTTP routes on devhost included. Adding writes new files only; bad names and a
failure part-way leave the tree as it was.
"""

import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ONE_PROCESS_SUITE, bake_copy, load_hook, run_python

pytestmark = pytest.mark.slow
NEW_WORKFLOWS = (
    ("order_intake", "chain"),
    ("Leave-Request", "approval"),
    ("peer_review_with_a_rather_long_and_descriptive_name_to_wrap", "fanout"),
    # 51 characters: its loop's deepest level is a workflow named NAME_loop_level5 (63).
    ("Refine-in-rounds-until-done-with-a-name-at-its-limit"[:51], "loop"),
)
TOO_LONG_FOR_A_LOOP = "r" * 52


def file_bytes(project: Path) -> dict[str, bytes]:
    return {
        path.relative_to(project).as_posix(): path.read_bytes()
        for path in project.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and ".mypy_cache" not in path.parts
    }


@dataclass(frozen=True)
class Grown:
    project: Path
    before: dict[str, bytes]


@pytest.fixture(scope="module")
def grown_with_history(tmp_path_factory: pytest.TempPathFactory) -> Grown:
    """A default bake of this module's own with one new workflow of every shape."""
    project = bake_copy(tmp_path_factory)
    before = file_bytes(project)
    for name, shape in NEW_WORKFLOWS:
        result = run_python(project, "-m", "devhost", "new-workflow", name, "--shape", shape)
        assert result.returncode == 0, result.stderr
    return Grown(project, before)


@pytest.fixture(scope="module")
def grown(grown_with_history: Grown) -> Path:
    return grown_with_history.project


def test_adding_workflows_writes_new_files_and_changes_none(grown_with_history: Grown) -> None:
    after = file_bytes(grown_with_history.project)
    before = grown_with_history.before

    changed = {name for name in before if after.get(name) != before[name]}
    added = set(after) - set(before)

    assert changed == set()
    assert added == {
        path
        for module in (name.lower().replace("-", "_") for name, _ in NEW_WORKFLOWS)
        for path in (
            f"workflows/{module}.py",
            f"tests/workflows/test_{module}.py",
            f"docs/workflows/{module}.md",
            f"http/{module}.http",
        )
    }


@pytest.mark.parametrize(
    ("folder", "unwritable"),
    [
        ("tests/workflows", "tests/workflows/test_order_intake.py"),
        ("http", "http/order_intake.http"),
    ],
    ids=["its-test", "its-requests"],
)
def test_a_failure_part_way_leaves_the_tree_as_it_was(
    tmp_path_factory: pytest.TempPathFactory, folder: str, unwritable: str
) -> None:
    project = bake_copy(tmp_path_factory)
    # A file where the folder should be: writing into it fails after the files before it.
    shutil.rmtree(project / folder)
    (project / folder).write_text("a file where a folder should be\n")
    before = file_bytes(project)

    result = run_python(project, "-m", "devhost", "new-workflow", "order_intake")

    assert result.returncode == 2
    assert f"could not write {unwritable}" in result.stderr
    assert file_bytes(project) == before


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
        ("loops", "would make the module loops.py"),
    ],
)
def test_a_bad_name_is_refused_and_nothing_changes(
    bake: Callable[..., Path], name: str, problem: str
) -> None:
    project = bake(project_slug="refusing")
    before = file_bytes(project)

    result = run_python(project, "-m", "devhost", "new-workflow", name)

    assert result.returncode == 2
    assert problem in result.stderr
    assert file_bytes(project) == before


def test_a_loop_name_too_long_for_its_levels_is_refused_naming_the_limit(
    bake: Callable[..., Path],
) -> None:
    project = bake(project_slug="refusing")
    before = file_bytes(project)

    result = run_python(
        project, "-m", "devhost", "new-workflow", TOO_LONG_FOR_A_LOOP, "--shape", "loop"
    )

    assert result.returncode == 2
    assert "has 52 characters; this shape allows at most 51" in result.stderr
    assert "NAME_loop_level5" in result.stderr
    assert file_bytes(project) == before


def test_names_follow_the_same_rules_as_the_template_answers(bake: Callable[..., Path]) -> None:
    project = bake(project_slug="rules")
    script = run_python(
        project, "-c", "import devhost.new_workflow as s; print(s.WORKFLOW_NAME_PATTERN.pattern)"
    )

    assert script.stdout.strip() == load_hook("pre_gen_project").WORKFLOW_NAME_PATTERN.pattern
