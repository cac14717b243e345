"""The `--loops` part of `benchmark.py`: loops of K rounds on every host, side by side.

Each host runs `scripts/benchmark_loop_workload.py` (copied into the bake) for K = 10, 100
and 1,000 rounds: in-process (`Workflow.run`), on `python worker.py` against devhost's
in-memory backend, and on `python -m devhost` with one and two instances. Per host and K it
prints the median wall time of `runs` runs (after one warm-up run), the time per round, the
CPU time of the host's processes (the caller's and the backend's included), the peak RSS of
the host's largest process, and what the run left in the durable backend: its
orchestrations (the run and every child), their history events and bytes, and the largest
single history. Ratios compare each K with the one ten times smaller and each host with
worker.py. Runs are timed from the start request to the backend's completion (a server-side
wait, no polling).
"""

from __future__ import annotations

import json
import shutil
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmark_children import CHILD_SECONDS, run_python

WORKLOAD = Path(__file__).resolve().parent / "benchmark_loop_workload.py"
WORKLOAD_MODULE = WORKLOAD.stem
STEPS = (10, 100, 1_000)
WARM_UP_STEPS = 10
RUN_SECONDS = 600
LOOPS = {"pattern": "pattern_loop", "naive": "naive_loop"}
# Durable Task Scheduler throughput in actions per second (docs/scaling.md has the source).
DTS_CONSUMPTION_ACTIONS_PER_SECOND = 500
DTS_DEDICATED_ACTIONS_PER_SECOND_PER_UNIT = 2000

# Shared by the child scripts below: peak RSS from /proc, and a run's history from the
# backend over the Durable Task protocol.
COMMON_HEAD = """
import json, os, statistics, sys, time
from pathlib import Path

plan = json.loads(sys.argv[1])
"""

# What a run left in the backend, read over the Durable Task protocol (also used by
# benchmark_batch.py): its orchestrations, their history events and bytes, and the actions.
HISTORY = """
# The history events that are scheduler actions, as the scheduler bills them: starting an
# orchestration or sub-orchestration, starting an activity, processing a result, a timer, an
# external event, an entity operation, a suspend, resume or terminate (docs/scaling.md).
ACTION_EVENTS = {
    "executionStarted", "taskScheduled", "taskCompleted", "taskFailed",
    "subOrchestrationInstanceCompleted", "subOrchestrationInstanceFailed", "timerFired",
    "eventRaised", "entityOperationCalled", "entityOperationSignaled",
    "entityOperationCompleted", "entityOperationFailed", "executionSuspended",
    "executionResumed", "executionTerminated",
}


def history_figures(address, root):
    import grpc
    from devhost.upstream import pb, stubs
    channel = grpc.insecure_channel(address, options=[("grpc.max_receive_message_length", -1)])
    stub = stubs.TaskHubSidecarServiceStub(channel)
    query = pb.QueryInstancesRequest(query=pb.InstanceQuery(maxInstanceCount=1_000_000))
    ids = [state.instanceId for state in stub.QueryInstances(query).orchestrationState
           if state.instanceId.startswith(root)]
    sizes, actions = [], 0
    for instance_id in ids:
        request = pb.StreamInstanceHistoryRequest(instanceId=instance_id)
        events = [event for chunk in stub.StreamInstanceHistory(request) for event in chunk.events]
        sizes.append((len(events), sum(event.ByteSize() for event in events)))
        actions += sum(1 for event in events if event.WhichOneof("eventType") in ACTION_EVENTS)
    channel.close()
    return {
        "orchestrations": len(sizes),
        "events": sum(count for count, _ in sizes),
        "bytes": sum(size for _, size in sizes),
        "largest": max(count for count, _ in sizes),
        "actions": actions,
    }


"""

COMMON_TAIL = """
def reset_peaks(pids):
    # Writing 5 to clear_refs resets the peak RSS (VmHWM) the kernel reports.
    for pid in pids:
        try:
            Path(f"/proc/{pid}/clear_refs").write_text("5")
        except OSError:
            pass


def peak_mib(pids):
    peaks = []
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        peaks += [int(line.split()[1]) / 1024 for line in status.splitlines()
                  if line.startswith("VmHWM:")]
    return max(peaks) if peaks else None


def cpu_seconds(pids):
    # utime and stime, fields 14 and 15 of /proc/<pid>/stat, in clock ticks.
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def measure(run, pids, address):
    run(plan["workflow"], plan["warm_up"])
    results = []
    for steps in plan["steps"]:
        seconds, cpu, peaks, figures = [], [], [], None
        for _ in range(plan["runs"]):
            reset_peaks(pids())
            cpu_before = cpu_seconds(pids())
            root, elapsed = run(plan["workflow"], steps)
            cpu.append(cpu_seconds(pids()) - cpu_before)
            seconds.append(elapsed)
            peaks.append(peak_mib(pids()))
            if address:
                figures = history_figures(address, root)
        known = [peak for peak in peaks if peak is not None]
        results.append({"steps": steps, "seconds": seconds, "cpu": cpu,
                        "rss_mib": max(known) if known else None, **(figures or {})})
    print(json.dumps(results))


def check_output(workflow, steps, serialized):
    if str(steps) not in (serialized or ""):
        raise RuntimeError(f"{workflow} with {steps} rounds gave {serialized!r}")
"""

COMMON = COMMON_HEAD + HISTORY + COMMON_TAIL

IN_PROCESS = (
    COMMON
    + """
import asyncio
from benchmark_loop_workload import build_workflows


def run(workflow, steps):
    built = {candidate.name: candidate for candidate in build_workflows()}[workflow]
    started = time.perf_counter()
    outputs = asyncio.run(built.run({"steps": steps})).get_outputs()
    elapsed = time.perf_counter() - started
    check_output(workflow, steps, json.dumps(outputs))
    return None, elapsed


measure(run, lambda: [os.getpid()], None)
"""
)

WORKER = (
    COMMON
    + """
import subprocess
from agent_framework_durabletask import DurableWorkflowClient
from durabletask.client import OrchestrationStatus, TaskHubGrpcClient
from devhost.backend import LoopbackBackend

backend = LoopbackBackend()
address = backend.start()
environment = {
    **os.environ,
    "DURABLE_TASK_SCHEDULER_CONNECTION_STRING": f"Endpoint=http://{address};Authentication=None",
    "TASKHUB_NAME": "default",
}
worker = subprocess.Popen(
    [sys.executable, "worker.py", "--workflows", plan["workflows"]],
    env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
)
grpc_client = TaskHubGrpcClient(host_address=address)
client = DurableWorkflowClient(grpc_client)


def run(workflow, steps):
    started = time.perf_counter()
    instance_id = client.start_workflow({"steps": steps}, workflow_name=workflow)
    state = grpc_client.wait_for_orchestration_completion(instance_id, timeout=plan["run_seconds"])
    elapsed = time.perf_counter() - started
    if state is None or state.runtime_status != OrchestrationStatus.COMPLETED:
        raise RuntimeError(f"{workflow} with {steps} rounds ended {state}")
    check_output(workflow, steps, state.serialized_output)
    return instance_id, elapsed


try:
    measure(run, lambda: [os.getpid(), worker.pid], address)
finally:
    worker.kill()
    worker.wait()
    backend.stop(grace=0)
"""
)

DEVHOST = (
    COMMON
    + """
import requests
from durabletask.client import OrchestrationStatus, TaskHubGrpcClient
from devhost.host import DevHost
from devhost.settings import HostSettings

settings = HostSettings(project_dir=Path.cwd(), port=0, app=plan["app"],
                        instances=plan["instances"])
host = DevHost(settings)
host.start()
grpc_client = TaskHubGrpcClient(host_address=host.backend_address)


def run(workflow, steps):
    started = time.perf_counter()
    response = requests.post(f"{host.base_url}/api/workflow/{workflow}/run",
                             json={"steps": steps}, timeout=60)
    response.raise_for_status()
    instance_id = response.json()["instanceId"]
    state = grpc_client.wait_for_orchestration_completion(instance_id, timeout=plan["run_seconds"])
    elapsed = time.perf_counter() - started
    if state is None or state.runtime_status != OrchestrationStatus.COMPLETED:
        raise RuntimeError(f"{workflow} with {steps} rounds ended {state}")
    check_output(workflow, steps, state.serialized_output)
    return instance_id, elapsed


def pids():
    return sorted({os.getpid(), *host.instance_pids().values()})


try:
    measure(run, pids, host.backend_address)
finally:
    host.stop()
"""
)


@dataclass(frozen=True)
class LoopRow:
    host: str
    loop: str
    steps: int
    seconds: list[float]
    cpu_seconds: list[float]
    rss_mib: float | None
    orchestrations: int | None
    events: int | None
    history_bytes: int | None
    largest: int | None
    actions: int | None

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def per_round_ms(self) -> float:
        return self.median / self.steps * 1000

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu_seconds)


def measure_loops(
    project: Path, loops: list[str], steps: tuple[int, ...], runs: int
) -> list[LoopRow]:
    """Every host's figures for every loop and K, hosts one after another."""
    shutil.copyfile(WORKLOAD, project / WORKLOAD.name)
    hosts: list[tuple[str, str, dict[str, Any]]] = [
        ("in-process", IN_PROCESS, {}),
        ("worker.py", WORKER, {"workflows": f"{WORKLOAD_MODULE}:build_workflows"}),
        ("devhost x1", DEVHOST, {"app": f"{WORKLOAD_MODULE}:app", "instances": 1}),
        ("devhost x2", DEVHOST, {"app": f"{WORKLOAD_MODULE}:app", "instances": 2}),
    ]
    budget = CHILD_SECONDS + (runs + 1) * len(steps) * RUN_SECONDS
    rows: list[LoopRow] = []
    for loop in loops:
        for host, code, extra in hosts:
            plan = {
                "workflow": LOOPS[loop],
                "steps": list(steps),
                "runs": runs,
                "warm_up": WARM_UP_STEPS,
                "run_seconds": RUN_SECONDS,
                **extra,
            }
            for figures in run_python(code, project, json.dumps(plan), timeout=budget):
                rows.append(
                    LoopRow(
                        host,
                        loop,
                        figures["steps"],
                        figures["seconds"],
                        figures["cpu"],
                        figures["rss_mib"],
                        figures.get("orchestrations"),
                        figures.get("events"),
                        figures.get("bytes"),
                        figures.get("largest"),
                        figures.get("actions"),
                    )
                )
    return rows


def _figure(value: float | int | None, text: Callable[[Any], str]) -> str:
    return "-" if value is None else text(value)


def print_loops(rows: list[LoopRow], runs: int, table: Callable[..., str]) -> None:
    """The table, then the two goals' ratios: K=1,000 against K=10, devhost against worker.py."""
    by_key = {(row.host, row.loop, row.steps): row for row in rows}
    print(
        f"loops: median of {runs} runs per K after a warm-up run; history = what a run left in "
        "the durable backend (its orchestrations, their events and bytes, the largest history)"
    )
    header = (
        "host",
        "loop",
        "K",
        "median s",
        "ms/round",
        "CPU s",
        "per round vs K=10",
        "time x per 10x",
        "peak RSS MiB",
        "orchestrations",
        "events",
        "largest",
        "history KiB",
        "actions/round",
    )
    lines = [header]
    for row in rows:
        first = by_key.get((row.host, row.loop, min(r.steps for r in rows)))
        smaller = by_key.get((row.host, row.loop, row.steps // 10))
        lines.append(
            (
                row.host,
                row.loop,
                f"{row.steps:,}",
                f"{row.median:.2f}",
                f"{row.per_round_ms:.2f}",
                f"{row.cpu_median:.2f}",
                _figure(first and row.per_round_ms / first.per_round_ms, "{:.2f}x".format),
                _figure(smaller and row.median / smaller.median, "{:.1f}x".format),
                _figure(row.rss_mib, "{:.0f}".format),
                _figure(row.orchestrations, "{:,}".format),
                _figure(row.events, "{:,}".format),
                _figure(row.largest, "{:,}".format),
                _figure(row.history_bytes and row.history_bytes / 1024, "{:,.0f}".format),
                _figure(row.actions and row.actions / row.steps, "{:.2f}".format),
            )
        )
    print(table(lines, right_aligned=lambda column: column >= 2))
    largest = max(row.steps for row in rows)
    for loop in sorted({row.loop for row in rows}):
        counted = by_key.get(("worker.py", loop, largest))
        if counted and counted.actions:
            per_round = counted.actions / counted.steps
            print(
                f"{loop}: {per_round:.2f} scheduler actions per round at K={largest:,}, so at most "
                f"{DTS_CONSUMPTION_ACTIONS_PER_SECOND / per_round:,.0f} rounds/s on the "
                f"Consumption scheduler ({DTS_CONSUMPTION_ACTIONS_PER_SECOND} actions/s) and "
                f"{DTS_DEDICATED_ACTIONS_PER_SECOND_PER_UNIT / per_round:,.0f} per Dedicated "
                f"capacity unit ({DTS_DEDICATED_ACTIONS_PER_SECOND_PER_UNIT:,} actions/s), "
                "across all runs"
            )
    for loop in sorted({row.loop for row in rows}):
        worker = by_key.get(("worker.py", loop, largest))
        for host in ("devhost x1", "devhost x2"):
            row = by_key.get((host, loop, largest))
            if row and worker:
                print(
                    f"{loop}, K={largest:,}: {host} / worker.py = "
                    f"{row.median / worker.median:.2f}x wall, "
                    f"{row.cpu_median / worker.cpu_median:.2f}x CPU"
                )
