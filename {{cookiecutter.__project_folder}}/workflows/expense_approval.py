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
