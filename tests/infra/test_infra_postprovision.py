"""The post-provision step points local.settings.json at Azure without losing a user's edits."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from infra_bake import Bake

ENDPOINT = "https://dts-abc.westeurope.durabletask.io"
AZD_OUTPUTS = {
    "DURABLE_TASK_SCHEDULER_ENDPOINT": ENDPOINT,
    "TASKHUB_NAME": "default",
    "AZURE_FUNCTION_APP_URL": "https://func-abc.azurewebsites.net",
    "AZURE_FUNCTION_APP_NAME": "func-abc",
    "AZURE_RESOURCE_GROUP": "rg-dev",
    "APPLICATIONINSIGHTS_NAME": "appi-abc",
    "DURABLE_TASK_SCHEDULER_DASHBOARD_URL": "https://dashboard.durabletask.io/x",
}
MODEL_OUTPUTS = {
    "none": {},
    "azure_openai": {
        "AZURE_OPENAI_ENDPOINT": "https://oai-abc.openai.azure.com/",
        "AZURE_OPENAI_CHAT_MODEL": "gpt-4.1-mini",
    },
    "foundry": {
        "FOUNDRY_PROJECT_ENDPOINT": "https://aif-abc.services.ai.azure.com/api/projects/proj-abc",
        "FOUNDRY_MODEL": "gpt-4.1-mini",
    },
}


@dataclass(frozen=True)
class Provisioned:
    project: Path
    model_provider: str

    @property
    def outputs(self) -> dict[str, str]:
        return {**AZD_OUTPUTS, **MODEL_OUTPUTS[self.model_provider]}


@pytest.fixture
def provisioned(provider_bake: Bake, tmp_path: Path) -> Provisioned:
    copy = tmp_path / "project"
    shutil.copytree(provider_bake.project, copy)
    return Provisioned(copy, provider_bake.model_provider)


def _values(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))["Values"]  # type: ignore[no-any-return]


def _run_posix_hook(project: Path, outputs: dict[str, str]) -> subprocess.CompletedProcess[str]:
    python_dir = str(Path(sys.executable).parent)
    return subprocess.run(
        ["sh", str(project / "scripts" / "postprovision.sh")],
        cwd=project,
        env={**os.environ, **outputs, "PATH": f"{python_dir}{os.pathsep}{os.environ['PATH']}"},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_hook_points_local_settings_at_the_azure_scheduler(provisioned: Provisioned) -> None:
    project = provisioned.project
    completed = _run_posix_hook(project, provisioned.outputs)
    assert completed.returncode == 0, completed.stderr
    values = _values(project / "local.settings.json")
    assert values["DURABLE_TASK_SCHEDULER_CONNECTION_STRING"] == (
        f"Endpoint={ENDPOINT};Authentication=DefaultAzure"
    )
    assert values["TASKHUB_NAME"] == "default"
    for name, value in MODEL_OUTPUTS[provisioned.model_provider].items():
        assert values[name] == value


def test_hook_keeps_other_settings_and_backs_up_the_previous_file(provisioned: Provisioned) -> None:
    project = provisioned.project
    settings = project / "local.settings.json"
    document = json.loads(settings.read_text(encoding="utf-8"))
    document["Values"]["MY_OWN_SETTING"] = "kept"
    settings.write_text(json.dumps(document), encoding="utf-8")
    before = settings.read_text(encoding="utf-8")

    completed = _run_posix_hook(project, provisioned.outputs)

    assert completed.returncode == 0, completed.stderr
    assert _values(settings)["MY_OWN_SETTING"] == "kept"
    assert _values(settings)["AzureWebJobsStorage"] == document["Values"]["AzureWebJobsStorage"]
    (backup,) = project.glob("local.settings.json.*.bak")
    assert backup.read_text(encoding="utf-8") == before
    assert "DURABLE_TASK_SCHEDULER_CONNECTION_STRING" in completed.stdout


def test_hook_leaves_an_up_to_date_file_untouched(provisioned: Provisioned) -> None:
    project = provisioned.project
    assert _run_posix_hook(project, provisioned.outputs).returncode == 0
    for backup in project.glob("local.settings.json.*.bak"):
        backup.unlink()
    settled = (project / "local.settings.json").read_text(encoding="utf-8")

    completed = _run_posix_hook(project, provisioned.outputs)

    assert completed.returncode == 0, completed.stderr
    assert (project / "local.settings.json").read_text(encoding="utf-8") == settled
    assert list(project.glob("local.settings.json.*.bak")) == []


def test_hook_refuses_to_run_without_the_deployment_outputs(provisioned: Provisioned) -> None:
    project = provisioned.project
    outputs = {
        k: v for k, v in provisioned.outputs.items() if k != "DURABLE_TASK_SCHEDULER_ENDPOINT"
    }
    env_without = {k: v for k, v in os.environ.items() if k != "DURABLE_TASK_SCHEDULER_ENDPOINT"}
    completed = subprocess.run(
        [sys.executable, "-m", "devhost", "local-settings"],
        cwd=project,
        env={**env_without, **outputs},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert completed.returncode != 0
    assert "DURABLE_TASK_SCHEDULER_ENDPOINT" in completed.stderr


def test_windows_hook_runs_under_powershell(provisioned: Provisioned) -> None:
    project = provisioned.project
    pwsh = shutil.which("pwsh")
    if pwsh is None:
        pytest.skip("PowerShell (pwsh) not found: install PowerShell 7 to run the Windows hook")
    completed = subprocess.run(
        [pwsh, "-NoProfile", "-File", str(project / "scripts" / "postprovision.ps1")],
        cwd=project,
        env={**os.environ, **provisioned.outputs},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    assert _values(project / "local.settings.json")["TASKHUB_NAME"] == "default"
