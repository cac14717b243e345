"""Write the template's docs/workflows.md and README diagrams from a bake of the template.

    .venv/bin/python scripts/workflow_diagrams_template.py           # after changing a starter
    .venv/bin/python scripts/workflow_diagrams_template.py --check   # exit 1 if they are stale

A generated project draws its diagrams with its own ``devhost diagrams``, which
needs the Agent Framework, so cookiecutter cannot run it while generating. Instead the template
ships both files already drawn, as Jinja: this script bakes every starter under placeholder
names, runs the project's script in the bake, then turns each workflow's section into a
``{% if %}`` block and each placeholder back into its ``{{ cookiecutter.<answer> }}``. A new
project therefore has current diagrams from the start, and ``tests/test_workflow_diagrams.py``
runs the project's ``--check`` on bakes of many answer sets to prove it.
"""

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parents[1]
PROJECT = TEMPLATE / "{{cookiecutter.__project_folder}}"
DOC = Path("docs") / "workflows.md"
README = Path("README.md")
README_BEGIN = "<!-- workflow diagrams: written by"
README_END = "<!-- end of workflow diagrams -->"
COMMAND = ".venv/bin/python scripts/workflow_diagrams_template.py"
AGENTS_ON = 'cookiecutter.__hosted_agent_workflow != "none"'

# Each starter's answer, the placeholder name it is baked with, and when its section exists.
STARTERS = (
    ("triage_workflow", "placeholderTriage", 'cookiecutter.triage_workflow != "none"'),
    ("fanout_workflow", "placeholderFanout", 'cookiecutter.fanout_workflow != "none"'),
    ("approval_workflow", "placeholderApproval", 'cookiecutter.approval_workflow != "none"'),
    (
        "composition_workflow",
        "placeholderComposition",
        'cookiecutter.composition_workflow != "none"',
    ),
    ("agent_workflow", "placeholderAgent", AGENTS_ON),
    ("batch_workflow", "placeholderBatch", 'cookiecutter.batch_workflow != "none"'),
)
JINJA_MARKS = ("{{", "}}", "{%", "%}", "{#", "#}")


class TemplateDiagramError(Exception):
    """The bake's diagrams cannot be turned back into the template."""


def run(command: list[str], cwd: Path) -> None:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise TemplateDiagramError(f"{' '.join(command)} failed:\n{result.stderr}")


def bake_every_starter(output: Path) -> Path:
    answers = [f"{answer}={placeholder}" for answer, placeholder, _ in STARTERS]
    cookiecutter = [sys.executable, "-m", "cookiecutter", "--no-input", str(TEMPLATE)]
    run([*cookiecutter, "-o", str(output), *answers, "model_provider=azure_openai"], TEMPLATE)
    (project,) = output.iterdir()
    run([sys.executable, "-m", "devhost", "diagrams"], project)
    return project


def templated(text: str, heading: str) -> str:
    """``text`` with each section (a blank line, then ``heading``) guarded by its starter."""
    if any(mark in text for mark in JINJA_MARKS):
        raise TemplateDiagramError("the drawn text contains Jinja syntax; it cannot be templated")
    preamble, *sections = re.split(f"(?<=\n)(?=\n{re.escape(heading)})", text)
    result = preamble
    for section in sections:
        heading_line = section.splitlines()[1]
        owners = [starter for starter in STARTERS if f"`{starter[1]}`" in heading_line]
        if len(owners) != 1:
            raise TemplateDiagramError(f"no single starter owns the section {heading_line!r}")
        result += f"{{% if {owners[0][2]} %}}\n{section}{{% endif %}}\n"
    for answer, placeholder, _ in STARTERS:
        result = result.replace(placeholder, f"{{{{ cookiecutter.{answer} }}}}")
        # Link anchors spell the name in lower case.
        result = result.replace(placeholder.lower(), f"{{{{ cookiecutter.{answer} | lower }}}}")
    return result


def readme_region(readme: str) -> tuple[int, int]:
    """Where the diagrams are: from the start marker to the end marker (kept outside)."""
    begin = readme.find(README_BEGIN)
    end = readme.find(README_END)
    if begin < 0 or end < begin:
        raise TemplateDiagramError(f"{README} has no diagram markers")
    return begin, end


def expected_template_files() -> dict[Path, str]:
    with tempfile.TemporaryDirectory() as scratch:
        bake = bake_every_starter(Path(scratch))
        doc = templated((bake / DOC).read_text(encoding="utf-8"), "## `")
        baked_readme = (bake / README).read_text(encoding="utf-8")
    begin, end = readme_region(baked_readme)
    region = templated(baked_readme[begin:end], "### `")
    readme = (PROJECT / README).read_text(encoding="utf-8")
    template_begin, template_end = readme_region(readme)
    return {
        DOC: doc,
        README: readme[:template_begin] + region + readme[template_end:],
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
    stale = [
        path
        for path, text in expected.items()
        if not (PROJECT / path).is_file() or (PROJECT / path).read_text(encoding="utf-8") != text
    ]
    for path in stale:
        if arguments.check:
            print(f"{{{{cookiecutter.__project_folder}}}}/{path} is stale: run {COMMAND}")
        else:
            (PROJECT / path).write_text(expected[path], encoding="utf-8")
            print(f"wrote {{{{cookiecutter.__project_folder}}}}/{path}")
    return 1 if arguments.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
