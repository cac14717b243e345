"""What a fresh import of ``function_app`` does: the functions Azure indexes, the SDKs it loads.

The import runs in a child process whose environment holds nothing but ``PATH``, as the
Functions host imports the app on a machine that has not been configured yet: it must succeed,
register everything, and load no telemetry SDK until a setting asks for one. The session
fixture ``fresh_import`` (``tests/conftest.py``) runs it once for every test that reads it.
"""

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

functions = []
for function in function_app.app.get_functions():
    trigger = function.get_trigger().get_dict_repr()
    functions.append({
        "name": function.get_function_name(),
        "trigger": trigger["type"],
        "route": trigger.get("route"),
        "methods": [str(getattr(m, "value", m)) for m in trigger.get("methods") or []],
        "authLevel": str(getattr(trigger.get("authLevel"), "name", trigger.get("authLevel"))),
    })
telemetry = sorted(m for m in sys.modules if m.startswith(tuple(sys.argv[1:])))
print(json.dumps({"functions": functions, "telemetry_modules": telemetry}))
"""


@dataclass(frozen=True)
class FreshImport:
    functions: list[dict[str, Any]]
    """Name, trigger type, route, methods and auth level of every function registered."""
    telemetry_modules: list[str]
    """The OpenTelemetry SDK, exporter and Azure Monitor modules the import loaded."""


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
