"""The model client is created lazily, so missing settings fail on first use, not import;
its calls are bounded in time and retries, and a failed call says why.

The provider tests run the real provider client against a model server on loopback."""

{% if cookiecutter.__hosted_agent_workflow != "none" %}
import os
{% endif %}
from collections.abc import Iterator
{% if cookiecutter.__hosted_agent_workflow != "none" %}
from dataclasses import dataclass
from pathlib import Path
{% endif %}
from typing import Any

import pytest
from agent_framework import Message

from model_client import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT_SECONDS,
    REQUIRED_SETTINGS,
    RETRIES_SETTING,
    TIMEOUT_SETTING,
    CallPolicy,
    LazyChatClient,
    MissingSettingError,
    ModelCallError,
    ModelSettingError,
    create_model_client,
)
from tests.fake_chat_client import FakeChatClient, FakeModelServer, StaticTokenCredential
{% if cookiecutter.__hosted_agent_workflow != "none" %}
from tests.http_host import Host, embedded_host
from workflows.content_review import WORKFLOW_NAME
{% endif %}

DEPLOYMENT = "fake-deployment"
HELLO = [Message(role="user", contents=["hi"])]


@pytest.fixture
def model_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """Settings of a model that answers quickly: a short timeout and one retry."""
    monkeypatch.setenv(REQUIRED_SETTINGS[1], DEPLOYMENT)
    monkeypatch.setenv(TIMEOUT_SETTING, "0.5")
    monkeypatch.setenv(RETRIES_SETTING, "1")
    yield monkeypatch


async def ask(client: LazyChatClient, stream: bool) -> Any:
    """One model call, streamed (as durable agents call first) or not, to its final answer."""
    if stream:
        return await client.get_response(HELLO, stream=True).get_final_response()
    return await client.get_response(HELLO)


def lazy_client_for(server: FakeModelServer, settings: pytest.MonkeyPatch) -> LazyChatClient:
    """The app's lazy client, created as in Azure but signing in with a fixed token."""
    settings.setenv(REQUIRED_SETTINGS[0], server.url)
    return LazyChatClient(lambda: create_model_client(credential=StaticTokenCredential()))


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
async def test_the_real_client_gets_its_answer_from_the_model_endpoint(
    model_settings: pytest.MonkeyPatch, stream: bool
) -> None:
    with FakeModelServer(text="hello back") as server:
        response = await ask(lazy_client_for(server, model_settings), stream)

    assert response.text == "hello back"
    [(path, body)] = server.requests
    assert path.partition("?")[0].endswith("/openai/v1/responses")
    assert body["model"] == DEPLOYMENT
{% if cookiecutter.model_provider == "azure_openai" %}
    # agent-framework-openai always asks for encrypted reasoning, which only reasoning models
    # accept: the infrastructure offers only those (infra/main.bicep, modelName).
    assert "reasoning.encrypted_content" in body["include"]
{% else %}
    assert "reasoning.encrypted_content" not in body.get("include", [])
{% endif %}


@pytest.mark.parametrize(
    ("behaviour", "cause"),
    [
        ("hang", "no answer within 0.5 s, on each of 2 attempts"),
        ("throttle", "throttled: HTTP 429 on each of 2 attempts"),
        ("fail", "server error: HTTP 500 on each of 2 attempts"),
    ],
)
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
async def test_a_model_that_hangs_or_fails_is_tried_a_bounded_number_of_times_then_named(
    model_settings: pytest.MonkeyPatch, behaviour: str, cause: str, stream: bool
) -> None:
    with FakeModelServer(behaviour) as server:
        client = lazy_client_for(server, model_settings)
        with pytest.raises(ModelCallError, match=f"call to {DEPLOYMENT} failed: {cause}"):
            await ask(client, stream)

    assert len(server.requests) == 2


@pytest.mark.parametrize("stream", [False, True], ids=["whole", "streamed"])
async def test_a_malformed_reply_fails_at_once_naming_it(
    model_settings: pytest.MonkeyPatch, stream: bool
) -> None:
    with FakeModelServer("malformed") as server:
        client = lazy_client_for(server, model_settings)
        with pytest.raises(ModelCallError, match=f"call to {DEPLOYMENT} failed: unreadable reply"):
            await ask(client, stream)

    assert len(server.requests) == 1


{% if cookiecutter.__hosted_agent_workflow != "none" %}
@dataclass
class LoopbackModelHost:
    server: FakeModelServer
    host: Host
    log: Path


@pytest.fixture(scope="module")
def loopback_model(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoopbackModelHost]:
    """The app on devhost, its agents calling a fake model server: one attempt of 0.5 s."""
    if os.environ.get("DAFX_BASE_URL") or os.environ.get("DAFX_HTTP_HOST", "embedded") == "func":
        pytest.skip("points the model settings of a host it starts at loopback: embedded only")
    with FakeModelServer() as server:
        settings = {
            REQUIRED_SETTINGS[0]: server.url,
            REQUIRED_SETTINGS[1]: DEPLOYMENT,
            TIMEOUT_SETTING: "0.5",
            RETRIES_SETTING: "0",
        }
        log_dir = Path(tmp_path_factory.mktemp("loopback_model"))
        with embedded_host(log_dir, "tests.loopback_model_function_app:app", settings) as host:
            yield LoopbackModelHost(server, host, log_dir / "embedded-host-1.log")


@pytest.mark.http
@pytest.mark.parametrize(
    ("behaviour", "cause"),
    [
        ("hang", "no answer within 0.5 s, on each of 1 attempt"),
        ("throttle", "throttled: HTTP 429 on each of 1 attempt"),
        ("fail", "server error: HTTP 500 on each of 1 attempt"),
        ("malformed", "unreadable reply"),
    ],
)
def test_a_durable_run_whose_model_fails_fails_naming_the_agent_and_logs_the_cause(
    loopback_model: LoopbackModelHost, behaviour: str, cause: str
) -> None:
    """The durable mapping keeps only an agent reply's text (agent-framework-durabletask's
    ``build_agent_executor_response``), so the run's error names the agent, and the cause
    reaches the host log, where the agent entity logs the exception it caught."""
    loopback_model.server.behaviour = behaviour
    response = loopback_model.host.start(WORKFLOW_NAME, f"Dark mode, {behaviour}")
    assert response.status_code == 202, response.text

    final = loopback_model.host.finished(response.json()["statusQueryGetUri"])

    assert final["runtimeStatus"] == "Failed"
    assert "The writer agent replied with no text" in final["error"]
    assert f"The model call to {DEPLOYMENT} failed: {cause}" in loopback_model.log.read_text()


{% endif %}
{% if cookiecutter.model_provider == "azure_openai" %}
def test_the_infrastructure_deploys_only_reasoning_models_which_the_client_works_with() -> None:
    """agent-framework-openai asks every reply for encrypted reasoning (pinned above), which
    non-reasoning deployments such as gpt-4.1-mini refuse with HTTP 400."""
    import json
    import re
    from pathlib import Path

    infra = Path(__file__).resolve().parents[1] / "infra"
    bicep = (infra / "main.bicep").read_text()
    parameter = json.loads((infra / "main.parameters.json").read_text())["parameters"]["modelName"]
    allowed = re.search(r"@allowed\(\[([^\]]*)\]\)\s*param modelName", bicep)
    default = re.fullmatch(r"\$\{AZURE_AI_MODEL_NAME=(.+)\}", parameter["value"])

    assert allowed is not None and default is not None
    names = re.findall(r"'([^']+)'", allowed.group(1))
    assert names
    assert all(re.fullmatch(r"gpt-5(-mini|-nano)?|o\d(-mini)?", name) for name in names), names
    assert default.group(1) in names


{% endif %}
def test_the_call_policy_defaults_are_deliberate_and_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(TIMEOUT_SETTING, raising=False)
    monkeypatch.delenv(RETRIES_SETTING, raising=False)

    policy = CallPolicy.from_environment()

    assert (policy.timeout_seconds, policy.max_retries) == (
        DEFAULT_TIMEOUT_SECONDS,
        DEFAULT_MAX_RETRIES,
    )
    # Three requests of at most 60 s, and at most two Retry-After waits of 120 s.
    assert policy.longest_call_seconds == 420


@pytest.mark.parametrize(
    ("name", "value"),
    [
        (TIMEOUT_SETTING, "0"),
        (TIMEOUT_SETTING, "soon"),
        (TIMEOUT_SETTING, "86400"),
        (RETRIES_SETTING, "-1"),
        (RETRIES_SETTING, "many"),
        (RETRIES_SETTING, "11"),
    ],
)
def test_a_call_setting_out_of_bounds_is_refused_naming_it(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(name, value)

    with pytest.raises(ModelSettingError, match=f"{name}={value} is not"):
        CallPolicy.from_environment()


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
