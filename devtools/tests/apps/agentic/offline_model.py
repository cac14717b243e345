"""A chat client that never leaves the machine: it answers in upper case.

devhost's tests keep their own fake rather than the project's tests/fake_chat_client.py,
which exists only in projects generated with a model provider.
"""

from __future__ import annotations

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


class ShoutingChatClient(BaseChatClient):
    """Replies with the last prompt in upper case, streamed or not."""

    def _inner_get_response(
        self,
        *,
        messages: Sequence[Message],
        stream: bool,
        options: Mapping[str, Any],
        **kwargs: Any,
    ) -> Awaitable[ChatResponse] | ResponseStream[ChatResponseUpdate, ChatResponse]:
        reply = (messages[-1].text if messages else "").upper()
        created_at = datetime.now(UTC).isoformat()
        if stream:

            async def updates() -> AsyncIterator[ChatResponseUpdate]:
                yield ChatResponseUpdate(
                    role="assistant", contents=[Content.from_text(reply)], created_at=created_at
                )

            return ResponseStream(updates(), finalizer=ChatResponse.from_updates)

        async def whole() -> ChatResponse:
            return ChatResponse(
                messages=[Message(role="assistant", contents=[reply])], created_at=created_at
            )

        return whole()
