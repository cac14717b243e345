"""Expense approval, run in-process: policy decides small claims, a valid human answer the rest."""

from typing import Any

import pytest
from agent_framework import Workflow

from workflows.expense_approval import (
    ExpenseClaim,
    ExpenseDecision,
    build_expense_approval_workflow,
)

TAXI = ExpenseClaim(employee="ana", amount=250, category="travel", description="taxi")


async def ask_manager(workflow: Workflow, claim: ExpenseClaim) -> tuple[str, dict[str, Any]]:
    (request,) = (await workflow.run(claim)).get_request_info_events()
    return request.request_id, request.data


async def test_claims_within_the_limit_are_approved_without_asking() -> None:
    claim = ExpenseClaim(employee="ana", amount=100, category="meals")

    result = await build_expense_approval_workflow().run(claim)

    assert result.get_request_info_events() == []
    assert result.get_outputs() == [
        ExpenseDecision("ana", 100, True, "policy", "within the 100 auto-approval limit")
    ]


async def test_larger_claims_ask_a_manager_with_readable_json() -> None:
    _, question = await ask_manager(build_expense_approval_workflow(), TAXI)

    assert question["question"] == "Approve ana's travel expense of 250.00?"
    assert (question["amount"], question["description"]) == (250, "taxi")
    assert question["answer_with"] == {
        "approved": "boolean, required",
        "comment": "string, optional",
    }


async def test_a_valid_manager_answer_decides_the_claim() -> None:
    workflow = build_expense_approval_workflow()
    request_id, _ = await ask_manager(workflow, TAXI)

    resumed = await workflow.run(responses={request_id: {"approved": True, "comment": "ok"}})

    assert resumed.get_outputs() == [ExpenseDecision("ana", 250, True, "manager", "ok")]


@pytest.mark.parametrize(
    ("answer", "problem"),
    [
        ([True], "must be a JSON object, got [true]"),
        ("yes", 'must be a JSON object, got "yes"'),
        (None, "must be a JSON object, got null"),
        ({"approved": "true"}, 'approved: Input should be a valid boolean, got "true"'),
        ({"approved": 1}, "approved: Input should be a valid boolean, got 1"),
        ({}, "approved is missing"),
        ({"confirm": "yes"}, "confirm is not a field of ManagerAnswer"),
    ],
)
async def test_an_invalid_answer_decides_nothing_and_asks_again_saying_why(
    answer: object, problem: str
) -> None:
    workflow = build_expense_approval_workflow()
    request_id, question = await ask_manager(workflow, TAXI)

    resumed = await workflow.run(responses={request_id: answer})

    assert resumed.get_outputs() == []
    (again,) = resumed.get_request_info_events()
    assert again.data["question"] == question["question"]
    assert problem in again.data["problem"]
    assert again.data["rejected_answer"] == answer


async def test_a_valid_answer_after_an_invalid_one_decides_the_claim() -> None:
    workflow = build_expense_approval_workflow()
    request_id, _ = await ask_manager(workflow, TAXI)
    (again,) = (await workflow.run(responses={request_id: "yes"})).get_request_info_events()

    resumed = await workflow.run(responses={again.request_id: {"approved": False}})

    assert resumed.get_outputs() == [ExpenseDecision("ana", 250, False, "manager", "")]


async def test_in_process_a_refused_question_gets_a_new_id_and_the_old_one_is_an_error() -> None:
    workflow = build_expense_approval_workflow()
    request_id, question = await ask_manager(workflow, TAXI)
    (again,) = (await workflow.run(responses={request_id: "yes"})).get_request_info_events()

    assert question["question_id"] == request_id
    assert again.request_id != request_id
    assert again.data["question_id"] == again.request_id
    with pytest.raises(ValueError, match=request_id):
        await workflow.run(responses={request_id: {"approved": True}})
