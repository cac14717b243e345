"""The run the trace tests follow, and how they read the spans it printed.

Both trace tests follow one nested run with a human answer: the trip booking starter, whose
fare check is a sub-workflow that asks a person. The span readers live in ``tests/spans.py``.
"""

from tests.scenarios import SCENARIOS
from tests.spans import ancestors, printed_spans
from workflows.trip_booking import WORKFLOW_NAME

TRIP = next(scenario for scenario in SCENARIOS if scenario.workflow == WORKFLOW_NAME)
FARE_CHECK = f"{WORKFLOW_NAME}_fare_check"
WORKFLOW = "dafx.workflow.name"

__all__ = ["FARE_CHECK", "TRIP", "WORKFLOW", "ancestors", "printed_spans"]
