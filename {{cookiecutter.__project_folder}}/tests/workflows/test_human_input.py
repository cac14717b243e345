"""Asking a person: a rejected answer is echoed back, a long one only in part."""

from typing import Any

from agent_framework import (
    Executor,
    Workflow,
    WorkflowBuilder,
    WorkflowContext,
    handler,
    response_handler,
)

from workflows.human_input import ECHO_CHARACTERS, ask, read_answer
from workflows.messages import InboundMessage


class Yes(InboundMessage):
    agreed: bool


class Asker(Executor):
    @handler
    async def start(self, question: str, ctx: WorkflowContext[None, bool]) -> None:
        await ask(ctx, {"question": question}, Yes)

    @response_handler
    async def on_answer(
        self, request: dict[str, Any], answer: object, ctx: WorkflowContext[None, bool]
    ) -> None:
        valid = await read_answer(ctx, request, answer, Yes)
        if valid is not None:
            await ctx.yield_output(valid.agreed)


def asking() -> Workflow:
    asker = Asker(id="asker")
    return WorkflowBuilder(name="asking", start_executor=asker, output_from=[asker]).build()


async def answer_once(answer: object) -> dict[str, Any]:
    workflow = asking()
    (request,) = (await workflow.run("Agreed?")).get_request_info_events()
    (again,) = (
        await workflow.run(responses={request.request_id: answer})
    ).get_request_info_events()
    data: dict[str, Any] = again.data
    return data


async def test_a_short_rejected_answer_is_echoed_whole() -> None:
    asked_again = await answer_once({"agreed": "yes"})

    assert asked_again["rejected_answer"] == {"agreed": "yes"}


async def test_a_long_rejected_answer_is_echoed_as_its_start_and_size() -> None:
    long_text = "y" * 600_000

    asked_again = await answer_once({"agreed": long_text})

    echoed = asked_again["rejected_answer"]
    assert echoed.startswith('{"agreed": "yyy')
    assert echoed.endswith("(not echoed whole: 600,014 bytes of JSON in all)")
    assert len(echoed) < ECHO_CHARACTERS + 100
    assert 'agreed: Input should be a valid boolean, got "yyy' in asked_again["problem"]
