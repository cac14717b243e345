"""Expense approval: small claims pass on policy, larger ones wait for a human decision.

The approval request is a plain dict so the status route shows it as readable JSON, and the
human answers with a JSON object such as ``{"approved": true, "comment": "ok"}``. Any other
answer is refused and the question asked again (see ``workflows/human_input.py``).
"""

from dataclasses import dataclass
from typing import Annotated, Any

from agent_framework import (
    Executor,
    Workflow,
    WorkflowBuilder,
    WorkflowContext,
    handler,
    response_handler,
)
from pydantic import Field

from workflows.catalog import DeclaredWorkflow, Example, RejectedStart
from workflows.human_input import ask, read_answer
from workflows.messages import InboundMessage, NonEmptyText, parse_start_message

WORKFLOW_NAME = "{{ cookiecutter.approval_workflow }}"

AUTO_APPROVAL_LIMIT = 100.0


class ExpenseClaim(InboundMessage):
    employee: NonEmptyText
    amount: Annotated[float, Field(gt=0)]
    category: NonEmptyText
    description: str = ""


class ManagerAnswer(InboundMessage):
    approved: bool
    comment: str = ""


@dataclass
class ExpenseDecision:
    employee: str
    amount: float
    approved: bool
    decided_by: str
    comment: str


def approval_question(claim: ExpenseClaim) -> dict[str, Any]:
    return {
        "question": f"Approve {claim.employee}'s {claim.category} expense of {claim.amount:.2f}?",
        "employee": claim.employee,
        "amount": claim.amount,
        "category": claim.category,
        "description": claim.description,
    }


class PolicyCheck(Executor):
    """Approves claims under the limit itself and asks a manager about the rest."""

    def __init__(self) -> None:
        super().__init__(id="policy_check")

    @handler
    async def review(self, body: object, ctx: WorkflowContext[None, ExpenseDecision]) -> None:
        claim = parse_start_message(ExpenseClaim, body)
        if claim.amount <= AUTO_APPROVAL_LIMIT:
            comment = f"within the {AUTO_APPROVAL_LIMIT:.0f} auto-approval limit"
            await ctx.yield_output(
                ExpenseDecision(claim.employee, claim.amount, True, "policy", comment)
            )
            return
        await ask(ctx, approval_question(claim), ManagerAnswer)

    @response_handler
    async def on_manager_answer(
        self,
        request: dict[str, Any],
        answer: object,
        ctx: WorkflowContext[None, ExpenseDecision],
    ) -> None:
        decision = await read_answer(ctx, request, answer, ManagerAnswer)
        if decision is None:
            return
        await ctx.yield_output(
            ExpenseDecision(
                request["employee"],
                request["amount"],
                decision.approved,
                "manager",
                decision.comment,
            )
        )


def build_expense_approval_workflow() -> Workflow:
    return WorkflowBuilder(name=WORKFLOW_NAME, start_executor=PolicyCheck()).build()


WORKFLOW = DeclaredWorkflow(
    name=WORKFLOW_NAME,
    build=build_expense_approval_workflow,
    activities=("policy_check",),
    examples=(
        Example(
            "small-expense-is-approved-by-policy",
            {"employee": "ana", "amount": 42.5, "category": "meals"},
            {"approved": True, "decided_by": "policy"},
        ),
        Example(
            "large-expense-waits-for-a-manager",
            {"employee": "ana", "amount": 900, "category": "travel", "description": "flight"},
            {"approved": False, "decided_by": "manager", "comment": "too expensive"},
            answers=({"approved": False, "comment": "too expensive"},),
            expected_request={"employee": "ana", "amount": 900, "category": "travel"},
        ),
    ),
    rejected_starts=(
        RejectedStart(
            "expense-with-a-negative-amount",
            {"employee": "ana", "amount": -500, "category": "travel"},
            ("amount: Input should be greater than 0, got -500",),
        ),
        RejectedStart(
            "expense-that-is-a-string",
            "ana spent 500",
            ('must be a JSON object, got "ana spent 500"',),
        ),
    ),
)
