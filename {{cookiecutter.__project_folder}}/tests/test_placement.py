"""Executor placement: a step marked ``runs_on(pool)`` runs on that pool's workers only.

The first tests read the placement of workflows and the work item filters each worker sends.
The others run the placement demo workflow (``tests/placement_demo.py``: ``prepare``, then
``crunch`` on pool ``gpu``, then ``finish``) on ``python -m devhost``, whose settings disable
the crunch activity as the Function App's do in Azure, with ``python worker.py --pool gpu``
processes connected to devhost's durable backend: the run waits while the pool has no worker
and says what for; a pool worker killed while it holds a step loses no run and doubles none;
and each process's spans show which steps it ran. devhost and the pool workers trace to the
console (``OTEL_TRACES_EXPORTER=console``), each into a file of its own.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from agent_framework import (
    AgentExecutor,
    Executor,
    WorkflowBuilder,
    WorkflowContext,
    WorkflowExecutor,
    executor,
    handler,
)
from agent_framework_durabletask import DurableAIAgentWorker
from durabletask.worker import TaskHubGrpcWorker, WorkItemFilters

from tests.conftest import offline_workflows
from tests.http_host import (
    DEVHOST_READY,
    Host,
    free_port,
    free_ports,
    serve,
    start_pool_worker,
    stop_processes,
)
from tests.placement_demo import CRUNCH, GATE_SETTING, POOL, WORKFLOW_NAME, digest_chain
from tests.spans import printed_spans
from worker import (
    CONNECTION_SETTING,
    TASK_HUB_SETTING,
    WorkflowRuns,
    parse_connection,
)
from worker import main as worker_command
from workflows.placement import (
    PlacementError,
    disabled_function_settings,
    placements,
    pools,
    runs_on,
    work_item_filters,
)

PROJECT = Path(__file__).resolve().parents[1]
DEMO_APP = "tests.placement_demo_app:app"
DEMO_WORKFLOWS = "tests.placement_demo:build_workflows"
RUN_SECONDS = 60
POLL_SECONDS = 0.01
# Runs started while the first pool worker is frozen at the gate, before it is killed.
RUNS_AT_THE_KILL = 4
ROUNDS = 20_000


async def echo(text: str, ctx: WorkflowContext[str]) -> None:
    await ctx.send_message(text)


class Shout(Executor):
    @handler
    async def shout(self, text: str, ctx: WorkflowContext[None, str]) -> None:
        await ctx.yield_output(text.upper())


def two_steps(name: str, first: Executor, second: Executor) -> Any:
    return WorkflowBuilder(name=name, start_executor=first).add_edge(first, second).build()


def registered(workflows: list[Any]) -> WorkItemFilters:
    """What durabletask itself would ask for, with everything the workflows register."""
    worker = TaskHubGrpcWorker(host_address="127.0.0.1:1")
    agent_worker = DurableAIAgentWorker(worker)
    for workflow in workflows:
        agent_worker.configure_workflow(workflow)
    worker.use_work_item_filters()
    return WorkItemFilters._from_registry(worker._registry)  # pinned: durabletask's own list


def names(filters: list[Any]) -> set[str]:
    return {f.name for f in filters}


def test_an_unmarked_executor_runs_where_its_workflow_runs() -> None:
    workflow = two_steps("plain", executor(id="echo")(echo), Shout(id="shout"))

    assert placements([workflow]) == []


def test_a_marked_executor_instance_is_placed_on_its_pool_and_others_are_not() -> None:
    workflow = two_steps("marked", runs_on("gpu")(executor(id="echo")(echo)), Shout(id="shout"))

    (placed,) = placements([workflow])

    assert (placed.pool, placed.workflow, placed.executor) == ("gpu", "marked", "echo")
    assert placed.activity == "dafx-marked-echo"


def test_a_marked_executor_class_places_every_instance_of_it() -> None:
    @runs_on("cpu-heavy")
    class Placed(Shout):
        pass

    workflow = two_steps("classy", executor(id="echo")(echo), Placed(id="shout"))

    assert [(p.pool, p.executor) for p in placements([workflow])] == [("cpu-heavy", "shout")]


def test_an_agent_executor_or_a_sub_workflow_cannot_be_placed() -> None:
    with pytest.raises(PlacementError, match="agent executor"):
        runs_on("gpu")(AgentExecutor)
    with pytest.raises(PlacementError, match="sub-workflow"):
        runs_on("gpu")(WorkflowExecutor)


@pytest.mark.parametrize("pool", ["GPU", "gpu_1", "1gpu", "gpu-", "", "a" * 17])
def test_a_pool_name_outside_the_resource_name_rule_is_refused(pool: str) -> None:
    with pytest.raises(PlacementError, match="not valid"):
        runs_on(pool)


def test_a_general_worker_asks_for_all_it_registers_but_the_placed_activities() -> None:
    workflows = [*offline_workflows(), *demo_workflows()]
    everything = registered(workflows)

    asked = work_item_filters(workflows)

    placed = {p.activity for p in placements(workflows)}
    assert CRUNCH in placed
    assert names(asked.orchestrations) == names(everything.orchestrations)
    assert names(asked.entities) == names(everything.entities)
    assert names(asked.activities) == names(everything.activities) - placed


def test_a_pool_worker_asks_for_its_pools_activities_only() -> None:
    asked = work_item_filters(demo_workflows(), POOL)

    assert (asked.orchestrations, asked.entities) == ([], [])
    assert names(asked.activities) == {CRUNCH}


def test_the_function_apps_settings_disable_exactly_the_placed_activities() -> None:
    sample = json.loads((PROJECT / "local.settings.sample.json").read_text())["Values"]
    disabled = {name: value for name, value in sample.items() if name.endswith(".Disabled")}

    assert disabled == disabled_function_settings(offline_workflows())


def test_the_deployment_runs_every_pool_and_disables_exactly_the_placed_activities() -> None:
    parameters = json.loads((PROJECT / "infra" / "main.parameters.json").read_text())
    values = {name: entry["value"] for name, entry in parameters["parameters"].items()}
    workflows = offline_workflows()

    assert set(pools(workflows)) <= {values.get("workerPoolName")}
    assert sorted(values.get("workerPoolActivities", [])) == sorted(
        p.activity for p in placements(workflows)
    )


def test_a_pool_no_executor_is_placed_on_is_refused_by_name(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(
        CONNECTION_SETTING, f"Endpoint=http://127.0.0.1:{free_port()};Authentication=None"
    )
    monkeypatch.setenv(TASK_HUB_SETTING, "default")

    exit_code = worker_command(["--workflows", DEMO_WORKFLOWS, "--pool", "cpu"])

    assert exit_code == 2
    assert "No executor is placed on pool 'cpu' (pools of these workflows: gpu)" in (
        capsys.readouterr().err
    )


def demo_workflows() -> list[Any]:
    from tests.placement_demo import build_workflows as build_demo

    return build_demo()


@dataclass
class Placed:
    """devhost serving the demo app, and the pool workers started against its backend."""

    host: Host
    backend: str
    environment: dict[str, str]
    logs: Path
    gate: Path
    runs: WorkflowRuns
    stack: ExitStack
    pool_workers: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start_pool_worker(self, name: str) -> subprocess.Popen[bytes]:
        worker = start_pool_worker(
            POOL,
            self.backend,
            self.environment,
            self.logs,
            name,
            workflows=DEMO_WORKFLOWS,
            traces_to_devhost=True,
        )
        self.pool_workers[name] = worker
        return worker

    def start_run(self, label: str) -> str:
        response = self.host.start(WORKFLOW_NAME, {"label": label, "rounds": ROUNDS})
        assert response.status_code == 202, response.text
        return str(response.json()["instanceId"])

    def finished(self, instance_id: str) -> dict[str, Any]:
        return self.host.finished(self.host.url(f"workflow/{WORKFLOW_NAME}/status/{instance_id}"))

    def started_at_the_gate(self, pid: int) -> int:
        return len(list(self.gate.glob(f"started-{pid}-*")))


@pytest.fixture(scope="module")
def placed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Placed]:
    logs = tmp_path_factory.mktemp("placement")
    gate = logs / "gate"
    gate.mkdir()
    (gate / "open").touch()
    port, backend_port = free_ports(2)
    environment = {
        **os.environ,
        "OTEL_TRACES_EXPORTER": "console",
        GATE_SETTING: str(gate),
        f"AzureWebJobs.{CRUNCH}.Disabled": "true",
    }
    backend = f"http://127.0.0.1:{backend_port}"
    command = [sys.executable, "-m", "devhost", "--port", str(port), "--app", DEMO_APP]
    command += ["--backend-port", str(backend_port), "--no-azurite"]
    log = logs / "devhost.log"
    connection = parse_connection(
        {CONNECTION_SETTING: f"Endpoint={backend};Authentication=None", TASK_HUB_SETTING: "x"}
    )
    with ExitStack() as stack:
        host = stack.enter_context(serve(command, port, environment, log))
        runs = WorkflowRuns(connection, {CRUNCH: POOL})
        running = Placed(host, backend, environment, logs, gate, runs, stack)
        stack.callback(lambda: stop_processes(*running.pool_workers.values()))
        deadline = time.monotonic() + RUN_SECONDS
        while DEVHOST_READY not in log.read_text(errors="replace"):
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(POLL_SECONDS)
        yield running


@dataclass
class WaitedRun:
    instance_id: str
    while_no_pool_worker: dict[str, Any]
    final: dict[str, Any]
    pool_worker: int


@pytest.fixture(scope="module")
def waited_run(placed: Placed) -> WaitedRun:
    """A run started while no pool worker is connected; then one connects."""
    instance_id = placed.start_run("waited")
    log = placed.logs / "devhost.log"
    deadline = time.monotonic() + RUN_SECONDS
    # devhost says so once no connected worker takes the step; the run stays there.
    while f"activity '{CRUNCH}' of {instance_id} waits" not in log.read_text():
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(POLL_SECONDS)
    status = placed.runs.status(instance_id)
    worker = placed.start_pool_worker("pool-1")
    return WaitedRun(instance_id, status, placed.finished(instance_id), worker.pid)


def test_a_step_whose_pool_has_no_worker_waits_and_the_status_says_for_what(
    waited_run: WaitedRun,
) -> None:
    status = waited_run.while_no_pool_worker

    assert status["runtimeStatus"] == "RUNNING"
    assert status["waitingFor"] == [{"activity": CRUNCH, "pool": POOL}]


def test_devhost_says_which_step_waits_for_a_worker(placed: Placed, waited_run: WaitedRun) -> None:
    log = (placed.logs / "devhost.log").read_text()

    assert f"No connected worker takes activity '{CRUNCH}'" in log


def test_the_waiting_step_runs_on_the_pool_worker_once_it_connects(waited_run: WaitedRun) -> None:
    final = waited_run.final

    assert final["runtimeStatus"] == "Completed", final
    (output,) = final["output"]
    assert output["digest"] == digest_chain("waited", ROUNDS)
    assert output["crunched_by"] == waited_run.pool_worker
    assert output["prepared_by"] == output["finished_by"] != waited_run.pool_worker


def test_devhosts_dashboard_shows_the_placed_step_under_the_pool_workers_process(
    placed: Placed, waited_run: WaitedRun
) -> None:
    """The pool worker exports its spans to devhost (OTLP), which keeps them for the page."""
    run = f"{placed.host.base_url}/_devhost/api/instances/{waited_run.instance_id}"
    deadline = time.monotonic() + RUN_SECONDS
    while True:
        spans = requests.get(run, timeout=30).json()["spans"]
        crunched = [s for s in spans if s["name"] == f"activity:{CRUNCH}" and s["end"]]
        if crunched or time.monotonic() > deadline:
            break
        time.sleep(POLL_SECONDS)

    assert [s["process"] for s in crunched] == [f"worker pid {waited_run.pool_worker}"]
    orchestration = f"orchestration:dafx-{WORKFLOW_NAME}"
    under = {s["spanId"] for s in spans if s["name"] == orchestration}
    assert {s["parentId"] for s in crunched} <= under


@dataclass
class AfterAKill:
    killed: int
    survivor: int
    finals: dict[str, dict[str, Any]]
    started_on_the_survivor: int


@pytest.fixture(scope="module")
def after_a_kill(placed: Placed, waited_run: WaitedRun) -> AfterAKill:
    """The pool worker killed (SIGKILL) while it holds a step; then another one started."""
    victim = placed.pool_workers["pool-1"]
    before = placed.started_at_the_gate(victim.pid)
    (placed.gate / "open").unlink()
    labels = [f"run-{number}" for number in range(RUNS_AT_THE_KILL)]
    instance_ids = {placed.start_run(label): label for label in labels}
    deadline = time.monotonic() + RUN_SECONDS
    while placed.started_at_the_gate(victim.pid) == before:
        assert time.monotonic() < deadline, "the pool worker took no step"
        time.sleep(POLL_SECONDS)
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    (placed.gate / "open").touch()
    survivor = placed.start_pool_worker("pool-2")
    finals = {label: placed.finished(instance_id) for instance_id, label in instance_ids.items()}
    return AfterAKill(victim.pid, survivor.pid, finals, placed.started_at_the_gate(survivor.pid))


def test_every_run_completes_exactly_once_after_the_pool_worker_is_killed_mid_step(
    after_a_kill: AfterAKill,
) -> None:
    for label, final in after_a_kill.finals.items():
        assert final["runtimeStatus"] == "Completed", final
        (output,) = final["output"]
        assert output["label"] == label
        assert output["digest"] == digest_chain(label, ROUNDS)
        assert output["crunched_by"] == after_a_kill.survivor


def test_the_step_the_killed_worker_held_ran_again_on_the_next_pool_worker(
    after_a_kill: AfterAKill,
) -> None:
    # At least once, as on the scheduler: every step of these runs ran on the survivor.
    assert after_a_kill.started_on_the_survivor == RUNS_AT_THE_KILL


@pytest.fixture(scope="module")
def spans_by_process(placed: Placed, after_a_kill: AfterAKill) -> dict[str, list[dict[str, Any]]]:
    """Stop everything (each process exports what it holds) and read the spans each printed."""
    placed.stack.close()
    return {
        "devhost": printed_spans((placed.logs / "devhost.log").read_text()),
        "pool-2": printed_spans((placed.logs / "pool-2.spans").read_text()),
    }


def activity_spans(spans: list[dict[str, Any]]) -> set[str]:
    return {s["name"] for s in spans if s["name"].startswith("activity:")}


def test_the_traces_show_the_pool_worker_ran_only_the_placed_step(
    spans_by_process: dict[str, list[dict[str, Any]]], after_a_kill: AfterAKill
) -> None:
    on_the_pool = [s for s in spans_by_process["pool-2"] if s["name"] == f"activity:{CRUNCH}"]

    assert activity_spans(spans_by_process["pool-2"]) == {f"activity:{CRUNCH}"}
    assert len(on_the_pool) == RUNS_AT_THE_KILL


def test_the_traces_show_devhost_ran_every_other_step_and_never_the_placed_one(
    spans_by_process: dict[str, list[dict[str, Any]]],
) -> None:
    assert activity_spans(spans_by_process["devhost"]) == {
        f"activity:dafx-{WORKFLOW_NAME}-prepare",
        f"activity:dafx-{WORKFLOW_NAME}-finish",
    }
