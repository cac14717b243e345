"""Bake the template as a user would and check what comes out, for every kind of answer."""

import json
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from cookiecutter.exceptions import FailedHookException

from tests.conftest import TEMPLATE, answers_key, bake_copy, bake_project

pytestmark = pytest.mark.slow

COMBINATIONS = {
    "defaults": {},
    "all-options-on": {
        "model_provider": "azure_openai",
        "http_auth_level": "anonymous",
        "python_version": "3.13",
        "worker_pool": "gpu",
    },
    # The other provider, the oldest Python and every name answer changed, in one bake.
    "renamed-foundry-on-3.11": {
        "project_name": "Help Desk (EU)!",
        "triage_workflow": "Tickets",
        "composition_workflow": "travel-desk",
        "model_provider": "foundry",
        "agent_workflow": "blog_posts",
        "python_version": "3.11",
        "worker_pool": "gpu-a100",
    },
    # The pool runs the document batch's analysis, so it needs no triage workflow.
    "without-triage": {
        "triage_workflow": "none",
        "model_provider": "azure_openai",
        "worker_pool": "gpu",
    },
    "without-quotes": {"fanout_workflow": "none"},
    "without-approval": {"approval_workflow": "none"},
    "without-trip-booking": {"composition_workflow": "none"},
    "without-content-review": {"model_provider": "azure_openai", "agent_workflow": "none"},
    "without-document-batch": {"batch_workflow": "none"},
    "only-quotes": {
        "triage_workflow": "none",
        "approval_workflow": "none",
        "composition_workflow": "none",
        "batch_workflow": "none",
    },
    # No workflow that runs without the model, none that asks a person.
    "only-content-review": {
        "triage_workflow": "none",
        "fanout_workflow": "none",
        "approval_workflow": "none",
        "composition_workflow": "none",
        "batch_workflow": "none",
        "model_provider": "azure_openai",
    },
    # Every starter left out: a project that serves only health until a workflow is added.
    "no-starter": {
        "triage_workflow": "none",
        "fanout_workflow": "none",
        "approval_workflow": "none",
        "composition_workflow": "none",
        "batch_workflow": "none",
    },
}
LEFT_OUT = {
    "triage_workflow": ("build_triage_workflow", "workflows.triage", "support_triage"),
    "fanout_workflow": ("build_quotes_workflow", "workflows.quotes", "supplier_quotes"),
    "approval_workflow": (
        "build_expense_approval_workflow",
        "workflows.expense_approval",
        "expense_approval",
    ),
    "composition_workflow": ("build_trip_booking_workflow", "workflows.trip_booking", "fare_check"),
    "agent_workflow": (
        "build_content_review_workflow",
        "workflows.content_review",
        "content_review",
    ),
    "batch_workflow": (
        "build_document_batch_workflow",
        "workflows.document_batch",
        "document_batch",
        "DOCUMENTS_STORAGE",
    ),
}
TEXT_SUFFIXES = {".py", ".json", ".toml", ".md", ".http", ".txt", ".yaml", ".yml", ".sh", ".ps1"}
COMBINATION_IDS = list(COMBINATIONS)


def project_files(project: Path) -> list[Path]:
    return [
        path
        for path in project.rglob("*")
        if path.is_file() and (path.suffix in TEXT_SUFFIXES or path.name.startswith("."))
    ]


def run(project: Path, *command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *command],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture(params=COMBINATION_IDS)
def project(request: pytest.FixtureRequest, bake: Callable[..., Path]) -> Path:
    return bake(**COMBINATIONS[request.param])


def test_no_file_keeps_unrendered_template_syntax(project: Path) -> None:
    leftovers = [
        str(path.relative_to(project))
        for path in project_files(project)
        if "cookiecutter." in (text := path.read_text()) or "{%" in text
    ]

    assert leftovers == []


def headings_glued_to_text(markdown: str) -> list[int]:
    """Line numbers of headings (outside code fences) with no blank line before them."""
    glued, in_fence, before = [], False, ""
    for number, line in enumerate(markdown.splitlines(), start=1):
        if line.startswith("```"):
            in_fence = not in_fence
        elif not in_fence and line.startswith("#") and before.strip():
            glued.append(number)
        before = line
    return glued


def test_a_heading_right_after_text_is_found_but_not_a_comment_in_code() -> None:
    markdown = "intro\n## Glued\n\n```bash\n# a comment\n```\n\n## Fine\n"

    assert headings_glued_to_text(markdown) == [2]


def test_every_markdown_heading_starts_a_paragraph(project: Path) -> None:
    glued = {
        str(path.relative_to(project)): lines
        for path in project.rglob("*.md")
        if (lines := headings_glued_to_text(path.read_text()))
    }

    assert glued == {}


def test_generated_code_passes_ruff_check(project: Path) -> None:
    result = run(project, "ruff", "check", ".")

    assert result.returncode == 0, result.stdout


def test_generated_code_is_ruff_formatted(project: Path) -> None:
    result = run(project, "ruff", "format", "--check", ".")

    assert result.returncode == 0, result.stdout


def test_generated_code_passes_mypy_strict(
    project: Path, mypy_strict: Callable[[Path], subprocess.CompletedProcess[str]]
) -> None:
    result = mypy_strict(project)

    assert result.returncode == 0, result.stdout


def test_every_json_file_parses(project: Path) -> None:
    for path in project.rglob("*.json"):
        json.loads(path.read_text())


def test_every_yaml_file_parses(project: Path) -> None:
    for path in [*project.rglob("*.yaml"), *project.rglob("*.yml")]:
        yaml.safe_load(path.read_text())


def test_devtools_arrive_as_one_wheel_that_requirements_dev_installs(
    bake: Callable[..., Path],
) -> None:
    project = bake()

    (wheel,) = (project / "devtools").glob("*.whl")
    requirements = (project / "requirements-dev.txt").read_text().splitlines()

    assert f"./devtools/{wheel.name}" in requirements
    assert not (project / "devhost").exists()
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    assert "devhost/__main__.py" in names and not any("/tests/" in name for name in names)


def test_local_settings_are_written_and_ignored_by_git(project: Path) -> None:
    settings = json.loads((project / "local.settings.json").read_text())

    assert settings["Values"]["TASKHUB_NAME"] == "default"
    assert "local.settings.json" in (project / ".gitignore").read_text().splitlines()


@pytest.mark.parametrize("answer", list(LEFT_OUT))
def test_a_left_out_starter_leaves_nothing_behind(bake: Callable[..., Path], answer: str) -> None:
    answers = {answer: "none", "model_provider": "azure_openai"}
    project = bake(**answers)

    mentions = [
        f"{path.relative_to(project)}: {needle}"
        for path in project_files(project)
        for needle in LEFT_OUT[answer]
        if needle in path.read_text()
    ]

    assert mentions == []


def test_the_chosen_names_become_the_routes(bake: Callable[..., Path]) -> None:
    project = bake(**COMBINATIONS["renamed-foundry-on-3.11"])

    readme = "".join(
        page.read_text()
        for page in [project / "README.md", *sorted((project / "docs").glob("*.md"))]
    )
    assert project.name == "help_desk_eu"
    assert "workflow/Tickets/run" in readme and "workflow/travel-desk/run" in readme
    assert "travel-desk_fare_check" in readme


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({"project_slug": "Not A Slug"}, "project_slug 'Not A Slug' is not valid"),
        ({"project_slug": "team/agents"}, "project_slug 'team/agents' is not valid"),
        ({"project_slug": "team\\agents"}, "project_slug 'team\\\\agents' is not valid"),
        ({"triage_workflow": "None"}, "write 'none' in lower case"),
        ({"triage_workflow": "tickets!"}, "triage_workflow 'tickets!' is not a valid workflow"),
        ({"triage_workflow": "Orders", "fanout_workflow": "ORDERS"}, "clashes with 'Orders'"),
        ({"approval_workflow": "x'); import os; ('"}, "is not a valid workflow name"),
        ({"description": "line one\nline two"}, "description contains a line break"),
    ],
)
def test_bad_answers_stop_generation_with_a_message_and_write_nothing(
    tmp_path: Path, answers: dict[str, str], message: str
) -> None:
    output = tmp_path / "out"
    output.mkdir()
    extra = [f"{key}={value}" for key, value in answers.items()]

    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "cookiecutter",
            "--no-input",
            str(TEMPLATE),
            "-o",
            str(output),
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode != 0
    assert message in result.stderr
    assert list(output.iterdir()) == []


def test_a_slug_that_climbs_out_of_the_output_folder_is_refused(tmp_path: Path) -> None:
    output = tmp_path / "out"
    output.mkdir()

    with pytest.raises(FailedHookException):
        bake_project(output, project_slug="../escaped")

    assert list(tmp_path.iterdir()) == [output]
    assert list(output.iterdir()) == []


def tree(root: Path) -> dict[str, tuple[int, bytes]]:
    """Every file under ``root``: its permission bits and content, by relative path."""
    return {
        path.relative_to(root).as_posix(): (path.stat().st_mode, path.read_bytes())
        for path in root.rglob("*")
        if path.is_file()
    }


def test_the_tests_bake_copies_are_what_a_fresh_bake_makes(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # The suite bakes each set of answers once per run and gives every worker its own copy.
    answers = COMBINATIONS["renamed-foundry-on-3.11"]
    copy = bake_copy(tmp_path_factory, **answers)

    fresh = bake_project(tmp_path, **answers)

    assert (copy.name, tree(copy)) == (fresh.name, tree(fresh))


def test_answers_left_out_share_a_bake_with_their_defaults_but_not_a_derived_slug() -> None:
    assert answers_key({}) == answers_key({"model_provider": "none", "python_version": "3.12"})
    assert answers_key({"project_name": "Help Desk"}) != answers_key(
        {"project_name": "Help Desk", "project_slug": "agent_workflows"}
    )
