"""Expense approval, run in-process: policy decides small claims, a human the rest."""

from workflows.expense_approval import (
    ExpenseClaim,
    ExpenseDecision,
    build_expense_approval_workflow,
)


async def test_claims_within_the_limit_are_approved_without_asking() -> None:
    result = await build_expense_approval_workflow().run(ExpenseClaim("ana", 100, "meals"))

    assert result.get_request_info_events() == []
    assert result.get_outputs() == [
        ExpenseDecision("ana", 100, True, "policy", "within the 100 auto-approval limit")
    ]


async def test_larger_claims_ask_a_manager_with_readable_json() -> None:
    result = await build_expense_approval_workflow().run(ExpenseClaim("ana", 250, "travel", "taxi"))

    (request,) = result.get_request_info_events()
    assert request.data["question"] == "Approve ana's travel expense of 250.00?"
    assert (request.data["amount"], request.data["description"]) == (250, "taxi")
    assert result.get_outputs() == []


async def test_manager_answer_decides_the_claim() -> None:
    workflow = build_expense_approval_workflow()
    (request,) = (await workflow.run(ExpenseClaim("ana", 250, "travel"))).get_request_info_events()

    answer = {"approved": True, "comment": "ok"}
    resumed = await workflow.run(responses={request.request_id: answer})

    assert resumed.get_outputs() == [ExpenseDecision("ana", 250, True, "manager", "ok")]


async def test_anything_but_an_explicit_true_is_a_rejection() -> None:
    workflow = build_expense_approval_workflow()
    (request,) = (await workflow.run(ExpenseClaim("ana", 250, "travel"))).get_request_info_events()

    resumed = await workflow.run(responses={request.request_id: {"approved": "yes"}})

    assert [decision.approved for decision in resumed.get_outputs()] == [False]
