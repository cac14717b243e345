"""The claim-check storage: settings in the Functions shape, JSON by reference in Azurite."""

from typing import Any

import pytest
from azure.identity.aio import DefaultAzureCredential, ManagedIdentityCredential

from tests.azurite import Azurite
from workflows import blob_store
from workflows.blob_store import (
    CLIENT_ID_SETTING,
    CREDENTIAL_SETTING,
    SERVICE_URI_SETTING,
    STORAGE_SETTING,
    StorageSettingError,
    credential_from_settings,
    open_storage,
    proxy_configured,
)


async def test_without_a_storage_setting_the_error_names_both_ways_to_set_it() -> None:
    with pytest.raises(StorageSettingError) as raised:
        async with open_storage({}):
            pass

    assert STORAGE_SETTING in str(raised.value)
    assert SERVICE_URI_SETTING in str(raised.value)


async def test_a_service_uri_that_is_not_a_url_is_refused_naming_the_setting() -> None:
    with pytest.raises(StorageSettingError, match=SERVICE_URI_SETTING):
        async with open_storage({SERVICE_URI_SETTING: "mystorageaccount"}):
            pass


async def test_managedidentity_signs_in_as_the_apps_identity() -> None:
    settings = {CREDENTIAL_SETTING: "managedidentity", CLIENT_ID_SETTING: "00000000-0000-0000"}

    credential = credential_from_settings(settings)

    assert isinstance(credential, ManagedIdentityCredential)
    await credential.close()


async def test_without_a_credential_setting_the_developer_signs_in_as_themselves() -> None:
    credential = credential_from_settings({})

    assert isinstance(credential, DefaultAzureCredential)
    await credential.close()


def test_an_unknown_credential_kind_is_refused_naming_the_setting() -> None:
    with pytest.raises(StorageSettingError, match=CREDENTIAL_SETTING):
        credential_from_settings({CREDENTIAL_SETTING: "connectionstring"})


def test_the_client_reads_the_environment_per_request_only_when_a_proxy_is_named() -> None:
    assert proxy_configured({"HTTPS_PROXY": "http://proxy.example:3128"})
    assert proxy_configured({"http_proxy": "http://proxy.example:3128"})
    assert not proxy_configured({"HTTPS_PROXY": " ", "PATH": "/usr/bin"})


async def test_a_json_document_written_by_reference_reads_back_the_same(azurite: Azurite) -> None:
    async with open_storage({STORAGE_SETTING: azurite.connection_string}) as service:
        container = await blob_store.ensure_container(service, "claim-checks")
        await blob_store.write_json(container, "a/b.json", {"text": "é", "n": [1, 2]})

        assert await blob_store.read_json(container, "a/b.json") == {"text": "é", "n": [1, 2]}


async def test_json_lines_keep_one_object_a_line(azurite: Azurite) -> None:
    rows: list[dict[str, Any]] = [
        {"document": "a.txt", "words": 3},
        {"document": "b.txt", "error": "not found"},
    ]
    async with open_storage({STORAGE_SETTING: azurite.connection_string}) as service:
        container = await blob_store.ensure_container(service, "claim-checks")
        await blob_store.write_json_lines(container, "rows.jsonl", rows)

        assert await blob_store.read_json_lines(container, "rows.jsonl") == rows


async def test_ensuring_a_container_twice_keeps_what_it_holds(azurite: Azurite) -> None:
    async with open_storage({STORAGE_SETTING: azurite.connection_string}) as service:
        container = await blob_store.ensure_container(service, "kept")
        await blob_store.write_json(container, "x.json", 1)
        again = await blob_store.ensure_container(service, "kept")

        assert await blob_store.read_json(again, "x.json") == 1
