"""Every set of starters a user can choose makes a project that passes its own checks.

Each subset of the starter answers, the empty one included, bakes, passes ruff and
``mypy --strict``, and its suite collects. The other answers that change the generated files
(model provider, auth level, Python version) are cycled over the subsets, so each of their
values meets many starter sets. Every pair of starters hosted alone together runs its whole
suite, and so does the project with no starter: it serves only health until its developer
adds a workflow, and ``devhost new-workflow`` gives it one whose suite passes.
"""

import subprocess
from collections.abc import Callable
from itertools import combinations
from pathlib import Path

import pytest

from tests.conftest import DEFAULTS, ONE_PROCESS_SUITE, assert_suite_passed, run_python

pytestmark = pytest.mark.slow
STARTERS = [key for key in DEFAULTS if key.endswith("_workflow") and not key.startswith("_")]
AGENT = "agent_workflow"
PROVIDERS = ("azure_openai", "foundry")
AUTH_LEVELS = ("function", "anonymous")
PYTHONS = ("3.11", "3.12", "3.13")
SUBSETS = [kept for size in range(len(STARTERS) + 1) for kept in combinations(STARTERS, size)]
PAIRS = list(combinations(STARTERS, 2))


def answers_for(kept: tuple[str, ...], index: int) -> dict[str, str]:
    """The answers that host exactly ``kept``; ``index`` picks the other answers' values."""
    answers = {starter: "none" for starter in STARTERS if starter not in kept}
    answers["model_provider"] = PROVIDERS[index % 2] if AGENT in kept else "none"
    answers["http_auth_level"] = AUTH_LEVELS[index % 2]
    answers["python_version"] = PYTHONS[index % 3]
    return answers


def subset_id(kept: tuple[str, ...]) -> str:
    return "+".join(starter.removesuffix("_workflow") for starter in kept) or "no-starter"


@pytest.mark.parametrize(
    ("index", "kept"), list(enumerate(SUBSETS)), ids=[subset_id(kept) for kept in SUBSETS]
)
def test_every_starter_subset_bakes_lints_type_checks_and_collects(
    bake: Callable[..., Path],
    mypy_strict: Callable[[Path], subprocess.CompletedProcess[str]],
    index: int,
    kept: tuple[str, ...],
) -> None:
    project = bake(**answers_for(kept, index))

    checks = {
        "ruff check": run_python(project, "-m", "ruff", "check", "."),
        "ruff format": run_python(project, "-m", "ruff", "format", "--check", "."),
        "mypy --strict": mypy_strict(project),
        "pytest --collect-only": run_python(
            project, "-m", "pytest", "--collect-only", *ONE_PROCESS_SUITE
        ),
    }

    failed = {name: run.stdout[-3000:] + run.stderr[-2000:] for name, run in checks.items()}
    assert [name for name, run in checks.items() if run.returncode != 0] == [], failed


@pytest.mark.parametrize("kept", PAIRS, ids=[subset_id(kept) for kept in PAIRS])
def test_every_pair_of_starters_hosted_alone_passes_its_suite(
    bake: Callable[..., Path], kept: tuple[str, ...]
) -> None:
    project = bake(**answers_for(kept, 0))

    assert_suite_passed(run_python(project, "-m", "pytest", *ONE_PROCESS_SUITE))


def test_the_project_with_no_starter_passes_its_suite(bake: Callable[..., Path]) -> None:
    project = bake(**answers_for((), 0))

    assert_suite_passed(run_python(project, "-m", "pytest", *ONE_PROCESS_SUITE))


def test_workflows_added_to_the_project_with_no_starter_pass_its_suite(
    bake: Callable[..., Path],
) -> None:
    project = bake(**answers_for((), 1))
    for name, shape in (("order_intake", "chain"), ("leave_request", "approval")):
        added = run_python(project, "-m", "devhost", "new-workflow", name, "--shape", shape)
        assert added.returncode == 0, added.stdout + added.stderr

    assert_suite_passed(run_python(project, "-m", "pytest", *ONE_PROCESS_SUITE))
