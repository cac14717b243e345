"""Wire the pieces together: index the app, start the backend, the worker and the server."""

from __future__ import annotations

import asyncio
import errno
import json
import logging
import os
import re
import threading
from concurrent import futures
from dataclasses import dataclass
from pathlib import Path

import durabletask.internal.orchestrator_service_pb2 as pb
import durabletask.internal.orchestrator_service_pb2_grpc as stubs
import grpc
from aiohttp import web
from azure.durable_functions.models.utils import http_utils
from durabletask.testing import InMemoryOrchestrationBackend

from .http_host import HttpHost
from .indexing import FunctionIndex, index_app, load_app, read_route_prefix
from .invocation import InvocationLog
from .management import ManagementApi
from .worker import DurableWorker

logger = logging.getLogger("devhost")

DEFAULT_TASK_HUB = "TestHubName"
DEFAULT_CONNECTION_NAME = "Storage"
SHUTDOWN_SECONDS = 3.0


class PortInUseError(Exception):
    """The HTTP port is already taken."""


@dataclass(frozen=True)
class HostSettings:
    project_dir: Path
    app: str = "function_app"
    host: str = "127.0.0.1"
    port: int = 7071


class LoopbackBackend(InMemoryOrchestrationBackend):
    """durabletask's in-memory backend, listening on loopback only, on a free port."""

    def start(self) -> str:
        self._shutdown_event.clear()
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=32))
        stubs.add_TaskHubSidecarServiceServicer_to_server(self, server)  # type: ignore[no-untyped-call]
        port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        self._server = server
        return f"127.0.0.1:{port}"

    def CompleteOrchestratorTask(
        self, request: pb.OrchestratorResponse, context: grpc.ServicerContext
    ) -> pb.CompleteTaskResponse:
        # The Durable Task Scheduler keeps an instance's custom status when a work item
        # reports none; the in-memory backend would clear it. Agent Framework workflows set
        # their status only on live (non-replayed) steps and rely on it being kept.
        if not request.HasField("customStatus"):
            with self._lock:
                instance = self._instances.get(request.instanceId)
                if instance is not None and instance.custom_status:
                    request.customStatus.value = instance.custom_status
        return super().CompleteOrchestratorTask(request, context)


def load_local_settings(project_dir: Path) -> None:
    """Export local.settings.json `Values` like `func start` does, without overriding."""
    settings_file = project_dir / "local.settings.json"
    if not settings_file.is_file():
        return
    values = json.loads(settings_file.read_text(encoding="utf-8")).get("Values", {})
    for name, value in values.items():
        os.environ.setdefault(name, str(value))


def _resolve_app_setting(value: str) -> str:
    return re.sub(r"%([^%]+)%", lambda found: os.environ.get(found.group(1), ""), value)


def read_durable_settings(project_dir: Path) -> tuple[str, str]:
    """Task hub and connection name from host.json, resolving `%APP_SETTING%` references."""
    try:
        host_json = json.loads((project_dir / "host.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return DEFAULT_TASK_HUB, DEFAULT_CONNECTION_NAME
    durable = host_json.get("extensions", {}).get("durableTask", {})
    hub = _resolve_app_setting(str(durable.get("hubName", ""))) or DEFAULT_TASK_HUB
    provider = durable.get("storageProvider", {})
    connection = provider.get("connectionStringName") or provider.get("connectionName")
    return hub, str(connection or DEFAULT_CONNECTION_NAME)


class _SharedLoop:
    """One event loop per process for async user code, as the Python worker has.

    azure-functions-durable keeps a process-wide aiohttp session for its client; it only
    works from the loop that created it, so every host in the process shares this loop.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def get(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
                self._thread = threading.Thread(
                    target=self._loop.run_forever, name="devhost-loop", daemon=True
                )
                self._thread.start()
            return self._loop

    def release(self) -> None:
        """Close the durable client's session and stop the loop (at process end)."""
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or thread is None:
            return
        asyncio.run_coroutine_threadsafe(http_utils._close_session(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


shared_loop = _SharedLoop()


def _loopback_origin(host: str, port: int) -> str:
    if host in ("", "0.0.0.0", "::"):
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


class DevHost:
    """A local Functions host for one app: HTTP triggers plus durable functions."""

    def __init__(self, settings: HostSettings, log: InvocationLog | None = None) -> None:
        self.settings = settings
        self._log = log or InvocationLog()
        self._loop = shared_loop.get()
        self._runner: web.AppRunner | None = None
        self._backend: LoopbackBackend | None = None
        self._management: ManagementApi | None = None
        self._worker: DurableWorker | None = None
        self.index: FunctionIndex | None = None
        self.port = settings.port

    @property
    def running(self) -> bool:
        return self._worker is not None

    @property
    def base_url(self) -> str:
        return _loopback_origin(self.settings.host, self.port)

    def start(self) -> None:
        project_dir = self.settings.project_dir.resolve()
        load_local_settings(project_dir)
        app = load_app(project_dir, self.settings.app)
        self.index = index_app(app, read_route_prefix(project_dir))
        task_hub, connection_name = read_durable_settings(project_dir)
        self._backend = LoopbackBackend()
        backend_address = self._backend.start()
        self._management = ManagementApi(self.index, backend_address, task_hub, connection_name)
        try:
            asyncio.run_coroutine_threadsafe(self._serve(), self._loop).result()
        except BaseException:
            self.stop()
            raise
        self._worker = DurableWorker(self.index, backend_address, self._loop, self._log)
        self._worker.start()

    async def _serve(self) -> None:
        assert self.index is not None and self._management is not None
        http_host = HttpHost(self.index, self._management, self._log)
        # Ctrl+C should not wait a minute for a long `waitForResponse` poll to finish.
        self._runner = web.AppRunner(
            http_host.application(), access_log=None, shutdown_timeout=SHUTDOWN_SECONDS
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.settings.host, self.settings.port)
        try:
            await site.start()
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise PortInUseError(self.settings.port) from error
            raise
        bound_port = self._runner.addresses[0][1]
        self.port = int(bound_port)
        http_host.set_rpc_origin(_loopback_origin(self.settings.host, self.port))

    async def _shutdown(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def stop(self) -> None:
        if self._worker is not None:
            self._worker.stop()
            self._worker = None
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(timeout=10)
        if self._management is not None:
            self._management.close()
            self._management = None
        if self._backend is not None:
            self._backend.stop(grace=1)
            self._backend = None
