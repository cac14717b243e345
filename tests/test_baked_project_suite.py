"""A baked project passes its own test suite, in the template's shared environment.

The template's environment pins the same packages a generated project installs (see
``test_pins.py``), so every bake reuses it instead of building a virtualenv of its own. Two
suites run elsewhere: the default bake's in the grown project of ``test_new_workflow.py`` (the
default bake plus a workflow of each shape), and the all-options bake's, which answers 3.13,
on a real Python 3.13 in ``test_python_versions.py``.
"""

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import ONE_PROCESS_SUITE, run_python
from tests.test_bake import COMBINATIONS

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    "combination",
    # Besides every name answer changed: the bakes whose scenarios differ in kind. Without the
    # approval starter the first request is a sub-workflow's; alone, quotes asks no one and
    # content review has nothing that runs without the model.
    ["renamed-foundry-on-3.11", "without-approval", "only-quotes", "only-content-review"],
)
def test_baked_project_passes_its_own_tests(bake: Callable[..., Path], combination: str) -> None:
    project = bake(**COMBINATIONS[combination])

    result = run_python(project, "-m", "pytest", *ONE_PROCESS_SUITE)

    summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    assert " passed" in summary and not re.search(r"\b\d+ (failed|errors?)\b", summary), summary
