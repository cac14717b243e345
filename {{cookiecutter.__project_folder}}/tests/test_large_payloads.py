"""worker.py with durabletask's Blob payload store: multi-megabyte payloads on real Azurite.

With ``DURABLE_PAYLOAD_STORAGE`` set, the worker and the client keep every payload over
256 KiB in Blob Storage and pass only a reference through the scheduler, so a start body and
activity results far over the scheduler's 1 MiB payload limit work. Azurite (the npm
package, ``tests/azurite.py``) serves the blobs on a free loopback port; without Node.js or
Azurite the tests that need it are skipped, naming what to install.
"""

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from azure.storage.blob import BlobServiceClient
from devhost.backend import PAYLOAD_LIMIT_BYTES, LoopbackBackend

from tests.azurite import Azurite, free_port
from tests.http_host import standalone_worker
from worker import (
    CONNECTION_SETTING,
    PAYLOAD_CONTAINER,
    PAYLOAD_CREDENTIAL_SETTING,
    PAYLOAD_SERVICE_URI_SETTING,
    PAYLOAD_STORAGE_API_VERSION,
    PAYLOAD_STORAGE_SETTING,
    TASK_HUB_SETTING,
    PayloadStorage,
    SettingError,
    WorkflowRuns,
    parse_connection,
    parse_payload_storage,
)

PROJECT = Path(__file__).resolve().parents[1]
OVERSIZE_WORKFLOWS = "tests.oversize_workflows:build_oversize_workflows"
STARTUP_SECONDS = 60
RUN_SECONDS = 120
POLL_SECONDS = 0.05
# Two megabytes of text, passed on once: activity results of about 5 and 8 MB.
LARGE = {"bytes": 2_000_000, "hops": 1}


@pytest.fixture(scope="module")
def storage(azurite: Azurite) -> str:
    return azurite.connection_string


@pytest.fixture(scope="module")
def runs(storage: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorkflowRuns]:
    """worker.py with the payload store, on devhost's backend (the scheduler's limits)."""
    log_dir = tmp_path_factory.mktemp("worker")
    settings = {PAYLOAD_STORAGE_SETTING: storage}
    with standalone_worker(LoopbackBackend(), log_dir, settings, OVERSIZE_WORKFLOWS) as worker:
        yield WorkflowRuns(
            parse_connection(worker.environment),
            payload_storage=parse_payload_storage(worker.environment),
        )


def finished(runs: WorkflowRuns, instance_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + RUN_SECONDS
    while time.monotonic() < deadline:
        status = runs.status(instance_id)
        if status["runtimeStatus"] in {"COMPLETED", "FAILED", "TERMINATED"}:
            return status
        time.sleep(POLL_SECONDS)
    raise AssertionError(f"run {instance_id} did not finish within {RUN_SECONDS}s")


def stored_payloads(storage: str) -> int:
    service = BlobServiceClient.from_connection_string(
        storage, api_version=PAYLOAD_STORAGE_API_VERSION
    )
    return len(list(service.get_container_client(PAYLOAD_CONTAINER).list_blobs()))


def test_activity_results_of_megabytes_go_through_blob_storage(
    runs: WorkflowRuns, storage: str
) -> None:
    status = finished(runs, runs.start("relay", LARGE))

    assert (status["runtimeStatus"], status["output"]) == ("COMPLETED", [{"bytes": 2_000_000}])
    assert stored_payloads(storage) >= 3


def test_a_start_body_over_the_payload_limit_goes_through_blob_storage(
    runs: WorkflowRuns,
) -> None:
    body = {"bytes": 10, "padding": "x" * (2 * PAYLOAD_LIMIT_BYTES)}

    status = finished(runs, runs.start("relay", body))

    # The body arrived whole: the start executor read it and refused its unknown field.
    assert status["runtimeStatus"] == "FAILED"
    assert "padding is not a field of Size" in status["failure"]


def test_no_setting_means_no_payload_store() -> None:
    assert parse_payload_storage({}) is None


def test_a_connection_string_selects_that_account() -> None:
    storage = parse_payload_storage({PAYLOAD_STORAGE_SETTING: "UseDevelopmentStorage=true"})

    assert storage == PayloadStorage(connection_string="UseDevelopmentStorage=true")


def test_azure_uses_the_blob_endpoint_with_the_managed_identity() -> None:
    storage = parse_payload_storage(
        {
            PAYLOAD_SERVICE_URI_SETTING: "https://acct.blob.core.windows.net",
            PAYLOAD_CREDENTIAL_SETTING: "managedidentity",
            f"{PAYLOAD_STORAGE_SETTING}__clientId": "00000000-0000-0000-0000-000000000001",
        }
    )

    assert storage == PayloadStorage(
        service_uri="https://acct.blob.core.windows.net",
        managed_identity=True,
        client_id="00000000-0000-0000-0000-000000000001",
    )


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({PAYLOAD_SERVICE_URI_SETTING: "http://127.0.0.1:10000"}, PAYLOAD_SERVICE_URI_SETTING),
        (
            {
                PAYLOAD_SERVICE_URI_SETTING: "https://acct.blob.core.windows.net",
                PAYLOAD_CREDENTIAL_SETTING: "password",
            },
            PAYLOAD_CREDENTIAL_SETTING,
        ),
    ],
)
def test_a_malformed_payload_storage_setting_is_refused_naming_it(
    settings: dict[str, str], named: str
) -> None:
    with pytest.raises(SettingError, match=named):
        parse_payload_storage(settings)


def test_a_worker_whose_payload_storage_is_unreachable_stops_at_start_naming_it() -> None:
    nothing_there = (
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
        f"BlobEndpoint=http://127.0.0.1:{free_port()}/devstoreaccount1;"
    )
    environment = {
        **os.environ,
        CONNECTION_SETTING: "Endpoint=http://127.0.0.1:1;Authentication=None",
        TASK_HUB_SETTING: "default",
        PAYLOAD_STORAGE_SETTING: nothing_there,
    }

    stopped = subprocess.run(
        [sys.executable, "worker.py", "--workflows", OVERSIZE_WORKFLOWS],
        cwd=PROJECT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=STARTUP_SECONDS,
    )

    assert stopped.returncode == 2, stopped.stderr
    assert f"worker.py: {PAYLOAD_STORAGE_SETTING}: the payload container" in stopped.stderr
