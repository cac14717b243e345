"""A child orchestration that runs longer than durabletask's 30 s default still reaches its parent.

durabletask's in-memory backend watches each child with a wait "without a limit" that it
turns into 30 s; devhost's backend waits on, slice by slice (a short slice here).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from durabletask.client import TaskHubGrpcClient

from devhost.backend import LoopbackBackend

SLICE_SECONDS = 0.05
TERMINATED = 5  # pb.ORCHESTRATION_STATUS_TERMINATED


@pytest.fixture
def backend() -> Iterator[tuple[LoopbackBackend, TaskHubGrpcClient]]:
    served = LoopbackBackend()
    served.state_wait_slice_seconds = SLICE_SECONDS
    address = served.start()
    try:
        yield served, TaskHubGrpcClient(host_address=address)
    finally:
        served.stop(grace=0)


def test_a_wait_without_a_limit_outlasts_the_slice_until_the_instance_ends(
    backend: tuple[LoopbackBackend, TaskHubGrpcClient],
) -> None:
    served, client = backend
    instance_id = client.schedule_new_orchestration("never_served")
    found: list[Any] = []

    def wait() -> None:
        found.append(served._wait_for_state(instance_id, lambda i: i.status == TERMINATED, None))

    waiter = threading.Thread(target=wait, daemon=True)
    waiter.start()
    time.sleep(10 * SLICE_SECONDS)
    still_waiting = waiter.is_alive()
    with served._lock:  # the instance ends as a worker's last step would end it
        served._instances[instance_id].status = TERMINATED
        served._notify_waiters(instance_id)
    waiter.join(timeout=10)

    assert still_waiting
    assert found and found[0] is not None and found[0].instance_id == instance_id


def test_a_wait_for_an_instance_that_is_gone_ends() -> None:
    served = LoopbackBackend()
    served.state_wait_slice_seconds = SLICE_SECONDS

    assert served._wait_for_state("no-such-instance", lambda i: True, None) is None
