"""Serve durable work from several worker processes, as several Flex Consumption instances do.

With `--instances N` (N > 1) the host process keeps the HTTP front door, the management API
and the durable backend; each instance is a process of its own that imports the app's
`function_app.py` itself, as one Flex instance would, and runs devhost's work-item loop
against the host's backend over gRPC on loopback. The backend hands work out to the
instances in turn and gives an instance's unfinished work to another when the instance dies
(see backend.py); the pool here starts the instances and restarts a dead one.

Instances are forked from a multiprocessing fork server that has imported devhost and the
Functions and Agent Framework libraries once (never the app), so an instance starts without
paying for those imports again, as a warm Flex worker does.

An instance exits when the host goes away: it waits on a pipe whose other end only the host
holds, and stops at end of file, so a host killed with `kill -9` leaves no instance behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import multiprocessing.forkserver
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path

from . import span_log, tracing
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
# What every instance imports before the app: the fork server imports it once. Modules an app
# does not use are imported there all the same (harmless); missing ones are skipped.
_PRELOADED = (
    "devhost.instances",
    "azure.functions",
    "azure.durable_functions",
    "agent_framework_azurefunctions",
)
_FORKS = multiprocessing.get_context("forkserver")
_fork_server_started = threading.Event()


def start_fork_server() -> None:
    """Start the fork server the instances come from, if it is not running; called early, it
    imports the libraries while the host is still loading the app."""
    _FORKS.set_forkserver_preload(list(_PRELOADED))
    multiprocessing.forkserver.ensure_running()
    _fork_server_started.set()


def fork_server_started() -> bool:
    return _fork_server_started.is_set()


class InstancesNotReadyError(Exception):
    """Not every instance connected to the backend within START_SECONDS."""


def instance_label(number: int) -> str:
    return f"instance {number}"


@dataclass(frozen=True)
class InstanceArguments:
    backend_address: str
    number: int
    app: str
    project_dir: Path


class _Instance:
    def __init__(self, number: int, process: BaseProcess, host_end: Connection) -> None:
        self.number = number
        self.process = process
        # The instance runs until this end closes (when the pool stops it or the host dies).
        self.host_end = host_end
        self.started = time.monotonic()

    @property
    def label(self) -> str:
        return instance_label(self.number)

    @property
    def pid(self) -> int:
        return self.process.pid or 0


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
        start_fork_server()
        for number in range(1, self._count + 1):
            self._instances[number] = self._spawn(number)
        deadline = time.monotonic() + START_SECONDS
        while len(self._backend.connected_instances()) < self._count:
            dead = [item for item in self._instances.values() if item.process.exitcode is not None]
            if dead:
                raise InstancesNotReadyError(
                    f"{dead[0].label} exited with status {dead[0].process.exitcode} "
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
        return [f"{item.label}: pid {item.pid}" for _, item in sorted(self._instances.items())]

    def pids(self) -> dict[int, int]:
        return {number: item.pid for number, item in self._instances.items()}

    def stop(self) -> None:
        """Stop every instance: it exits when its pipe from the host closes, after exporting
        the spans it holds; one still running after `STOP_SECONDS` is killed."""
        self._stopping.set()
        for item in self._instances.values():
            item.host_end.close()
        deadline = time.monotonic() + STOP_SECONDS
        for item in self._instances.values():
            item.process.join(timeout=max(0.0, deadline - time.monotonic()))
            if item.process.exitcode is None:
                item.process.kill()
                item.process.join(timeout=10)

    def _spawn(self, number: int) -> _Instance:
        instance_end, host_end = _FORKS.Pipe(duplex=False)
        # The instance's spans come back over a pipe of their own, until it exits.
        spans_in, spans_out = _FORKS.Pipe(duplex=False)
        arguments = InstanceArguments(
            self._address, number, self._settings.app, self._settings.project_dir.resolve()
        )
        process = _FORKS.Process(
            target=serve_instance,
            args=(arguments, instance_end, spans_out),
            name=instance_label(number),
        )
        process.start()
        # Only the instance may hold its ends: the end of file it waits for is the host's end
        # closing, and the one the span reader waits for is the instance's exit.
        instance_end.close()
        spans_out.close()
        span_log.receive(spans_in)
        return _Instance(number, process, host_end)

    def _watch(self) -> None:
        while not self._stopping.wait(_WATCH_SECONDS):
            for number, item in list(self._instances.items()):
                status = item.process.exitcode
                if status is None or self._stopping.is_set():
                    continue
                lived = time.monotonic() - item.started
                if status >= 0 and lived < UNSTABLE_SECONDS:
                    self._announce(
                        f"{item.label} (pid {item.pid}) exited with status {status} "
                        f"{lived:.1f} s after it started; devhost will not restart it. Its work "
                        "goes to the other instances; restart devhost after fixing the cause."
                    )
                    item.host_end.close()
                    del self._instances[number]
                    continue
                item.host_end.close()
                replacement = self._spawn(number)
                self._instances[number] = replacement
                self._announce(
                    f"{item.label} (pid {item.pid}) exited with status {status}; its "
                    f"unfinished work went back to the queue. Restarted {item.label}: pid "
                    f"{replacement.pid}"
                )


def _exit_when_the_host_goes(from_host: Connection) -> None:
    # The host never writes: this returns only when its end closes.
    with contextlib.suppress(EOFError):
        from_host.recv_bytes()
    tracing.flush()
    os._exit(0)


def serve_instance(
    arguments: InstanceArguments, from_host: Connection, spans_to_host: Connection
) -> None:
    """Run one instance: import the app, then run its durable work until the host goes."""
    configure_console_logging()
    span_log.set_process(f"{instance_label(arguments.number)} (pid {os.getpid()})")
    span_log.send_to(spans_to_host)
    threading.Thread(target=_exit_when_the_host_goes, args=(from_host,), daemon=True).start()
    project_dir = arguments.project_dir
    load_local_settings(project_dir)
    project = read_project_settings(project_dir)
    index = index_app(load_app(project_dir, arguments.app), project.route_prefix)
    label = instance_label(arguments.number)
    log = InvocationLog(instance=f"{label}, pid {os.getpid()}")
    dispatcher = WorkItemDispatcher(
        index, arguments.backend_address, UserCode(), log, instance=f"{label} (pid {os.getpid()})"
    )
    asyncio.run(dispatcher.run())
