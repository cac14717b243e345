"""Finish a freshly generated project.

- Remove the starter workflows the answers left out, with their tests, so nothing dangles
  (imports, routes and doc lines for them are already conditional in the templates).
- Write ``local.settings.json`` from the committed sample (it is git-ignored).
- Copy the template's canonical ``infra/`` Bicep, keeping only what the answers need.
- Copy the template's ``devhost/`` component (the development host) without its own tests.
- Print the next steps.

The answers arrive as one JSON document and are only ever read as data.
"""

import json
import re
import shutil
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

# Jinja's tojson escapes every single quote, so this raw literal cannot be closed early.
RENDERED_ANSWERS = r'''{{ cookiecutter | tojson }}'''  # fmt: skip

OMIT = "none"
STARTER_FILES = {
    "triage_workflow": ("workflows/triage.py", "tests/workflows/test_triage.py"),
    "fanout_workflow": ("workflows/quotes.py", "tests/workflows/test_quotes.py"),
    "approval_workflow": (
        "workflows/expense_approval.py",
        "tests/workflows/test_expense_approval.py",
    ),
    "composition_workflow": (
        "workflows/trip_booking.py",
        "tests/workflows/test_trip_booking.py",
    ),
    "agent_workflow": (
        "workflows/content_review.py",
        "tests/workflows/test_content_review.py",
    ),
}
MODEL_PROVIDER_FILES = (
    "model_client.py",
    "tests/fake_chat_client.py",
    "tests/offline_function_app.py",
    "tests/test_model_client.py",
)

WHEN_MARKER = re.compile(r"^\s*//\s*dafx:when\s+(\w+)=([\w|]+)\s*$")
END_MARKER = re.compile(r"^\s*//\s*dafx:end\s*$")
MODULE_REFERENCE = re.compile(r"^\s*module\s+\w+\s+'([^']+)'", re.MULTILINE)


def files_to_remove(answers: Mapping[str, str]) -> list[str]:
    """The project-relative files of every starter (and model client) the answers leave out."""
    no_provider = answers["model_provider"] == OMIT
    removed: list[str] = []
    for key, files in STARTER_FILES.items():
        if answers[key] == OMIT or (key == "agent_workflow" and no_provider):
            removed.extend(files)
    if no_provider:
        removed.extend(MODEL_PROVIDER_FILES)
    return removed


def remove_files(project: Path, relative_paths: Iterable[str]) -> None:
    for relative in relative_paths:
        (project / relative).unlink(missing_ok=True)


def write_local_settings(project: Path) -> None:
    """Create local.settings.json from the sample, never overwriting a user's own file."""
    target = project / "local.settings.json"
    if not target.exists():
        shutil.copyfile(project / "local.settings.sample.json", target)


def keep_selected_blocks(bicep: str, answers: Mapping[str, str]) -> str:
    """Drop ``// dafx:when key=a|b`` ... ``// dafx:end`` blocks whose answer is not listed."""
    kept: list[str] = []
    keeping = True
    for line in bicep.splitlines(keepends=True):
        when = WHEN_MARKER.match(line)
        if when:
            key, allowed = when.groups()
            keeping = answers[key] in allowed.split("|")
        elif END_MARKER.match(line):
            keeping = True
        elif keeping:
            kept.append(line)
    return "".join(kept)


def reachable_modules(infra: Path, texts: Mapping[Path, str]) -> set[Path]:
    """Every .bicep file reachable from main.bicep through module references."""
    pending = [infra / "main.bicep"]
    reached: set[Path] = set()
    while pending:
        current = pending.pop().resolve()
        if current in reached or current not in texts:
            continue
        reached.add(current)
        pending.extend(current.parent / ref for ref in MODULE_REFERENCE.findall(texts[current]))
    return reached


def copy_infra(source: Path, target: Path, answers: Mapping[str, str]) -> None:
    """Copy the canonical Bicep, keeping the blocks and modules these answers need.

    Files the project already has (its rendered main.parameters.json) are left as they are.
    """
    texts = {
        path.resolve(): keep_selected_blocks(path.read_text(encoding="utf-8"), answers)
        for path in source.rglob("*.bicep")
    }
    needed = reachable_modules(source.resolve(), texts)
    for path in sorted(source.rglob("*")):
        if path.is_dir():
            continue
        destination = target / path.relative_to(source)
        if destination.exists():
            continue
        is_bicep = path.suffix == ".bicep"
        if is_bicep and path.resolve() not in needed:
            continue
        destination.parent.mkdir(parents=True, exist_ok=True)
        if is_bicep:
            destination.write_text(texts[path.resolve()], encoding="utf-8")
        else:
            shutil.copyfile(path, destination)


DEVHOST_LEFT_BEHIND = shutil.ignore_patterns("tests", "__pycache__", "*.pyc")


def copy_devhost(source: Path, target: Path) -> None:
    """Copy devhost as one unit: its package and README, not its tests or fixture apps.

    The template tests devhost once; a project gets the code (its version is
    ``devhost.__version__``) and runs it, but carries none of its tests.
    """
    shutil.copytree(source, target, ignore=DEVHOST_LEFT_BEHIND, dirs_exist_ok=True)


def next_steps(answers: Mapping[str, str]) -> str:
    return f"""
Created {answers["project_slug"]}/. Next:

  cd {answers["project_slug"]}
  python -m venv .venv && . .venv/bin/activate
  pip install -r requirements-dev.txt
  python -m pytest                 # the project's own tests
  python -m devhost                # serve function_app.py on http://localhost:7071

With Core Tools, Azurite and the DTS emulator: func start (see README.md).
To deploy: azd auth login && azd up (see docs/deploy.md).
"""


def main(rendered_answers: str = RENDERED_ANSWERS, project: Path | None = None) -> int:
    answers = json.loads(rendered_answers)
    project = project or Path.cwd()
    remove_files(project, files_to_remove(answers))
    write_local_settings(project)
    template_infra = Path(answers["_repo_dir"]) / "infra"
    if template_infra.is_dir():
        copy_infra(template_infra, project / "infra", answers)
    copy_devhost(Path(answers["_repo_dir"]) / "devhost", project / "devhost")
    print(next_steps(answers))
    return 0


if __name__ == "__main__":
    sys.exit(main())
