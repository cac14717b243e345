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
    # "localhost": both loopback addresses (see host.py); anything else makes devhost need a key.
    host: str = "localhost"
    port: int = 7071
    # 1: durable work runs in the host process; N > 1: in N worker processes (see instances.py).
    instances: int = 1
    # Loopback port of the durable backend (gRPC); 0 picks a free one.
    backend_port: int = 0
    # Start Azurite when an app setting is UseDevelopmentStorage=true (see azurite.py).
    azurite: bool = True


@dataclass(frozen=True)
class ProjectSettings:
    """What the project's host.json says, with `%APP_SETTING%` references resolved."""

    route_prefix: str = DEFAULT_ROUTE_PREFIX
    task_hub: str = DEFAULT_TASK_HUB
    connection_name: str = DEFAULT_CONNECTION_NAME
    # `extensions.durableTask.storageProvider.type`; empty when host.json names none.
    storage_provider: str = ""


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
        storage_provider=str(provider.get("type") or ""),
    )


# The storage provider whose limits devhost applies: the Durable Task Scheduler's.
SCHEDULER_PROVIDER = "azureManaged"


def storage_provider_warning(settings: ProjectSettings) -> str | None:
    """What to tell a developer whose host.json selects another provider than the scheduler."""
    if settings.storage_provider.casefold() == SCHEDULER_PROVIDER.casefold():
        return None
    named = (
        f"the storage provider '{settings.storage_provider}'"
        if settings.storage_provider
        else "no storage provider, so the Functions host uses Azure Storage"
    )
    return (
        f"host.json names {named}; devhost applies the limits of the Durable Task Scheduler "
        f"(storageProvider type '{SCHEDULER_PROVIDER}'), such as 1 MiB per payload, which "
        "differ from that provider's (Azure Storage, for one, keeps large payloads in blobs)."
    )
