"""Support ticket triage: classify a ticket, then route it to one desk with switch-case edges."""

from dataclasses import dataclass
from typing import Literal

from agent_framework import (
    Case,
    Default,
    FunctionExecutor,
    Workflow,
    WorkflowBuilder,
    WorkflowContext,
    executor,
)

from workflows.catalog import DeclaredWorkflow, Example, RejectedStart
from workflows.messages import InboundMessage, NonEmptyText, parse_start_message

WORKFLOW_NAME = "{{ cookiecutter.triage_workflow }}"

BILLING_WORDS = ("invoice", "refund", "charge", "payment", "billing")
TECHNICAL_WORDS = ("error", "crash", "bug", "login", "timeout", "outage")
FIRST_RESPONSES = {
    "billing": "Our billing team will review your account within one business day.",
    "technical": "An engineer is looking into the problem; please keep any error details.",
    "general": "Thanks for reaching out; we will get back to you shortly.",
}


class Ticket(InboundMessage):
    subject: NonEmptyText
    body: str
    customer_tier: Literal["standard", "premium"] = "standard"


@dataclass
class ClassifiedTicket:
    subject: str
    category: str
    priority: str


@dataclass
class TriageDecision:
    subject: str
    category: str
    priority: str
    queue: str
    first_response: str


def classify(ticket: Ticket) -> ClassifiedTicket:
    text = f"{ticket.subject} {ticket.body}".lower()
    if any(word in text for word in BILLING_WORDS):
        category = "billing"
    elif any(word in text for word in TECHNICAL_WORDS):
        category = "technical"
    else:
        category = "general"
    urgent = ticket.customer_tier == "premium" or "urgent" in text
    return ClassifiedTicket(ticket.subject, category, "high" if urgent else "normal")


async def classify_ticket(body: object, ctx: WorkflowContext[ClassifiedTicket]) -> None:
    await ctx.send_message(classify(parse_start_message(Ticket, body)))


def desk(queue: str) -> FunctionExecutor:
    """A desk that accepts a classified ticket into its queue with a first reply."""

    async def accept(ticket: ClassifiedTicket, ctx: WorkflowContext[None, TriageDecision]) -> None:
        await ctx.yield_output(
            TriageDecision(
                ticket.subject,
                ticket.category,
                ticket.priority,
                queue=queue,
                first_response=FIRST_RESPONSES[queue],
            )
        )

    return executor(id=f"{queue}_desk")(accept)


def build_triage_workflow() -> Workflow:
    classifier = executor(id="classify_ticket")(classify_ticket)
    billing, technical, general = desk("billing"), desk("technical"), desk("general")
    return (
        WorkflowBuilder(name=WORKFLOW_NAME, start_executor=classifier)
        .add_switch_case_edge_group(
            classifier,
            [
                Case(condition=lambda ticket: ticket.category == "billing", target=billing),
                Case(condition=lambda ticket: ticket.category == "technical", target=technical),
                Default(target=general),
            ],
        )
        .build()
    )


WORKFLOW = DeclaredWorkflow(
    name=WORKFLOW_NAME,
    build=build_triage_workflow,
    activities=("classify_ticket", "billing_desk", "technical_desk", "general_desk"),
    examples=(
        Example(
            "billing-ticket-goes-to-billing",
            {"subject": "Refund please", "body": "I was charged twice", "customer_tier": "premium"},
            {"queue": "billing", "category": "billing", "priority": "high"},
        ),
        Example(
            "crash-report-goes-to-technical",
            {"subject": "App crash", "body": "It shows an error on login"},
            {"queue": "technical", "category": "technical", "priority": "normal"},
        ),
        Example(
            "other-ticket-goes-to-general",
            {"subject": "Hello", "body": "Do you ship to Norway?"},
            {"queue": "general", "category": "general", "priority": "normal"},
        ),
    ),
    rejected_starts=(
        RejectedStart(
            "ticket-that-is-a-list",
            ["Refund please"],
            (
                'must be a JSON object, got ["Refund please"]',
                "Expected a JSON object with subject (string, non-empty, required)",
            ),
        ),
        RejectedStart(
            "ticket-with-wrong-types-and-an-unknown-field",
            {"subject": " ", "body": 3, "tier": "gold"},
            (
                "subject: String should have at least 1 character",
                "body: Input should be a valid string, got 3",
                "tier is not a field of Ticket",
            ),
        ),
    ),
)
