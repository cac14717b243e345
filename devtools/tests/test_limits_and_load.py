"""Payload limits, big histories, slow and blocking user code: devhost neither hangs nor stalls."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import pytest
import requests
from durabletask.client import TaskHubGrpcClient
from durabletask.entities import EntityContext, EntityInstanceId
from durabletask.task import OrchestrationContext, TaskFailedError
from durabletask.worker import TaskHubGrpcWorker

from devhost.backend import (
    HISTORY_EVENTS_LIMIT,
    HISTORY_EVENTS_LIMIT_SETTING,
    PAYLOAD_LIMIT_BYTES,
    HistoryLimitSettingError,
    LoopbackBackend,
    history_events_limit,
)
from devhost.host import DevHost

from .conftest import finished, wait_for

WEBHOOK = "runtime/webhooks/durabletask"


def start(host: DevHost, orchestrator: str, payload: Any) -> requests.Response:
    return requests.post(
        f"{host.base_url}/{WEBHOOK}/orchestrators/{orchestrator}",
        data=json.dumps(payload),
        headers={"Content-Type": "application/json"},
        timeout=30,
    )


def run(host: DevHost, orchestrator: str, payload: Any, timeout: float = 60) -> dict[str, Any]:
    started = start(host, orchestrator, payload)
    assert started.status_code == 202, started.text
    body: dict[str, Any] = wait_for(
        started.json()["statusQueryGetUri"], finished, timeout=timeout
    ).json()
    return body


@pytest.fixture
def background() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(16) as pool:
        yield pool


def test_a_start_body_over_the_scheduler_limit_is_413_naming_the_limit(stress: DevHost) -> None:
    response = start(stress, "echo_length", "x" * (PAYLOAD_LIMIT_BYTES + 1))

    assert response.status_code == 413
    assert f"{PAYLOAD_LIMIT_BYTES:,} bytes (1 MiB)" in response.json()["Message"]


def test_an_event_over_the_limit_is_refused_and_named_on_the_console(
    stress: DevHost, caplog: pytest.LogCaptureFixture
) -> None:
    links = start(stress, "waits", None).json()
    raise_event = links["sendEventPostUri"].replace("{eventName}", "decision")

    response = requests.post(
        raise_event,
        data=json.dumps("x" * (PAYLOAD_LIMIT_BYTES + 1)),
        headers={"Content-Type": "application/json"},
        timeout=30,
    )

    assert response.status_code == 413
    refused = f"(413): The data of event 'decision' is {PAYLOAD_LIMIT_BYTES + 3:,} bytes"
    assert refused in caplog.text
    status = requests.get(links["statusQueryGetUri"], timeout=10).json()
    assert status["runtimeStatus"] == "Running"


def test_a_start_body_just_under_the_limit_runs(stress: DevHost) -> None:
    text = "x" * (PAYLOAD_LIMIT_BYTES - 10)

    status = run(stress, "echo_length", text)

    assert (status["runtimeStatus"], status["output"]) == ("Completed", len(text))


def test_a_history_far_beyond_grpc_default_message_size_completes(stress: DevHost) -> None:
    sizes = [900_000] * 6

    status = run(stress, "sized", sizes)

    assert (status["runtimeStatus"], status["output"]) == ("Completed", sizes)


def test_an_activity_result_over_the_limit_fails_the_run_naming_the_limit(
    stress: DevHost,
) -> None:
    status = run(stress, "sized", [PAYLOAD_LIMIT_BYTES + 1])

    assert status["runtimeStatus"] == "Failed"
    assert "output of activity 'make_text'" in status["output"]
    assert f"{PAYLOAD_LIMIT_BYTES:,} bytes" in status["output"]


def test_an_activity_input_over_the_limit_fails_the_run_naming_the_limit(
    stress: DevHost,
) -> None:
    status = run(stress, "sends_big_input", PAYLOAD_LIMIT_BYTES + 1)

    assert status["runtimeStatus"] == "Failed"
    assert "input of 'measure'" in status["output"]
    assert f"{PAYLOAD_LIMIT_BYTES:,} bytes" in status["output"]


def test_an_orchestration_output_over_the_limit_fails_the_run_naming_the_limit(
    stress: DevHost,
) -> None:
    status = run(stress, "returns_big_output", PAYLOAD_LIMIT_BYTES + 1)

    assert status["runtimeStatus"] == "Failed"
    assert "orchestration output" in status["output"]
    assert f"{PAYLOAD_LIMIT_BYTES:,} bytes" in status["output"]


def test_waiting_async_activities_hold_no_thread_so_other_runs_go_ahead(stress: DevHost) -> None:
    sleepers = start(stress, "naps", [64, 3]).json()["statusQueryGetUri"]
    wait_for(sleepers, lambda response: response.json()["runtimeStatus"] == "Running")

    quick = run(stress, "sized", [1], timeout=10)

    assert quick["runtimeStatus"] == "Completed"
    assert requests.get(sleepers, timeout=10).json()["runtimeStatus"] == "Running"
    assert wait_for(sleepers, finished).json()["output"] == 64


def test_async_code_blocking_its_loop_does_not_freeze_the_hosts_own_routes(
    stress: DevHost, background: ThreadPoolExecutor
) -> None:
    blocked: Future[requests.Response] = background.submit(
        requests.get, f"{stress.base_url}/api/block/3", timeout=30
    )
    running = start(stress, "waits", None).json()["statusQueryGetUri"]

    status = requests.get(running, timeout=10)
    host_status = requests.get(f"{stress.base_url}/admin/host/status", timeout=10)

    assert not blocked.done()
    assert status.json()["runtimeStatus"] in ("Pending", "Running")
    assert host_status.json()["state"] == "Running"
    assert blocked.result().text == "unblocked"


def test_many_slow_sync_functions_do_not_stall_status_queries_or_starts(
    stress: DevHost, background: ThreadPoolExecutor
) -> None:
    slow = [
        background.submit(requests.get, f"{stress.base_url}/api/slow/3", timeout=30)
        for _ in range(12)
    ]

    started = start(stress, "waits", None)
    status = requests.get(started.json()["statusQueryGetUri"], timeout=10)

    assert started.status_code == 202 and status.status_code == 202
    assert not any(call.done() for call in slow)
    assert all(call.result().text == "done" for call in slow)


def test_the_history_events_limit_is_the_schedulers_unless_lowered() -> None:
    assert history_events_limit({}) == HISTORY_EVENTS_LIMIT == 100_000
    assert history_events_limit({HISTORY_EVENTS_LIMIT_SETTING: "250"}) == 250


@pytest.mark.parametrize("value", ["0", "many", "100001"])
def test_a_history_events_limit_setting_outside_the_schedulers_is_refused_naming_it(
    value: str,
) -> None:
    with pytest.raises(HistoryLimitSettingError, match="from 1 to 100,000") as refused:
        history_events_limit({HISTORY_EVENTS_LIMIT_SETTING: value})

    assert HISTORY_EVENTS_LIMIT_SETTING in str(refused.value)


def grow(ctx: EntityContext, size: int) -> int:
    """An entity operation that keeps ``size`` bytes of state; returns the new size."""
    if size < 0:
        return len(ctx.get_state(str, ""))
    ctx.set_state("x" * size)
    return size


def grow_and_read(ctx: OrchestrationContext, size: int) -> Any:
    entity = EntityInstanceId("grow", "one")
    try:
        yield ctx.call_entity(entity, "grow", size)
    except TaskFailedError as error:
        kept = yield ctx.call_entity(entity, "grow", -1)
        return {"failed": str(error), "state_kept": kept}
    return {"grown": size}


@pytest.fixture(scope="module")
def sdk_worker() -> Iterator[TaskHubGrpcClient]:
    """devhost's backend with durabletask's own worker, as worker.py connects to it."""
    backend = LoopbackBackend()
    address = backend.start()
    worker = TaskHubGrpcWorker(host_address=address)
    worker.add_entity(grow)
    worker.add_orchestrator(grow_and_read)
    worker.start()
    try:
        yield TaskHubGrpcClient(host_address=address)
    finally:
        worker.stop()
        backend.stop()


def test_an_entity_state_over_the_limit_fails_the_operation_and_keeps_the_old_state(
    sdk_worker: TaskHubGrpcClient,
) -> None:
    small = sdk_worker.schedule_new_orchestration(grow_and_read, input=1_000)
    sdk_worker.wait_for_orchestration_completion(small, timeout=60)

    big = sdk_worker.schedule_new_orchestration(grow_and_read, input=PAYLOAD_LIMIT_BYTES + 1)
    state = sdk_worker.wait_for_orchestration_completion(big, timeout=60)

    assert state is not None and state.serialized_output is not None
    output = json.loads(state.serialized_output)
    assert f"{PAYLOAD_LIMIT_BYTES:,} bytes (1 MiB)" in output["failed"]
    assert "The state of entity '@grow@one'" in output["failed"]
    assert output["state_kept"] == 1_000
