"""Content review, run in-process with an offline fake model."""

from tests.fake_chat_client import FakeChatClient
from workflows.content_review import PublishedPost, build_content_review_workflow


async def test_writer_then_editor_revise_the_brief_before_publishing() -> None:
    model = FakeChatClient()

    result = await build_content_review_workflow(model).run("Dark mode is here")

    assert model.prompts == ["Dark mode is here", "Dark mode is here (edited)"]
    assert result.get_outputs() == [
        PublishedPost("Dark mode is here (edited) (edited)", edited_by="editor")
    ]
