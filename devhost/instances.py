"""Serve durable work from several worker processes, as several Flex Consumption instances do.

With `--instances N` (N > 1) the host process keeps the HTTP front door, the management API
and the durable backend; each instance is a child process (`python -m devhost.instances`)
that imports the app's `function_app.py` itself, as one Flex instance would, and runs
devhost's work-item loop against the host's backend over gRPC on loopback. The backend hands
work out to the instances in turn and gives an instance's unfinished work to another when the
instance dies (see backend.py); the pool here starts the instances and restarts a dead one.

An instance exits when the host goes away: it reads its standard input, which the host holds
open, and stops at end of file, so a host killed with `kill -9` leaves no instance behind.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from . import tracing
from .backend import LoopbackBackend
from .indexing import index_app, load_app
from .invocation import InvocationLog, UserCode, configure_console_logging
from .settings import HostSettings, load_local_settings, read_project_settings
from .work_items import WorkItemDispatcher

logger = logging.getLogger("devhost")

# How long all instances together get to import the app and connect to the backend.
START_SECONDS = 60.0
# An instance that exits by itself (not killed by a signal) this soon after starting is not
# restarted: it failed to load the app and would only fail again.
UNSTABLE_SECONDS = 10.0
# How long a stopping instance may take to export its spans and exit before it is killed.
STOP_SECONDS = 1.0
_WATCH_SECONDS = 0.2
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[1])


class InstancesNotReadyError(Exception):
    """Not every instance connected to the backend within START_SECONDS."""


def instance_label(number: int) -> str:
    return f"instance {number}"


class _Instance:
    def __init__(self, number: int, process: subprocess.Popen[bytes]) -> None:
        self.number = number
        self.process = process
        self.started = time.monotonic()

    @property
    def label(self) -> str:
        return instance_label(self.number)


class InstancePool:
    """N worker processes sharing the host's backend; a dead one is restarted."""

    def __init__(
        self,
        count: int,
        settings: HostSettings,
        backend: LoopbackBackend,
        backend_address: str,
        announce: Callable[[str], None],
    ) -> None:
        self._count = count
        self._settings = settings
        self._backend = backend
        self._address = backend_address
        self._announce = announce
        self._instances: dict[int, _Instance] = {}
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None

    def start(self) -> None:
        """Start every instance and wait until each is taking work."""
        for number in range(1, self._count + 1):
            self._instances[number] = self._spawn(number)
        deadline = time.monotonic() + START_SECONDS
        while len(self._backend.connected_instances()) < self._count:
            dead = [item for item in self._instances.values() if item.process.poll() is not None]
            if dead:
                raise InstancesNotReadyError(
                    f"{dead[0].label} exited with status {dead[0].process.returncode} "
                    "before it connected (its output is above)"
                )
            if time.monotonic() > deadline:
                raise InstancesNotReadyError(
                    f"only {len(self._backend.connected_instances())} of {self._count} "
                    f"instances connected within {START_SECONDS:.0f} s"
                )
            time.sleep(0.05)
        self._watcher = threading.Thread(target=self._watch, name="devhost-instances", daemon=True)
        self._watcher.start()

    def describe(self) -> list[str]:
        """One line per instance with its process id."""
        return [
            f"{item.label}: pid {item.process.pid}" for _, item in sorted(self._instances.items())
        ]

    def pids(self) -> dict[int, int]:
        return {number: item.process.pid for number, item in self._instances.items()}

    def stop(self) -> None:
        """Stop every instance: it exits when its standard input closes, after exporting the
        spans it holds; one still running after `STOP_SECONDS` is killed."""
        self._stopping.set()
        for item in self._instances.values():
            if item.process.stdin is not None:
                item.process.stdin.close()
        deadline = time.monotonic() + STOP_SECONDS
        for item in self._instances.values():
            try:
                item.process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                item.process.kill()
                item.process.wait(timeout=10)

    def _spawn(self, number: int) -> _Instance:
        environment = dict(os.environ)
        environment["PYTHONPATH"] = os.pathsep.join(
            part for part in (_PACKAGE_ROOT, environment.get("PYTHONPATH", "")) if part
        )
        command = [
            sys.executable,
            "-m",
            "devhost.instances",
            "--backend",
            self._address,
            "--number",
            str(number),
            "--app",
            self._settings.app,
            "--project-dir",
            str(self._settings.project_dir.resolve()),
        ]
        process = subprocess.Popen(command, stdin=subprocess.PIPE, env=environment)
        return _Instance(number, process)

    def _watch(self) -> None:
        while not self._stopping.wait(_WATCH_SECONDS):
            for number, item in list(self._instances.items()):
                status = item.process.poll()
                if status is None or self._stopping.is_set():
                    continue
                lived = time.monotonic() - item.started
                if status >= 0 and lived < UNSTABLE_SECONDS:
                    self._announce(
                        f"{item.label} (pid {item.process.pid}) exited with status {status} "
                        f"{lived:.1f} s after it started; devhost will not restart it. Its work "
                        "goes to the other instances; restart devhost after fixing the cause."
                    )
                    del self._instances[number]
                    continue
                replacement = self._spawn(number)
                self._instances[number] = replacement
                self._announce(
                    f"{item.label} (pid {item.process.pid}) exited with status {status}; its "
                    f"unfinished work went back to the queue. Restarted {item.label}: pid "
                    f"{replacement.process.pid}"
                )


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m devhost.instances")
    parser.add_argument("--backend", required=True, help="host:port of the host's backend")
    parser.add_argument("--number", type=int, required=True)
    parser.add_argument("--app", default="function_app")
    parser.add_argument("--project-dir", type=Path, required=True)
    return parser.parse_args(argv)


def _exit_when_the_host_goes() -> None:
    sys.stdin.buffer.read()
    tracing.flush()
    os._exit(0)


def serve_instance(argv: list[str] | None = None) -> None:
    """Run one instance: import the app, then run its durable work until the host goes."""
    arguments = _parse(argv)
    configure_console_logging()
    threading.Thread(target=_exit_when_the_host_goes, daemon=True).start()
    project_dir = arguments.project_dir
    load_local_settings(project_dir)
    project = read_project_settings(project_dir)
    index = index_app(load_app(project_dir, arguments.app), project.route_prefix)
    label = instance_label(arguments.number)
    log = InvocationLog(instance=f"{label}, pid {os.getpid()}")
    dispatcher = WorkItemDispatcher(
        index, arguments.backend, UserCode(), log, instance=f"{label} (pid {os.getpid()})"
    )
    asyncio.run(dispatcher.run())


if __name__ == "__main__":
    serve_instance()
