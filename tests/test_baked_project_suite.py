"""A baked project passes its own test suite, in the template's shared environment.

The template's environment pins the same packages a generated project installs (see
``test_pins.py``), so every bake reuses it instead of building a virtualenv of its own. Three
suites run elsewhere: the default bake's in the grown project of ``test_new_workflow.py`` (the
default bake plus a workflow of each shape), and in ``test_python_versions.py`` the bake
without the approval starter on a real Python 3.12 and the all-options bake, which answers
3.13, on a real Python 3.13.
"""

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import ONE_PROCESS_SUITE, assert_suite_passed, run_python
from tests.test_bake import COMBINATIONS

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    "combination",
    # Besides every name answer changed: content review alone, where no workflow asks a person
    # and none runs without the model, so every skip of the route tests is taken. The bake
    # without the approval starter runs on a real 3.12.
    ["renamed-foundry-on-3.11", "only-content-review"],
)
def test_baked_project_passes_its_own_tests(bake: Callable[..., Path], combination: str) -> None:
    project = bake(**COMBINATIONS[combination])

    result = run_python(project, "-m", "pytest", *ONE_PROCESS_SUITE)

    assert_suite_passed(result)
