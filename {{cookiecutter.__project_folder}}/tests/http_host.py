"""Find or start the Functions host the HTTP tests talk to, and drive scenarios on it.

The scenarios also run on ``python -m devhost --instances 2`` (``tests/test_two_instances.py``),
whichever host is chosen here.

``DAFX_REAL_MODEL`` set it to let agent scenarios call the configured model on a host other
                    than the embedded one (they skip otherwise).
``DAFX_BASE_URL``   use a host that is already running (e.g. ``http://localhost:7071``);
                    ``DAFX_FUNCTION_KEY`` is sent as ``x-functions-key`` when set.
``DAFX_HTTP_HOST``  ``embedded`` (default): start ``python -m devhost`` on a free port,
                    serving ``EMBEDDED_APP``;
                    ``func``: start ``func start`` on a free port with a unique task hub
                    (or ``DAFX_TASK_HUB``), which needs Core Tools, Azurite and the DTS
                    emulator running.

When the workflows place executors on worker pools (``workflows.placement``), a started host
gets one ``python worker.py --pool NAME`` per pool, connected to its durable backend, as a
deployment has a Container App per pool: the app's settings leave those steps to them.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from devhost.backend import LoopbackBackend

from tests.scenarios import Scenario, output_matches
from worker import CONNECTION_SETTING, TASK_HUB_SETTING, load_workflow_factory
from workflows.placement import pools

PROJECT = Path(__file__).resolve().parents[1]
STARTUP_SECONDS = 120
RUN_SECONDS = 60
# Status reads on loopback cost about a millisecond; a short pause keeps runs from idling.
STATUS_POLL_SECONDS = 0.01
FINISHED = {"Completed", "Failed", "Terminated", "Canceled"}
{% if cookiecutter.model_provider != "none" %}
# Agents answer from the offline fake model here, so the agent workflow runs without credentials.
EMBEDDED_APP = "tests.offline_function_app:app"
{% else %}
EMBEDDED_APP = "function_app:app"
{% endif %}
DEVHOST_READY = "devhost is listening on"
OFFLINE_WORKFLOWS = "tests.conftest:offline_workflows"
# durabletask's worker logs this once its work-item stream is open.
WORKER_READY = "Waiting for work items"
# Where a worker exports its spans with OTLP: devhost takes them on its backend's gRPC port.
DEVHOST_TRACES_SETTING = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
STOP_SECONDS = 30
AZURITE = ("127.0.0.1", 10000)
DTS_EMULATOR = ("127.0.0.1", 8080)


@dataclass
class Host:
    base_url: str
    headers: dict[str, str] = field(default_factory=dict)
    offline_model: bool = False

    def url(self, path: str) -> str:
        return f"{self.base_url}/api/{path}"

    def post_json(self, url: str, value: Any) -> requests.Response:
        """POST ``value`` as a JSON body (``None`` too, as ``null``)."""
        headers = {**self.headers, "Content-Type": "application/json"}
        return requests.post(url, data=json.dumps(value), headers=headers, timeout=30)

    def start(self, workflow: str, body: Any, run_id: str | None = None) -> requests.Response:
        params = {"runId": run_id} if run_id else None
        url = self.url(f"workflow/{workflow}/run")
        headers = {**self.headers, "Content-Type": "application/json"}
        return requests.post(url, data=json.dumps(body), params=params, headers=headers, timeout=30)

    def status_until(
        self, status_url: str, done: Callable[[dict[str, Any]], Any]
    ) -> dict[str, Any]:
        """Poll a status URL until ``done(status)`` holds; fail after ``RUN_SECONDS``."""
        deadline = time.monotonic() + RUN_SECONDS
        while time.monotonic() < deadline:
            response = requests.get(status_url, headers=self.headers, timeout=10)
            assert response.status_code == 200, response.text
            body: dict[str, Any] = response.json()
            if done(body):
                return body
            time.sleep(STATUS_POLL_SECONDS)
        raise AssertionError(f"{status_url} did not get there within {RUN_SECONDS}s")

    def finished(self, status_url: str) -> dict[str, Any]:
        return self.status_until(status_url, lambda body: body["runtimeStatus"] in FINISHED)


def start(host: Host, scenario: Scenario) -> str:
    """Start ``scenario`` and return its status URL."""
    response = host.start(scenario.workflow, scenario.body)
    assert response.status_code == 202, response.text
    status_url: str = response.json()["statusQueryGetUri"]
    return status_url


def pending_request(
    host: Host, status_url: str, asked: Callable[[dict[str, Any]], bool] = lambda _: True
) -> dict[str, Any]:
    """The run's one pending human request, once there is one for which ``asked`` holds."""
    status = host.status_until(
        status_url,
        lambda body: (
            [r for r in body.get("pendingHumanInputRequests", []) if asked(r)]
            or body["runtimeStatus"] not in {"Running", "Pending"}
        ),
    )
    assert status["runtimeStatus"] == "Running", status
    (pending,) = status["pendingHumanInputRequests"]
    request: dict[str, Any] = pending
    return request


def run_scenario(host: Host, scenario: Scenario) -> None:
    """Start ``scenario``, answer each request it asks, and check its output."""
    if scenario.calls_the_model and not (host.offline_model or os.environ.get("DAFX_REAL_MODEL")):
        pytest.skip(
            "this host would call the real model: configure the model settings, `az login`,"
            " and set DAFX_REAL_MODEL=1 to include it"
        )
    status_url = start(host, scenario)

    for answer in scenario.answers:
        pending = pending_request(host, status_url)
        assert pending["requestId"].startswith(scenario.request_prefix)
        assert output_matches(pending["requestData"], scenario.expected_request)
        response = host.post_json(pending["respondUrl"], answer)
        assert response.status_code == 200, response.text

    final = host.finished(status_url)
    assert final["runtimeStatus"] == "Completed", final
    assert output_matches(final["output"][-1], scenario.expected_output), final["output"]


def free_port() -> int:
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """``count`` different free loopback ports (held together while chosen, so none repeats)."""
    probes = [socket.socket() for _ in range(count)]
    try:
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [int(probe.getsockname()[1]) for probe in probes]
    finally:
        for probe in probes:
            probe.close()


def is_listening(address: tuple[str, int]) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(address) == 0


def wait_until_healthy(host: Host, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the host exited with {process.returncode}:\n{log.read_text()}")
        try:
            if requests.get(host.url("health"), timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"the host was not healthy after {STARTUP_SECONDS}s:\n{log.read_text()}")


@contextmanager
def serve(command: list[str], port: int, env: dict[str, str], log: Path) -> Iterator[Host]:
    host = Host(f"http://127.0.0.1:{port}")
    with log.open("wb") as output:
        process = subprocess.Popen(command, cwd=PROJECT, env=env, stdout=output, stderr=output)
    try:
        wait_until_healthy(host, process, log)
        yield host
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def func_start_command(port: int) -> list[str]:
    missing = []
    if shutil.which("func") is None:
        missing.append(
            "Azure Functions Core Tools (`func`): "
            "https://learn.microsoft.com/azure/azure-functions/functions-run-local"
        )
    if not is_listening(AZURITE):
        missing.append("Azurite on 127.0.0.1:10000: `npx azurite --silent --location .azurite`")
    if not is_listening(DTS_EMULATOR):
        missing.append(
            "the DTS emulator on localhost:8080: `docker run -d -p 8080:8080 -p 8082:8082 "
            "-e DTS_TASK_HUB_NAMES=default mcr.microsoft.com/dts/dts-emulator:v0.0.10`"
        )
    if missing:
        pytest.skip("func start needs " + "; ".join(missing))
    return ["func", "start", "--port", str(port)]


def wait_for_line(process: subprocess.Popen[bytes], log: Path, line: str) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while line not in log.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{process.args!r} did not get to {line!r}:\n{log.read_text()}")
        time.sleep(0.05)


def start_pool_worker(
    pool: str,
    endpoint: str,
    env: dict[str, str],
    log_dir: Path,
    name: str,
    workflows: str = OFFLINE_WORKFLOWS,
    traces_to_devhost: bool = False,
) -> subprocess.Popen[bytes]:
    """``python worker.py --pool POOL`` on the backend at ``endpoint``, once it is connected.

    Its stdout (spans, with ``OTEL_TRACES_EXPORTER=console``) goes to ``{name}.spans`` and
    its log to ``{name}.log`` in ``log_dir``. With ``traces_to_devhost`` (the backend is
    devhost's), its spans also go there with OTLP, for devhost's dashboard.
    """
    worker_env = {
        **env,
        CONNECTION_SETTING: f"Endpoint={endpoint};Authentication=None",
        TASK_HUB_SETTING: env.get(TASK_HUB_SETTING) or "default",
    }
    if traces_to_devhost:
        worker_env[DEVHOST_TRACES_SETTING] = endpoint
    log = log_dir / f"{name}.log"
    with (log_dir / f"{name}.spans").open("wb") as spans, log.open("wb") as errors:
        process = subprocess.Popen(
            [sys.executable, "worker.py", "--workflows", workflows, "--pool", pool],
            cwd=PROJECT,
            env=worker_env,
            stdout=spans,
            stderr=errors,
        )
    wait_for_line(process, log, WORKER_READY)
    return process


def stop_processes(*processes: subprocess.Popen[bytes]) -> list[int]:
    """SIGTERM each still running, then their exit codes (killed if one does not stop)."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    codes = []
    for process in processes:
        try:
            codes.append(process.wait(timeout=STOP_SECONDS))
        except subprocess.TimeoutExpired:
            process.kill()
            codes.append(process.wait())
    return codes


@contextmanager
def pool_workers(
    endpoint: str,
    env: dict[str, str],
    log_dir: Path,
    workflows: str = OFFLINE_WORKFLOWS,
    traces_to_devhost: bool = False,
) -> Iterator[list[subprocess.Popen[bytes]]]:
    """One pool worker per pool the workflows place executors on (none for most projects)."""
    started: list[subprocess.Popen[bytes]] = []
    try:
        for pool in pools(load_workflow_factory(workflows)()):
            started.append(
                start_pool_worker(
                    pool, endpoint, env, log_dir, f"pool-{pool}", workflows, traces_to_devhost
                )
            )
        yield started
    finally:
        stop_processes(*started)


@dataclass
class StandaloneWorker:
    """A ``python worker.py`` process connected to a loopback durable backend."""

    process: subprocess.Popen[bytes]
    # The backend's gRPC address (host:port), for clients that read it directly.
    address: str
    environment: dict[str, str]
    log: Path


@contextmanager
def standalone_worker(
    backend: LoopbackBackend,
    log_dir: Path,
    settings: dict[str, str] | None = None,
    workflows: str | None = None,
) -> Iterator[StandaloneWorker]:
    """``python worker.py`` (serving ``workflows`` when given) on ``backend``, once connected.

    Its environment is ``os.environ`` with ``settings`` and the backend's connection over it;
    its output goes to ``worker.log`` in ``log_dir``. The worker and the backend stop after.
    """
    address = backend.start()
    environment = {
        **os.environ,
        CONNECTION_SETTING: f"Endpoint=http://{address};Authentication=None",
        TASK_HUB_SETTING: "default",
        **(settings or {}),
    }
    command = [sys.executable, "worker.py"] + (["--workflows", workflows] if workflows else [])
    log = log_dir / "worker.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, cwd=PROJECT, env=environment, stdout=output, stderr=output
        )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not backend.connected_instances():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker.py did not connect:\n{log.read_text()}")
            time.sleep(0.05)
        yield StandaloneWorker(process, address, environment, log)
    finally:
        stop_processes(process)
        backend.stop()


@contextmanager
def embedded_host(
    log_dir: Path, app: str, settings: dict[str, str], instances: int = 1
) -> Iterator[Host]:
    """``python -m devhost`` serving ``app`` from ``instances`` worker processes, with
    ``settings`` over the app settings, and a worker per pool the app's workflows use."""
    port, backend_port = free_ports(2)
    command = [sys.executable, "-m", "devhost", "--port", str(port), "--app", app]
    command += ["--instances", str(instances), "--backend-port", str(backend_port)]
    # Test files run side by side: none may take Azurite's fixed port (the tests that keep
    # blobs give devhost their own Azurite through `settings`).
    command += ["--no-azurite"]
    log = log_dir / f"embedded-host-{instances}.log"
    env = {**os.environ, **settings}
    with serve(command, port, env, log) as host:
        # The routes answer while the instances are still connecting; devhost says when all
        # have (and only then handles SIGTERM by stopping cleanly).
        deadline = time.monotonic() + STARTUP_SECONDS
        while DEVHOST_READY not in log.read_text(errors="replace"):
            if time.monotonic() > deadline:
                raise RuntimeError(f"devhost did not finish starting:\n{log.read_text()}")
            time.sleep(0.05)
        backend = f"http://127.0.0.1:{backend_port}"
        with pool_workers(backend, env, log_dir, traces_to_devhost=True):
            yield host


@contextmanager
def running_host(log_dir: Path, devhost_settings: dict[str, str] | None = None) -> Iterator[Host]:
    """The host the HTTP tests drive; ``devhost_settings`` are set for devhost only."""
    base_url = os.environ.get("DAFX_BASE_URL")
    if base_url:
        key = os.environ.get("DAFX_FUNCTION_KEY")
        yield Host(base_url.rstrip("/"), {"x-functions-key": key} if key else {})
        return
    kind = os.environ.get("DAFX_HTTP_HOST", "embedded")
    if kind == "embedded":
        with embedded_host(log_dir, EMBEDDED_APP, devhost_settings or {}) as host:
            host.offline_model = True
            yield host
        return
    if kind != "func":
        raise ValueError(f"DAFX_HTTP_HOST must be 'embedded' or 'func', not {kind!r}")
    port = free_port()
    env = dict(os.environ)
    env["TASKHUB_NAME"] = env.get("DAFX_TASK_HUB") or f"test{uuid.uuid4().hex[:12]}"
    with serve(func_start_command(port), port, env, log_dir / "func-host.log") as host:
        emulator = f"http://{DTS_EMULATOR[0]}:{DTS_EMULATOR[1]}"
        with pool_workers(emulator, env, log_dir):
            yield host
