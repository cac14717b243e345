"""Content review, run in-process with an offline fake model."""

from collections.abc import Sequence

import pytest
from agent_framework import Message

from tests.fake_chat_client import FakeChatClient
from workflows.content_review import AgentReplyError, PublishedPost, build_content_review_workflow
from workflows.messages import BadStartMessageError


class SilentChatClient(FakeChatClient):
    """Answers every call with no text, as a durable agent whose model call failed does."""

    def _answer(self, messages: Sequence[Message]) -> str:
        super()._answer(messages)
        return ""


async def test_writer_then_editor_revise_the_brief_before_publishing() -> None:
    model = FakeChatClient()

    result = await build_content_review_workflow(model).run("Dark mode is here")

    assert model.prompts == ["Dark mode is here", "Dark mode is here (edited)"]
    assert result.get_outputs() == [
        PublishedPost("Dark mode is here (edited) (edited)", edited_by="editor")
    ]


@pytest.mark.parametrize("brief", ["", "   ", {"brief": "Dark mode"}, ["Dark mode"]])
async def test_a_brief_that_is_not_text_is_refused_before_any_model_call(brief: object) -> None:
    model = FakeChatClient()

    with pytest.raises(BadStartMessageError, match="must be the brief as non-empty plain text"):
        await build_content_review_workflow(model).run(brief)

    assert model.prompts == []


async def test_an_empty_agent_reply_fails_the_run_instead_of_being_passed_on() -> None:
    model = SilentChatClient()

    with pytest.raises(AgentReplyError, match="The writer agent replied with no text"):
        await build_content_review_workflow(model).run("Dark mode is here")

    assert model.prompts == ["Dark mode is here"]
