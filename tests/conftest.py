"""Shared helpers for the template's tests: load the hooks, bake projects."""

import hashlib
import importlib.util
import json
import os
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from cookiecutter.main import cookiecutter

TEMPLATE = Path(__file__).resolve().parents[1]
DEFAULTS: dict[str, Any] = json.loads((TEMPLATE / "cookiecutter.json").read_text())


def load_hook(name: str) -> ModuleType:
    """Import a hook script as a module; its Jinja placeholder sits inside a string literal."""
    spec = importlib.util.spec_from_file_location(name, TEMPLATE / "hooks" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def default_answers(**overrides: str) -> dict[str, str]:
    """The answers cookiecutter would use with --no-input, as the hooks receive them."""
    answers = {
        key: value[0] if isinstance(value, list) else value
        for key, value in DEFAULTS.items()
        if not key.startswith("_")
    }
    answers["project_slug"] = "agent_workflows"
    answers.update(overrides)
    return answers


# A baked project's suite as its README runs it, but in one process: the project spreads its
# files over pytest-xdist workers, and the template's own workers already keep every core busy.
ONE_PROCESS_SUITE = ("-q", "-p", "no:cacheprovider", "-n", "0")


def run_python(project: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    """Run this environment's Python in ``project``, as its developer would, output captured.

    Variables that steer the project's own HTTP tests (``DAFX_*``) or that pytest sets for the
    template's run (``PYTEST_*``) are left out, so the project sees a clean environment.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAFX_", "PYTEST_"))}
    return subprocess.run(
        [sys.executable, *arguments],
        cwd=project,
        env=env,
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


@pytest.fixture(scope="session")
def bake(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """Bake a project once per distinct set of answers and share it across tests."""
    baked: dict[tuple[tuple[str, str], ...], Path] = {}

    def bake_once(**answers: str) -> Path:
        key = tuple(sorted(answers.items()))
        if key not in baked:
            baked[key] = bake_project(tmp_path_factory.mktemp("bake"), **answers)
        return baked[key]

    return bake_once


@pytest.fixture(scope="session")
def mypy_cache(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Path], Path]:
    """A mypy cache folder shared by every bake with the same mypy settings.

    Most of mypy's time on a bake goes to the installed libraries, which are the same in every
    bake: sharing the cache analyses them once per settings (the Python version changes them).
    mypy checks each bake's own files against their content hash and never caches a module
    with errors, so a bake's own type error is still found and reported.
    """
    root = tmp_path_factory.mktemp("mypy-cache")

    def for_project(project: Path) -> Path:
        settings = tomllib.loads((project / "pyproject.toml").read_text())["tool"]["mypy"]
        return root / hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()

    return for_project
