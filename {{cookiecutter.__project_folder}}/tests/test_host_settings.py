"""host.json and the local settings select the Durable Task Scheduler, not Azure Storage.

Without ``storageProvider.type = azureManaged`` the Functions host silently falls back to the
Azure Storage backend, and a hub name that differs between host.json, the settings and the
emulator leaves orchestrations that never start; these checks guard both traps offline.
"""

import json
import re
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parents[1]


def read_json(name: str) -> Any:
    return json.loads((PROJECT / name).read_text())


def test_durable_task_uses_the_scheduler_backend() -> None:
    durable = read_json("host.json")["extensions"]["durableTask"]

    assert durable["storageProvider"] == {
        "type": "azureManaged",
        "connectionStringName": "DURABLE_TASK_SCHEDULER_CONNECTION_STRING",
{% if cookiecutter.worker_pool != "none" %}
        # The app sends the scheduler the functions it hosts, without the disabled activities
        # of the worker pool (docs/deploy.md, "Worker pool").
        "workItemFilteringEnabled": True,
{% endif %}
    }


def test_the_task_hub_name_comes_from_the_taskhub_name_setting() -> None:
    assert read_json("host.json")["extensions"]["durableTask"]["hubName"] == "%TASKHUB_NAME%"


def test_the_extension_bundle_is_the_ga_range_the_agent_framework_recommends() -> None:
    """4.30.0 first shipped the scheduler provider; the Agent Framework recommends 4.38.1 or later
    (scheduler extension 1.10.0), below the next major version."""
    bundle = read_json("host.json")["extensionBundle"]
    bounds = re.fullmatch(r"\[(\d+)\.(\d+)\.(\d+), (\d+)\.(\d+)\.(\d+)\)", bundle["version"])

    assert bundle["id"] == "Microsoft.Azure.Functions.ExtensionBundle"
    assert bounds is not None, bundle["version"]
    lowest, next_major = tuple(map(int, bounds.groups()[:3])), tuple(map(int, bounds.groups()[3:]))
    assert lowest >= (4, 38, 1)
    assert next_major == (5, 0, 0)


def test_local_settings_point_at_azurite_and_the_emulator_hub() -> None:
    values = read_json("local.settings.sample.json")["Values"]

    assert values["AzureWebJobsStorage"] == "UseDevelopmentStorage=true"
    assert values["DURABLE_TASK_SCHEDULER_CONNECTION_STRING"].startswith(
        "Endpoint=http://localhost:8080;"
    )
    assert values["TASKHUB_NAME"] == "default"
    assert values["FUNCTIONS_WORKER_RUNTIME"] == "python"


def test_local_settings_hold_no_secret() -> None:
    text = (PROJECT / "local.settings.sample.json").read_text().lower()

    assert not re.search(r"accountkey|api_key|apikey|sharedaccess|password", text)
