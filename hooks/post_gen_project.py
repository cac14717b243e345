"""Finish a freshly generated project.

- Remove the starter workflows the answers left out, with their tests, so nothing dangles
  (imports, routes and doc lines for them are already conditional in the templates).
- Write ``local.settings.json`` from the committed sample (it is git-ignored).
- Copy the template's canonical ``infra/`` Bicep, keeping only what the answers need.
- Build the template's development tools (``devtools/``, the dafx-devhost package) into a
  wheel in the project's ``devtools/`` folder, which ``requirements-dev.txt`` installs.
- Record the answers and the template revision in ``.cruft.json``, as cruft reads them.
- Print the next steps.

The answers arrive as one JSON document and are only ever read as data.
"""

import json
import os
import re
import runpy
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cookiecutter.config import BUILTIN_ABBREVIATIONS
from cookiecutter.repository import expand_abbreviations, is_repo_url

# Jinja's tojson escapes every single quote, so this raw literal cannot be closed early.
RENDERED_ANSWERS = r'''{{ cookiecutter | tojson }}'''  # fmt: skip

OMIT = "none"
STARTER_FILES = {
    "triage_workflow": (
        "workflows/triage.py",
        "docs/workflows/triage.md",
        "http/triage.http",
        "tests/workflows/test_triage.py",
    ),
    "fanout_workflow": (
        "workflows/quotes.py",
        "docs/workflows/quotes.md",
        "http/quotes.http",
        "tests/workflows/test_quotes.py",
    ),
    "approval_workflow": (
        "workflows/expense_approval.py",
        "docs/workflows/expense_approval.md",
        "http/expense_approval.http",
        "tests/workflows/test_expense_approval.py",
    ),
    "composition_workflow": (
        "workflows/trip_booking.py",
        "docs/workflows/trip_booking.md",
        "http/trip_booking.http",
        "tests/workflows/test_trip_booking.py",
        "tests/run_spans.py",
    ),
    "batch_workflow": (
        "workflows/document_batch.py",
        "docs/workflows/document_batch.md",
        "http/document_batch.http",
        "workflows/blob_store.py",
        "tests/workflows/test_document_batch.py",
        "tests/test_blob_store.py",
        "tests/test_document_batch_hosts.py",
        "scripts/sample_documents.py",
        "docs/documents.md",
    ),
    # Derived in cookiecutter.json: the agent starter is hosted only with a model provider.
    "__hosted_agent_workflow": (
        "workflows/content_review.py",
        "docs/workflows/content_review.md",
        "http/content_review.http",
        "tests/workflows/test_content_review.py",
        "tests/test_unconfigured_model.py",
    ),
}
# The worker pool's container image, only with a pool.
WORKER_POOL_FILES = ("Dockerfile", ".dockerignore")
MODEL_PROVIDER_FILES = (
    "model_client.py",
    "tests/fake_chat_client.py",
    "tests/offline_function_app.py",
    "tests/loopback_model_function_app.py",
    "tests/test_model_client.py",
)

WHEN_MARKER = re.compile(r"^\s*//\s*dafx:when\s+(\w+)(!?=)([\w|]+)\s*$")
END_MARKER = re.compile(r"^\s*//\s*dafx:end\s*$")
MODULE_REFERENCE = re.compile(r"^\s*module\s+\w+\s+'([^']+)'", re.MULTILINE)


def files_to_remove(answers: Mapping[str, str]) -> list[str]:
    """The project-relative files of every starter (and model client) the answers leave out."""
    removed: list[str] = []
    for key, files in STARTER_FILES.items():
        if answers[key] == OMIT:
            removed.extend(files)
    if answers["model_provider"] == OMIT:
        removed.extend(MODEL_PROVIDER_FILES)
    if answers.get("worker_pool", OMIT) == OMIT:
        removed.extend(WORKER_POOL_FILES)
    return removed


def remove_files(project: Path, relative_paths: Iterable[str]) -> None:
    """Remove each file, and its folder when that leaves it empty (``http/`` with no starter)."""
    for relative in relative_paths:
        path = project / relative
        path.unlink(missing_ok=True)
        if path.parent != project and path.parent.is_dir() and not any(path.parent.iterdir()):
            path.parent.rmdir()


def write_local_settings(project: Path) -> None:
    """Create local.settings.json from the sample, never overwriting a user's own file."""
    target = project / "local.settings.json"
    if not target.exists():
        shutil.copyfile(project / "local.settings.sample.json", target)


def keep_selected_blocks(bicep: str, answers: Mapping[str, str]) -> str:
    """Drop ``// dafx:when key=a|b`` ... ``// dafx:end`` blocks whose answer is not listed, and
    ``// dafx:when key!=a|b`` blocks whose answer is (``batch_workflow!=none``: the starter is on).
    """
    kept: list[str] = []
    keeping = True
    for line in bicep.splitlines(keepends=True):
        when = WHEN_MARKER.match(line)
        if when:
            key, operator, values = when.groups()
            keeping = (answers[key] in values.split("|")) == (operator == "=")
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


DEVTOOLS_DOCS = ("README.md", "CHANGELOG.md")


def build_devtools(source: Path, target: Path) -> Path:
    """Build the development tools' wheel into ``target`` with their own stdlib builder, and
    put their README and changelog beside it.

    The template tests the package once; a project installs the wheel and carries none of
    its source or tests.
    """
    builder = runpy.run_path(str(source / "build_wheel.py"))
    wheel: Path = builder["build"](target)
    for name in DEVTOOLS_DOCS:
        shutil.copyfile(source / name, target / name)
    return wheel


GIT_TIMEOUT_SECONDS = 300
# Set by cookiecutter for one run on one machine; a project's .cruft.json keeps none of them.
RUN_LOCAL_KEYS = frozenset({"_repo_dir", "_output_dir", "_checkout"})


class TemplateError(Exception):
    """The template folder or its git revision cannot be found."""


def run_git(*args: str) -> str:
    try:
        result = subprocess.run(
            ["git", *args],
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_SECONDS,
            check=False,
        )
    except FileNotFoundError as error:
        raise TemplateError("git is not installed") from error
    except subprocess.TimeoutExpired as error:
        raise TemplateError(f"git {args[0]} took over {GIT_TIMEOUT_SECONDS} s") from error
    if result.returncode != 0:
        raise TemplateError(f"git {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout.strip()


def resolve_template_folder(repo_dir: str, started_in: str | None) -> Path:
    """cookiecutter's ``_repo_dir`` as an absolute path.

    It is relative when a local template was named relatively (``cookiecutter .``): relative
    to where cookiecutter was started, which this hook (run inside the new project) only
    knows from the shell's ``PWD``.
    """
    folder = Path(repo_dir)
    if not folder.is_absolute() and started_in:
        folder = Path(started_in) / folder
    if not (folder / "cookiecutter.json").is_file():
        raise TemplateError(
            f"cannot find the template folder {repo_dir!r}; "
            "run cookiecutter again with the template's absolute path"
        )
    return folder.resolve()


@contextmanager
def template_folder(answers: Mapping[str, Any]) -> Iterator[Path]:
    """The template, at the revision these answers are rendered from.

    cookiecutter names its folder in ``_repo_dir``. cruft (``cruft create``, and twice in
    ``cruft update``) renders without it but names the template and the commit, so that
    commit is checked out into a temporary folder.
    """
    if "_repo_dir" in answers:
        yield resolve_template_folder(answers["_repo_dir"], os.environ.get("PWD"))
        return
    if "_commit" not in answers:
        raise TemplateError("neither cookiecutter's _repo_dir nor cruft's _commit was given")
    with tempfile.TemporaryDirectory(prefix="dafx-template-") as scratch:
        run_git("clone", "--quiet", "--no-checkout", answers["_template"], scratch)
        run_git("-C", scratch, "checkout", "--quiet", answers["_commit"])
        yield Path(scratch)


def template_revision(folder: Path) -> str | None:
    """The commit checked out in the template folder, if it is the top of a git work tree."""
    try:
        top = run_git("-C", str(folder), "rev-parse", "--show-toplevel")
        if Path(top).resolve() != folder.resolve():
            return None
        return run_git("-C", str(folder), "rev-parse", "HEAD")
    except TemplateError:
        return None


def template_source(answers: Mapping[str, Any], folder: Path) -> str:
    """Where cruft fetches the template: its git URL (gh:, gl:, bb: expanded) or local path."""
    source = expand_abbreviations(answers["_template"], BUILTIN_ABBREVIATIONS)
    return source if is_repo_url(source) else str(folder.resolve())


def cruft_state(answers: Mapping[str, Any], source: str, commit: str) -> dict[str, Any]:
    """The content of .cruft.json, in the shape ``cruft create`` writes."""
    context = {key: value for key, value in answers.items() if key not in RUN_LOCAL_KEYS}
    context.update(_template=source, _commit=commit)
    return {
        "template": source,
        "commit": commit,
        "checkout": answers.get("_checkout"),
        "context": {"cookiecutter": context},
        "directory": None,
    }


def write_cruft_state(project: Path, answers: Mapping[str, Any], folder: Path) -> str:
    """Write .cruft.json so ``cruft check`` and ``cruft update`` work; say what was done."""
    if "_repo_dir" not in answers:
        return "cruft is rendering this project: it writes .cruft.json itself."
    commit = template_revision(folder)
    if commit is None:
        return (
            "No .cruft.json: the template is not a git checkout, so its revision is unknown. "
            "To take template updates later: cruft link <template git URL>."
        )
    state = cruft_state(answers, template_source(answers, folder), commit)
    text = json.dumps(state, ensure_ascii=False, indent=2, separators=(",", ": "))
    (project / ".cruft.json").write_text(text + "\n", encoding="utf-8")
    if run_git("-C", str(folder), "status", "--porcelain"):
        return (
            f"The template folder has uncommitted changes: .cruft.json records its last "
            f"commit, {commit[:12]}, which does not contain them."
        )
    return f"Recorded template revision {commit[:12]} in .cruft.json (cruft check, cruft update)."


def next_steps(answers: Mapping[str, str]) -> str:
    return f"""
Created {answers["project_slug"]}/. Next:

  cd {answers["project_slug"]}
  python -m venv .venv && . .venv/bin/activate
  pip install -r requirements-dev.txt
  python -m pytest                 # the project's own tests
  devhost                          # serve function_app.py on http://localhost:7071

With Core Tools, Azurite and the DTS emulator: func start (see README.md).
To deploy: azd auth login && azd up (see docs/deploy.md).
"""


def main(rendered_answers: str = RENDERED_ANSWERS, project: Path | None = None) -> int:
    answers = json.loads(rendered_answers)
    project = project or Path.cwd()
    remove_files(project, files_to_remove(answers))
    write_local_settings(project)
    try:
        with template_folder(answers) as template:
            template_infra = template / "infra"
            if template_infra.is_dir():
                copy_infra(template_infra, project / "infra", answers)
            build_devtools(template / "devtools", project / "devtools")
            cruft_note = write_cruft_state(project, answers, template)
    except TemplateError as error:
        print(f"dafx-func cannot finish the project: {error}", file=sys.stderr)
        return 1
    print(next_steps(answers))
    print(cruft_note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
