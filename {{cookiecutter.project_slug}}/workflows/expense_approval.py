"""Expense approval: small claims pass on policy, larger ones wait for a human decision.

The approval request is a plain dict so the status route shows it as readable JSON, and the
human answers with a plain JSON object such as ``{"approved": true, "comment": "ok"}``.
"""

from dataclasses import dataclass
from typing import Any

from agent_framework import (
    Executor,
    Workflow,
    WorkflowBuilder,
    WorkflowContext,
    handler,
    response_handler,
)

from workflows.messages import parse_message

WORKFLOW_NAME = "{{ cookiecutter.approval_workflow }}"

AUTO_APPROVAL_LIMIT = 100.0


@dataclass
class ExpenseClaim:
    employee: str
    amount: float
    category: str
    description: str = ""


@dataclass
class ExpenseDecision:
    employee: str
    amount: float
    approved: bool
    decided_by: str
    comment: str


def approval_request(claim: ExpenseClaim) -> dict[str, Any]:
    return {
        "question": f"Approve {claim.employee}'s {claim.category} expense of {claim.amount:.2f}?",
        "employee": claim.employee,
        "amount": claim.amount,
        "category": claim.category,
        "description": claim.description,
        "answer_with": {"approved": "true or false", "comment": "optional text"},
    }


def decision_from_answer(request: dict[str, Any], answer: dict[str, Any]) -> ExpenseDecision:
    return ExpenseDecision(
        employee=request["employee"],
        amount=request["amount"],
        approved=answer.get("approved") is True,
        decided_by="manager",
        comment=str(answer.get("comment", "")),
    )


class PolicyCheck(Executor):
    """Approves claims under the limit itself and asks a manager about the rest."""

    def __init__(self) -> None:
        super().__init__(id="policy_check")

    @handler
    async def review(
        self, body: ExpenseClaim | dict[str, Any], ctx: WorkflowContext[None, ExpenseDecision]
    ) -> None:
        claim: ExpenseClaim = parse_message(ExpenseClaim, body)
        if claim.amount <= AUTO_APPROVAL_LIMIT:
            comment = f"within the {AUTO_APPROVAL_LIMIT:.0f} auto-approval limit"
            await ctx.yield_output(
                ExpenseDecision(claim.employee, claim.amount, True, "policy", comment)
            )
            return
        await ctx.request_info(approval_request(claim), dict)

    @response_handler
    async def on_manager_answer(
        self,
        original_request: dict[str, Any],
        answer: dict[str, Any],
        ctx: WorkflowContext[None, ExpenseDecision],
    ) -> None:
        await ctx.yield_output(decision_from_answer(original_request, answer))


def build_expense_approval_workflow() -> Workflow:
    return WorkflowBuilder(name=WORKFLOW_NAME, start_executor=PolicyCheck()).build()
