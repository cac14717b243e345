"""Make a freshly deployed Flex Consumption app pick up its functions and durable triggers.

Run by scripts/postdeploy.sh and .ps1, which azd starts after `azd deploy` (and `azd up`) with
the deployment's outputs in the environment. After a deployment to Flex Consumption the platform
can go on listing only the host's `WarmUp` function, and durable work then sits Pending until
someone presses Refresh in the portal (Azure/azure-functions-host#10169). The documented remedy is
the Azure Resource Manager `syncfunctiontriggers` action. This script calls it through the Azure
CLI (`az rest`, signed in as you), then reads the app's function list; while only `WarmUp` is
there (the new instance is still starting) it waits and syncs again, up to a fixed number of
attempts, and fails naming that limit if the functions never appear.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping
from typing import Any

# The Microsoft.Web API version the infrastructure uses (infra/app/function-app.bicep).
WEB_API_VERSION = "2025-03-01"
DEFAULT_ATTEMPTS = 10
DEFAULT_WAIT_SECONDS = 15.0
PLATFORM_FUNCTIONS = {"warmup"}


class SyncError(Exception):
    """The triggers could not be synced; the message says why and what to do."""


def setting(environment: Mapping[str, str], name: str) -> str:
    value = environment.get(name, "").strip()
    if not value:
        raise SyncError(
            f"{name} is not set: run this through `azd deploy` "
            "(or export the values from `azd env get-values`)."
        )
    return value


def positive_number(environment: Mapping[str, str], name: str, default: float) -> float:
    raw = environment.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SyncError(f"{name} must be a number, not {raw!r}.") from None
    if value < 0:
        raise SyncError(f"{name} must not be negative, not {raw!r}.")
    return value


def azure_cli() -> str:
    # shutil.which also finds az.cmd on Windows, which subprocess would not run by name.
    found = shutil.which("az")
    if found is None:
        raise SyncError(
            "The Azure CLI (az) is not on PATH: install it (https://aka.ms/azure-cli) "
            "and sign in with `az login`."
        )
    return found


def az_rest(az: str, method: str, url: str) -> str:
    completed = subprocess.run(
        [az, "rest", "--method", method, "--url", url],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if completed.returncode != 0:
        failure = completed.stderr.strip()
        raise SyncError(f"`az rest --method {method} --url {url}` failed: {failure}")
    return completed.stdout


def deployed_functions(listing: str) -> list[str]:
    """Function names in an ARM `functions` list, without the platform's own WarmUp."""
    document: dict[str, Any] = json.loads(listing or "{}")
    names = [str(item.get("name", "")).rsplit("/", 1)[-1] for item in document.get("value", [])]
    return [name for name in names if name and name.lower() not in PLATFORM_FUNCTIONS]


def sync(environment: Mapping[str, str]) -> list[str]:
    """Sync the triggers until the app lists its functions; return their names."""
    app_id = setting(environment, "AZURE_FUNCTION_APP_ID")
    attempts = int(positive_number(environment, "SYNC_TRIGGERS_ATTEMPTS", DEFAULT_ATTEMPTS))
    wait_seconds = positive_number(environment, "SYNC_TRIGGERS_WAIT_SECONDS", DEFAULT_WAIT_SECONDS)
    if attempts < 1:
        raise SyncError("SYNC_TRIGGERS_ATTEMPTS must be at least 1.")
    az = azure_cli()
    for attempt in range(1, attempts + 1):
        az_rest(az, "post", f"{app_id}/syncfunctiontriggers?api-version={WEB_API_VERSION}")
        listing = az_rest(az, "get", f"{app_id}/functions?api-version={WEB_API_VERSION}")
        functions = deployed_functions(listing)
        if functions:
            return functions
        if attempt < attempts:
            time.sleep(wait_seconds)
    raise SyncError(
        f"The app still lists no functions after {attempts} trigger syncs "
        f"{wait_seconds:g} s apart (SYNC_TRIGGERS_ATTEMPTS, SYNC_TRIGGERS_WAIT_SECONDS). "
        "Check the Function App's log stream for an import error, then run "
        "scripts/postdeploy.sh (or .ps1) again or press Refresh on the app's Overview page."
    )


def main() -> int:
    try:
        functions = sync(os.environ)
    except SyncError as error:
        print(f"Trigger sync failed: {error}", file=sys.stderr)
        return 1
    print(f"Triggers synced; the app lists {len(functions)} functions.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
