"""An AgentFunctionApp written without devhost in mind: an agent, a sub-workflow, HITL.

`orders` runs: intake (activity) -> writer (agent entity) -> draft (activity) ->
review (sub-workflow `orders_review`, which asks a human) -> ship (activity).
`signoff` asks a human directly, without a sub-workflow; `echo` answers at once.
`batch` hands each comma-separated item to its own `batch_check` child, which asks a human.
"""

from __future__ import annotations

from typing import Any

import azure.functions as func
from agent_framework import (
    Agent,
    AgentExecutorResponse,
    Executor,
    Workflow,
    WorkflowBuilder,
    WorkflowContext,
    WorkflowExecutor,
    executor,
    handler,
    response_handler,
)
from agent_framework_azurefunctions import AgentFunctionApp
from offline_model import ShoutingChatClient


async def intake(order: dict[str, Any], ctx: WorkflowContext[str]) -> None:
    if not order.get("item"):
        raise ValueError("an order needs an item")
    await ctx.send_message(f"announce {order['item']} for {order.get('customer', 'someone')}")


async def draft(response: AgentExecutorResponse, ctx: WorkflowContext[str]) -> None:
    await ctx.send_message(response.agent_response.text)


class Reviewer(Executor):
    """Asks a human whether the draft may ship."""

    def __init__(self) -> None:
        super().__init__(id="reviewer")

    @handler
    async def ask(self, text: str, ctx: WorkflowContext) -> None:
        await ctx.request_info({"draft": text, "question": "ship it?"}, dict)

    @response_handler
    async def answered(
        self,
        original: dict[str, Any],
        answer: dict[str, Any],
        ctx: WorkflowContext[None, dict[str, Any]],
    ) -> None:
        await ctx.yield_output(
            {"draft": original["draft"], "approved": answer.get("approved") is True}
        )


async def ship(verdict: dict[str, Any], ctx: WorkflowContext[None, dict[str, Any]]) -> None:
    await ctx.yield_output({"shipped": verdict["approved"], "text": verdict["draft"]})


class SignOff(Executor):
    def __init__(self) -> None:
        super().__init__(id="signoff_desk")

    @handler
    async def ask(self, subject: str, ctx: WorkflowContext) -> None:
        await ctx.request_info({"subject": subject}, dict)

    @response_handler
    async def answered(
        self, original: dict[str, Any], answer: dict[str, Any], ctx: WorkflowContext[None, str]
    ) -> None:
        await ctx.yield_output(f"{original['subject']}: {answer.get('verdict', 'none')}")


async def echo(text: str, ctx: WorkflowContext[None, str]) -> None:
    await ctx.yield_output(text[::-1])


class ItemCheck(Executor):
    def __init__(self) -> None:
        super().__init__(id="item_check")

    @handler
    async def ask(self, item: str, ctx: WorkflowContext) -> None:
        await ctx.request_info({"item": item}, dict)

    @response_handler
    async def answered(
        self, original: dict[str, Any], answer: dict[str, Any], ctx: WorkflowContext[None, str]
    ) -> None:
        await ctx.yield_output(f"{original['item']}: {answer.get('verdict', 'none')}")


async def split_items(items: str, ctx: WorkflowContext[str]) -> None:
    for item in items.split(","):
        await ctx.send_message(item)


async def tally(verdict: str, ctx: WorkflowContext[None, str]) -> None:
    await ctx.yield_output(verdict)


def build_orders() -> Workflow:
    review = WorkflowBuilder(name="orders_review", start_executor=Reviewer()).build()
    intake_step = executor(id="intake")(intake)
    writer = Agent(client=ShoutingChatClient(), name="writer", instructions="Write it loud.")
    draft_step = executor(id="draft")(draft)
    review_step = WorkflowExecutor(review, id="review", propagate_request=True)
    ship_step = executor(id="ship")(ship)
    return (
        WorkflowBuilder(name="orders", start_executor=intake_step, output_from=[ship_step])
        .add_chain([intake_step, writer, draft_step, review_step, ship_step])
        .build()
    )


def build_signoff() -> Workflow:
    return WorkflowBuilder(name="signoff", start_executor=SignOff()).build()


def build_batch() -> Workflow:
    check = WorkflowBuilder(name="batch_check", start_executor=ItemCheck()).build()
    split_step = executor(id="split")(split_items)
    check_step = WorkflowExecutor(check, id="check")
    tally_step = executor(id="tally")(tally)
    return (
        WorkflowBuilder(name="batch", start_executor=split_step, output_from=[tally_step])
        .add_chain([split_step, check_step, tally_step])
        .build()
    )


def build_echo() -> Workflow:
    return WorkflowBuilder(name="echo", start_executor=executor(id="echo")(echo)).build()


app = AgentFunctionApp(
    workflows=[build_orders(), build_signoff(), build_batch(), build_echo()],
    http_auth_level=func.AuthLevel.FUNCTION,
)
