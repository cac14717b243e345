"""The chat client behind the agent executors, created on first use.

Building the workflows must never need credentials or settings: Azure indexes the app by
importing ``function_app.py``, and an import error there shows up as "0 functions found".
So agents get a :class:`LazyChatClient`, which reads its settings and authenticates with
``DefaultAzureCredential`` (the app's managed identity in Azure, your developer login locally)
the first time an agent actually calls the model.
"""

import os
import re
from collections.abc import Callable, Sequence
from typing import Any

from agent_framework import Message, SupportsChatGetResponse

{% if cookiecutter.model_provider == "azure_openai" %}
REQUIRED_SETTINGS = ("AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_CHAT_MODEL")
{% else %}
REQUIRED_SETTINGS = ("FOUNDRY_PROJECT_ENDPOINT", "FOUNDRY_MODEL")
{% endif %}


# local.settings.sample.json ships values such as "https://<your-resource>.openai.azure.com/".
PLACEHOLDER = re.compile(r".*<[^<>]+>.*")


class MissingSettingError(RuntimeError):
    """An app setting the model client needs is absent."""


def require_setting(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value or PLACEHOLDER.fullmatch(value):
        state = f"is still the placeholder {value}" if value else "is not set"
        raise MissingSettingError(
            f"The app setting {name} {state}. Set it in local.settings.json (Values) when "
            "running locally, or in the Function App's application settings in Azure."
        )
    return value


def create_model_client() -> SupportsChatGetResponse:
    """Create the provider's chat client from app settings, authenticating with Entra ID."""
    endpoint, model = (require_setting(name) for name in REQUIRED_SETTINGS)
{% if cookiecutter.model_provider == "azure_openai" %}
    from agent_framework.openai import OpenAIChatClient
    from azure.identity.aio import DefaultAzureCredential

    return OpenAIChatClient(model, azure_endpoint=endpoint, credential=DefaultAzureCredential())
{% else %}
    from agent_framework.foundry import FoundryChatClient
    from azure.identity.aio import DefaultAzureCredential

    return FoundryChatClient(
        project_endpoint=endpoint, model=model, credential=DefaultAzureCredential()
    )
{% endif %}


class LazyChatClient:
    """Stands in for the real chat client and creates it on the first model call."""

    def __init__(
        self, factory: Callable[[], SupportsChatGetResponse] = create_model_client
    ) -> None:
        self.additional_properties: dict[str, Any] = {}
        self._factory = factory
        self._client: SupportsChatGetResponse | None = None

    def require_settings(self) -> None:
        """Raise :class:`MissingSettingError` naming the first model setting that is missing."""
        for name in REQUIRED_SETTINGS:
            require_setting(name)

    def get_response(self, messages: Sequence[Message], **kwargs: Any) -> Any:
        if self._client is None:
            self._client = self._factory()
        return self._client.get_response(messages, **kwargs)
