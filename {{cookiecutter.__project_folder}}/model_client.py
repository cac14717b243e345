"""The chat client behind the agent executors, created on first use, failing fast and saying why.

Building the workflows must never need credentials or settings: Azure indexes the app by
importing ``function_app.py``, and an import error there shows up as "0 functions found".
So agents get a :class:`LazyChatClient`, which reads its settings and authenticates with
``DefaultAzureCredential`` (the app's managed identity in Azure, your developer login locally)
the first time an agent actually calls the model.

Every model request has a timeout and a bounded number of retries (:class:`CallPolicy`), set
here rather than left at the OpenAI SDK's defaults (600 s a request). A model call that still
fails raises :class:`ModelCallError`, whose message names the deployment and the cause: no
answer in time, throttling, a server error, or a reply the client could not read.
"""

import os
import re
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from agent_framework import ChatResponse, Message, ResponseStream, SupportsChatGetResponse
from azure.core.credentials_async import AsyncTokenCredential

{% if cookiecutter.model_provider == "azure_openai" %}
REQUIRED_SETTINGS = ("AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_CHAT_MODEL")
{% else %}
REQUIRED_SETTINGS = ("FOUNDRY_PROJECT_ENDPOINT", "FOUNDRY_MODEL")
{% endif %}
TIMEOUT_SETTING = "MODEL_REQUEST_TIMEOUT_SECONDS"
RETRIES_SETTING = "MODEL_MAX_RETRIES"
DEFAULT_TIMEOUT_SECONDS = 60.0
DEFAULT_MAX_RETRIES = 2
# The OpenAI SDK waits out a server's Retry-After of up to two minutes between attempts.
MAX_RETRY_AFTER_SECONDS = 120.0
# Bounds a setting may take: an hour per request, and a handful of retries.
MAX_TIMEOUT_SECONDS = 3600.0
MAX_RETRIES = 10


# local.settings.sample.json ships values such as "https://<your-resource>.openai.azure.com/".
PLACEHOLDER = re.compile(r".*<[^<>]+>.*")


class MissingSettingError(RuntimeError):
    """An app setting the model client needs is absent."""


class ModelSettingError(RuntimeError):
    """A model call setting has a value this app cannot use."""


class ModelCallError(RuntimeError):
    """A model call failed after its retries; the message names the deployment and the cause."""


def require_setting(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value or PLACEHOLDER.fullmatch(value):
        state = f"is still the placeholder {value}" if value else "is not set"
        raise MissingSettingError(
            f"The app setting {name} {state}. Set it in local.settings.json (Values) when "
            "running locally, or in the Function App's application settings in Azure."
        )
    return value


@dataclass(frozen=True)
class CallPolicy:
    """How long one model request may take, and how often a failed one is tried again.

    The OpenAI SDK retries connection errors, timeouts, 408, 409, 429 and 5xx replies, with
    exponential backoff or the server's Retry-After; other errors fail at once.
    """

    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    max_retries: int = DEFAULT_MAX_RETRIES

    @property
    def attempts(self) -> int:
        return self.max_retries + 1

    @property
    def longest_call_seconds(self) -> float:
        """The longest one model call can take before it fails."""
        return self.attempts * self.timeout_seconds + self.max_retries * MAX_RETRY_AFTER_SECONDS

    @classmethod
    def from_environment(cls) -> "CallPolicy":
        """The policy the app settings ask for; the defaults where they are unset."""
        timeout = os.environ.get(TIMEOUT_SETTING, "").strip()
        retries = os.environ.get(RETRIES_SETTING, "").strip()
        try:
            timeout_seconds = float(timeout) if timeout else DEFAULT_TIMEOUT_SECONDS
            valid = 0 < timeout_seconds <= MAX_TIMEOUT_SECONDS
        except ValueError:
            valid = False
        if not valid:
            raise ModelSettingError(
                f"The app setting {TIMEOUT_SETTING}={timeout} is not a number of seconds "
                f"above 0 and at most {MAX_TIMEOUT_SECONDS:g}."
            )
        if retries and not (retries.isdigit() and int(retries) <= MAX_RETRIES):
            raise ModelSettingError(
                f"The app setting {RETRIES_SETTING}={retries} is not a whole number from 0 "
                f"to {MAX_RETRIES}."
            )
        return cls(timeout_seconds, int(retries) if retries else DEFAULT_MAX_RETRIES)


def default_credential() -> AsyncTokenCredential:
    from azure.identity.aio import DefaultAzureCredential

    return DefaultAzureCredential()


def create_model_client(
    policy: CallPolicy | None = None, credential: AsyncTokenCredential | None = None
) -> SupportsChatGetResponse:
    """Create the provider's chat client from app settings, authenticating with Entra ID,
    with the call policy set on its OpenAI client."""
    endpoint, model = (require_setting(name) for name in REQUIRED_SETTINGS)
    policy = policy or CallPolicy.from_environment()
    credential = credential or default_credential()
{% if cookiecutter.model_provider == "azure_openai" %}
    from agent_framework.openai import OpenAIChatClient

    client = OpenAIChatClient(model, azure_endpoint=endpoint, credential=credential)
{% else %}
    from agent_framework.foundry import FoundryChatClient

    client = FoundryChatClient(project_endpoint=endpoint, model=model, credential=credential)
{% endif %}
    # The OpenAI SDK's own settings (openai.AsyncOpenAI.with_options): no library patched.
    client.client = client.client.with_options(
        timeout=policy.timeout_seconds, max_retries=policy.max_retries
    )
    return client


def describe_failure(error: BaseException, policy: CallPolicy) -> str:
    """The cause of a failed model call, in words, from the OpenAI SDK error behind it."""
    import openai

    cause: BaseException | None = error
    while cause is not None and not isinstance(cause, openai.OpenAIError):
        cause = cause.__cause__ or cause.__context__
    tries = f"{policy.attempts} attempt{'s' if policy.attempts > 1 else ''}"
    if isinstance(cause, openai.APITimeoutError):
        return f"no answer within {policy.timeout_seconds:g} s, on each of {tries}"
    if isinstance(cause, openai.APIConnectionError):
        return f"the endpoint could not be reached, on each of {tries} ({cause})"
    if isinstance(cause, openai.RateLimitError):
        return f"throttled: HTTP 429 on each of {tries} ({cause.message})"
    if isinstance(cause, openai.APIStatusError) and cause.status_code >= 500:
        return f"server error: HTTP {cause.status_code} on each of {tries} ({cause.message})"
    if isinstance(cause, openai.APIStatusError):
        return f"refused: HTTP {cause.status_code} ({cause.message})"
    if isinstance(cause, openai.OpenAIError):
        return f"unreadable reply: {type(cause).__name__}: {cause}"
    return f"unreadable reply: {type(error).__name__}: {error}"


class LazyChatClient:
    """Stands in for the real chat client and creates it on the first model call."""

    def __init__(
        self, factory: Callable[[], SupportsChatGetResponse] = create_model_client
    ) -> None:
        self.additional_properties: dict[str, Any] = {}
        self._factory = factory
        self._client: SupportsChatGetResponse | None = None
        self._policy: CallPolicy | None = None

    def require_settings(self) -> None:
        """Raise :class:`MissingSettingError` naming the first model setting that is missing,
        or :class:`ModelSettingError` for a call setting this app cannot use."""
        for name in REQUIRED_SETTINGS:
            require_setting(name)
        CallPolicy.from_environment()

    def get_response(self, messages: Sequence[Message], **kwargs: Any) -> Any:
        if self._client is None:
            self._policy = CallPolicy.from_environment()
            self._client = self._factory()
        policy = self._policy or CallPolicy()
        response = self._client.get_response(messages, **kwargs)
        if isinstance(response, ResponseStream):
            # A stream's errors surface as it is read, and its emptiness once it is finished.
            return response.with_pull_context_manager(
                lambda: self._named_failures(policy)
            ).with_result_gate(lambda final: self._require_content(final, policy))
        return self._answer(response, policy)

    async def _answer(self, response: Awaitable[ChatResponse], policy: CallPolicy) -> ChatResponse:
        with self._named_failures(policy):
            answer = await response
        self._require_content(answer, policy)
        return answer

    @contextmanager
    def _named_failures(self, policy: CallPolicy) -> Iterator[None]:
        try:
            yield
        except (ModelCallError, StopAsyncIteration):
            raise
        except Exception as error:
            raise ModelCallError(
                f"The model call to {deployment()} failed: {describe_failure(error, policy)}."
            ) from error

    @staticmethod
    def _require_content(answer: ChatResponse, policy: CallPolicy) -> None:
        if not any(message.contents for message in answer.messages):
            raise ModelCallError(
                f"The model call to {deployment()} failed: unreadable reply: it held no message."
            )


def deployment() -> str:
    """The model deployment the settings name, for error messages."""
    return os.environ.get(REQUIRED_SETTINGS[1], "").strip() or "the model"
