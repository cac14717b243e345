"""Check every answer before cookiecutter writes a file of the project.

Cookiecutter renders this script with the answers embedded as one JSON document, which is
parsed here as data: no answer is ever pasted into code. The rules mirror what
AgentFunctionApp enforces at import time, so a bad answer stops here with a message saying
how to fix it, instead of as "0 functions found" in Azure.
"""

import json
import re
import sys
from collections.abc import Mapping

# Jinja's tojson escapes every single quote, so this raw literal cannot be closed early.
RENDERED_ANSWERS = r'''{{ cookiecutter | tojson }}'''  # fmt: skip

OMIT = "none"
SLUG_PATTERN = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
WORKFLOW_NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,62}$")
CHOICES = {
    "python_version": ("3.12", "3.11", "3.13"),
    "model_provider": ("none", "azure_openai", "foundry"),
    "http_auth_level": ("function", "anonymous"),
}
# Each starter's answer, and the rendered value that is its name when the project hosts it
# ("none" when not): cookiecutter.json derives the agent starter's, which needs a model provider.
HOSTED_NAMES = {
    "triage_workflow": "triage_workflow",
    "fanout_workflow": "fanout_workflow",
    "approval_workflow": "approval_workflow",
    "composition_workflow": "composition_workflow",
    "agent_workflow": "__hosted_agent_workflow",
    "batch_workflow": "batch_workflow",
}
# Sub-workflows a starter derives from its name; they are hosted workflows too.
DERIVED_SUFFIXES = {
    "composition_workflow": (("_fare_check", "its fare check sub-workflow"),),
    "batch_workflow": (
        ("_group", "its chunk group sub-workflow"),
        ("_chunk", "its chunk sub-workflow"),
    ),
}
# The same rule as workflows/placement.py: a pool name is part of Azure resource names.
POOL_PATTERN = re.compile(r"^[a-z](?:[a-z0-9-]{0,14}[a-z0-9])?$")
# The starter whose heavy step the worker pool runs: the document batch's per-chunk analysis.
POOL_STARTER = "batch_workflow"
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


def check_slug(slug: str) -> list[str]:
    if SLUG_PATTERN.match(slug):
        return []
    return [
        f"project_slug {slug!r} is not valid: use 1 to 40 lowercase letters, digits, '_' or '-',"
        " starting with a letter (for example project_slug=agent_workflows)."
    ]


def check_text(key: str, value: str) -> list[str]:
    if not value.strip():
        return [f"{key} is empty: give it a value."]
    if CONTROL_CHARACTERS.search(value):
        return [f"{key} contains a line break or control character: use a single line of text."]
    return []


def check_choices(answers: Mapping[str, str]) -> list[str]:
    return [
        f"{key} {answers[key]!r} is not one of {', '.join(allowed)}."
        for key, allowed in CHOICES.items()
        if answers[key] not in allowed
    ]


def hosted_workflow_names(answers: Mapping[str, str]) -> list[tuple[str, str]]:
    """List (workflow name, answer it comes from) for every workflow the project will host."""
    names: list[tuple[str, str]] = []
    for key, hosted in HOSTED_NAMES.items():
        name = answers[hosted]
        if name == OMIT:
            continue
        names.append((name, key))
        for suffix, what in DERIVED_SUFFIXES.get(key, ()):
            names.append((name + suffix, f"{key} ({what})"))
    return names


def check_workflow_name(name: str, source: str) -> list[str]:
    if name.casefold() == OMIT:
        return [
            f"{source} {name!r} would name a workflow {name!r}: write {OMIT!r} in lower case to"
            " leave that workflow out, or choose another name."
        ]
    if WORKFLOW_NAME_PATTERN.match(name):
        return []
    return [
        f"{source} {name!r} is not a valid workflow name: use 1 to 63 ASCII letters, digits, '_'"
        f" or '-', starting with a letter, or {OMIT!r} to leave that workflow out."
    ]


def check_workflows(answers: Mapping[str, str]) -> list[str]:
    names = hosted_workflow_names(answers)
    problems = [error for name, source in names for error in check_workflow_name(name, source)]
    first_of: dict[str, str] = {}
    for name, source in names:
        folded = name.casefold()
        if folded not in first_of:
            first_of[folded] = name
            continue
        problems.append(
            f"{source} {name!r} clashes with {first_of[folded]!r}: workflow names must be"
            " unique, ignoring case."
        )
    return problems


def check_worker_pool(answers: Mapping[str, str]) -> list[str]:
    pool = answers.get("worker_pool", OMIT)
    if pool == OMIT:
        return []
    if not POOL_PATTERN.match(pool):
        return [
            f"worker_pool {pool!r} is not a valid pool name: use 1 to 16 lowercase letters,"
            f" digits or '-', starting with a letter (for example gpu), or {OMIT!r}."
        ]
    if answers[POOL_STARTER] == OMIT:
        # Refused rather than moved to another starter: the pool's Container App, its storage
        # access and its docs are built for the chunk analysis, and a pool with no step to run
        # would idle at a cost.
        return [
            f"worker_pool {pool!r} places the document batch's per-chunk analysis on a pool, but"
            f" {POOL_STARTER} is {OMIT!r}: keep that starter or answer worker_pool={OMIT}."
        ]
    return []


def validate(answers: Mapping[str, str]) -> list[str]:
    """Return one message per problem with the answers; an empty list means all is well."""
    problems = check_slug(answers["project_slug"])
    for key in ("project_name", "description", "author"):
        problems += check_text(key, answers[key])
    problems += check_choices(answers)
    problems += check_workflows(answers)
    problems += check_worker_pool(answers)
    return problems


def main(rendered_answers: str = RENDERED_ANSWERS) -> int:
    problems = validate(json.loads(rendered_answers))
    if not problems:
        return 0
    print("dafx-func cannot generate this project:", file=sys.stderr)
    for problem in problems:
        print(f"  - {problem}", file=sys.stderr)
    print("Nothing was written. Fix the answers above and run cookiecutter again.", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
