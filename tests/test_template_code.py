"""The template's own code: lint-clean, and answers stay data when the hooks are rendered."""

import ast
import json
import subprocess
import sys

import pytest
from jinja2 import Environment

from tests.conftest import TEMPLATE, default_answers

OWN_CODE = ["hooks", "scripts", "tests", "devtools"]
HOSTILE = "'''; import os; os.system('echo pwned') #\\\" \"\"\" {{ 7*7 }}"


def test_template_code_passes_ruff_check() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", *OWN_CODE],
        cwd=TEMPLATE,
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stdout


def test_template_code_is_ruff_formatted() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "format", "--check", *OWN_CODE],
        cwd=TEMPLATE,
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize("hook", ["pre_gen_project", "post_gen_project"])
def test_rendered_hooks_read_hostile_answers_as_plain_data(hook: str) -> None:
    source = (TEMPLATE / "hooks" / f"{hook}.py").read_text()
    answers = default_answers(project_name=HOSTILE, author=HOSTILE)

    rendered = Environment().from_string(source).render(cookiecutter=answers)

    assignments = [
        node
        for node in ast.parse(rendered).body
        if isinstance(node, ast.Assign)
        and any(getattr(t, "id", None) == "RENDERED_ANSWERS" for t in node.targets)
    ]
    (assignment,) = assignments
    assert isinstance(assignment.value, ast.Constant)
    assert json.loads(assignment.value.value) == answers
