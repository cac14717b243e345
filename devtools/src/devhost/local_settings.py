"""Point local.settings.json at the Azure resources `azd provision` just created.

``devhost local-settings``, run by scripts/postprovision.sh and .ps1, which azd starts with
the deployment's outputs in the environment. Only the settings that come from Azure are
written: the Durable Task Scheduler connection (signed in as you,
`Authentication=DefaultAzure`), the task hub and the model settings. Every other value,
including your own additions, stays as it is. When an existing file changes, the previous
version is kept beside it and the changed names are listed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SETTINGS_FILE = "local.settings.json"
SAMPLE_FILE = "local.settings.sample.json"
# azd output name -> local setting name; model outputs exist only for the chosen provider.
COPIED_OUTPUTS = {
    "TASKHUB_NAME": "TASKHUB_NAME",
    "AZURE_OPENAI_ENDPOINT": "AZURE_OPENAI_ENDPOINT",
    "AZURE_OPENAI_CHAT_MODEL": "AZURE_OPENAI_CHAT_MODEL",
    "FOUNDRY_PROJECT_ENDPOINT": "FOUNDRY_PROJECT_ENDPOINT",
    "FOUNDRY_MODEL": "FOUNDRY_MODEL",
}


def azure_settings(environment: Mapping[str, str]) -> dict[str, str]:
    """The local settings that follow from the provisioned resources."""
    endpoint = environment.get("DURABLE_TASK_SCHEDULER_ENDPOINT", "").strip()
    if not endpoint:
        raise SystemExit(
            "DURABLE_TASK_SCHEDULER_ENDPOINT is not set: run this through `azd provision` "
            "(or export the values from `azd env get-values`)."
        )
    settings = {
        "DURABLE_TASK_SCHEDULER_CONNECTION_STRING": (
            f"Endpoint={endpoint};Authentication=DefaultAzure"
        )
    }
    for output, setting in COPIED_OUTPUTS.items():
        value = environment.get(output, "").strip()
        if value:
            settings[setting] = value
    return settings


def load(project: Path) -> dict[str, Any]:
    for name in (SETTINGS_FILE, SAMPLE_FILE):
        path = project / name
        if path.is_file():
            document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
            return document
    return {"IsEncrypted": False, "Values": {"FUNCTIONS_WORKER_RUNTIME": "python"}}


def update(project: Path, environment: Mapping[str, str]) -> list[str]:
    """Write the Azure settings into local.settings.json; return the names that changed."""
    document = load(project)
    values: dict[str, str] = document.setdefault("Values", {})
    changed = [
        name for name, value in azure_settings(environment).items() if values.get(name) != value
    ]
    if not changed:
        return []
    target = project / SETTINGS_FILE
    if target.exists():
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        shutil.copyfile(target, project / f"{SETTINGS_FILE}.{stamp}.bak")
    values.update(azure_settings(environment))
    target.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return changed


def main(argv: list[str] | None = None) -> int:
    """The command: update ``local.settings.json`` in ``--project-dir`` from the environment."""
    parser = argparse.ArgumentParser(
        prog="devhost local-settings",
        description="Point local.settings.json at the Azure resources azd provisioned.",
    )
    parser.add_argument(
        "--project-dir", type=Path, default=Path.cwd(), help="the project (default: current)"
    )
    project = parser.parse_args(argv).project_dir.resolve()
    existed = (project / SETTINGS_FILE).exists()
    changed = update(project, os.environ)
    if not changed:
        print(f"{SETTINGS_FILE} already points at the Azure resources.")
    else:
        backup = " (previous version saved as a .bak file beside it)" if existed else ""
        print(f"Updated {SETTINGS_FILE}{backup}: {', '.join(changed)}")
    return 0
