"""Content review: a writer agent drafts, an editor agent reviews, a plain step publishes.

Agent executors run as durable entities (one conversation per workflow run); the plain
``publish`` step runs as an activity. The model client is created on first use, so building
this workflow needs no credentials.
"""

from dataclasses import dataclass

from agent_framework import (
    Agent,
    AgentExecutorResponse,
    SupportsChatGetResponse,
    Workflow,
    WorkflowBuilder,
    WorkflowContext,
    executor,
)

from model_client import LazyChatClient

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


async def publish(review: AgentExecutorResponse, ctx: WorkflowContext[None, PublishedPost]) -> None:
    await ctx.yield_output(PublishedPost(review.agent_response.text, review.executor_id))


def build_content_review_workflow(client: SupportsChatGetResponse | None = None) -> Workflow:
    model = client or LazyChatClient()
    writer = Agent(client=model, name="writer", instructions=WRITER_INSTRUCTIONS)
    editor = Agent(client=model, name="editor", instructions=EDITOR_INSTRUCTIONS)
    publisher = executor(id="publish")(publish)
    return (
        WorkflowBuilder(name=WORKFLOW_NAME, start_executor=writer, output_from=[publisher])
        .add_chain([writer, editor, publisher])
        .build()
    )
