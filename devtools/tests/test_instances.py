"""`--instances N`: durable work spread over N processes; one killed loses and doubles nothing."""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from .conftest import APPS, DevhostProcess, finished, free_port, wait_for
from .workflow_driver import run_approved_order, run_over_http

WEBHOOK = "runtime/webhooks/durabletask"
RUNS = 6
# The scaleout app's `slow_step` takes this long.
STEP_SECONDS = 0.4


@pytest.fixture
def two_instances_cli() -> Iterator[tuple[DevhostProcess, str]]:
    child = DevhostProcess(free_port(), APPS / "cli", instances=2)
    banner = child.read_until("listening on")
    yield child, banner
    child.stop()


@pytest.fixture
def two_instances_scaleout() -> Iterator[tuple[DevhostProcess, str]]:
    child = DevhostProcess(free_port(), APPS / "scaleout", instances=2)
    banner = child.read_until("listening on")
    yield child, banner
    child.stop()


def instance_pids(banner: str) -> dict[int, int]:
    return {int(n): int(pid) for n, pid in re.findall(r"instance (\d+): pid (\d+)", banner)}


def start(base: str, orchestrator: str, payload: Any) -> str:
    started = requests.post(
        f"{base}/{WEBHOOK}/orchestrators/{orchestrator}", json=payload, timeout=10
    )
    assert started.status_code == 202, started.text
    url: str = started.json()["statusQueryGetUri"]
    return url


def test_start_up_prints_one_line_per_instance_with_its_process_id(
    two_instances_cli: tuple[DevhostProcess, str],
) -> None:
    child, banner = two_instances_cli
    pids = instance_pids(banner)
    assert sorted(pids) == [1, 2]
    assert child.process.pid not in pids.values()


def test_a_stopped_host_on_two_instances_leaves_no_temporary_folder(tmp_path: Path) -> None:
    child = DevhostProcess(
        free_port(), APPS / "cli", instances=2, settings={"TMPDIR": str(tmp_path)}
    )
    child.read_until("listening on")
    made = [path.name for path in tmp_path.iterdir()]

    child.process.send_signal(signal.SIGTERM)

    assert child.process.wait(timeout=10) == 0
    assert made, "the fork server made no folder under TMPDIR, so this test shows nothing"
    assert [path.name for path in tmp_path.iterdir()] == []


def test_orchestrators_and_activities_spread_and_each_line_names_its_instance(
    two_instances_cli: tuple[DevhostProcess, str],
) -> None:
    child, banner = two_instances_cli
    pids = instance_pids(banner)
    base = f"http://127.0.0.1:{child.port}"
    for number in range(4):
        status = wait_for(start(base, "double", number), finished).json()
        assert (status["runtimeStatus"], status["output"]) == ("Completed", number * 2)
    logged = child.read_until("Executed 'Functions.double' (Orchestrator Completed")
    logged += child.read_until("Executed 'Functions.double' (Orchestrator Completed")
    for kind in ("Orchestrator", "Activity"):
        ran_on = set(re.findall(rf"\({kind} \w+, .*\[instance (\d), pid (\d+)\]", logged))
        assert ran_on == {(str(n), str(pid)) for n, pid in pids.items()}, logged


def test_killing_an_instance_mid_run_loses_nothing_and_doubles_nothing(
    two_instances_scaleout: tuple[DevhostProcess, str],
) -> None:
    child, banner = two_instances_scaleout
    base = f"http://127.0.0.1:{child.port}"
    victim = instance_pids(banner)[1]
    with ThreadPoolExecutor(RUNS) as pool:
        urls = list(pool.map(lambda run: start(base, "pipeline", run), range(RUNS)))
    child.read_until("Executed 'Functions.slow_step' (Activity Succeeded")
    # Half a step later every run is in its next step, on one instance or the other.
    time.sleep(STEP_SECONDS / 2)
    os.kill(victim, signal.SIGKILL)

    requeued = child.read_until("go back to the queue")
    restarted = child.read_until("Restarted instance 1: pid")
    assert "activity 'slow_step'" in requeued
    assert str(victim) not in restarted.splitlines()[-1].split("Restarted instance 1")[1]
    for url in urls:
        wait_for(url, lambda r: r.json().get("customStatus") == {"waiting_for": "approval"}, 60)
        instance_id = url.split("/instances/")[1].split("?")[0]
        raised = requests.post(
            f"{base}/{WEBHOOK}/instances/{instance_id}/raiseEvent/approval", json="yes", timeout=10
        )
        assert raised.status_code == 202
    outputs = [wait_for(url, finished, 60).json() for url in urls]

    assert [(status["runtimeStatus"], status["output"]) for status in outputs] == [
        ("Completed", {"steps": [f"{run}-{step}" for step in range(7)], "approval": "yes"})
        for run in range(RUNS)
    ]
    tally = requests.get(f"{base}/{WEBHOOK}/entities/tally/runs", timeout=10).json()
    assert tally == RUNS


def run_shared_state_workflow(instances: int) -> dict[str, Any]:
    child = DevhostProcess(free_port(), APPS / "shared_state", "shared_state_app", instances)
    try:
        child.read_until("listening on")
        base = f"http://127.0.0.1:{child.port}"
        started = requests.post(f"{base}/api/workflow/orders/run", json="tea", timeout=30)
        assert started.status_code == 202, started.text
        status: dict[str, Any] = wait_for(started.json()["statusQueryGetUri"], finished, 60).json()
        return status
    finally:
        child.stop()


def test_module_level_state_between_executors_works_on_one_instance() -> None:
    status = run_shared_state_workflow(instances=1)

    assert status["runtimeStatus"] == "Completed", status
    assert "recalled tea" in str(status["output"])


def test_module_level_state_between_executors_fails_on_two_instances_saying_why() -> None:
    status = run_shared_state_workflow(instances=2)

    assert status["runtimeStatus"] == "Failed"
    assert "kept the order in a module-level variable of process" in status["error"]
    assert "every instance is a process with its own module state" in status["error"]


def test_agent_workflows_with_human_requests_survive_a_killed_instance_asking_each_once() -> None:
    child = DevhostProcess(free_port(), APPS / "agentic", "agentic_app", instances=3)
    try:
        victim = instance_pids(child.read_until("listening on"))[2]
        base = f"http://127.0.0.1:{child.port}"
        with ThreadPoolExecutor(RUNS) as pool:
            orders = [pool.submit(run_approved_order, base) for _ in range(RUNS // 2)]
            signoffs = [
                pool.submit(run_over_http, base, "signoff", "budget", lambda _: {"verdict": "yes"})
                for _ in range(RUNS // 2)
            ]
            child.read_until("Executed 'Functions.dafx-orders")
            os.kill(victim, signal.SIGKILL)
            child.read_until("Restarted instance 2: pid")
            finished_orders = [future.result() for future in orders]
            finished_signoffs = [future.result() for future in signoffs]
    finally:
        child.stop()

    assert [(run.output, run.request_id_shapes) for run in finished_orders] == [
        ([{"shipped": True, "text": "ANNOUNCE KETTLE FOR ADA"}], ["review~0~<id>"])
    ] * (RUNS // 2)
    assert [(run.output, run.request_id_shapes) for run in finished_signoffs] == [
        (["budget: yes"], ["<id>"])
    ] * (RUNS // 2)
