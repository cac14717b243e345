"""Wire the pieces together: index the app, start the backend, the dispatcher and the server.

Two event loops run in two threads, as the Functions host and the Python worker run in two
processes: the host loop serves HTTP, the management API and durable work items; the
functions loop (shared by every host in the process) runs the app's async code.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import logging
import os
import secrets
import threading
from collections.abc import Coroutine
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from aiohttp import web

from . import span_log, tracing
from .azurite import LocalAzurite
from .backend import LoopbackBackend
from .http_server import HttpServer
from .indexing import FunctionIndex, index_app, load_app
from .instances import InstancePool, instance_label, start_fork_server
from .invocation import InvocationLog, UserCode
from .management import ManagementApi
from .settings import (
    HostSettings,
    ProjectSettings,
    load_local_settings,
    read_project_settings,
    storage_provider_warning,
)
from .tracing import OrchestrationSpans
from .upstream import upstream_mismatches
from .work_items import WorkItemDispatcher

logger = logging.getLogger("devhost")
T = TypeVar("T")

# Requests still running when devhost stops get this long to finish before they are cut.
SHUTDOWN_SECONDS = 0.2
_STEP_SECONDS = 5.0


# `--host localhost` (the default) listens on both loopback addresses, as `localhost` may
# resolve to either.
LOOPBACK_NAME = "localhost"
LOOPBACK_ADDRESSES = ("127.0.0.1", "::1")
# A key of your choosing for a devhost reachable from other machines; otherwise one is made up.
KEY_VARIABLE = "DEVHOST_KEY"


class PortInUseError(Exception):
    """The HTTP port is already taken."""


def is_loopback(host: str) -> bool:
    """Whether listening on `host` keeps devhost to this machine."""
    if host.casefold() == LOOPBACK_NAME:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def loopback_origin(host: str, port: int) -> str:
    if host in ("", "0.0.0.0", "::", LOOPBACK_NAME):
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


class DevHost:
    """A local Functions host for one app: HTTP triggers plus durable functions.

    Use it as a context manager (`with DevHost(settings) as host:`), or call `start()` and
    `stop()`. `stop()` returns what was still running and is abandoned: function calls, and
    orchestration instances whose in-memory state goes with the host.
    """

    def __init__(self, settings: HostSettings, log: InvocationLog | None = None) -> None:
        self.settings = settings
        # With one instance the host process is that instance; with more, it is the front door.
        where = instance_label(1) if settings.instances == 1 else "front door"
        self._log = log or InvocationLog(instance=f"{where}, pid {os.getpid()}")
        self._where = f"{where} (pid {os.getpid()})"
        self._instances: InstancePool | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._backend: LoopbackBackend | None = None
        self._management: ManagementApi | None = None
        self._dispatcher: WorkItemDispatcher | None = None
        self._receiving: asyncio.Future[None] | None = None
        self._user_code: UserCode | None = None
        # HTTP functions get threads of their own: a route never waits behind durable work.
        self._http_code: UserCode | None = None
        self._server: HttpServer | None = None
        # The key callers from other machines need (None on loopback), and where it listens.
        self.key: str | None = None
        self.listening_on: list[str] = []
        self.index: FunctionIndex | None = None
        self.port = settings.port
        # Where the durable backend serves gRPC on loopback (the instances connect there).
        self.backend_address = ""
        # Azurite, started when an app setting asks for the local storage emulator.
        self._azurite: LocalAzurite | None = None
        self.storage_note: str | None = None

    def __enter__(self) -> DevHost:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._receiving is not None

    @property
    def base_url(self) -> str:
        return loopback_origin(self.settings.host, self.port)

    def start(self) -> None:
        if self.settings.instances < 1:
            raise ValueError(f"instances must be at least 1, not {self.settings.instances}")
        for problem in upstream_mismatches():
            logger.warning("devhost is untested with %s", problem)
        project_dir = self.settings.project_dir.resolve()
        load_local_settings(project_dir)
        if self.settings.azurite:
            self._start_azurite(project_dir)
        project = read_project_settings(project_dir)
        provider_warning = storage_provider_warning(project)
        if provider_warning is not None:
            logger.warning("%s", provider_warning)
        if self.settings.instances > 1:
            start_fork_server()
        span_log.set_process(self._where)
        app = load_app(project_dir, self.settings.app)
        self.index = index_app(app, project.route_prefix)
        self._backend = LoopbackBackend(OrchestrationSpans())
        backend_address = self.backend_address = self._backend.start(self.settings.backend_port)
        self._user_code = UserCode()
        self._http_code = UserCode()
        if not is_loopback(self.settings.host):
            self.key = os.environ.get(KEY_VARIABLE) or secrets.token_urlsafe(24)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="devhost-host-loop", daemon=True
        )
        self._thread.start()
        try:
            self._on_host_loop(self._serve(project))
            if self.settings.instances > 1:
                self._instances = InstancePool(
                    self.settings.instances,
                    self.settings,
                    self._backend,
                    backend_address,
                    logger.warning,
                )
                self._instances.start()
            # Only now does the app answer: every instance takes work from its first call.
            assert self._server is not None
            self._server.ready = True
        except BaseException:
            self.stop()
            raise

    def _start_azurite(self, project_dir: Path) -> None:
        """Azurite for settings of ``UseDevelopmentStorage=true``; a failure is only noted."""
        self._azurite = LocalAzurite(project_dir)
        try:
            self.storage_note = self._azurite.start_if_needed()
        except RuntimeError as error:
            self.storage_note = f"Azurite did not start: {error}"
            logger.warning("%s", self.storage_note)

    def describe_instances(self) -> list[str]:
        """One line per instance serving durable work, with its process id."""
        if self._instances is not None:
            return self._instances.describe()
        return [f"{instance_label(1)}: pid {os.getpid()} (the host process)"]

    def instance_pids(self) -> dict[int, int]:
        """Process id of each instance by number (1 is the host process with one instance)."""
        if self._instances is not None:
            return self._instances.pids()
        return {1: os.getpid()}

    def waiting_work(self) -> list[str]:
        """Work items no connected worker takes (see `LoopbackBackend.waiting_work`)."""
        return self._backend.waiting_work() if self._backend is not None else []

    @property
    def requeued(self) -> list[str]:
        """Work items given back to the queue because the instance holding them died."""
        return list(self._backend.requeued) if self._backend is not None else []

    def _on_host_loop(self, work: Coroutine[Any, Any, T]) -> T:
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(work, self._loop).result(timeout=_STEP_SECONDS)

    async def _serve(self, project: ProjectSettings) -> None:
        assert self.index is not None and self._http_code is not None
        assert self._user_code is not None
        assert self._backend is not None
        self._management = ManagementApi(self.index, self._backend, project, self.key)
        project_dir = self.settings.project_dir.resolve()
        server = self._server = HttpServer(
            self.index, self._management, self._http_code, self._log, project_dir, self.key
        )
        self._runner = web.AppRunner(
            server.application(), access_log=None, shutdown_timeout=SHUTDOWN_SECONDS
        )
        await self._runner.setup()
        host = self.settings.host
        addresses = LOOPBACK_ADDRESSES if host.casefold() == LOOPBACK_NAME else (host,)
        await self._listen(addresses[0], self.settings.port)
        self.port = int(self._runner.addresses[0][1])
        for address in addresses[1:]:
            try:
                await self._listen(address, self.port)
            except OSError as error:
                logger.warning("devhost does not listen on %s: %s", address, error)
        self.listening_on = [f"{address}:{self.port}" for address in addresses]
        server.set_rpc_origin(loopback_origin(self.settings.host, self.port))
        # Core Tools sets it; AgentFunctionApp builds respond URLs in notifications from it.
        os.environ["WEBSITE_HOSTNAME"] = f"localhost:{self.port}"
        if self.settings.instances == 1:
            self._dispatcher = WorkItemDispatcher(
                self.index, self._backend, self._user_code, self._log
            )
            self._receiving = asyncio.get_running_loop().create_task(self._dispatcher.run())
        else:
            self._receiving = asyncio.get_running_loop().create_future()

    async def _listen(self, address: str, port: int) -> None:
        assert self._runner is not None
        try:
            await web.TCPSite(self._runner, address, port).start()
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise PortInUseError(port) from error
            raise

    async def _unfinished_instances(self) -> list[str]:
        if self._management is None:
            return []
        return [f"orchestration {name}" for name in await self._management.unfinished()]

    async def _shutdown(self) -> None:
        if self._receiving is not None:
            self._receiving.cancel()
            self._receiving = None
        if self._dispatcher is not None:
            await self._dispatcher.close()
            self._dispatcher = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self._management = None

    def stop(self) -> list[str]:
        """Stop serving at once; what was still running, which is abandoned."""
        abandoned = [
            call
            for code in (self._http_code, self._user_code)
            if code is not None
            for call in code.running()
        ]
        if self._instances is not None and self._backend is not None:
            # Instances stopped on purpose: what they held is abandoned, not handed on.
            self._backend.stop_handing_out()
            self._instances.stop()
            self._instances = None
        if self._loop is not None and self._thread is not None:
            try:
                abandoned += self._on_host_loop(self._unfinished_instances())
                self._on_host_loop(self._shutdown())
            except TimeoutError:
                logger.warning("devhost did not stop its server within %ss", _STEP_SECONDS)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=_STEP_SECONDS)
            if not self._thread.is_alive():
                self._loop.close()
            self._loop = self._thread = None
        for code in (self._http_code, self._user_code):
            if code is not None:
                code.close()
        self._http_code = self._user_code = None
        if self._backend is not None:
            self._backend.stop(grace=0)
            self._backend = None
        if self._azurite is not None:
            self._azurite.stop()
            self._azurite = None
        tracing.flush()
        return abandoned
