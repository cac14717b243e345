"""Measure a default dafx-func project: bake, cold import, devhost start-up, memory, runs.

Each starter's runs are timed twice, side by side: over HTTP on `python -m devhost`, and on
agent-framework-durabletask's standalone worker over the same in-memory backend (devhost's
`LoopbackBackend`, in a child process in the bake). Then throughput with concurrent clients
on both (a warm-up round, then `--scale-rounds` timed rounds; the median). Then scale-out:
the same concurrent workload on `python -m devhost --instances 1` and `--instances 2`, and on
one and three `worker.py` processes against one in-memory backend. Prints medians and
ratios, not verdicts. Everything runs on 127.0.0.1; children are always stopped.

    /tmp/venv/bin/python scripts/benchmark.py [--runs 20] [--clients 8] [--scale-rounds 3]
    /tmp/venv/bin/python scripts/benchmark.py --scale-only   # the scale-out comparison alone
    /tmp/venv/bin/python scripts/benchmark.py --suite-only   # the bake's own suite alone
    /tmp/venv/bin/python scripts/benchmark.py --batch        # the document batch at N = 10..10,000
    /tmp/venv/bin/python scripts/benchmark.py --loops        # loops of 10 to 1,000 rounds alone
    /tmp/venv/bin/python scripts/benchmark.py --batch --loops  # both size tables in one run
    /tmp/venv/bin/python scripts/benchmark.py --placement    # a step on a worker pool alone
"""

import argparse
import json
import math
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import benchmark_batch  # scripts/benchmark_batch.py, beside this file
import benchmark_loops
import benchmark_placement
import requests
from benchmark_children import CHILD_SECONDS, run_python, stop

TEMPLATE = Path(__file__).resolve().parents[1]
PROJECT_FOLDER = "agent_workflows"
LOOPBACK = "127.0.0.1"
STARTUP_SECONDS = 120
HEALTH_POLL_SECONDS = 0.05
STATUS_POLL_SECONDS = 0.02
REQUEST_SECONDS = 30
# The scale-out part's second workload (scripts/benchmark_workload.py, copied into the bake):
# two parallel executors per run, each holding the CPU in Python for about 50 ms here.
COMPUTE_MODULE = TEMPLATE / "scripts" / "benchmark_workload.py"
COMPUTE_SIZE = 900_000
# Its runs take hundreds of ms: reading their status every 20 ms, as for the starters, would
# mostly measure the status route (about a third of two cores at 8 clients), so once an
# executor's time.
COMPUTE_POLL_SECONDS = 0.05
SUITE_SECONDS = 900

# The fan-out starter is compared with triage, the simplest one (default names of a bake).
TRIAGE_DEFAULT = "support_triage"
FANOUT_DEFAULT = "supplier_quotes"
BATCH_DEFAULT = "document_batch"
# The answers a person gives when a run pauses, by workflow (default names of a bake).
HUMAN_ANSWERS: dict[str, dict[str, Any]] = {
    "expense_approval": {"approved": True},
    "trip_booking": {"confirm": True},
}

# Run inside the baked project, so the bodies are the ones its own tests send.
DUMP_SCENARIOS = """
import json
from tests.scenarios import SCENARIOS
print(json.dumps([
    {"id": s.id, "workflow": s.workflow, "body": s.body, "asks_people": bool(s.answers)}
    for s in SCENARIOS if not s.calls_the_model
]))
"""

# Run inside the baked project (after `client` and `plan` exist): one run on the standalone
# durabletask worker, timed the way run_once times HTTP runs (start, answer people, poll every
# STATUS_POLL_SECONDS).
STANDALONE_RUN_ONCE = """
def run_once(load):
    answer = plan["answers"].get(load["workflow"])
    started = time.perf_counter()
    instance = client.start_workflow(load["body"], workflow_name=load["workflow"])
    answered = set()
    deadline = time.monotonic() + plan["run_seconds"]
    while time.monotonic() < deadline:
        status = client.get_runtime_status(instance, workflow_name=load["workflow"])
        if status == "COMPLETED":
            return (time.perf_counter() - started) * 1000
        if status in ("FAILED", "TERMINATED"):
            raise RuntimeError(load["workflow"] + " ended " + status)
        pending = client.get_pending_hitl_requests(instance, workflow_name=load["workflow"])
        fresh = [item for item in pending if item["request_id"] not in answered]
        if fresh:
            client.send_hitl_response(
                instance, fresh[0]["request_id"], answer, workflow_name=load["workflow"]
            )
            answered.add(fresh[0]["request_id"])
            continue
        time.sleep(plan["poll_seconds"])
    raise RuntimeError(load["workflow"] + " did not complete")


def throughput():
    loads = [load for load in plan["workloads"] for _ in range(plan["runs"])]
    started = time.perf_counter()
    with ThreadPoolExecutor(plan["clients"]) as pool:
        list(pool.map(run_once, loads))
    return len(loads) / (time.perf_counter() - started)
"""

# Run inside the baked project: the runs on agent-framework-durabletask's worker in this
# process, over the same in-memory backend devhost uses (its `LoopbackBackend`).
STANDALONE = (
    """
import json, statistics, sys, time
from concurrent.futures import ThreadPoolExecutor
from agent_framework_durabletask import DurableAIAgentWorker, DurableWorkflowClient
from durabletask.client import TaskHubGrpcClient
from durabletask.worker import TaskHubGrpcWorker
from devhost.backend import LoopbackBackend
from worker import ANY_MESSAGE_SIZE
from workflows import build_workflows

plan = json.loads(sys.argv[1])
backend = LoopbackBackend()
address = backend.start()
worker = DurableAIAgentWorker(
    TaskHubGrpcWorker(host_address=address, channel_options=ANY_MESSAGE_SIZE)
)
for workflow in build_workflows():
    worker.configure_workflow(workflow)
worker.start()
client = DurableWorkflowClient(
    TaskHubGrpcClient(host_address=address, channel_options=ANY_MESSAGE_SIZE)
)
"""
    + STANDALONE_RUN_ONCE
    + """
try:
    medians = {}
    for load in plan["workloads"]:
        medians[load["workflow"]] = statistics.median(
            [run_once(load) for _ in range(plan["runs"])]
        )
    throughput()
    rates = [throughput() for _ in range(plan["rounds"])]
    print(json.dumps({"medians": medians, "rates": rates}))
finally:
    worker.stop()
    backend.stop(grace=0)
"""
)

# Run inside the baked project: `python worker.py` in `plan["workers"]` processes of their own
# against one durabletask in-memory backend on a free port, as the worker test runs them; one
# warm-up round, then `plan["rounds"]` timed rounds of concurrent runs.
STANDALONE_WORKERS = (
    """
import json, os, socket, subprocess, sys, time
from concurrent.futures import ThreadPoolExecutor
from agent_framework_durabletask import DurableWorkflowClient
from durabletask.client import TaskHubGrpcClient
from durabletask.testing import InMemoryOrchestrationBackend

plan = json.loads(sys.argv[1])


class CountingBackend(InMemoryOrchestrationBackend):
    streams = 0

    def GetWorkItems(self, request, context):
        CountingBackend.streams += 1
        yield from super().GetWorkItems(request, context)


with socket.socket() as probe:
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
backend = CountingBackend(port=port)
backend.start()
environment = {
    **os.environ,
    "DURABLE_TASK_SCHEDULER_CONNECTION_STRING": f"Endpoint=http://localhost:{port};Authentication=None",
    "TASKHUB_NAME": "default",
}
command = [sys.executable, "worker.py", "--workflows", plan["workflows"]]
workers = [
    subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL)
    for _ in range(plan["workers"])
]
client = DurableWorkflowClient(TaskHubGrpcClient(host_address=f"localhost:{port}"))
"""
    + STANDALONE_RUN_ONCE
    + """
try:
    deadline = time.monotonic() + 120
    while CountingBackend.streams < plan["workers"]:
        if time.monotonic() > deadline or any(w.poll() is not None for w in workers):
            raise RuntimeError("the standalone workers did not all connect within 120 s")
        time.sleep(0.05)
    throughput()
    print(json.dumps({"rates": [throughput() for _ in range(plan["rounds"])]}))
finally:
    for worker in workers:
        worker.kill()
        worker.wait()
    backend.stop(grace=0)
"""
)

# Run inside the baked project: one run of each workload on devhost (in this process), then
# the Durable Task Scheduler actions its history shows, over the run's own instance and every
# child it created. An action, as the scheduler bills it: starting an orchestration or
# sub-orchestration, starting an activity, processing an activity's, entity call's or
# sub-orchestration's result, a timer firing, an external event, an entity operation, a
# suspend, resume or terminate.
ACTIONS = """
import json, sys, time
import grpc
import requests
from pathlib import Path
from devhost.host import DevHost
from devhost.settings import HostSettings
from devhost.upstream import pb, stubs

plan = json.loads(sys.argv[1])
ACTION_EVENTS = {
    "executionStarted", "taskScheduled", "taskCompleted", "taskFailed",
    "subOrchestrationInstanceCompleted", "subOrchestrationInstanceFailed", "timerFired",
    "eventRaised", "entityOperationCalled", "entityOperationSignaled",
    "entityOperationCompleted", "entityOperationFailed", "executionSuspended",
    "executionResumed", "executionTerminated",
}
host = DevHost(HostSettings(project_dir=Path.cwd(), port=0))
host.start()
stub = stubs.TaskHubSidecarServiceStub(grpc.insecure_channel(host.backend_address))


def instance_ids():
    query = pb.QueryInstancesRequest(query=pb.InstanceQuery(maxInstanceCount=10000))
    return {state.instanceId for state in stub.QueryInstances(query).orchestrationState}


def actions(instance_id):
    request = pb.StreamInstanceHistoryRequest(instanceId=instance_id)
    return sum(
        1
        for chunk in stub.StreamInstanceHistory(request)
        for event in chunk.events
        if event.WhichOneof("eventType") in ACTION_EVENTS
    )


def run(load):
    base = host.base_url + "/api/workflow/" + load["workflow"]
    status_url = requests.post(base + "/run", json=load["body"], timeout=30).json()[
        "statusQueryGetUri"
    ]
    answered = set()
    deadline = time.monotonic() + plan["run_seconds"]
    while time.monotonic() < deadline:
        status = requests.get(status_url, timeout=30).json()
        if status["runtimeStatus"] == "Completed":
            return
        pending = status.get("pendingHumanInputRequests") or []
        if pending and pending[0]["requestId"] not in answered:
            answer = plan["answers"][load["workflow"]]
            requests.post(pending[0]["respondUrl"], json=answer, timeout=30)
            answered.add(pending[0]["requestId"])
        time.sleep(0.02)
    raise RuntimeError(load["workflow"] + " did not complete")


try:
    counts = {}
    for load in plan["workloads"]:
        before = instance_ids()
        run(load)
        created = instance_ids() - before
        counts[load["workflow"]] = {
            "actions": sum(actions(instance_id) for instance_id in created),
            "instances": len(created),
        }
    print(json.dumps(counts))
finally:
    host.stop()
"""

# Run inside the baked project: how long one compute executor's work takes here, in ms.
COMPUTE_TIMING = """
import json, sys, time
from benchmark_workload import checksum
size = int(sys.argv[1])
checksum(size)
timings = []
for _ in range(5):
    started = time.perf_counter()
    checksum(size)
    timings.append((time.perf_counter() - started) * 1000)
print(json.dumps(sorted(timings)[2]))
"""

COLD_IMPORT = """
import json, resource, time
started = time.perf_counter()
import function_app
seconds = time.perf_counter() - started
peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": seconds, "peak_rss_kib": peak_kib}))
"""


@dataclass(frozen=True)
class Workload:
    workflow: str
    scenario: str
    body: Any


@dataclass(frozen=True)
class Latencies:
    workflow: str
    scenario: str
    milliseconds: list[float]
    answers: int


def bake(output_dir: Path) -> tuple[Path, float]:
    """Bake the defaults with the cookiecutter command line, as a user would."""
    command = [sys.executable, "-m", "cookiecutter", str(TEMPLATE), "--no-input"]
    started = time.perf_counter()
    completed = subprocess.run(
        [*command, "-o", str(output_dir)],
        capture_output=True,
        text=True,
        timeout=CHILD_SECONDS,
        check=False,
    )
    seconds = time.perf_counter() - started
    if completed.returncode != 0:
        sys.exit(f"cookiecutter failed ({completed.returncode}):\n{completed.stderr}")
    return output_dir / PROJECT_FOLDER, seconds


@dataclass(frozen=True)
class SuiteRun:
    wall_seconds: float
    cpu_seconds: float
    summary: str


def project_suite(project: Path, runs: int) -> list[SuiteRun]:
    """The project's own `python -m pytest -q` as its README runs it, `runs` times.

    CPU is every process the suite waited for (its xdist workers and their children)."""
    measured = []
    for _ in range(runs):
        before, started = os.times(), time.perf_counter()
        completed = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
            cwd=project,
            capture_output=True,
            text=True,
            timeout=SUITE_SECONDS,
            check=False,
        )
        wall, after = time.perf_counter() - started, os.times()
        summary = completed.stdout.strip().splitlines()[-1] if completed.stdout.strip() else ""
        if completed.returncode != 0:
            sys.exit(f"the project's suite failed:\n{completed.stdout[-4000:]}")
        cpu = (after.children_user + after.children_system) - (
            before.children_user + before.children_system
        )
        measured.append(SuiteRun(wall, cpu, summary))
    return measured


def print_suite(runs: list[SuiteRun]) -> None:
    print(
        f"project suite (python -m pytest -q, {len(runs)} runs): median "
        f"{statistics.median(r.wall_seconds for r in runs):.1f} s wall, "
        f"{statistics.median(r.cpu_seconds for r in runs):.1f} s CPU; runs (wall/CPU s): "
        + " ".join(f"{r.wall_seconds:.1f}/{r.cpu_seconds:.1f}" for r in runs)
        + f"; last: {runs[-1].summary}"
    )


def cold_import(project: Path) -> dict[str, float]:
    started = time.perf_counter()
    figures = run_python(COLD_IMPORT, project)
    figures["process_seconds"] = time.perf_counter() - started
    return figures


def pick_workloads(project: Path) -> list[Workload]:
    """One scenario per workflow: the one that asks people when there is one, else the first."""
    chosen: dict[str, dict[str, Any]] = {}
    for scenario in run_python(DUMP_SCENARIOS, project):
        current = chosen.get(scenario["workflow"])
        if current is None or (scenario["asks_people"] and not current["asks_people"]):
            chosen[scenario["workflow"]] = scenario
    return [Workload(s["workflow"], s["id"], s["body"]) for s in chosen.values()]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def rss_mib(pid: int) -> float | None:
    """Resident set size from /proc (Linux); None where /proc is missing."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return None


def wait_until_healthy(process: subprocess.Popen[bytes], base: str, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"devhost exited with {process.returncode}:\n{log.read_text()}")
        try:
            if requests.get(f"{base}/api/health", timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(HEALTH_POLL_SECONDS)
    sys.exit(f"devhost was not healthy after {STARTUP_SECONDS}s:\n{log.read_text()}")


class Client:
    """HTTP calls that refuse any address outside the devhost under test."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.session = requests.Session()

    def _checked(self, url: str) -> str:
        if not url.startswith(f"{self.base}/"):
            raise RuntimeError(f"refusing to call {url}: not on {self.base}")
        return url

    def post(self, url: str, body: Any) -> Any:
        response = self.session.post(self._checked(url), json=body, timeout=REQUEST_SECONDS)
        response.raise_for_status()
        return response.json()

    def get(self, url: str) -> Any:
        response = self.session.get(self._checked(url), timeout=REQUEST_SECONDS)
        response.raise_for_status()
        return response.json()


def run_once(
    client: Client,
    workload: Workload,
    run_seconds: float,
    poll_seconds: float = STATUS_POLL_SECONDS,
) -> tuple[float, int]:
    """Start a run, answer its human requests, poll until Completed.

    Returns the round trip in ms (first POST to the status read that shows Completed) and the
    number of human requests answered on the way.
    """
    answer = HUMAN_ANSWERS.get(workload.workflow)
    started = time.perf_counter()
    deadline = time.monotonic() + run_seconds
    run_url = f"{client.base}/api/workflow/{workload.workflow}/run"
    status_url = client.post(run_url, workload.body)["statusQueryGetUri"]
    answered: set[str] = set()
    while time.monotonic() < deadline:
        status = client.get(status_url)
        runtime_status = status.get("runtimeStatus")
        if runtime_status == "Completed":
            return (time.perf_counter() - started) * 1000, len(answered)
        if runtime_status in {"Failed", "Terminated"}:
            raise RuntimeError(f"{workload.workflow} run ended {runtime_status}: {status}")
        pending = status.get("pendingHumanInputRequests") or []
        if pending and pending[0]["requestId"] not in answered:
            if answer is None:
                raise RuntimeError(f"{workload.workflow} asks people; no answer is configured")
            client.post(pending[0]["respondUrl"], answer)
            answered.add(pending[0]["requestId"])
            continue
        time.sleep(poll_seconds)
    raise RuntimeError(f"{workload.workflow} run did not complete within {run_seconds}s")


def concurrent_throughput(
    client: Client,
    workloads: list[Workload],
    runs: int,
    clients: int,
    run_seconds: float,
    poll_seconds: float = STATUS_POLL_SECONDS,
) -> float:
    """Runs per second with `clients` callers at once, each run as in run_once."""
    loads = [workload for workload in workloads for _ in range(runs)]
    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(
            pool.map(lambda workload: run_once(client, workload, run_seconds, poll_seconds), loads)
        )
    return len(loads) / (time.perf_counter() - started)


def standalone_figures(
    project: Path, workloads: list[Workload], plan: "ScalePlan"
) -> dict[str, Any]:
    """Medians per workflow, then concurrent throughput (a warm-up round and timed rounds) on
    the standalone worker, in a child process."""
    child_plan = {
        "workloads": [{"workflow": w.workflow, "body": w.body} for w in workloads],
        "answers": HUMAN_ANSWERS,
        "runs": plan.runs,
        "clients": plan.clients,
        "run_seconds": plan.run_seconds,
        "poll_seconds": STATUS_POLL_SECONDS,
        "rounds": plan.rounds,
    }
    budget = CHILD_SECONDS + (plan.rounds + 2) * plan.runs * len(workloads) * plan.run_seconds
    figures: dict[str, Any] = run_python(
        STANDALONE, project, json.dumps(child_plan), timeout=budget
    )
    return figures


def devhost_rates(
    project: Path, scratch: Path, instances: int, load: "ScaleLoad", plan: "ScalePlan"
) -> list[float]:
    """Runs per second on `python -m devhost --instances N`: a warm-up round, then timed rounds."""
    port = free_port()
    base = f"http://{LOOPBACK}:{port}"
    log = scratch / f"devhost-{load.label}-{instances}-instances.log"
    command = [sys.executable, "-m", "devhost", "--host", LOOPBACK, "--port", str(port)]
    command += ["--instances", str(instances), "--app", load.app]
    with log.open("wb") as output:
        process = subprocess.Popen(command, cwd=project, stdout=output, stderr=output)
    try:
        wait_until_healthy(process, base, log)
        client = Client(base)

        def measure() -> float:
            return concurrent_throughput(
                client, load.workloads, plan.runs, plan.clients, plan.run_seconds, load.poll_seconds
            )

        measure()
        return [measure() for _ in range(plan.rounds)]
    finally:
        stop(process)


def standalone_worker_rates(
    project: Path, workers: int, load: "ScaleLoad", plan: "ScalePlan"
) -> list[float]:
    """Runs per second on `workers` worker.py processes: a warm-up round, then timed rounds."""
    child_plan = {
        "workloads": [{"workflow": w.workflow, "body": w.body} for w in load.workloads],
        "workflows": load.workflows,
        "answers": HUMAN_ANSWERS,
        "runs": plan.runs,
        "clients": plan.clients,
        "run_seconds": plan.run_seconds,
        "poll_seconds": load.poll_seconds,
        "workers": workers,
        "rounds": plan.rounds,
    }
    budget = CHILD_SECONDS + (plan.rounds + 1) * plan.runs * len(load.workloads) * plan.run_seconds
    figures = run_python(STANDALONE_WORKERS, project, json.dumps(child_plan), timeout=budget)
    rates: list[float] = figures["rates"]
    return rates


# Durable Task Scheduler throughput, in actions per second (see docs/scaling.md for the source).
DTS_CONSUMPTION_ACTIONS_PER_SECOND = 500
DTS_DEDICATED_ACTIONS_PER_SECOND_PER_UNIT = 2000


def action_counts(project: Path, workloads: list[Workload], run_seconds: float) -> dict[str, Any]:
    """Scheduler actions of one run of each workload, counted from its history on devhost."""
    plan = {
        "workloads": [{"workflow": w.workflow, "body": w.body} for w in workloads],
        "answers": HUMAN_ANSWERS,
        "run_seconds": run_seconds,
    }
    budget = CHILD_SECONDS + len(workloads) * run_seconds
    counts: dict[str, Any] = run_python(ACTIONS, project, json.dumps(plan), timeout=budget)
    return counts


def print_actions(counts: dict[str, Any]) -> None:
    rows = [
        (
            "workflow",
            "instances",
            "actions/run",
            "runs/s at DTS Consumption",
            "runs/s per Dedicated CU",
        )
    ]
    rows += [
        (
            workflow,
            str(count["instances"]),
            str(count["actions"]),
            f"{DTS_CONSUMPTION_ACTIONS_PER_SECOND / count['actions']:.0f}",
            f"{DTS_DEDICATED_ACTIONS_PER_SECOND_PER_UNIT / count['actions']:.0f}",
        )
        for workflow, count in counts.items()
    ]
    print(
        "scheduler actions per run (from each run's history on devhost) and the runs per second "
        f"they allow at {DTS_CONSUMPTION_ACTIONS_PER_SECOND} actions/s (Consumption) and "
        f"{DTS_DEDICATED_ACTIONS_PER_SECOND_PER_UNIT} actions/s per capacity unit (Dedicated)"
    )
    print(table(rows, right_aligned=lambda column: column >= 1))


@dataclass(frozen=True)
class ScalePlan:
    runs: int
    clients: int
    rounds: int
    run_seconds: float


@dataclass(frozen=True)
class ScaleLoad:
    """One workload of the scale-out comparison and how each host is told to serve it."""

    label: str
    description: str
    workloads: list[Workload]
    app: str
    workflows: str
    poll_seconds: float


def scale_loads(project: Path, starters: list[Workload]) -> list[ScaleLoad]:
    """The starters, and the compute workload (its module copied into the project)."""
    shutil.copyfile(COMPUTE_MODULE, project / COMPUTE_MODULE.name)
    milliseconds = run_python(COMPUTE_TIMING, project, str(COMPUTE_SIZE))
    return [
        ScaleLoad(
            "starters",
            "the starters (executors that do almost no work of their own); status read every "
            f"{STATUS_POLL_SECONDS * 1000:.0f} ms",
            starters,
            "function_app:app",
            "workflows:build_workflows",
            STATUS_POLL_SECONDS,
        ),
        ScaleLoad(
            "compute",
            f"{COMPUTE_MODULE.stem}: two parallel executors per run, each computing in Python "
            f"for {milliseconds:.0f} ms; status read every {COMPUTE_POLL_SECONDS * 1000:.0f} ms",
            [Workload("compute_heavy", "compute", {"size": COMPUTE_SIZE})],
            f"{COMPUTE_MODULE.stem}:app",
            f"{COMPUTE_MODULE.stem}:build_workflows",
            COMPUTE_POLL_SECONDS,
        ),
    ]


ScaleFigures = list[tuple[str, int, list[float]]]


def scale_out(
    project: Path, scratch: Path, loads: list[ScaleLoad], plan: ScalePlan
) -> list[tuple[ScaleLoad, ScaleFigures]]:
    """Throughput of each workload on 1 and 2 devhost instances, 1 and 3 standalone workers."""
    return [
        (
            load,
            [
                ("devhost instances", 1, devhost_rates(project, scratch, 1, load, plan)),
                ("devhost instances", 2, devhost_rates(project, scratch, 2, load, plan)),
                ("standalone workers", 1, standalone_worker_rates(project, 1, load, plan)),
                ("standalone workers", 3, standalone_worker_rates(project, 3, load, plan)),
            ],
        )
        for load in loads
    ]


def print_scale_out(measured: list[tuple[ScaleLoad, ScaleFigures]], plan: ScalePlan) -> None:
    print(
        f"scale-out: {plan.runs} runs per workflow per round, {plan.clients} concurrent clients, "
        f"{plan.rounds} timed rounds after one warm-up round"
    )
    for load, figures in measured:
        baseline = {kind: statistics.median(rates) for kind, count, rates in figures if count == 1}
        rows = [("host", "processes", "median runs/s", "rounds (runs/s)", "vs one")]
        rows += [
            (
                kind,
                str(count),
                f"{statistics.median(rates):.1f}",
                " ".join(f"{rate:.1f}" for rate in rates),
                ratio(statistics.median(rates), baseline[kind]),
            )
            for kind, count, rates in figures
        ]
        print()
        print(f"workload: {load.description}")
        print(table(rows, right_aligned=lambda column: column in (1, 2, 4)))


def machine() -> str:
    return f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, {sys.platform}"


def ratio(numerator: float, denominator: float) -> str:
    return f"{numerator / denominator:.2f}x" if denominator else "n/a"


def nearest_rank(values: list[float], percentile: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(percentile / 100 * len(ordered)) - 1)]


def run_loops(
    project: Path, arguments: argparse.Namespace, parser: argparse.ArgumentParser
) -> None:
    """The `--loops` part: every host at every K, then its table."""
    steps = tuple(int(value) for value in arguments.loop_steps.split(","))
    if arguments.loop_runs < 1 or not all(1 <= value <= 1000 for value in steps):
        parser.error("--loop-runs must be at least 1 and --loop-steps from 1 to 1000")
    loops = ["pattern", "naive"] if arguments.loops_naive else ["pattern"]
    rows = benchmark_loops.measure_loops(project, loops, steps, arguments.loop_runs)
    benchmark_loops.print_loops(rows, arguments.loop_runs, table)


def table(rows: list[tuple[str, ...]], right_aligned: Callable[[int], bool]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [
            cell.rjust(width) if right_aligned(i) else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def megabytes(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} MiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="runs per workflow (default 20)")
    parser.add_argument(
        "--run-timeout", type=float, default=60, help="seconds one run may take (default 60)"
    )
    parser.add_argument(
        "--clients", type=int, default=8, help="concurrent clients for throughput (default 8)"
    )
    parser.add_argument(
        "--scale-rounds",
        type=int,
        default=3,
        help="timed rounds of concurrent runs, after a warm-up, per configuration (default 3)",
    )
    parser.add_argument(
        "--scale-only",
        action="store_true",
        help="only the scale-out comparison (devhost instances, standalone workers)",
    )
    parser.add_argument(
        "--suite-runs",
        type=int,
        default=3,
        help="times the default bake's own test suite is run and timed (default 3)",
    )
    parser.add_argument(
        "--suite-only", action="store_true", help="only time the default bake's own test suite"
    )
    parser.add_argument(
        "--batch",
        action="store_true",
        help="only the document batch at growing sizes on every host (scripts/benchmark_batch.py)",
    )
    parser.add_argument(
        "--batch-sizes",
        default=",".join(str(size) for size in benchmark_batch.SIZES),
        help="documents per batch, comma-separated (default %(default)s)",
    )
    parser.add_argument(
        "--loops",
        action="store_true",
        help="only loops of K rounds on every host (see scripts/benchmark_loops.py)",
    )
    parser.add_argument(
        "--loop-runs", type=int, default=3, help="timed runs per host and K (default 3)"
    )
    parser.add_argument(
        "--loop-steps",
        default=",".join(str(steps) for steps in benchmark_loops.STEPS),
        help="the numbers of rounds, comma-separated, at most 1000 (default 10,100,1000)",
    )
    parser.add_argument(
        "--loops-naive",
        action="store_true",
        help="also the loop in one workflow, without the template's pattern",
    )
    parser.add_argument(
        "--placement",
        action="store_true",
        help="only a step on a worker pool: one and two pool workers, and a mixed workload "
        "with the pool worker killed twice (see scripts/benchmark_placement.py)",
    )
    parser.add_argument(
        "--placement-runs",
        type=int,
        default=40,
        help="placed runs per timed round of the pool comparison (default 40)",
    )
    parser.add_argument(
        "--mixed-runs",
        type=int,
        default=1000,
        help="runs of the mixed workload with the pool worker killed twice (default 1000)",
    )
    parser.add_argument(
        "--batch-hosts",
        default=",".join(benchmark_batch.HOSTS),
        help="hosts of --batch, comma-separated (default %(default)s)",
    )
    arguments = parser.parse_args()
    if min(arguments.runs, arguments.clients, arguments.scale_rounds, arguments.suite_runs) < 1:
        parser.error("--runs, --clients, --scale-rounds and --suite-runs must be at least 1")
    plan = ScalePlan(
        arguments.runs, arguments.clients, arguments.scale_rounds, arguments.run_timeout
    )

    if arguments.batch:
        sizes = tuple(int(size) for size in arguments.batch_sizes.split(","))
        hosts = tuple(host.strip() for host in arguments.batch_hosts.split(","))
        unknown = set(hosts) - set(benchmark_batch.HOSTS)
        if unknown:
            parser.error(f"--batch-hosts: unknown {', '.join(sorted(unknown))}")
        with tempfile.TemporaryDirectory(prefix="dafx-bench-") as scratch:
            project, _ = bake(Path(scratch))
            print(machine())
            benchmark_batch.run(project, BATCH_DEFAULT, sizes, hosts)
            if arguments.loops:  # both size tables from one run and one bake
                print()
                run_loops(project, arguments, parser)
        return

    if arguments.placement:
        with tempfile.TemporaryDirectory(prefix="dafx-bench-") as scratch:
            project, _ = bake(Path(scratch))
            print(machine())
            print()
            benchmark_placement.run(
                project,
                Path(scratch),
                table,
                runs=arguments.placement_runs,
                rounds=arguments.scale_rounds,
                size=COMPUTE_SIZE,
                mixed_runs=arguments.mixed_runs,
                clients=arguments.clients,
                seconds=max(arguments.run_timeout, 600),
            )
        return

    if arguments.loops:
        with tempfile.TemporaryDirectory(prefix="dafx-bench-") as scratch:
            project, _ = bake(Path(scratch))
            print(machine())
            print()
            run_loops(project, arguments, parser)
        return

    if arguments.suite_only:
        with tempfile.TemporaryDirectory(prefix="dafx-bench-") as scratch:
            project, _ = bake(Path(scratch))
            suite = project_suite(project, arguments.suite_runs)
        print(machine())
        print_suite(suite)
        return

    if arguments.scale_only:
        with tempfile.TemporaryDirectory(prefix="dafx-bench-") as scratch:
            project, _ = bake(Path(scratch))
            workloads = pick_workloads(project)
            figures = scale_out(project, Path(scratch), scale_loads(project, workloads), plan)
            counts = action_counts(project, workloads, arguments.run_timeout)
        print(machine())
        print()
        print_scale_out(figures, plan)
        print()
        print_actions(counts)
        return

    with tempfile.TemporaryDirectory(prefix="dafx-bench-") as scratch:
        project, bake_seconds = bake(Path(scratch))
        imported = cold_import(project)
        workloads = pick_workloads(project)

        port = free_port()
        base = f"http://{LOOPBACK}:{port}"
        log = Path(scratch) / "devhost.log"
        command = [sys.executable, "-m", "devhost", "--host", LOOPBACK, "--port", str(port)]
        with log.open("wb") as output:
            started = time.perf_counter()
            process = subprocess.Popen(command, cwd=project, stdout=output, stderr=output)
        try:
            wait_until_healthy(process, base, log)
            startup_seconds = time.perf_counter() - started
            rss_started = rss_mib(process.pid)

            client = Client(base)
            results = []
            workload_started = time.perf_counter()
            for workload in workloads:
                runs = [
                    run_once(client, workload, arguments.run_timeout) for _ in range(arguments.runs)
                ]
                milliseconds = [elapsed for elapsed, _ in runs]
                answers = sum(answered for _, answered in runs)
                results.append(
                    Latencies(workload.workflow, workload.scenario, milliseconds, answers)
                )
            workload_seconds = time.perf_counter() - workload_started
            concurrent_throughput(client, workloads, plan.runs, plan.clients, plan.run_seconds)
            devhost_rates_seen = [
                concurrent_throughput(client, workloads, plan.runs, plan.clients, plan.run_seconds)
                for _ in range(plan.rounds)
            ]
            rss_after = rss_mib(process.pid)
        finally:
            stop(process)
        standalone = standalone_figures(project, workloads, plan)
        scaled = scale_out(project, Path(scratch), scale_loads(project, workloads), plan)
        counts = action_counts(project, workloads, arguments.run_timeout)
        suite = project_suite(project, arguments.suite_runs)

    total_runs = sum(len(result.milliseconds) for result in results)
    print(machine())
    print()
    print(
        table(
            [
                ("measure", "value"),
                ("bake (cookiecutter CLI)", f"{bake_seconds * 1000:.0f} ms"),
                ("cold import function_app", f"{imported['seconds'] * 1000:.0f} ms"),
                ("  child process total", f"{imported['process_seconds'] * 1000:.0f} ms"),
                ("  child peak RSS", megabytes(imported["peak_rss_kib"] / 1024)),
                ("devhost start to healthy", f"{startup_seconds * 1000:.0f} ms"),
                ("devhost RSS after start", megabytes(rss_started)),
                ("devhost RSS after workload", megabytes(rss_after)),
            ],
            right_aligned=lambda column: column == 1,
        )
    )
    print()
    medians = {result.workflow: statistics.median(result.milliseconds) for result in results}
    alone = standalone["medians"]
    rows = [
        (
            "workflow",
            "scenario",
            "runs",
            "answers",
            "devhost median ms",
            "p95 ms",
            "standalone median ms",
            "devhost/standalone",
        )
    ]
    rows += [
        (
            result.workflow,
            result.scenario,
            str(len(result.milliseconds)),
            str(result.answers),
            f"{medians[result.workflow]:.1f}",
            f"{nearest_rank(result.milliseconds, 95):.1f}",
            f"{alone[result.workflow]:.1f}",
            ratio(medians[result.workflow], alone[result.workflow]),
        )
        for result in results
    ]
    print(table(rows, right_aligned=lambda column: column >= 2))
    print()
    if {TRIAGE_DEFAULT, FANOUT_DEFAULT} <= medians.keys():
        triage, fanout = TRIAGE_DEFAULT, FANOUT_DEFAULT
        print(
            f"fan-out vs triage: devhost {ratio(medians[fanout], medians[triage])}, "
            f"standalone {ratio(alone[fanout], alone[triage])} (medians)"
        )
    print(
        f"throughput, one client: devhost {total_runs / workload_seconds:.1f} runs/s "
        f"({total_runs} runs in {workload_seconds:.2f} s)"
    )
    devhost_rate = statistics.median(devhost_rates_seen)
    standalone_rates: list[float] = standalone["rates"]
    standalone_rate = statistics.median(standalone_rates)
    print(
        f"throughput, {arguments.clients} concurrent clients, median of {plan.rounds} rounds after "
        f"a warm-up: devhost {devhost_rate:.1f} runs/s, standalone {standalone_rate:.1f} runs/s, "
        f"ratio {ratio(devhost_rate, standalone_rate)}"
    )
    print(
        f"  rounds (runs/s): devhost {' '.join(f'{rate:.1f}' for rate in devhost_rates_seen)}; "
        f"standalone {' '.join(f'{rate:.1f}' for rate in standalone_rates)}"
    )
    print()
    print_scale_out(scaled, plan)
    print()
    print_actions(counts)
    print()
    print_suite(suite)


if __name__ == "__main__":
    main()
