"""Asking a person, and acting only on an answer that is valid.

A request is a plain dict, so the status route shows it as readable JSON, and it says what
to send (``answer_with``). The respond route delivers whatever JSON the caller posted, so a
response handler takes ``object`` and calls :func:`read_answer`: a valid answer comes back as
its model; anything else asks the same question again, with ``problem`` saying what was
wrong and ``rejected_answer`` echoing it. The run keeps waiting, nothing is guessed, and the
new request (a new ``requestId``) is listed in the run's status.
"""

from typing import Any

from agent_framework import WorkflowContext
from pydantic import ValidationError

from workflows.messages import Inbound, InboundMessage, describe_problems, expected_fields

ANSWER_KEYS = ("answer_with", "problem", "rejected_answer")


async def ask(
    ctx: WorkflowContext[Any, Any], question: dict[str, Any], answer: type[InboundMessage]
) -> None:
    """Pause the run until a person answers ``question`` with an ``answer`` model."""
    await ctx.request_info({**question, "answer_with": expected_fields(answer)}, object)


def question_of(request: dict[str, Any]) -> dict[str, Any]:
    """The question a request asked, without what :func:`ask` and :func:`read_answer` added."""
    return {key: value for key, value in request.items() if key not in ANSWER_KEYS}


async def read_answer(
    ctx: WorkflowContext[Any, Any], request: dict[str, Any], answer: object, model: type[Inbound]
) -> Inbound | None:
    """Return ``answer`` as a ``model``, or ask again saying what was wrong and return None."""
    try:
        return model.model_validate(answer)
    except ValidationError as error:
        await ctx.request_info(
            {
                **question_of(request),
                "answer_with": expected_fields(model),
                "problem": f"The last answer was not used: {describe_problems(model, error)}.",
                "rejected_answer": answer,
            },
            object,
        )
        return None
