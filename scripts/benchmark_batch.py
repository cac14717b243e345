"""The document batch at growing sizes, side by side on every host (`benchmark.py --batch`).

A default bake's document batch starter runs batches of N = 10, 100, 1,000 and 10,000 sample
documents (the bake's `scripts/sample_documents.py`) kept in Azurite, on each host in turn:
in-process (`Workflow.run` in one Python process), one `worker.py` process on devhost's
in-memory backend, and `python -m devhost` with one and with two instances. For each batch it
prints the wall time from start to output, the time per document, the peak resident memory of
the host's busiest process (its high-water mark so far; sizes run in ascending order) and the
growth of the time for each tenfold growth of the batch, and on the durable hosts what the
batch left in the backend (its orchestrations, their history events and bytes, the largest
history). Azurite is the `azurite-blob` on PATH, else the one `scripts/azurite.sh` installs;
it keeps its data on disk, as devhost and the README's `--location .azurite` run it.
Everything runs on 127.0.0.1.
"""

import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from benchmark_children import run_python, stop
from benchmark_loops import HISTORY

TEMPLATE = Path(__file__).resolve().parents[1]
LOOPBACK = "127.0.0.1"
SIZES = (10, 100, 1_000, 10_000)
STARTUP_SECONDS = 120
POLL_SECONDS = 0.05
STOP_SECONDS = 30
# Azurite's well-known development account (public; the same on every machine).
ACCOUNT = "devstoreaccount1"
ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
HOSTS = ("in-process", "worker.py", "devhost x1", "devhost x2")

# Run inside the bake: every batch in-process, one after the other; prints JSON.
IN_PROCESS = """
import asyncio, json, resource, sys, time
from workflows.document_batch import build_document_batch_workflow

plan = json.loads(sys.argv[1])
figures = []
for body in plan["bodies"]:
    started = time.perf_counter()
    outputs = asyncio.run(build_document_batch_workflow().run(body)).get_outputs()
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures.append({"seconds": seconds, "documents": outputs[-1].documents, "peak_mib": peak})
print(json.dumps(figures))
"""

# Run inside the bake: devhost's in-memory backend in this process, one `python worker.py`
# beside it; each batch started and awaited through worker.py's own client.
WORKER = (
    """
import json, os, subprocess, sys, time
from pathlib import Path
from durabletask.client import TaskHubGrpcClient
from devhost.backend import LoopbackBackend
from worker import WorkflowRuns, parse_connection

FINISHED = ("COMPLETED", "FAILED", "TERMINATED")

plan = json.loads(sys.argv[1])
"""
    + HISTORY
    + """


def peak_mib(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


backend = LoopbackBackend()
address = backend.start()
environment = {
    **os.environ,
    "DURABLE_TASK_SCHEDULER_CONNECTION_STRING": f"Endpoint=http://{address};Authentication=None",
    "TASKHUB_NAME": "default",
}
worker = subprocess.Popen(
    [sys.executable, "worker.py"], env=environment, stdout=subprocess.DEVNULL,
    stderr=open(plan["log"], "wb"),
)
runs = WorkflowRuns(parse_connection(environment))
backend_client = TaskHubGrpcClient(host_address=address)
figures = []
try:
    for body in plan["bodies"]:
        started = time.perf_counter()
        instance_id = runs.start(plan["workflow"], body)
        deadline = started + plan["run_seconds"]
        # The runtime status alone: worker.py's full status also reads every running child's.
        while True:
            state = backend_client.get_orchestration_state(instance_id, fetch_payloads=False)
            if state is not None and state.runtime_status.name in FINISHED:
                break
            if time.perf_counter() > deadline or worker.poll() is not None:
                log = Path(plan["log"]).read_text(errors="replace")[-3000:]
                raise SystemExit(f"batch {instance_id} did not finish: {state}\\n{log}")
            time.sleep(plan["poll_seconds"])
        seconds = time.perf_counter() - started
        status = runs.status(instance_id)
        if status["runtimeStatus"] != "COMPLETED":
            raise SystemExit(f"batch {instance_id} failed: {status}")
        output = status["output"][-1]
        figures.append({
            "seconds": seconds,
            "documents": output["documents"],
            "peak_mib": max(peak_mib(worker.pid), peak_mib(os.getpid())),
            **history_figures(address, instance_id),
        })
finally:
    worker.send_signal(15)
    worker.wait(timeout=30)
    backend.stop()
print(json.dumps(figures))
"""
)


@dataclass
class Figure:
    documents: int
    seconds: float
    peak_mib: float
    orchestrations: int | None = None
    events: int | None = None
    bytes: int | None = None
    largest: int | None = None
    actions: int | None = None


def history_reader() -> Any:
    """`history_figures(address, root)`, as the loop benchmark's children read a history."""
    namespace: dict[str, Any] = {}
    exec(HISTORY, namespace)  # the same code the child scripts run
    return namespace["history_figures"]


@dataclass
class HostFigures:
    host: str
    figures: list[Figure] = field(default_factory=list)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def is_listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((LOOPBACK, port)) == 0


def azurite_blob() -> str:
    found = shutil.which("azurite-blob")
    if found:
        return found
    installed = subprocess.run(
        ["bash", str(TEMPLATE / "scripts" / "azurite.sh")],
        capture_output=True,
        text=True,
        check=False,
    )
    folder = installed.stdout.strip()
    if installed.returncode != 0 or not folder:
        sys.exit(f"the batch benchmark needs Azurite (Node.js and npm):\n{installed.stderr}")
    return str(Path(folder) / "azurite-blob")


@contextmanager
def azurite(scratch: Path) -> Iterator[tuple[str, int]]:
    """Azurite's Blob service on a free port, data on disk; its connection string and pid."""
    port = free_port()
    command = [azurite_blob(), "--blobHost", LOOPBACK, "--blobPort", str(port)]
    command += ["--location", str(scratch / "azurite"), "--silent", "--disableTelemetry"]
    with (scratch / "azurite.log").open("wb") as log:
        process = subprocess.Popen(command, cwd=scratch, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not is_listening(port):
            if process.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"Azurite did not start:\n{(scratch / 'azurite.log').read_text()}")
            time.sleep(0.05)
        connection = (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
            f"BlobEndpoint=http://{LOOPBACK}:{port}/{ACCOUNT};"
        )
        yield connection, process.pid
    finally:
        stop(process)


def peak_mib(pid: int) -> float:
    """A process's high-water mark of resident memory (Linux /proc), 0 once it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        pending.extend(children.get(current, []))
    return found


def seed(project: Path, environment: dict[str, str], sizes: tuple[int, ...]) -> None:
    """One prefix per size (``n<N>/``) holding that many sample documents."""
    for size in sizes:
        completed = subprocess.run(
            [
                sys.executable,
                "scripts/sample_documents.py",
                "--count",
                str(size),
                "--prefix",
                f"n{size}/",
            ],
            cwd=project,
            env=environment,
            capture_output=True,
            text=True,
            check=False,
        )
        if completed.returncode != 0:
            sys.exit(f"seeding {size} documents failed:\n{completed.stderr}")


WARM_UP = 10


def body(size: int) -> dict[str, Any]:
    return {"container": "documents", "prefix": f"n{size}/"}


def devhost_figures(
    project: Path,
    environment: dict[str, str],
    scratch: Path,
    workflow: str,
    instances: int,
    sizes: tuple[int, ...],
    run_seconds: float,
) -> list[Figure]:
    port = free_port()
    origin = f"http://{LOOPBACK}:{port}"
    base = f"{origin}/api"
    backend = f"{LOOPBACK}:{free_port()}"
    command = [sys.executable, "-m", "devhost", "--host", LOOPBACK, "--port", str(port)]
    command += ["--instances", str(instances), "--backend-port", backend.rsplit(":", 1)[1]]
    history_figures = history_reader()
    log = scratch / f"devhost-{instances}.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, cwd=project, env=environment, stdout=output, stderr=output
        )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while "devhost is listening on" not in log.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"devhost did not start:\n{log.read_text()}")
            time.sleep(0.05)
        session = requests.Session()
        figures = []
        for size in (WARM_UP, *sizes):
            started = time.perf_counter()
            response = session.post(f"{base}/workflow/{workflow}/run", json=body(size), timeout=30)
            response.raise_for_status()
            started_run = response.json()
            # The Durable Functions HTTP API reads one instance; the workflow's status route
            # also reads every running child's, which would load the host it measures.
            instance_id = started_run["instanceId"]
            instance = f"{origin}/runtime/webhooks/durabletask/instances/{instance_id}"
            finish_by = started + run_seconds
            while True:
                runtime = session.get(instance, params={"showInput": "false"}, timeout=30).json()
                if runtime["runtimeStatus"] in ("Completed", "Failed", "Terminated"):
                    break
                if time.perf_counter() > finish_by:
                    sys.exit(f"a batch of {size} did not finish on devhost: {runtime}")
                time.sleep(POLL_SECONDS)
            seconds = time.perf_counter() - started
            status = session.get(started_run["statusQueryGetUri"], timeout=30).json()
            if status["runtimeStatus"] != "Completed":
                sys.exit(f"a batch of {size} failed on devhost: {status}")
            peak = max(peak_mib(pid) for pid in descendants(process.pid))
            documents = status["output"][-1]["documents"]
            history = history_figures(backend, instance_id)
            figures.append(Figure(documents, seconds, peak, **history))
        return figures[1:]
    finally:
        stop(process)


def measure(
    project: Path,
    scratch: Path,
    workflow: str,
    sizes: tuple[int, ...],
    run_seconds: float,
    hosts: tuple[str, ...] = HOSTS,
) -> tuple[list[HostFigures], float]:
    with azurite(scratch) as (connection, azurite_pid):
        environment = {**os.environ, "DOCUMENTS_STORAGE": connection}
        seed(project, environment, tuple(sorted({WARM_UP, *sizes})))
        # Each host first runs a small batch untimed: imports, connections, first replays.
        bodies = [body(WARM_UP)] + [body(size) for size in sizes]
        results = []
        if "in-process" in hosts:
            in_process = run_python(
                IN_PROCESS, project, json.dumps({"bodies": bodies}), env=environment, timeout=None
            )[1:]
            results.append(HostFigures("in-process", [Figure(**f) for f in in_process]))
        if "worker.py" in hosts:
            worker_plan = {
                "bodies": bodies,
                "workflow": workflow,
                "run_seconds": run_seconds,
                "poll_seconds": POLL_SECONDS,
                "log": str(scratch / "worker.log"),
            }
            figures = run_python(
                WORKER, project, json.dumps(worker_plan), env=environment, timeout=None
            )[1:]
            results.append(HostFigures("worker.py", [Figure(**f) for f in figures]))
        for instances in (1, 2):
            if f"devhost x{instances}" not in hosts:
                continue
            figures = devhost_figures(
                project, environment, scratch, workflow, instances, sizes, run_seconds
            )
            results.append(HostFigures(f"devhost x{instances}", figures))
        return results, peak_mib(azurite_pid)


def growth(figures: list[Figure], index: int) -> str:
    if index == 0:
        return ""
    before, now = figures[index - 1], figures[index]
    return f"{now.seconds / before.seconds:.1f}x per {now.documents // before.documents}x"


def known(value: float | None, form: str) -> str:
    return "-" if value is None else form.format(value)


def print_table(results: list[HostFigures], azurite_peak: float) -> None:
    rows = [
        (
            "host",
            "documents",
            "wall s",
            "ms per document",
            "peak RSS MiB",
            "growth",
            "orchestrations",
            "events",
            "largest",
            "history KiB",
            "actions/document",
        )
    ]
    for host in results:
        for index, figure in enumerate(host.figures):
            rows.append(
                (
                    host.host,
                    f"{figure.documents:,}",
                    f"{figure.seconds:.2f}",
                    f"{figure.seconds * 1000 / figure.documents:.2f}",
                    f"{figure.peak_mib:.0f}",
                    growth(host.figures, index),
                    known(figure.orchestrations, "{:,}"),
                    known(figure.events, "{:,}"),
                    known(figure.largest, "{:,}"),
                    known(figure.bytes and figure.bytes / 1024, "{:,.0f}"),
                    known(figure.actions and figure.actions / figure.documents, "{:.2f}"),
                )
            )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = [row[0].ljust(widths[0])]
        cells += [cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)]
        print("  ".join(cells))
    print(f"Azurite (the storage, data on disk, not a host) peak RSS: {azurite_peak:.0f} MiB")
    largest = {host.host: host.figures[-1] for host in results}
    print(
        "largest batch, wall s: "
        + ", ".join(f"{name} {figure.seconds:.1f}" for name, figure in largest.items())
        + f" (median {statistics.median(f.seconds for f in largest.values()):.1f})"
    )


def run(
    project: Path,
    workflow: str,
    sizes: tuple[int, ...] = SIZES,
    hosts: tuple[str, ...] = HOSTS,
    run_seconds: float = 900,
) -> None:
    with tempfile.TemporaryDirectory(prefix="dafx-batch-") as scratch:
        results, azurite_peak = measure(project, Path(scratch), workflow, sizes, run_seconds, hosts)
    print_table(results, azurite_peak)
