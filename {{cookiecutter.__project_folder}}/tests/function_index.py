"""The function index: what importing ``function_app`` registers, here or in a fresh process.

``import_app_in_fresh_process`` runs the import in a child process whose environment holds
nothing but ``PATH``, as the Functions host imports the app on a machine that has not been
configured yet: it must succeed, register everything, and load no telemetry SDK until a
setting asks for one. ``registered_in_this_process`` is for tests that only need the names.
"""

import functools
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parents[1]
TELEMETRY_PACKAGES = ("opentelemetry.sdk", "opentelemetry.exporter", "azure.monitor")
IMPORT_APP = """
import json
import sys

import function_app
import worker
from tests.function_index import registered_functions

telemetry = sorted(m for m in sys.modules if m.startswith(tuple(sys.argv[1:])))
functions = registered_functions(function_app.app)
print(json.dumps({"functions": functions, "telemetry_modules": telemetry}))
"""


@dataclass(frozen=True)
class FreshImport:
    functions: list[dict[str, Any]]
    """What ``registered_functions`` says of the app."""
    telemetry_modules: list[str]
    """The OpenTelemetry SDK, exporter and Azure Monitor modules the import loaded."""


def registered_functions(app: Any) -> list[dict[str, Any]]:
    """Name, trigger type, route, methods and auth level of every function ``app`` registers."""
    functions = []
    for function in app.get_functions():
        trigger = function.get_trigger().get_dict_repr()
        auth_level = trigger.get("authLevel")
        functions.append(
            {
                "name": function.get_function_name(),
                "trigger": trigger["type"],
                "route": trigger.get("route"),
                "methods": [str(getattr(m, "value", m)) for m in trigger.get("methods") or []],
                "authLevel": str(getattr(auth_level, "name", auth_level)),
            }
        )
    return functions


@functools.cache
def registered_in_this_process() -> list[dict[str, Any]]:
    """``registered_functions`` of ``function_app.app``, imported in this process.

    Read once per process: azure-functions registers the functions as it lists them, so a
    second ``get_functions()`` on the same app fails on a duplicate name.
    """
    import function_app

    return registered_functions(function_app.app)


def import_app_in_fresh_process() -> FreshImport:
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_APP, *TELEMETRY_PACKAGES],
        cwd=PROJECT,
        env={"PATH": os.environ.get("PATH", os.defpath)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"importing function_app failed:\n{result.stderr}"
    return FreshImport(**json.loads(result.stdout.strip().splitlines()[-1]))
