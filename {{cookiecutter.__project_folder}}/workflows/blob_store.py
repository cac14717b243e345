"""Blob Storage for workflows that pass documents by reference (the claim-check pattern).

A durable payload (a start body, a message between executors, a history event) carries only
where data is: a container and a blob name. The data itself is read and written here, by the
executor that needs it, so no document text enters the orchestration history.

The account comes from the app settings, in the shape Azure Functions uses for its own
identity-based connections:

``DOCUMENTS_STORAGE``
    A connection string: ``UseDevelopmentStorage=true`` for Azurite on this machine, or
    Azurite's full string when it listens elsewhere.
``DOCUMENTS_STORAGE__blobServiceUri``
    The account's blob endpoint (``https://<account>.blob.core.windows.net``), reached with
    Microsoft Entra ID. ``DOCUMENTS_STORAGE__credential=managedidentity`` and
    ``DOCUMENTS_STORAGE__clientId`` select the app's user-assigned identity; without
    ``__credential`` the developer's own sign-in is used (``az login``).

Nothing is read at import: a missing setting fails the step that needs storage, naming it.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager, suppress
from typing import TYPE_CHECKING, Any

from azure.core.exceptions import ResourceExistsError
from azure.storage.blob.aio import BlobServiceClient, ContainerClient

if TYPE_CHECKING:
    from azure.core.credentials_async import AsyncTokenCredential

STORAGE_SETTING = "DOCUMENTS_STORAGE"
SERVICE_URI_SETTING = f"{STORAGE_SETTING}__blobServiceUri"
CREDENTIAL_SETTING = f"{STORAGE_SETTING}__credential"
CLIENT_ID_SETTING = f"{STORAGE_SETTING}__clientId"
MANAGED_IDENTITY = "managedidentity"
# The newest Blob service version Azurite 3.37.0 (package.json) serves; Azure serves it too.
# The client library would otherwise ask for a newer one, which Azurite refuses.
API_VERSION = "2026-06-06"
# The proxy variables aiohttp honours (its `trust_env`), in either case.
PROXY_SETTINGS = tuple(
    name for base in ("https_proxy", "http_proxy", "all_proxy") for name in (base, base.upper())
)


class StorageSettingError(RuntimeError):
    """The storage settings are missing or malformed."""


def credential_from_settings(settings: Mapping[str, str]) -> AsyncTokenCredential:
    """The Entra ID credential ``__credential`` (and ``__clientId``) ask for."""
    from azure.identity.aio import DefaultAzureCredential, ManagedIdentityCredential

    kind = settings.get(CREDENTIAL_SETTING, "").strip()
    client_id = settings.get(CLIENT_ID_SETTING, "").strip() or None
    if kind.lower() == MANAGED_IDENTITY:
        return ManagedIdentityCredential(client_id=client_id)
    if kind:
        raise StorageSettingError(
            f"{CREDENTIAL_SETTING} is {kind!r}: use {MANAGED_IDENTITY!r}, or leave it unset to"
            " sign in as yourself (az login)."
        )
    return DefaultAzureCredential(managed_identity_client_id=client_id)


def proxy_configured(environ: Mapping[str, str] | None = None) -> bool:
    """Whether the environment names an HTTP proxy (``HTTPS_PROXY`` and the like).

    Only then does the storage client read the environment on each request: aiohttp's
    ``trust_env`` looks up the proxy and ``~/.netrc`` on a helper thread for every request,
    a large share of the CPU a small blob's download takes.
    """
    environ = os.environ if environ is None else environ
    return any(environ.get(name, "").strip() for name in PROXY_SETTINGS)


@asynccontextmanager
async def open_storage(
    settings: Mapping[str, str] | None = None,
) -> AsyncIterator[BlobServiceClient]:
    """The blob service the settings name (the environment by default), closed on exit."""
    settings = os.environ if settings is None else settings
    connection_string = settings.get(STORAGE_SETTING, "").strip()
    service_uri = settings.get(SERVICE_URI_SETTING, "").strip()
    use_env_settings = proxy_configured()
    if connection_string:
        async with BlobServiceClient.from_connection_string(
            connection_string, api_version=API_VERSION, use_env_settings=use_env_settings
        ) as service:
            yield service
        return
    if not service_uri:
        raise StorageSettingError(
            f"No document storage: set {STORAGE_SETTING} to a connection string"
            " (UseDevelopmentStorage=true for Azurite), or set"
            f" {SERVICE_URI_SETTING} to the account's blob endpoint."
        )
    if not service_uri.lower().startswith(("https://", "http://")):
        raise StorageSettingError(
            f"{SERVICE_URI_SETTING} must be the account's blob endpoint"
            f" (https://<account>.blob.core.windows.net), got {service_uri!r}."
        )
    credential = credential_from_settings(settings)
    try:
        async with BlobServiceClient(
            service_uri,
            credential=credential,
            api_version=API_VERSION,
            use_env_settings=use_env_settings,
        ) as service:
            yield service
    finally:
        await credential.close()


async def ensure_container(service: BlobServiceClient, name: str) -> ContainerClient:
    """The container ``name``, created when it does not exist yet."""
    container = service.get_container_client(name)
    with suppress(ResourceExistsError):
        await container.create_container()
    return container


async def write_json(container: ContainerClient, name: str, value: Any) -> None:
    """Store ``value`` as one JSON document, replacing what was there."""
    data = json.dumps(value, ensure_ascii=False).encode("utf-8")
    await container.upload_blob(name, data, overwrite=True)


async def read_json(container: ContainerClient, name: str) -> Any:
    """The JSON document stored at ``name``."""
    downloader = await container.download_blob(name)
    return json.loads(await downloader.readall())


async def write_json_lines(
    container: ContainerClient, name: str, rows: Iterable[Mapping[str, Any]]
) -> None:
    """Store ``rows`` as JSON Lines, one object a line, replacing what was there."""
    data = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode("utf-8")
    await container.upload_blob(name, data, overwrite=True)


async def read_json_lines(container: ContainerClient, name: str) -> list[Any]:
    """Every object of the JSON Lines blob ``name``."""
    downloader = await container.download_blob(name)
    text = (await downloader.readall()).decode("utf-8")
    return [json.loads(line) for line in text.splitlines() if line]
