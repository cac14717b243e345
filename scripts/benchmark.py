"""Measure a default dafx-func project: bake, cold import, devhost start-up, memory, HTTP runs.

Prints figures, not verdicts. Everything runs on 127.0.0.1; the devhost child is always stopped.

    /tmp/venv/bin/python scripts/benchmark.py [--runs 20]
"""

import argparse
import json
import math
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

TEMPLATE = Path(__file__).resolve().parents[1]
PROJECT_FOLDER = "agent_workflows"
LOOPBACK = "127.0.0.1"
STARTUP_SECONDS = 120
STOP_SECONDS = 15
HEALTH_POLL_SECONDS = 0.05
STATUS_POLL_SECONDS = 0.02
REQUEST_SECONDS = 30
CHILD_SECONDS = 120

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


def run_python(code: str, cwd: Path) -> Any:
    """Run ``code`` in a fresh interpreter in ``cwd``; its last stdout line is JSON."""
    completed = subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=CHILD_SECONDS,
        check=False,
    )
    if completed.returncode != 0:
        sys.exit(f"child python failed ({completed.returncode}):\n{completed.stderr}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


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


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_SECONDS)


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


def run_once(client: Client, workload: Workload, run_seconds: float) -> tuple[float, int]:
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
        time.sleep(STATUS_POLL_SECONDS)
    raise RuntimeError(f"{workload.workflow} run did not complete within {run_seconds}s")


def nearest_rank(values: list[float], percentile: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(percentile / 100 * len(ordered)) - 1)]


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
    arguments = parser.parse_args()
    if arguments.runs < 1:
        parser.error("--runs must be at least 1")

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
            rss_after = rss_mib(process.pid)
        finally:
            stop(process)

    total_runs = sum(len(result.milliseconds) for result in results)
    print(f"machine: {os.cpu_count()} cores, Python {platform.python_version()}, {sys.platform}")
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
    rows = [("workflow", "scenario", "runs", "answers", "median ms", "p95 ms")]
    rows += [
        (
            result.workflow,
            result.scenario,
            str(len(result.milliseconds)),
            str(result.answers),
            f"{statistics.median(result.milliseconds):.1f}",
            f"{nearest_rank(result.milliseconds, 95):.1f}",
        )
        for result in results
    ]
    print(table(rows, right_aligned=lambda column: column >= 2))
    print()
    print(
        f"throughput: {total_runs} runs in {workload_seconds:.2f} s = "
        f"{total_runs / workload_seconds:.1f} runs/s (sequential, one client)"
    )


if __name__ == "__main__":
    main()
