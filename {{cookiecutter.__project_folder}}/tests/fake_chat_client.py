"""An offline chat client: answers every call from a script, records what it was asked."""

from collections.abc import AsyncIterator, Awaitable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from agent_framework import (
    BaseChatClient,
    ChatResponse,
    ChatResponseUpdate,
    Content,
    Message,
    ResponseStream,
)


class FakeChatClient(BaseChatClient):
    """Replies to the last message of every call with that text plus `` (edited)``."""

    def __init__(self) -> None:
        super().__init__()
        self.prompts: list[str] = []

    def _answer(self, messages: Sequence[Message]) -> str:
        prompt = messages[-1].text if messages else ""
        self.prompts.append(prompt)
        return f"{prompt} (edited)"

    def _inner_get_response(
        self,
        *,
        messages: Sequence[Message],
        stream: bool,
        options: Mapping[str, Any],
        **kwargs: Any,
    ) -> Awaitable[ChatResponse] | ResponseStream[ChatResponseUpdate, ChatResponse]:
        text = self._answer(messages)
        created_at = datetime.now(UTC).isoformat()
        if stream:

            async def updates() -> AsyncIterator[ChatResponseUpdate]:
                yield ChatResponseUpdate(
                    role="assistant", contents=[Content.from_text(text)], created_at=created_at
                )

            return ResponseStream(updates(), finalizer=ChatResponse.from_updates)

        async def response() -> ChatResponse:
            return ChatResponse(
                messages=[Message(role="assistant", contents=[text])], created_at=created_at
            )

        return response()
