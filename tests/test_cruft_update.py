"""A template change reaches a project baked from an older commit through `cruft update`.

The template's working tree becomes a git repository, a project is baked from its first commit
with the cookiecutter command line (the post-generation hook writes .cruft.json), and a second
commit changes a starter module, the canonical infra/ and devhost/ (both copied by the hook)
and a starter this project left out. Then an update that changes an answer (a model provider
added) must leave the project as a new bake with that answer would be.
"""

import json
import re
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import TEMPLATE, git

pytestmark = pytest.mark.slow

NOT_TEMPLATE = shutil.ignore_patterns(
    ".git",
    ".venv",
    ".venv-*",
    ".ci-venv",
    ".try",
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
    ".mypy_cache",
    "node_modules",
)
PROJECT = "{{cookiecutter.__project_folder}}"
CHANGES = {
    f"{PROJECT}/workflows/triage.py": "# Carried into older projects by cruft update.\n",
    "infra/main.bicep": "// Carried into older projects by cruft update.\n",
    f"{PROJECT}/workflows/quotes.py": "# Never reaches a project that left the quotes out.\n",
}
IN_THE_PROJECT = {
    "workflows/triage.py": CHANGES[f"{PROJECT}/workflows/triage.py"],
    "infra/main.bicep": CHANGES["infra/main.bicep"],
}
CRUFT = Path(sys.executable).parent / "cruft"
# A new release of the development tools: its version, and the wheel line that installs it.
DEVTOOLS_VERSION = re.compile(r'^__version__ = "([^"]+)"$', re.MULTILINE)
NEW_DEVTOOLS_VERSION = "99.0.0"


def wheel(version: str) -> str:
    return f"devtools/dafx_devhost-{version}-py3-none-any.whl"


def release_devtools(template: Path) -> str:
    """Bump the template's devtools version (and the project's pin); return the old one."""
    init = template / "devtools" / "src" / "devhost" / "__init__.py"
    found = DEVTOOLS_VERSION.search(init.read_text())
    assert found is not None
    old = found.group(1)
    init.write_text(init.read_text().replace(old, NEW_DEVTOOLS_VERSION))
    requirements = template / PROJECT / "requirements-dev.txt"
    requirements.write_text(
        requirements.read_text().replace(wheel(old), wheel(NEW_DEVTOOLS_VERSION))
    )
    return old


@dataclass(frozen=True)
class Update:
    template: Path
    first_commit: str
    old_devtools_version: str
    second_commit: str
    project: Path
    recorded_before: dict[str, object]
    check_before: subprocess.CompletedProcess[str]
    update: subprocess.CompletedProcess[str]


def commit_everything(folder: Path, message: str) -> str:
    git(folder, "add", "--all")
    git(folder, "commit", "--quiet", "--message", message)
    return git(folder, "rev-parse", "HEAD")


def run(folder: Path, *command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=folder, capture_output=True, text=True, timeout=600, check=False
    )


@pytest.fixture(scope="module")
def updated(tmp_path_factory: pytest.TempPathFactory) -> Update:
    if not CRUFT.is_file():
        pytest.skip(
            f"cruft is not installed beside {sys.executable}: pip install -r requirements-dev.txt"
        )
    root = tmp_path_factory.mktemp("cruft")
    template = root / "dafx-func"
    shutil.copytree(TEMPLATE, template, ignore=NOT_TEMPLATE)
    git(template, "init", "--quiet", "--initial-branch=main")
    first_commit = commit_everything(template, "template, first revision")

    baked = run(
        root,
        sys.executable,
        "-m",
        "cookiecutter",
        "--no-input",
        str(template),
        "--output-dir",
        str(root / "out"),
        "fanout_workflow=none",
    )
    assert baked.returncode == 0, baked.stderr
    project = root / "out" / "agent_workflows"
    git(project, "init", "--quiet", "--initial-branch=main")
    commit_everything(project, "baked")
    recorded_before = json.loads((project / ".cruft.json").read_text())

    for relative, line in CHANGES.items():
        with (template / relative).open("a", encoding="utf-8") as file:
            file.write(line)
    old_devtools_version = release_devtools(template)
    second_commit = commit_everything(template, "template, second revision")

    check_before = run(project, str(CRUFT), "check")
    update = run(project, str(CRUFT), "update", "--skip-apply-ask")
    return Update(
        template,
        first_commit,
        old_devtools_version,
        second_commit,
        project,
        recorded_before,
        check_before,
        update,
    )


def test_a_baked_project_records_its_template_and_revision(updated: Update) -> None:
    recorded = updated.recorded_before

    assert recorded["template"] == str(updated.template)
    assert recorded["commit"] == updated.first_commit
    assert recorded["directory"] is None


def test_a_baked_project_records_its_answers_without_machine_paths(updated: Update) -> None:
    answers = updated.recorded_before["context"]["cookiecutter"]  # type: ignore[index]

    assert answers["fanout_workflow"] == "none"
    assert answers["_commit"] == updated.first_commit
    assert "_repo_dir" not in answers and "_output_dir" not in answers


def test_cruft_check_fails_while_the_template_is_ahead(updated: Update) -> None:
    assert updated.check_before.returncode != 0
    assert "out of date" in updated.check_before.stdout


def test_cruft_update_succeeds(updated: Update) -> None:
    assert updated.update.returncode == 0, updated.update.stdout + updated.update.stderr
    assert not list(updated.project.rglob("*.rej"))


@pytest.mark.parametrize("relative", list(IN_THE_PROJECT))
def test_cruft_update_applies_the_template_change(updated: Update, relative: str) -> None:
    assert (updated.project / relative).read_text().endswith(IN_THE_PROJECT[relative])


def test_cruft_update_changes_only_the_changed_files_and_the_revision(updated: Update) -> None:
    changed = git(updated.project, "diff", "--name-only", "--no-renames", "HEAD").splitlines()
    added = git(updated.project, "ls-files", "--others", "--exclude-standard").splitlines()

    release = [wheel(updated.old_devtools_version), wheel(NEW_DEVTOOLS_VERSION)]
    expected = {".cruft.json", *IN_THE_PROJECT, "requirements-dev.txt", *release}
    assert set(changed) | set(added) == expected


def test_cruft_update_brings_the_new_devtools_release_and_its_pin(updated: Update) -> None:
    requirements = (updated.project / "requirements-dev.txt").read_text()

    assert f"./{wheel(NEW_DEVTOOLS_VERSION)}" in requirements
    assert wheel(updated.old_devtools_version) not in requirements
    assert not (updated.project / wheel(updated.old_devtools_version)).exists()
    with zipfile.ZipFile(updated.project / wheel(NEW_DEVTOOLS_VERSION)) as release:
        init = release.read("devhost/__init__.py").decode()
    assert f'__version__ = "{NEW_DEVTOOLS_VERSION}"' in init


def test_a_left_out_starter_stays_out_after_an_update(updated: Update) -> None:
    assert not (updated.project / "workflows" / "quotes.py").exists()
    assert not (updated.project / "tests" / "workflows" / "test_quotes.py").exists()


def test_after_the_update_the_project_is_at_the_new_revision(updated: Update) -> None:
    recorded = json.loads((updated.project / ".cruft.json").read_text())

    assert recorded["commit"] == updated.second_commit
    assert run(updated.project, str(CRUFT), "check").returncode == 0


def test_cruft_create_runs_the_hook_on_the_revision_it_renders(
    updated: Update, tmp_path: Path
) -> None:
    created = run(
        tmp_path,
        str(CRUFT),
        "create",
        str(updated.template),
        "--no-input",
        "--output-dir",
        str(tmp_path),
        "--extra-context",
        json.dumps({"fanout_workflow": "none"}),
    )

    assert created.returncode == 0, created.stdout + created.stderr
    project = tmp_path / "agent_workflows"
    assert json.loads((project / ".cruft.json").read_text())["commit"] == updated.second_commit
    assert (project / "infra" / "main.bicep").read_text().endswith(CHANGES["infra/main.bicep"])
    assert (project / wheel(NEW_DEVTOOLS_VERSION)).is_file()
    assert not (project / "workflows" / "quotes.py").exists()


def test_an_update_that_adds_a_model_provider_bakes_what_a_new_project_with_it_gets(
    updated: Update, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    shutil.copytree(updated.project, project)
    git(project, "add", "--all")
    git(project, "commit", "--quiet", "--message", "updated")
    provider = {"model_provider": "azure_openai"}

    changed = run(
        project,
        str(CRUFT),
        "update",
        "--skip-apply-ask",
        "--variables-to-update",
        json.dumps(provider),
    )
    fresh = run(
        tmp_path,
        sys.executable,
        "-m",
        "cookiecutter",
        "--no-input",
        str(updated.template),
        "--output-dir",
        str(tmp_path / "fresh"),
        "fanout_workflow=none",
        "model_provider=azure_openai",
    )

    assert changed.returncode == 0, changed.stdout + changed.stderr
    assert fresh.returncode == 0, fresh.stderr
    recorded = json.loads((project / ".cruft.json").read_text())["context"]["cookiecutter"]
    assert recorded["__hosted_agent_workflow"] == "content_review"
    differences = run(
        tmp_path,
        "diff",
        "--recursive",
        "--brief",
        "--exclude=.git",
        "--exclude=.cruft.json",
        "--exclude=local.settings.json",
        str(tmp_path / "fresh" / "agent_workflows"),
        str(project),
    )
    assert differences.stdout == ""
