"""The document batch on the durable hosts: a worker.py process and devhost with two instances,
documents in Azurite.

A batch of 200 documents cut into chunks of 10, four chunks a group, runs as one top-level
orchestration, 5 group and 20 chunk child orchestrations. The worker.py run also reads every
orchestration's history back from the backend: none holds a document's text, and none grows
with the batch. When the project places the chunk analysis on a worker pool, both hosts get a
``worker.py --pool`` process beside them, as in Azure.
"""

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from devhost.backend import LoopbackBackend
from durabletask.client import TaskHubGrpcClient

from scripts.sample_documents import SENTENCES, expected_totals, sample_name, upload
from tests.azurite import Azurite
from tests.http_host import (
    EMBEDDED_APP,
    StandaloneWorker,
    embedded_host,
    pool_workers,
    standalone_worker,
)
from tests.scenarios import output_matches
from worker import WorkflowRuns, parse_connection
from workflows.blob_store import STORAGE_SETTING
from workflows.document_batch import WORKFLOW_NAME

DOCUMENTS = 200
CHUNK_SIZE = 10
CHUNKS_PER_GROUP = 4
CHUNKS = DOCUMENTS // CHUNK_SIZE
GROUPS = CHUNKS // CHUNKS_PER_GROUP
STARTUP_SECONDS = 60
RUN_SECONDS = 120
POLL_SECONDS = 0.05
# A sentence every sample document holds: no durable payload may carry it.
DOCUMENT_TEXT = SENTENCES[0]
# The most history events an orchestration of this batch may have, whatever the number of
# documents: a few per child it starts (at most one a chunk in a group, one a group at the
# top), and a fixed number for its own steps.
MOST_EVENTS = 5 * max(CHUNKS_PER_GROUP, GROUPS) + 20


def seeded(azurite: Azurite) -> dict[str, Any]:
    """A start body for a fresh prefix of ``DOCUMENTS`` sample documents."""
    prefix = f"{uuid.uuid4().hex}/"
    settings = {STORAGE_SETTING: azurite.connection_string}
    asyncio.run(upload(settings, "documents", prefix, DOCUMENTS))
    return {
        "container": "documents",
        "prefix": prefix,
        "chunk_size": CHUNK_SIZE,
        "chunks_per_group": CHUNKS_PER_GROUP,
    }


def expected_output() -> dict[str, Any]:
    return {**expected_totals(DOCUMENTS), "chunks": CHUNKS, "groups": GROUPS}


class StandaloneRun:
    """One batch run by a ``python worker.py`` process on a loopback durable backend."""

    def __init__(self, backend: LoopbackBackend, address: str, instance_id: str) -> None:
        self.backend = backend
        self.client = TaskHubGrpcClient(host_address=address)
        self.instance_id = instance_id

    def instance_ids(self) -> list[str]:
        """The run's orchestration and every child's (a child's id starts with its parent's)."""
        page = self.client.list_instance_ids(page_size=1000)
        return [i for i in page.items if i.startswith(self.instance_id)]

    def histories(self) -> dict[str, str]:
        return {i: repr(self.client.get_orchestration_history(i)) for i in self.instance_ids()}

    def event_counts(self) -> dict[str, int]:
        return {i: len(self.client.get_orchestration_history(i)) for i in self.instance_ids()}


@pytest.fixture(scope="module")
def standalone(
    azurite: Azurite, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[LoopbackBackend, StandaloneWorker, WorkflowRuns]]:
    """A ``python worker.py`` process (and the pool's, if any) on a loopback durable backend."""
    backend = LoopbackBackend()
    settings = {STORAGE_SETTING: azurite.connection_string}
    log_dir = tmp_path_factory.mktemp("worker")
    with (
        standalone_worker(backend, log_dir, settings) as worker,
        pool_workers(f"http://{worker.address}", worker.environment, log_dir),
    ):
        yield backend, worker, WorkflowRuns(parse_connection(worker.environment))


def run_to_the_end(
    standalone: tuple[LoopbackBackend, StandaloneWorker, WorkflowRuns], body: dict[str, Any]
) -> tuple[StandaloneRun, dict[str, Any]]:
    backend, worker, runs = standalone
    instance_id = runs.start(WORKFLOW_NAME, body)
    deadline = time.monotonic() + RUN_SECONDS
    status = runs.status(instance_id)
    while status["runtimeStatus"] not in {"COMPLETED", "FAILED", "TERMINATED"}:
        assert worker.process.poll() is None, worker.log.read_text()
        assert time.monotonic() < deadline, f"{instance_id} is still {status}"
        time.sleep(POLL_SECONDS)
        status = runs.status(instance_id)
    return StandaloneRun(backend, worker.address, instance_id), status


@pytest.fixture(scope="module")
def standalone_run(
    azurite: Azurite, standalone: tuple[LoopbackBackend, StandaloneWorker, WorkflowRuns]
) -> tuple[StandaloneRun, dict[str, Any]]:
    return run_to_the_end(standalone, seeded(azurite))


@pytest.fixture(scope="module")
def listed_run(
    azurite: Azurite, standalone: tuple[LoopbackBackend, StandaloneWorker, WorkflowRuns]
) -> tuple[StandaloneRun, dict[str, Any], str]:
    """A run naming its documents by a list of blob names instead of a prefix."""
    body = seeded(azurite)
    prefix = body.pop("prefix")
    body["blobs"] = [sample_name(prefix, number) for number in range(DOCUMENTS)]
    return (*run_to_the_end(standalone, body), prefix)


def test_a_batch_completes_on_worker_py(
    standalone_run: tuple[StandaloneRun, dict[str, Any]],
) -> None:
    _, status = standalone_run

    assert status["runtimeStatus"] == "COMPLETED", status
    assert output_matches(status["output"][-1], expected_output()), status["output"]


def test_every_chunk_and_group_is_a_child_orchestration(
    standalone_run: tuple[StandaloneRun, dict[str, Any]],
) -> None:
    run, _ = standalone_run

    assert len(run.instance_ids()) == 1 + GROUPS + CHUNKS


def test_no_orchestration_history_holds_document_text(
    standalone_run: tuple[StandaloneRun, dict[str, Any]],
) -> None:
    run, _ = standalone_run

    holding = [i for i, history in run.histories().items() if DOCUMENT_TEXT in history]

    assert holding == []


def test_every_history_is_bounded_by_its_own_children_not_by_the_documents(
    standalone_run: tuple[StandaloneRun, dict[str, Any]],
) -> None:
    run, _ = standalone_run

    counts = run.event_counts()

    assert max(counts.values()) <= MOST_EVENTS, counts


def test_a_batch_named_by_a_list_of_blobs_completes_on_worker_py(
    listed_run: tuple[StandaloneRun, dict[str, Any], str],
) -> None:
    _, status, _ = listed_run

    assert status["runtimeStatus"] == "COMPLETED", status
    assert output_matches(status["output"][-1], expected_output()), status["output"]


def test_no_group_or_chunk_orchestration_carries_the_list_of_blobs(
    listed_run: tuple[StandaloneRun, dict[str, Any], str],
) -> None:
    run, _, prefix = listed_run

    histories = run.histories()
    holding = [i for i, history in histories.items() if i != run.instance_id and prefix in history]

    assert len(histories) == 1 + GROUPS + CHUNKS
    assert holding == []


def test_a_batch_completes_on_devhost_with_two_instances(
    azurite: Azurite, tmp_path_factory: pytest.TempPathFactory
) -> None:
    settings = {STORAGE_SETTING: azurite.connection_string}
    log_dir = Path(tmp_path_factory.mktemp("devhost"))
    with embedded_host(log_dir, EMBEDDED_APP, settings, instances=2) as host:
        response = host.start(WORKFLOW_NAME, seeded(azurite))
        assert response.status_code == 202, response.text

        final = host.finished(response.json()["statusQueryGetUri"])

    assert final["runtimeStatus"] == "Completed", final
    assert output_matches(final["output"][-1], expected_output()), final["output"]
