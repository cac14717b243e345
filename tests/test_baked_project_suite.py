"""A baked project passes its own test suite, in the template's shared environment.

The template's environment pins the same packages a generated project installs (see
``test_pins.py``), so every bake reuses it instead of building a virtualenv of its own.
"""

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.test_bake import COMBINATIONS

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    "combination",
    ["defaults", "all-options-on", "foundry-on-3.11", "renamed-workflows", "only-quotes"],
)
def test_baked_project_passes_its_own_tests(bake: Callable[..., Path], combination: str) -> None:
    project = bake(**COMBINATIONS[combination])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAFX_", "PYTEST_"))}

    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )

    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    assert " passed" in summary and "failed" not in summary and "error" not in summary
