"""What each workflow should do, as data shared by the durable and HTTP tests.

The scenarios are the examples every workflow module declares (``workflows.catalog``), each
with the workflow's name. A scenario starts a workflow with a JSON body, answers each human
request in turn (the request id must start with ``request_prefix``: nested requests are
qualified with the sub-workflow executor's id), and expects the final output to contain
``expected_output``. Every rejected start is a body the workflow must refuse, failing the run
with an error that contains each of ``problems``.
"""

from dataclasses import asdict, dataclass, is_dataclass
from typing import Any

import pytest

from workflows import catalog


@dataclass(frozen=True)
class Scenario(catalog.Example):
    """A workflow's declared example, with the workflow's name."""

    workflow: str = ""


@dataclass(frozen=True)
class RejectedStart(catalog.RejectedStart):
    """A workflow's declared refused start body, with the workflow's name."""

    workflow: str = ""


def output_matches(output: Any, expected: dict[str, Any]) -> bool:
    """True when ``output`` (a dataclass or its JSON form) holds every key of ``expected``."""
    if is_dataclass(output) and not isinstance(output, type):
        output = asdict(output)
    return isinstance(output, dict) and all(output.get(k) == v for k, v in expected.items())


DECLARED = catalog.declared_workflows()
SCENARIOS = [
    Scenario(workflow=declared.name, **asdict(example))
    for declared in DECLARED
    for example in declared.examples
]
REJECTED_STARTS = [
    RejectedStart(workflow=declared.name, **asdict(rejected))
    for declared in DECLARED
    for rejected in declared.rejected_starts
]

NO_EXAMPLE_RUN = (
    "no workflow of this project declares an example run yet: add a workflow with"
    " `devhost new-workflow NAME` (docs/adding-a-workflow.md)"
)


def first_scenario() -> Scenario:
    """The first declared example run; the calling test skips, naming what to add, if none."""
    if not SCENARIOS:
        pytest.skip(NO_EXAMPLE_RUN)
    return SCENARIOS[0]


# Answers that no human step accepts: each must be refused and the question asked again.
INVALID_ANSWERS: tuple[Any, ...] = ([True], "yes", None, {}, {"approved": "true", "confirm": 1})
