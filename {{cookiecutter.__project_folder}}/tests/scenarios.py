"""What each starter workflow should do, as data shared by the durable and HTTP tests.

Every scenario starts a workflow with a JSON body, answers each human request in turn (the
request id must start with ``request_prefix``: nested requests are qualified with the
sub-workflow executor's id), and expects the final output to contain ``expected_output``.
Every rejected start is a body the workflow must refuse, failing the run with an error that
contains each of ``problems``.
"""

from dataclasses import asdict, dataclass, field, is_dataclass
from typing import Any

{% if cookiecutter.__hosted_agent_workflow != "none" %}
from workflows.content_review import WORKFLOW_NAME as REVIEW
{% endif %}
{% if cookiecutter.approval_workflow != "none" %}
from workflows.expense_approval import WORKFLOW_NAME as APPROVAL
{% endif %}
{% if cookiecutter.fanout_workflow != "none" %}
from workflows.quotes import WORKFLOW_NAME as QUOTES
{% endif %}
{% if cookiecutter.triage_workflow != "none" %}
from workflows.triage import WORKFLOW_NAME as TRIAGE
{% endif %}
{% if cookiecutter.composition_workflow != "none" %}
from workflows.trip_booking import WORKFLOW_NAME as TRIP
{% endif %}


@dataclass(frozen=True)
class Scenario:
    id: str
    workflow: str
    body: Any
    expected_output: dict[str, Any]
    answers: tuple[dict[str, Any], ...] = ()
    request_prefix: str = ""
    expected_request: dict[str, Any] = field(default_factory=dict)
    calls_the_model: bool = False


@dataclass(frozen=True)
class RejectedStart:
    id: str
    workflow: str
    body: Any
    problems: tuple[str, ...]


def output_matches(output: Any, expected: dict[str, Any]) -> bool:
    """True when ``output`` (a dataclass or its JSON form) holds every key of ``expected``."""
    if is_dataclass(output) and not isinstance(output, type):
        output = asdict(output)
    return isinstance(output, dict) and all(output.get(k) == v for k, v in expected.items())


SCENARIOS = [
{% if cookiecutter.triage_workflow != "none" %}
    Scenario(
        "billing-ticket-goes-to-billing",
        TRIAGE,
        {"subject": "Refund please", "body": "I was charged twice", "customer_tier": "premium"},
        {"queue": "billing", "category": "billing", "priority": "high"},
    ),
    Scenario(
        "crash-report-goes-to-technical",
        TRIAGE,
        {"subject": "App crash", "body": "It shows an error on login"},
        {"queue": "technical", "category": "technical", "priority": "normal"},
    ),
    Scenario(
        "other-ticket-goes-to-general",
        TRIAGE,
        {"subject": "Hello", "body": "Do you ship to Norway?"},
        {"queue": "general", "category": "general", "priority": "normal"},
    ),
{% endif %}
{% if cookiecutter.fanout_workflow != "none" %}
    Scenario(
        "cheapest-timely-quote-wins",
        QUOTES,
        {"item": "desk lamp", "quantity": 150, "needed_within_days": 14},
        {
            "item": "desk lamp",
            "chosen": {
                "supplier": "fabrikam",
                "unit_price": 10.8,
                "total_price": 1620.0,
                "delivery_days": 5,
            },
        },
    ),
    Scenario(
        "no-quote-when-nobody-delivers-in-time",
        QUOTES,
        {"item": "desk lamp", "quantity": 10, "needed_within_days": 2},
        {"chosen": None, "reason": "no supplier delivers within 2 days"},
    ),
{% endif %}
{% if cookiecutter.approval_workflow != "none" %}
    Scenario(
        "small-expense-is-approved-by-policy",
        APPROVAL,
        {"employee": "ana", "amount": 42.5, "category": "meals"},
        {"approved": True, "decided_by": "policy"},
    ),
    Scenario(
        "large-expense-waits-for-a-manager",
        APPROVAL,
        {"employee": "ana", "amount": 900, "category": "travel", "description": "flight"},
        {"approved": False, "decided_by": "manager", "comment": "too expensive"},
        answers=({"approved": False, "comment": "too expensive"},),
        expected_request={"employee": "ana", "amount": 900, "category": "travel"},
    ),
{% endif %}
{% if cookiecutter.composition_workflow != "none" %}
    Scenario(
        "trip-fare-is-confirmed-on-the-outer-instance",
        TRIP,
        {"traveller": "ana", "destination": "Lisbon", "nights": 3, "budget": 1000},
        {"status": "booked", "destination": "lisbon", "total_cost": 600.0, "note": "aisle"},
        answers=({"confirm": True, "note": "aisle"},),
        request_prefix="fare_check~0~",
        expected_request={"trip_total": 600.0, "over_budget": False},
    ),
{% endif %}
{% if cookiecutter.__hosted_agent_workflow != "none" %}
    Scenario(
        "writer-and-editor-agents-both-revise-the-post",
        REVIEW,
        "Dark mode is here",
        {"text": "Dark mode is here (edited) (edited)", "edited_by": "editor"},
        calls_the_model=True,
    ),
{% endif %}
]

REJECTED_STARTS = [
{% if cookiecutter.triage_workflow != "none" %}
    RejectedStart(
        "ticket-that-is-a-list",
        TRIAGE,
        ["Refund please"],
        (
            'must be a JSON object, got ["Refund please"]',
            "Expected a JSON object with subject (string, non-empty, required)",
        ),
    ),
    RejectedStart(
        "ticket-with-wrong-types-and-an-unknown-field",
        TRIAGE,
        {"subject": " ", "body": 3, "tier": "gold"},
        (
            "subject: String should have at least 1 character",
            "body: Input should be a valid string, got 3",
            "tier is not a field of Ticket",
        ),
    ),
{% endif %}
{% if cookiecutter.fanout_workflow != "none" %}
    RejectedStart(
        "purchase-with-a-list-item-and-a-fractional-quantity",
        QUOTES,
        {"item": ["lamp"], "quantity": 2.5},
        (
            'item: Input should be a valid string, got ["lamp"]',
            "quantity: Input should be a valid integer, got 2.5",
        ),
    ),
    RejectedStart("purchase-that-is-a-number", QUOTES, 42, ("must be a JSON object, got 42",)),
{% endif %}
{% if cookiecutter.approval_workflow != "none" %}
    RejectedStart(
        "expense-with-a-negative-amount",
        APPROVAL,
        {"employee": "ana", "amount": -500, "category": "travel"},
        ("amount: Input should be greater than 0, got -500",),
    ),
    RejectedStart(
        "expense-that-is-a-string",
        APPROVAL,
        "ana spent 500",
        ('must be a JSON object, got "ana spent 500"',),
    ),
{% endif %}
{% if cookiecutter.composition_workflow != "none" %}
    RejectedStart(
        "trip-with-nights-in-words",
        TRIP,
        {"traveller": "ana", "destination": "Lisbon", "nights": "three", "budget": 1000},
        ('nights: Input should be a valid integer, got "three"',),
    ),
    RejectedStart(
        "trip-missing-its-budget",
        TRIP,
        {"traveller": "ana", "destination": "Lisbon", "nights": 0},
        ("nights: Input should be greater than or equal to 1, got 0", "budget is missing"),
    ),
{% endif %}
{% if cookiecutter.__hosted_agent_workflow != "none" %}
    RejectedStart(
        "brief-that-is-not-text",
        REVIEW,
        {"brief": "Dark mode"},
        ('The body must be the brief as non-empty plain text, got {"brief": "Dark mode"}',),
    ),
{% endif %}
]

# Answers that no human step accepts: each must be refused and the question asked again.
INVALID_ANSWERS: tuple[Any, ...] = ([True], "yes", None, {}, {"approved": "true", "confirm": 1})
