"""The post-deploy step syncs the Function App's triggers until its functions are listed.

`az` is replaced by a recording fake on PATH that answers like Azure Resource Manager, so the
real postdeploy.sh and sync_triggers.py run: which calls they make, when they sync again, and
how they fail. What the calls do in Azure is documented in the generated docs/deploy.md."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from infra_bake import Bake
from infra_bicep import resources

APP_ID = "/subscriptions/sub-1/resourceGroups/rg-dev/providers/Microsoft.Web/sites/func-abc"
WARMUP_ONLY = {"value": [{"name": "func-abc/WarmUp"}]}
DEPLOYED = {
    "value": [
        {"name": "func-abc/WarmUp"},
        {"name": "func-abc/health"},
        {"name": "func-abc/dafx-support_triage"},
    ]
}
FAKE_AZ = """#!{python}
import json, os, sys
arguments = sys.argv[1:]
with open(os.environ["FAKE_AZ_LOG"], "a", encoding="utf-8") as log:
    log.write(json.dumps(arguments) + "\\n")
method = arguments[arguments.index("--method") + 1]
if method == "post":
    failure = os.environ.get("FAKE_AZ_POST_FAILURE")
    if failure:
        sys.stderr.write(failure + "\\n")
        sys.exit(1)
    sys.exit(0)
path = os.environ["FAKE_AZ_LISTINGS"]
with open(path, encoding="utf-8") as source:
    listings = json.load(source)
print(json.dumps(listings[0]))
if len(listings) > 1:
    with open(path, "w", encoding="utf-8") as target:
        json.dump(listings[1:], target)
"""


@dataclass(frozen=True)
class Deployed:
    project: Path
    bin_dir: Path
    log: Path
    listings: Path

    def calls(self) -> list[list[str]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text(encoding="utf-8").splitlines()]

    def run(self, listings: list[object], **environment: str) -> subprocess.CompletedProcess[str]:
        self.listings.write_text(json.dumps(listings), encoding="utf-8")
        python_dir = str(Path(sys.executable).parent)
        env = {
            **os.environ,
            "PATH": os.pathsep.join([str(self.bin_dir), python_dir, os.environ["PATH"]]),
            "FAKE_AZ_LOG": str(self.log),
            "FAKE_AZ_LISTINGS": str(self.listings),
            "AZURE_FUNCTION_APP_ID": APP_ID,
            "SYNC_TRIGGERS_WAIT_SECONDS": "0",
            **environment,
        }
        return subprocess.run(
            ["sh", str(self.project / "scripts" / "postdeploy.sh")],
            cwd=self.project,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )


@pytest.fixture
def deployed(provider_bake: Bake, tmp_path: Path) -> Deployed:
    project = tmp_path / "project"
    shutil.copytree(provider_bake.project, project)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "az"
    fake.write_text(FAKE_AZ.format(python=sys.executable), encoding="utf-8")
    fake.chmod(0o755)
    return Deployed(project, bin_dir, tmp_path / "az.log", tmp_path / "listings.json")


def _urls(calls: list[list[str]], method: str) -> list[str]:
    return [c[c.index("--url") + 1] for c in calls if c[c.index("--method") + 1] == method]


def test_hook_syncs_the_triggers_of_the_deployed_app(deployed: Deployed) -> None:
    completed = deployed.run([DEPLOYED])

    assert completed.returncode == 0, completed.stderr
    assert _urls(deployed.calls(), "post") == [
        f"{APP_ID}/syncfunctiontriggers?api-version=2025-03-01"
    ]
    assert _urls(deployed.calls(), "get") == [f"{APP_ID}/functions?api-version=2025-03-01"]
    assert "2 functions" in completed.stdout


def test_hook_syncs_again_while_only_warmup_is_listed(deployed: Deployed) -> None:
    completed = deployed.run([WARMUP_ONLY, WARMUP_ONLY, DEPLOYED])

    assert completed.returncode == 0, completed.stderr
    assert len(_urls(deployed.calls(), "post")) == 3


def test_hook_gives_up_after_the_attempt_limit_and_names_it(deployed: Deployed) -> None:
    completed = deployed.run([WARMUP_ONLY], SYNC_TRIGGERS_ATTEMPTS="3")

    assert completed.returncode != 0
    assert len(_urls(deployed.calls(), "post")) == 3
    assert "after 3 trigger syncs" in completed.stderr
    assert "SYNC_TRIGGERS_ATTEMPTS" in completed.stderr


def test_hook_reports_what_the_azure_cli_said_when_a_call_fails(deployed: Deployed) -> None:
    completed = deployed.run([DEPLOYED], FAKE_AZ_POST_FAILURE="AuthorizationFailed: no access")

    assert completed.returncode != 0
    assert "AuthorizationFailed: no access" in completed.stderr
    assert _urls(deployed.calls(), "get") == []


def test_hook_refuses_to_run_without_the_app_id(deployed: Deployed) -> None:
    completed = deployed.run([DEPLOYED], AZURE_FUNCTION_APP_ID="")

    assert completed.returncode != 0
    assert "AZURE_FUNCTION_APP_ID is not set" in completed.stderr
    assert deployed.calls() == []


def test_hook_names_the_missing_azure_cli(deployed: Deployed) -> None:
    (deployed.bin_dir / "az").unlink()
    python_only = deployed.bin_dir.parent / "python-only"
    python_only.mkdir()
    (python_only / "python3").symlink_to(sys.executable)
    completed = deployed.run([DEPLOYED], PATH=os.pathsep.join([str(python_only), "/bin"]))

    assert completed.returncode != 0
    assert "Azure CLI (az) is not on PATH" in completed.stderr


def test_hook_uses_the_web_api_version_of_the_function_app(provider_bake: Bake) -> None:
    script = (provider_bake.project / "scripts" / "sync_triggers.py").read_text(encoding="utf-8")
    (hook_version,) = re.findall(r'WEB_API_VERSION = "([\d-]+)"', script)
    site_versions = {
        r.api_version for r in resources(provider_bake.infra) if r.type == "Microsoft.Web/sites"
    }
    assert site_versions == {hook_version}


def test_windows_hook_runs_under_powershell(deployed: Deployed) -> None:
    pwsh = shutil.which("pwsh")
    if pwsh is None:
        pytest.skip("PowerShell (pwsh) not found: install PowerShell 7 to run the Windows hook")
    deployed.listings.write_text(json.dumps([DEPLOYED]), encoding="utf-8")
    completed = subprocess.run(
        [pwsh, "-NoProfile", "-File", str(deployed.project / "scripts" / "postdeploy.ps1")],
        cwd=deployed.project,
        env={
            **os.environ,
            "PATH": os.pathsep.join([str(deployed.bin_dir), os.environ["PATH"]]),
            "FAKE_AZ_LOG": str(deployed.log),
            "FAKE_AZ_LISTINGS": str(deployed.listings),
            "AZURE_FUNCTION_APP_ID": APP_ID,
        },
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    assert len(_urls(deployed.calls(), "post")) == 1
