"""Content review: a writer agent drafts, an editor agent reviews, a plain step publishes.

Agent executors run as durable entities (one conversation per workflow run); the plain steps
(``take_brief``, ``hand_over``, ``publish``) run as activities. The model client is created
on first use, so building this workflow needs no credentials; ``take_brief`` checks the model
settings first, so a run without them fails naming the missing setting.

On the durable hosts an agent whose model call fails (a refused token, a quota) still
answers, with no text: the error itself stays in the host log. ``hand_over`` and ``publish``
read every reply with :func:`reply_text`, so such a run fails instead of passing an empty
draft on.
"""

from dataclasses import dataclass

from agent_framework import (
    Agent,
    AgentExecutorResponse,
    FunctionExecutor,
    SupportsChatGetResponse,
    Workflow,
    WorkflowBuilder,
    WorkflowContext,
    executor,
)
from pydantic import TypeAdapter, ValidationError

from model_client import LazyChatClient
from workflows.catalog import DeclaredWorkflow, Example, RejectedStart
from workflows.messages import BadStartMessageError, NonEmptyText, preview

WORKFLOW_NAME = "{{ cookiecutter.agent_workflow }}"

WRITER_INSTRUCTIONS = (
    "You write short, friendly product announcements of at most 80 words from the brief you "
    "are given. Reply with the announcement only."
)
EDITOR_INSTRUCTIONS = (
    "You are a careful editor. Improve the announcement you are given for clarity and tone, "
    "keep it under 80 words, and reply with the final text only."
)


@dataclass
class PublishedPost:
    text: str
    edited_by: str


BRIEF = TypeAdapter(NonEmptyText)


class AgentReplyError(RuntimeError):
    """An agent's reply has no text to pass on."""


def reply_text(reply: AgentExecutorResponse) -> str:
    """The text of an agent's reply; raise if there is none."""
    text = reply.agent_response.text
    if not text.strip():
        raise AgentReplyError(
            f"The {reply.executor_id} agent replied with no text: its model call most likely "
            "failed. The host log has the agent's error."
        )
    return text


def brief_taker(model: SupportsChatGetResponse) -> FunctionExecutor:
    """The start step: checks the model settings, then passes the brief (plain text) on."""

    async def take_brief(body: object, ctx: WorkflowContext[str]) -> None:
        if isinstance(model, LazyChatClient):
            model.require_settings()
        try:
            brief = BRIEF.validate_python(body, strict=True)
        except ValidationError:
            raise BadStartMessageError(
                f"The body must be the brief as non-empty plain text, got {preview(body)}."
            ) from None
        await ctx.send_message(brief)

    return executor(id="take_brief")(take_brief)


async def hand_over(draft: AgentExecutorResponse, ctx: WorkflowContext[str]) -> None:
    await ctx.send_message(reply_text(draft))


async def publish(review: AgentExecutorResponse, ctx: WorkflowContext[None, PublishedPost]) -> None:
    await ctx.yield_output(PublishedPost(reply_text(review), review.executor_id))


def build_content_review_workflow(client: SupportsChatGetResponse | None = None) -> Workflow:
    model = client or LazyChatClient()
    writer = Agent(client=model, name="writer", instructions=WRITER_INSTRUCTIONS)
    editor = Agent(client=model, name="editor", instructions=EDITOR_INSTRUCTIONS)
    intake = brief_taker(model)
    handover = executor(id="hand_over")(hand_over)
    publisher = executor(id="publish")(publish)
    return (
        WorkflowBuilder(name=WORKFLOW_NAME, start_executor=intake, output_from=[publisher])
        .add_chain([intake, writer, handover, editor, publisher])
        .build()
    )


WORKFLOW = DeclaredWorkflow(
    name=WORKFLOW_NAME,
    build=build_content_review_workflow,
    activities=("take_brief", "hand_over", "publish"),
    agents=("writer", "editor"),
    uses_model=True,
    examples=(
        Example(
            "writer-and-editor-agents-both-revise-the-post",
            "Dark mode is here",
            {"text": "Dark mode is here (edited) (edited)", "edited_by": "editor"},
            calls_the_model=True,
        ),
    ),
    rejected_starts=(
        RejectedStart(
            "brief-that-is-not-text",
            {"brief": "Dark mode"},
            ('The body must be the brief as non-empty plain text, got {"brief": "Dark mode"}',),
        ),
    ),
)
