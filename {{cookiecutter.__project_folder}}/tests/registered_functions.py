"""What Azure indexes: the functions a fresh import of ``function_app`` registers.

The import runs in a child process with no model settings at all, as the Functions host does
on a machine that has not been configured yet: it must succeed and register everything.
"""

import functools
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parents[1]
MODEL_SETTINGS = (
    "AZURE_OPENAI_ENDPOINT",
    "AZURE_OPENAI_CHAT_MODEL",
    "FOUNDRY_PROJECT_ENDPOINT",
    "FOUNDRY_MODEL",
)
INDEX_APP = """
import json
import function_app

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
print(json.dumps(functions))
"""


@functools.cache
def registered_functions() -> list[dict[str, Any]]:
    """Name, trigger type, route, methods and auth level of every function the app registers.

    Imported once per test session (callers do not change the list)."""
    env = {k: v for k, v in os.environ.items() if k not in MODEL_SETTINGS}
    result = subprocess.run(
        [sys.executable, "-c", INDEX_APP],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, f"importing function_app failed:\n{result.stderr}"
    functions: list[dict[str, Any]] = json.loads(result.stdout.strip().splitlines()[-1])
    return functions
