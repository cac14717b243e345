"""Fixtures: a devhost serving one of the small test apps on a free loopback port."""

from __future__ import annotations

import os
import queue
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import requests

from devhost.backend import LoopbackBackend
from devhost.host import DevHost
from devhost.invocation import functions_loop
from devhost.settings import HostSettings

APPS = Path(__file__).parent / "apps"
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class DevhostProcess:
    """`python -m devhost` in a child process, as a user runs it; output read in the background."""

    def __init__(
        self,
        port: int,
        project_dir: Path,
        app: str = "function_app",
        instances: int = 1,
        settings: Mapping[str, str] | None = None,
        host: str | None = None,
    ) -> None:
        environment = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "PYTHONUNBUFFERED": "1"}
        environment |= settings or {}
        command = [sys.executable, "-m", "devhost", "--port", str(port), "--app", app]
        command += ["--instances", str(instances)]
        command += ["--host", host] if host else []
        # Tests run side by side: none may take Azurite's fixed port for a baked project.
        command += ["--no-azurite"]
        self.port = port
        self.process = subprocess.Popen(
            [*command, "--project-dir", str(project_dir)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=environment,
        )
        self._lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line)

    def read_until(self, marker: str, timeout: float = 60.0) -> str:
        """Output up to and including the first line that contains `marker`."""
        seen: list[str] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._lines.get(timeout=0.2)
            except queue.Empty:
                continue
            seen.append(line)
            if marker in line:
                return "".join(seen)
        raise AssertionError(f"'{marker}' never printed; output so far:\n{''.join(seen)}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


def serving(app_dir: str, app: str, instances: int = 1) -> DevHost:
    """A devhost in this process for one of the test apps, on a free port (not started)."""
    settings = HostSettings(project_dir=APPS / app_dir, app=app, port=0, instances=instances)
    return DevHost(settings)


@pytest.fixture
def backend() -> Iterator[LoopbackBackend]:
    """A durable backend on a free loopback port, for tests that drive it directly."""
    started = LoopbackBackend()
    started.start()
    try:
        yield started
    finally:
        started.stop(grace=0)


@pytest.fixture(scope="session", autouse=True)
def release_functions_loop() -> Iterator[None]:
    """Hosts share the process event loop, as functions share the worker's; close it last."""
    yield
    functions_loop.release()


@pytest.fixture(scope="session")
def basics() -> Iterator[DevHost]:
    """The plain DFApp of apps/basics, served by devhost."""
    with serving("basics", "basics_app") as host:
        yield host


@pytest.fixture(scope="session")
def agentic() -> Iterator[DevHost]:
    """The AgentFunctionApp of apps/agentic (agent, sub-workflow, HITL), served by devhost."""
    with serving("agentic", "agentic_app") as host:
        yield host


@pytest.fixture(scope="session")
def stress() -> Iterator[DevHost]:
    """The DFApp of apps/stress (big payloads, slow and blocking code), served by devhost."""
    with serving("stress", "stress_app") as host:
        yield host


def wait_for(
    url: str, done: Callable[[requests.Response], bool], timeout: float = 15.0
) -> requests.Response:
    """Poll `url` until `done` holds for the response, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        response = requests.get(url, timeout=10)
        if done(response):
            return response
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out waiting on {url}: {response.status_code} {response.text}"
            )
        time.sleep(0.05)


def finished(response: requests.Response) -> bool:
    body: Any = response.json() if response.content else None
    return isinstance(body, dict) and body.get("runtimeStatus") in {
        "Completed",
        "Failed",
        "Terminated",
    }
