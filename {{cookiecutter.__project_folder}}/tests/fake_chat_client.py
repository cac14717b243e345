"""Offline stand-ins for the model: a chat client that answers from a script, and a model
server on loopback that the real provider client talks to."""

import json
import threading
from collections.abc import AsyncIterator, Awaitable, Mapping, Sequence
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from agent_framework import (
    BaseChatClient,
    ChatResponse,
    ChatResponseUpdate,
    Content,
    Message,
    ResponseStream,
)
from azure.core.credentials import AccessToken


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


class StaticTokenCredential:
    """An async Entra ID credential that hands out a fixed token, for the fake model server."""

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.scopes = scopes
        return AccessToken("fake-token", int(datetime.now(UTC).timestamp()) + 3600)

    async def close(self) -> None:
        pass

    async def __aenter__(self) -> "StaticTokenCredential":
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        pass


def responses_api_reply(text: str) -> dict[str, Any]:
    """A completed Responses API reply whose one message is ``text``."""
    return {
        "id": "resp_fake",
        "object": "response",
        "created_at": int(datetime.now(UTC).timestamp()),
        "status": "completed",
        "model": "fake-model",
        "output": [
            {
                "type": "message",
                "id": "msg_fake",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": text, "annotations": []}],
            }
        ],
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "usage": {
            "input_tokens": 1,
            "output_tokens": 1,
            "total_tokens": 2,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens_details": {"reasoning_tokens": 0},
        },
    }


HANG_LIMIT_SECONDS = 60


class FakeModelServer:
    """A model endpoint on loopback that answers as ``behaviour`` says, recording each request.

    ``answer`` replies with text; ``hang`` accepts the request and never replies; ``throttle``
    replies 429, ``fail`` 500, ``malformed`` 200 with a body that is not JSON.
    """

    def __init__(self, behaviour: str = "answer", text: str = "fake answer") -> None:
        self.behaviour = behaviour
        self.text = text
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self._released = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                server.requests.append((self.path, body))
                if server.behaviour == "hang":
                    # Until the test ends; a client that never gives up fails the test after
                    # HANG_LIMIT_SECONDS (its connection closes) instead of hanging the suite.
                    server._released.wait(HANG_LIMIT_SECONDS)
                    return
                if server.behaviour == "answer" and body.get("stream"):
                    self.stream_answer(server.text)
                    return
                status, payload = {
                    "answer": (200, json.dumps(responses_api_reply(server.text)).encode()),
                    "throttle": (429, b'{"error": {"message": "Too many requests"}}'),
                    "fail": (500, b'{"error": {"message": "The model broke"}}'),
                    "malformed": (200, b"<html>not json</html>"),
                }[server.behaviour]
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                if status == 429:
                    self.send_header("Retry-After", "0")
                self.end_headers()
                self.wfile.write(payload)

            def stream_answer(self, text: str) -> None:
                """The reply as the Responses API streams it: server-sent events."""
                reply = responses_api_reply(text)
                events: list[dict[str, Any]] = [
                    {"type": "response.created", "response": {**reply, "output": []}},
                    {
                        "type": "response.output_text.delta",
                        "item_id": "msg_fake",
                        "output_index": 0,
                        "content_index": 0,
                        "delta": text,
                        "logprobs": [],
                    },
                    {"type": "response.completed", "response": reply},
                ]
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                for number, event in enumerate(events):
                    data = json.dumps({**event, "sequence_number": number})
                    self.wfile.write(f"event: {event['type']}\ndata: {data}\n\n".encode())
                self.wfile.flush()

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> "FakeModelServer":
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._released.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
