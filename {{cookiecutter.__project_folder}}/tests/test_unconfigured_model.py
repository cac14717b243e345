"""Without model settings, the agent workflow fails naming the missing setting.

Served from the app's real ``function_app.py`` (not the offline one) with every model
setting blank, as on a machine where nobody has filled in local.settings.json yet.
"""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from model_client import REQUIRED_SETTINGS
from tests.http_host import Host, embedded_host
from workflows.content_review import WORKFLOW_NAME as REVIEW

pytestmark = pytest.mark.http


@pytest.fixture(scope="module")
def unconfigured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Host]:
    if os.environ.get("DAFX_BASE_URL") or os.environ.get("DAFX_HTTP_HOST", "embedded") == "func":
        pytest.skip("blanks the model settings of a host it starts: runs on the embedded host only")
    blank = {name: "" for name in REQUIRED_SETTINGS}
    log_dir = Path(tmp_path_factory.mktemp("unconfigured"))
    with embedded_host(log_dir, "function_app:app", blank) as host:
        yield host


def test_an_agent_workflow_run_fails_naming_the_missing_setting(unconfigured: Host) -> None:
    response = unconfigured.start(REVIEW, "Dark mode is here")
    assert response.status_code == 202, response.text

    final = unconfigured.finished(response.json()["statusQueryGetUri"])

    assert final["runtimeStatus"] == "Failed"
    assert f"The app setting {REQUIRED_SETTINGS[0]} is not set" in final["error"]


def test_the_agent_route_answers_200_with_an_empty_response_when_the_model_fails(
    unconfigured: Host,
) -> None:
    """AgentFunctionApp's own route, pinned: see docs/known-limitations.md."""
    response = requests.post(
        unconfigured.url(f"agents/{REVIEW}-writer/run"),
        json={"message": "Dark mode is here"},
        headers=unconfigured.headers,
        timeout=60,
    )

    assert response.status_code == 200
    assert (response.json()["status"], response.json()["response"]) == ("success", "")
