"""Asking a person, and acting only on an answer that is valid.

A request is a plain dict, so the status route shows it as readable JSON, and it says what
to send (``answer_with``). The respond route delivers whatever JSON the caller posted, so a
response handler takes ``object`` and calls :func:`read_answer`: a valid answer comes back as
its model; anything else asks the same question again, with ``problem`` saying what was
wrong and ``rejected_answer`` echoing it. The run keeps waiting and nothing is guessed.

On the durable hosts a question keeps its request id when it is asked again, so the
``respondUrl`` a person was given stays the one to answer on after a refusal.
AgentFunctionApp's respond route acknowledges an answer to any id of a running instance, so
an answer to a replaced id would be lost. :func:`ask` keeps the id in the request as
``question_id``, and :func:`read_answer` asks again under it.

A long rejected answer is echoed only in part (its first ``ECHO_CHARACTERS`` of JSON and its
size): the new request is a durable payload, and echoing a large answer whole would take it
over the Durable Task Scheduler's payload limit and fail the run instead of asking again.

In process (``workflow.run``, the tests under ``tests/workflows``), the question is asked
again under a new id: the core runner hides a request asked under the id being answered, and
refuses an answer to an id that is not pending with a ``ValueError`` naming it.
"""

import json
import uuid
from typing import Any

from agent_framework import WorkflowContext
from agent_framework_azurefunctions import WorkflowHitlContext
from pydantic import ValidationError

from workflows.messages import Inbound, InboundMessage, describe_problems, expected_fields

QUESTION_ID = "question_id"
ADDED_KEYS = ("answer_with", "problem", "rejected_answer", QUESTION_ID)
# A rejected answer whose JSON is longer than this is echoed as its start and its size.
ECHO_CHARACTERS = 1_000


async def ask(
    ctx: WorkflowContext[Any, Any], question: dict[str, Any], answer: type[InboundMessage]
) -> None:
    """Pause the run until a person answers ``question`` with an ``answer`` model."""
    await request(ctx, {**question, "answer_with": expected_fields(answer)}, str(uuid.uuid4()))


def question_of(request: dict[str, Any]) -> dict[str, Any]:
    """The question a request asked, without what :func:`ask` and :func:`read_answer` added."""
    return {key: value for key, value in request.items() if key not in ADDED_KEYS}


def id_to_ask_again_under(ctx: WorkflowContext[Any, Any], asked: dict[str, Any]) -> str:
    """The request's own id on a durable host, where callers answer by URL; else a new one."""
    kept = asked.get(QUESTION_ID)
    if isinstance(kept, str) and kept and WorkflowHitlContext.from_context(ctx) is not None:
        return kept
    return str(uuid.uuid4())


async def request(ctx: WorkflowContext[Any, Any], data: dict[str, Any], request_id: str) -> None:
    await ctx.request_info({**data, QUESTION_ID: request_id}, object, request_id=request_id)


def echo(answer: object) -> object:
    """``answer`` itself when short, else the start of its JSON and its size in bytes."""
    try:
        text = json.dumps(answer)
    except (TypeError, ValueError):
        text = repr(answer)
    if len(text) <= ECHO_CHARACTERS:
        return answer
    size = len(text.encode("utf-8"))
    return f"{text[:ECHO_CHARACTERS]}... (not echoed whole: {size:,} bytes of JSON in all)"


async def read_answer(
    ctx: WorkflowContext[Any, Any], asked: dict[str, Any], answer: object, model: type[Inbound]
) -> Inbound | None:
    """Return ``answer`` as a ``model``, or ask again saying what was wrong and return None."""
    try:
        return model.model_validate(answer)
    except ValidationError as error:
        again = {
            **question_of(asked),
            "answer_with": expected_fields(model),
            "problem": f"The last answer was not used: {describe_problems(model, error)}.",
            "rejected_answer": echo(answer),
        }
        await request(ctx, again, id_to_ask_again_under(ctx, asked))
        return None
