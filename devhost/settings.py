"""Settings, read once at start-up: the command line, host.json and local.settings.json."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_ROUTE_PREFIX = "api"
DEFAULT_TASK_HUB = "TestHubName"
DEFAULT_CONNECTION_NAME = "Storage"


@dataclass(frozen=True)
class HostSettings:
    """What the command line chooses."""

    project_dir: Path
    app: str = "function_app"
    host: str = "127.0.0.1"
    port: int = 7071
    # 1: durable work runs in the host process; N > 1: in N worker processes (see instances.py).
    instances: int = 1
    # Loopback port of the durable backend (gRPC); 0 picks a free one.
    backend_port: int = 0


@dataclass(frozen=True)
class ProjectSettings:
    """What the project's host.json says, with `%APP_SETTING%` references resolved."""

    route_prefix: str = DEFAULT_ROUTE_PREFIX
    task_hub: str = DEFAULT_TASK_HUB
    connection_name: str = DEFAULT_CONNECTION_NAME


def load_local_settings(project_dir: Path) -> None:
    """Export local.settings.json `Values` like `func start` does, without overriding."""
    settings_file = project_dir / "local.settings.json"
    if not settings_file.is_file():
        return
    values = json.loads(settings_file.read_text(encoding="utf-8")).get("Values", {})
    for name, value in values.items():
        os.environ.setdefault(name, str(value))


def _resolve_app_setting(value: str) -> str:
    return re.sub(r"%([^%]+)%", lambda found: os.environ.get(found.group(1), ""), value)


def _host_json(project_dir: Path) -> dict[str, Any]:
    try:
        loaded = json.loads((project_dir / "host.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def read_project_settings(project_dir: Path) -> ProjectSettings:
    """Route prefix, task hub and connection name, as the Functions host reads them."""
    extensions = _host_json(project_dir).get("extensions", {})
    prefix = extensions.get("http", {}).get("routePrefix", DEFAULT_ROUTE_PREFIX)
    durable = extensions.get("durableTask", {})
    provider = durable.get("storageProvider", {})
    connection = provider.get("connectionStringName") or provider.get("connectionName")
    return ProjectSettings(
        route_prefix=prefix.strip("/") if isinstance(prefix, str) else DEFAULT_ROUTE_PREFIX,
        task_hub=_resolve_app_setting(str(durable.get("hubName", ""))) or DEFAULT_TASK_HUB,
        connection_name=str(connection or DEFAULT_CONNECTION_NAME),
    )
