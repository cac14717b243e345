"""The model client is created lazily, so missing settings fail on first use, not import."""

import pytest
from agent_framework import Message

from model_client import REQUIRED_SETTINGS, LazyChatClient, MissingSettingError
from tests.fake_chat_client import FakeChatClient


def test_creating_the_lazy_client_reads_no_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in REQUIRED_SETTINGS:
        monkeypatch.delenv(name, raising=False)

    LazyChatClient()


@pytest.mark.parametrize("missing", REQUIRED_SETTINGS)
async def test_first_model_call_names_the_missing_setting(
    monkeypatch: pytest.MonkeyPatch, missing: str
) -> None:
    for name in REQUIRED_SETTINGS:
        monkeypatch.setenv(name, "https://example.invalid/" if "ENDPOINT" in name else "gpt")
    monkeypatch.delenv(missing)

    with pytest.raises(MissingSettingError, match=missing):
        await LazyChatClient().get_response([Message(role="user", contents=["hi"])])


async def test_the_real_client_is_created_once_and_reused() -> None:
    created: list[FakeChatClient] = []

    def factory() -> FakeChatClient:
        created.append(FakeChatClient())
        return created[-1]

    lazy = LazyChatClient(factory)
    for text in ("one", "two"):
        await lazy.get_response([Message(role="user", contents=[text])])

    assert len(created) == 1
    assert created[0].prompts == ["one", "two"]


def test_a_placeholder_from_the_sample_settings_counts_as_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in REQUIRED_SETTINGS:
        monkeypatch.setenv(name, "https://example.invalid/" if "ENDPOINT" in name else "gpt")
    monkeypatch.setenv(REQUIRED_SETTINGS[-1], "<your-deployment-name>")

    with pytest.raises(MissingSettingError, match="still the placeholder <your-deployment-name>"):
        LazyChatClient().require_settings()


def test_checking_the_settings_names_a_missing_one_without_creating_a_client(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in REQUIRED_SETTINGS:
        monkeypatch.delenv(name, raising=False)

    with pytest.raises(MissingSettingError, match=f"{REQUIRED_SETTINGS[0]} is not set"):
        LazyChatClient(factory=FakeChatClient).require_settings()
