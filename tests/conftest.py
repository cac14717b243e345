"""Shared helpers for the template's tests: load the hooks, bake projects."""

import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from cookiecutter.environment import StrictEnvironment
from cookiecutter.main import cookiecutter
from cookiecutter.prompt import render_variable
from filelock import FileLock

TEMPLATE = Path(__file__).resolve().parents[1]
DEFAULTS: dict[str, Any] = json.loads((TEMPLATE / "cookiecutter.json").read_text())


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked ``starts_first`` go out first; the rest keep their order."""
    items.sort(key=lambda item: item.get_closest_marker("starts_first") is None)


def load_hook(name: str) -> ModuleType:
    """Import a hook script as a module; its Jinja placeholder sits inside a string literal."""
    spec = importlib.util.spec_from_file_location(name, TEMPLATE / "hooks" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def default_answers(**overrides: str) -> dict[str, str]:
    """The answers cookiecutter would use with --no-input, as the hooks receive them.

    ``overrides`` stand as given (a test may pass answers cookiecutter would refuse); every
    other answer takes its default, and the values ``cookiecutter.json`` derives (the slug,
    the private ``__`` variables) are rendered by cookiecutter's own function, in file order.
    """
    environment = StrictEnvironment(context={"cookiecutter": DEFAULTS})
    answers: dict[str, str] = {}
    for key, default in DEFAULTS.items():
        if (key.startswith("_") and not key.startswith("__")) or isinstance(default, dict):
            continue
        if key in overrides:
            answers[key] = overrides[key]
        elif isinstance(default, list):
            answers[key] = default[0]
        else:
            answers[key] = render_variable(environment, default, answers)
    unknown = sorted(set(overrides) - set(answers))
    if unknown:
        raise KeyError(f"not answers of cookiecutter.json: {', '.join(unknown)}")
    return answers


# A baked project's suite as its README runs it, but in one process: the project spreads its
# files over pytest-xdist workers, and the template's own workers already keep every core busy.
ONE_PROCESS_SUITE = ("-q", "-p", "no:cacheprovider", "-n", "0")


def assert_suite_passed(suite: subprocess.CompletedProcess[str]) -> None:
    """A project's pytest run exited 0 and its closing line counts passes and no failure."""
    summary = suite.stdout.strip().splitlines()[-1] if suite.stdout.strip() else ""
    assert suite.returncode == 0, suite.stdout[-6000:] + suite.stderr[-3000:]
    assert " passed" in summary and not re.search(r"\b\d+ (failed|errors?)\b", summary), summary


def project_environment() -> dict[str, str]:
    """This process's environment without the variables that steer a project's own HTTP tests
    (``DAFX_*``) or that pytest sets for the template's run (``PYTEST_*``)."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("DAFX_", "PYTEST_"))}


def run_python(project: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    """Run this environment's Python in ``project``, as its developer would, output captured,
    in a clean ``project_environment()``."""
    return subprocess.run(
        [sys.executable, *arguments],
        cwd=project,
        env=project_environment(),
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def git(folder: Path, *args: str) -> str:
    """Run git in ``folder`` as a throwaway committer; its output, stripped."""
    result = subprocess.run(
        ["git", "-c", "user.name=dafx", "-c", "user.email=dafx@example.invalid", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return result.stdout.strip()


def bake_project(output_dir: Path, **answers: str) -> Path:
    return Path(
        cookiecutter(
            str(TEMPLATE), no_input=True, extra_context=answers, output_dir=str(output_dir)
        )
    )


def shared_folder(tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    """A folder of this test run that every pytest-xdist worker sees (each worker's own
    temporary folders sit inside the run's)."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent
    folder = base / name
    folder.mkdir(exist_ok=True)
    return folder


def answers_key(answers: dict[str, str]) -> str:
    """One name for every set of answers that bakes the same project: answers left out take
    their defaults (the ones no other answer derives, such as the slug from the name)."""
    plain_defaults = {
        key: value for key, value in default_answers().items() if "{{" not in str(DEFAULTS[key])
    }
    complete = json.dumps(plain_defaults | answers, sort_keys=True)
    return hashlib.sha256(complete.encode()).hexdigest()[:16]


def bake_copy(tmp_path_factory: pytest.TempPathFactory, **answers: str) -> Path:
    """A project of the worker's own for these answers, copied from the run's one bake of them.

    Whichever worker first asks for a set of answers bakes it (cookiecutter and the hook, about
    half a second of CPU); the others wait for it and copy the result, so each still writes
    into a project no other worker touches.
    """
    store = shared_folder(tmp_path_factory, "bakes")
    key = answers_key(answers)
    with FileLock(store / f"{key}.lock"):
        if not (store / key).exists():
            partial = store / f"{key}.partial"
            shutil.rmtree(partial, ignore_errors=True)
            bake_project(partial, **answers)
            partial.rename(store / key)
    (pristine,) = (store / key).iterdir()
    return Path(shutil.copytree(pristine, tmp_path_factory.mktemp("bake") / pristine.name))


@pytest.fixture(scope="session")
def bake(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """Bake a project once per distinct set of answers and share it across this worker's tests."""
    baked: dict[str, Path] = {}

    def bake_once(**answers: str) -> Path:
        key = answers_key(answers)
        if key not in baked:
            baked[key] = bake_copy(tmp_path_factory, **answers)
        return baked[key]

    return bake_once


@pytest.fixture(scope="session")
def mypy_strict(
    tmp_path_factory: pytest.TempPathFactory,
) -> Callable[[Path], subprocess.CompletedProcess[str]]:
    """Run mypy (strict, as the project configures it) on a project, with one cache for every
    bake with the same mypy settings, in every worker.

    Most of mypy's time on a bake goes to the installed libraries, which are the same in every
    bake: sharing the cache analyses them once per settings (the Python version changes them).
    mypy checks each bake's own files against their content hash and never caches a module
    with errors, so a bake's own type error is still found and reported. One mypy at a time
    uses a cache, so the first analyses the libraries and the others find them done.
    """
    root = shared_folder(tmp_path_factory, "mypy-cache")

    def check(project: Path) -> subprocess.CompletedProcess[str]:
        settings = tomllib.loads((project / "pyproject.toml").read_text())["tool"]["mypy"]
        key = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]
        with FileLock(root / f"{key}.lock"):
            return run_python(project, "-m", "mypy", "--cache-dir", str(root / key), ".")

    return check
