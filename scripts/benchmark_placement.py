"""The placement part of `benchmark.py`: a step placed on a worker pool, served by devhost
and `worker.py --pool gpu` processes against devhost's durable backend.

Two measurements, side by side in one table each:

- pool scale-out: runs/s of `placed_work` (its `crunch` step holds the CPU in Python) with one
  and with two pool workers, after a warm-up round, median of the timed rounds;
- recovery: a mixed workload (`placed_work` and `light_work` interleaved) with one pool worker
  killed (SIGKILL) and replaced twice while it runs, each time while the victim is computing a
  crunch step; every run must complete with exactly one output, and every crunch step must have
  run in a pool worker, never in devhost.

Each run's output names the processes its steps ran in (scripts/benchmark_placement_workload.py).
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from benchmark_children import stop

HERE = Path(__file__).resolve().parent
WORKLOAD = HERE / "benchmark_placement_workload.py"
MODULE = "benchmark_placement_workload"
PLACED = "placed_work"
LIGHT = "light_work"
POOL = "gpu"
CRUNCH_ACTIVITY = f"dafx-{PLACED}-crunch"
LOOPBACK = "127.0.0.1"
STARTUP_SECONDS = 120
STOP_SECONDS = 15
REQUEST_SECONDS = 30
SWEEP_PAUSE_SECONDS = 0.1
WORKER_READY = "Waiting for work items"
# devhost's line when a stream ends holding work: "... lost its work-item stream; N unfinished
# work item(s) go back to the queue: ..."
GIVEN_BACK = re.compile(r"(\d+) unfinished work item\(s\) go back to the queue")
FINISHED = {"Completed", "Failed", "Terminated"}
# How long a kill waits for its victim to start computing a crunch step.
RUNNING_SECONDS = 60
MARK_PAUSE_SECONDS = 0.005
# The folder each crunch step keeps a file in while it computes (benchmark_placement_workload.py).
STEP_MARKS = "PLACEMENT_STEP_MARKS"


def free_ports(count: int) -> list[int]:
    """`count` different free loopback ports (held together while chosen, so none repeats)."""
    import socket

    probes = [socket.socket() for _ in range(count)]
    try:
        for probe in probes:
            probe.bind((LOOPBACK, 0))
        return [int(probe.getsockname()[1]) for probe in probes]
    finally:
        for probe in probes:
            probe.close()


def wait_for_text(process: subprocess.Popen[bytes], log: Path, text: str) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while text not in log.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            sys.exit(f"{process.args!r} did not get to {text!r}:\n{log.read_text()[-3000:]}")
        time.sleep(0.05)


@dataclass
class Setup:
    """devhost serving the workload, and the pool workers started against its backend."""

    project: Path
    logs: Path
    base: str
    endpoint: str
    environment: dict[str, str]
    devhost_pid: int
    # Where the crunch steps keep a file while they compute, named after their process.
    marks: Path
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    # Every pool worker process started, running or not.
    pool_pids: set[int] = field(default_factory=set)
    started_workers: int = 0
    session: requests.Session = field(default_factory=requests.Session)

    def start_worker(self) -> subprocess.Popen[bytes]:
        self.started_workers += 1
        log = self.logs / f"pool-{self.started_workers}.log"
        environment = {
            **self.environment,
            "DURABLE_TASK_SCHEDULER_CONNECTION_STRING": (
                f"Endpoint={self.endpoint};Authentication=None"
            ),
            "TASKHUB_NAME": "default",
        }
        command = [sys.executable, "worker.py", "--workflows", f"{MODULE}:build_workflows"]
        with log.open("wb") as output:
            worker = subprocess.Popen(
                [*command, "--pool", POOL],
                cwd=self.project,
                env=environment,
                stdout=output,
                stderr=output,
            )
        self.pool_pids.add(worker.pid)
        wait_for_text(worker, log, WORKER_READY)
        self.workers.append(worker)
        return worker

    def stop_workers(self) -> None:
        for worker in self.workers:
            stop(worker)
        self.workers.clear()

    def start_run(self, workflow: str, body: dict[str, Any]) -> str:
        url = f"{self.base}/api/workflow/{workflow}/run"
        response = self.session.post(url, json=body, timeout=REQUEST_SECONDS)
        response.raise_for_status()
        return str(response.json()["statusQueryGetUri"])

    def status(self, url: str) -> dict[str, Any]:
        response = self.session.get(url, timeout=REQUEST_SECONDS)
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body


@contextmanager
def devhost_with_pool(project: Path, scratch: Path) -> Iterator[Setup]:
    shutil.copyfile(WORKLOAD, project / f"{MODULE}.py")
    logs = scratch / "placement"
    logs.mkdir(exist_ok=True)
    marks = logs / "running-steps"
    (marks / "done").mkdir(parents=True, exist_ok=True)
    port, backend_port = free_ports(2)
    environment = {
        **os.environ,
        f"AzureWebJobs.{CRUNCH_ACTIVITY}.Disabled": "true",
        STEP_MARKS: str(marks),
    }
    environment.pop("OTEL_TRACES_EXPORTER", None)
    command = [sys.executable, "-m", "devhost", "--host", LOOPBACK, "--port", str(port)]
    command += ["--backend-port", str(backend_port), "--app", f"{MODULE}:app", "--no-azurite"]
    log = logs / "devhost.log"
    with log.open("wb") as output:
        devhost = subprocess.Popen(
            command, cwd=project, env=environment, stdout=output, stderr=output
        )
    setup = Setup(
        project,
        logs,
        f"http://{LOOPBACK}:{port}",
        f"http://{LOOPBACK}:{backend_port}",
        environment,
        devhost.pid,
        marks,
    )
    try:
        wait_for_text(devhost, log, "devhost is listening on")
        yield setup
    finally:
        setup.stop_workers()
        stop(devhost)


def start_all(setup: Setup, loads: list[tuple[str, dict[str, Any]]], clients: int) -> list[str]:
    with ThreadPoolExecutor(clients) as pool:
        return list(pool.map(lambda load: setup.start_run(*load), loads))


def wait_all(
    setup: Setup,
    urls: list[str],
    seconds: float,
    on_progress: Callable[[int], None] = lambda finished: None,
    finals: dict[str, dict[str, Any]] | None = None,
) -> dict[str, dict[str, Any]]:
    """Each run's final status, reading the unfinished ones in sweeps until all are done."""
    finals = {} if finals is None else finals
    deadline = time.monotonic() + seconds
    while len(finals) < len(urls) and time.monotonic() < deadline:
        for url in urls:
            if url in finals:
                continue
            status = setup.status(url)
            if status.get("runtimeStatus") in FINISHED:
                finals[url] = status
                on_progress(len(finals))
        time.sleep(SWEEP_PAUSE_SECONDS)
    return finals


def pool_rates(
    setup: Setup, workers: int, runs: int, rounds: int, size: int, clients: int, seconds: float
) -> list[float]:
    """Runs/s of placed runs with `workers` pool workers: a warm-up round, then `rounds`."""
    setup.stop_workers()
    for _ in range(workers):
        setup.start_worker()
    rates = []
    for round_number in range(rounds + 1):
        loads = [
            (PLACED, {"label": f"w{workers}-{round_number}-{n}", "size": size}) for n in range(runs)
        ]
        started = time.perf_counter()
        urls = start_all(setup, loads, clients)
        finals = wait_all(setup, urls, seconds)
        elapsed = time.perf_counter() - started
        if len(finals) < len(urls):
            sys.exit(f"{len(urls) - len(finals)} placed runs did not finish in {seconds}s")
        if round_number:
            rates.append(len(urls) / elapsed)
    return rates


def running_steps(setup: Setup, pid: int) -> int:
    """How many crunch steps process `pid` is computing (or was, when it died)."""
    return sum(1 for _ in setup.marks.glob(f"{pid}-*"))


def steps_done(setup: Setup) -> int:
    """How many crunch steps have finished computing, in any pool worker."""
    return sum(1 for _ in (setup.marks / "done").iterdir())


def wait_until_running(setup: Setup, pid: int) -> bool:
    """Wait until pool worker `pid` computes a crunch step; False if it started none within
    RUNNING_SECONDS (it is killed anyway)."""
    deadline = time.monotonic() + RUNNING_SECONDS
    while time.monotonic() < deadline:
        if running_steps(setup, pid):
            return True
        time.sleep(MARK_PAUSE_SECONDS)
    return False


@dataclass
class Recovery:
    runs: int
    completed_once: int
    lost: int
    doubled: int
    failed: int
    crunched_in_pool: int
    crunched_elsewhere: int
    kills: int
    # Crunch steps the victim was computing when it was killed, one count per kill.
    running_at_kill: list[int]
    seconds: float
    given_back: int


def mixed_with_kills(
    setup: Setup, total: int, size: int, kills: int, clients: int, seconds: float
) -> Recovery:
    """`total` runs, half placed and half light, while a pool worker is killed `kills` times."""
    setup.stop_workers()
    setup.start_worker()
    setup.start_worker()
    loads = [
        (PLACED if n % 2 == 0 else LIGHT, {"label": f"mixed-{n}", "size": size})
        for n in range(total)
    ]
    placed = sum(1 for workflow, _ in loads if workflow == PLACED)
    # Each kill comes when a further share of the placed runs' crunch steps is done, so the
    # pool is busy: at 1/3 and 2/3 of them for two kills.
    before = steps_done(setup)
    thresholds = [before + placed * (k + 1) // (kills + 1) for k in range(kills)]
    killed: list[int] = []
    running_at_kill: list[int] = []
    finished = threading.Event()

    def kill_during_steps() -> None:
        for threshold in thresholds:
            while steps_done(setup) < threshold:
                if finished.wait(MARK_PAUSE_SECONDS):
                    return
            victim = setup.workers.pop(0)
            # Killed as soon as it computes a step: the step dies with it, mid-computation.
            wait_until_running(setup, victim.pid)
            victim.kill()
            victim.wait(timeout=STOP_SECONDS)
            killed.append(victim.pid)
            # A step that finished moved its file away; a file left behind is a step cut short.
            running_at_kill.append(running_steps(setup, victim.pid))
            setup.start_worker()

    killer = threading.Thread(target=kill_during_steps, name="pool-killer")
    started = time.perf_counter()
    killer.start()
    try:
        urls = start_all(setup, loads, clients)
        finals = wait_all(setup, urls, seconds)
    finally:
        finished.set()
        killer.join()
    elapsed = time.perf_counter() - started
    pool_pids = setup.pool_pids
    completed = [s for s in finals.values() if s["runtimeStatus"] == "Completed"]
    outputs = [s.get("output") or [] for s in completed]
    crunched = [o[0]["crunched_by"] for o in outputs if len(o) == 1 and "crunched_by" in o[0]]
    devhost_log = (setup.logs / "devhost.log").read_text(errors="replace")
    return Recovery(
        runs=total,
        completed_once=sum(1 for o in outputs if len(o) == 1),
        lost=total - len(finals),
        doubled=sum(1 for o in outputs if len(o) > 1),
        failed=len(finals) - len(completed),
        crunched_in_pool=sum(1 for pid in crunched if pid in pool_pids),
        crunched_elsewhere=sum(1 for pid in crunched if pid not in pool_pids),
        kills=len(killed),
        running_at_kill=running_at_kill,
        seconds=elapsed,
        given_back=sum(int(n) for n in GIVEN_BACK.findall(devhost_log)),
    )


def run(
    project: Path,
    scratch: Path,
    table: Callable[..., str],
    runs: int,
    rounds: int,
    size: int,
    mixed_runs: int,
    clients: int,
    seconds: float,
) -> None:
    with devhost_with_pool(project, scratch) as setup:
        one = pool_rates(setup, 1, runs, rounds, size, clients, seconds)
        two = pool_rates(setup, 2, runs, rounds, size, clients, seconds)
        recovery = mixed_with_kills(setup, mixed_runs, size // 3, 2, clients, seconds)
    median_one, median_two = statistics.median(one), statistics.median(two)
    print(
        table(
            [
                ("pool workers", "runs/s (median)", "rounds (runs/s)", "vs one"),
                ("1", f"{median_one:.2f}", " ".join(f"{r:.2f}" for r in one), "1.00x"),
                (
                    "2",
                    f"{median_two:.2f}",
                    " ".join(f"{r:.2f}" for r in two),
                    f"{median_two / median_one:.2f}x",
                ),
            ],
            right_aligned=lambda column: column in (1, 3),
        )
    )
    print(
        f"  {runs} placed runs per round, crunch of {size:,} numbers each, {clients} clients "
        "starting them; devhost serves every other step"
    )
    print()
    print(
        table(
            [
                ("mixed workload (crunch of " + f"{size // 3:,} numbers)", "value"),
                ("runs (half placed, half light)", str(recovery.runs)),
                ("pool workers killed (SIGKILL) and replaced", str(recovery.kills)),
                (
                    "crunch steps running in the victim at each kill",
                    ", ".join(str(n) for n in recovery.running_at_kill),
                ),
                ("completed with exactly one output", str(recovery.completed_once)),
                ("lost (not finished)", str(recovery.lost)),
                ("doubled (more than one output)", str(recovery.doubled)),
                ("failed", str(recovery.failed)),
                ("crunch steps run in a pool worker", str(recovery.crunched_in_pool)),
                ("crunch steps run anywhere else", str(recovery.crunched_elsewhere)),
                ("work items the killed workers held, given back", str(recovery.given_back)),
                ("seconds", f"{recovery.seconds:.1f}"),
            ],
            right_aligned=lambda column: column == 1,
        )
    )
