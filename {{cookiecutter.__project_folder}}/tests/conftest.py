"""Shared fixtures: the app's workflows, and a durable backend that runs them.

The Agent Framework, durabletask and the app are imported inside the functions that use
them: pytest-xdist's controller loads this file before it starts the worker processes and
needs none of them, so the workers start about half a second sooner.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from agent_framework import Workflow
    from agent_framework_durabletask import DurableAIAgentWorker, DurableWorkflowClient
    from devhost.backend import LoopbackBackend
    from durabletask.client import TaskHubGrpcClient

    from tests.azurite import Azurite
    from tests.http_host import Host


def offline_workflows() -> list[Workflow]:
    """The app's workflows, with agents answered by an offline fake model."""
{% if cookiecutter.model_provider != "none" %}
    from tests.fake_chat_client import FakeChatClient
    from workflows import build_workflows

    return build_workflows(chat_client=FakeChatClient())
{% else %}
    from workflows import build_workflows

    return build_workflows()
{% endif %}


@pytest.fixture(scope="module")
def durable_client() -> Iterator[DurableWorkflowClient]:
    """A client for every workflow, hosted by the standalone durabletask worker.

    The backend is devhost's: durabletask's in-memory Durable Task server on a free loopback
    port, which wakes its dispatcher as soon as results arrive instead of polling, so
    orchestrations, activities, entities, child orchestrations and external events run for
    real without the Durable Task Scheduler. One per module, stopped once the module is done.
    """
    from agent_framework_durabletask import DurableWorkflowClient

    with hosted_durably(offline_workflows()) as client:
        yield DurableWorkflowClient(client)


@contextmanager
def hosted_durably(workflows: list[Workflow]) -> Iterator[TaskHubGrpcClient]:
    """Host ``workflows`` on the standalone worker and devhost's backend; yield a client."""
    from agent_framework_durabletask import DurableAIAgentWorker
    from devhost.backend import LoopbackBackend
    from durabletask.client import TaskHubGrpcClient
    from durabletask.worker import TaskHubGrpcWorker

    from worker import ANY_MESSAGE_SIZE

    backend = LoopbackBackend()
    address = backend.start()
    # worker.py's channel options: gRPC's default 4 MB would stall a run with a long history.
    worker = TaskHubGrpcWorker(host_address=address, channel_options=ANY_MESSAGE_SIZE)
    agent_worker = DurableAIAgentWorker(worker)
    for workflow in workflows:
        agent_worker.configure_workflow(workflow)
    agent_worker.start()
    client = TaskHubGrpcClient(host_address=address, channel_options=ANY_MESSAGE_SIZE)
    try:
        yield client
    finally:
        # durabletask's stop waits out its one-second queue poll; the next modules need not
        # wait with it. The thread is not a daemon: the session still ends only once it is done.
        threading.Thread(target=stop_durable_worker, args=(agent_worker, backend)).start()


def stop_durable_worker(agent_worker: DurableAIAgentWorker, backend: LoopbackBackend) -> None:
    agent_worker.stop()
    backend.stop()


@pytest.fixture(scope="session")
def host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Host]:
    """The Functions host the HTTP tests drive (see ``tests/http_host.py``)."""
    from tests.http_host import running_host

    with running_host(Path(tmp_path_factory.mktemp("host"))) as running:
        yield running


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azurite]:
    """Azurite's Blob service for this test process (skips, naming ``npm install``, without it)."""
    from tests.azurite import running_azurite

    with running_azurite(Path(tmp_path_factory.mktemp("azurite"))) as running:
        yield running
