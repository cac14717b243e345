"""Write the template's generated workflow files (diagram pages, requests) from a bake.

    .venv/bin/python scripts/workflow_diagrams_template.py           # after changing a starter
    .venv/bin/python scripts/workflow_diagrams_template.py --check   # exit 1 if they are stale

A generated project writes them with its own ``devhost generate``, which needs the Agent
Framework, so cookiecutter cannot run it while generating. Instead the template ships them
already written, as Jinja: this script bakes every starter under placeholder names, runs the
command in the bake, then turns each placeholder back into its ``{{ cookiecutter.<answer> }}``
and escapes the requests' own ``{{...}}``. Each starter's files are named after its module, and
the post-generation hook removes those of a starter left out. A new project therefore has
current files from the start, and ``tests/test_workflow_diagrams.py`` runs the project's
``--check`` on bakes of many answer sets to prove it.
"""

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from devhost.generate import generated_files, out_of_date

TEMPLATE = Path(__file__).resolve().parents[1]
PROJECT = TEMPLATE / "{{cookiecutter.__project_folder}}"
COMMAND = ".venv/bin/python scripts/workflow_diagrams_template.py"

# Each starter's answer and the placeholder name it is baked with.
STARTERS = (
    ("triage_workflow", "placeholderTriage"),
    ("fanout_workflow", "placeholderFanout"),
    ("approval_workflow", "placeholderApproval"),
    ("composition_workflow", "placeholderComposition"),
    ("agent_workflow", "placeholderAgent"),
    ("batch_workflow", "placeholderBatch"),
)
JINJA_MARKS = ("{%", "%}", "{#", "#}")
REST_CLIENT_VARIABLE = re.compile(r"\{\{([^{}']*)\}\}")


class TemplateDiagramError(Exception):
    """The bake's files cannot be turned back into the template."""


def run(command: list[str], cwd: Path) -> None:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise TemplateDiagramError(f"{' '.join(command)} failed:\n{result.stderr}")


def bake_every_starter(output: Path) -> Path:
    answers = [f"{answer}={placeholder}" for answer, placeholder in STARTERS]
    cookiecutter = [sys.executable, "-m", "cookiecutter", "--no-input", str(TEMPLATE)]
    run([*cookiecutter, "-o", str(output), *answers, "model_provider=azure_openai"], TEMPLATE)
    (project,) = output.iterdir()
    run([sys.executable, "-m", "devhost", "generate"], project)
    return project


def templated(text: str) -> str:
    """``text`` with each placeholder an answer, and anything else Jinja would read escaped."""
    if any(mark in text for mark in JINJA_MARKS):
        raise TemplateDiagramError("the written text contains Jinja syntax; it cannot be templated")
    escaped = REST_CLIENT_VARIABLE.sub(lambda match: f"{{{{ '{{{{{match[1]}}}}}' }}}}", text)
    if "{{" in REST_CLIENT_VARIABLE.sub("", text):
        raise TemplateDiagramError("the written text has a '{{' this script cannot escape")
    for answer, placeholder in STARTERS:
        if any(
            placeholder.casefold() in match.casefold()
            for match in REST_CLIENT_VARIABLE.findall(text)
        ):
            raise TemplateDiagramError(f"{placeholder} is inside a request variable")
        escaped = escaped.replace(placeholder, f"{{{{ cookiecutter.{answer} }}}}")
        # Link anchors spell the name in lower case.
        escaped = escaped.replace(placeholder.lower(), f"{{{{ cookiecutter.{answer} | lower }}}}")
    return escaped


def expected_template_files() -> dict[Path, str]:
    with tempfile.TemporaryDirectory() as scratch:
        bake = bake_every_starter(Path(scratch))
        return {
            path: templated((bake / path).read_text(encoding="utf-8"))
            for path in generated_files(bake)
        }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if stale")
    arguments = parser.parse_args(argv)
    try:
        expected = expected_template_files()
    except TemplateDiagramError as error:
        print(f"workflow_diagrams_template: {error}", file=sys.stderr)
        return 2
    stale, extra = out_of_date(PROJECT, expected)
    folder = "{{cookiecutter.__project_folder}}"
    for path in stale:
        if arguments.check:
            print(f"{folder}/{path} is stale: run {COMMAND}")
        else:
            (PROJECT / path).parent.mkdir(parents=True, exist_ok=True)
            (PROJECT / path).write_text(expected[path], encoding="utf-8")
            print(f"wrote {folder}/{path}")
    for path in extra:
        if arguments.check:
            print(f"{folder}/{path} belongs to no starter: run {COMMAND}")
        else:
            (PROJECT / path).unlink()
            print(f"removed {folder}/{path}")
    return 1 if arguments.check and (stale or extra) else 0


if __name__ == "__main__":
    sys.exit(main())
