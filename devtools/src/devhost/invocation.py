"""Call user functions as the worker does, and log one line per invocation.

The Python worker runs async functions on its one event loop and sync ones on a thread
pool, in a process apart from the Functions host. devhost keeps the same separation inside
one process: user code runs on the functions loop and the functions thread pool, never on
the loop that serves HTTP, the management API and durable work items, so a function that
blocks cannot freeze those.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import itertools
import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from .tracing import current_trace_headers
from .upstream import close_durable_client_session

logger = logging.getLogger("devhost")
_QUIET_LOGGERS = ("durabletask", "azure", "aiohttp", "grpc", "agent_framework", "httpx", "openai")


def configure_console_logging() -> None:
    """devhost's own lines at INFO, the libraries' only from WARNING, as `func start` shows."""
    logging.basicConfig(
        level=logging.INFO, format="[%(asctime)s] %(message)s", datefmt="%Y-%m-%dT%H:%M:%S"
    )
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


@dataclass(frozen=True)
class TraceContext:
    """The W3C trace context of the invocation's span, as the worker passes it.

    Empty when the app set up no tracer provider and the caller sent no ``traceparent``.
    """

    trace_parent: str = ""
    trace_state: str = ""
    attributes: dict[str, str] = field(default_factory=dict)


class InvocationContext:
    """The `context` argument a function may declare (duck-typed `azure.functions.Context`)."""

    def __init__(self, function_name: str, function_directory: str) -> None:
        self.invocation_id = str(uuid.uuid4())
        self.function_name = function_name
        self.function_directory = function_directory
        self.thread_local_storage = threading.local()
        # Built where the function is called, with the invocation's span current.
        current = current_trace_headers()
        self.trace_context = TraceContext(
            current.get("traceparent", ""), current.get("tracestate", "")
        )
        self.retry_context = None


@functools.cache
def _parameter_names(user_function: Callable[..., Any]) -> tuple[str, ...]:
    # Read once per function: `inspect.signature` costs more than the rest of a binding.
    return tuple(inspect.signature(user_function).parameters)


def bind_arguments(
    user_function: Callable[..., Any], values: dict[str, Any], function_name: str
) -> dict[str, Any]:
    """Pass each declared parameter its binding value; `context` gets the invocation context."""
    arguments: dict[str, Any] = {}
    for parameter in _parameter_names(user_function):
        if parameter in values:
            arguments[parameter] = values[parameter]
        elif parameter == "context":
            arguments[parameter] = InvocationContext(function_name, "")
    return arguments


def call_sync(user_function: Callable[..., Any], values: dict[str, Any], name: str) -> Any:
    return user_function(**bind_arguments(user_function, values, name))


async def call_async(user_function: Callable[..., Any], values: dict[str, Any], name: str) -> Any:
    return await user_function(**bind_arguments(user_function, values, name))


class FunctionsLoop:
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
                    target=self._loop.run_forever, name="devhost-functions-loop", daemon=True
                )
                self._thread.start()
            return self._loop

    def release(self, timeout: float = 1.0) -> None:
        """Close the durable client's session and stop the loop (at process end).

        Waits at most `timeout` seconds: user code blocking the loop is abandoned.
        """
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or thread is None:
            return
        closing = asyncio.run_coroutine_threadsafe(close_durable_client_session(), loop)
        try:
            closing.result(timeout=timeout)
        except TimeoutError:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=timeout)
        if not thread.is_alive():
            loop.close()


functions_loop = FunctionsLoop()
# The Python worker's default for sync functions (PYTHON_THREADPOOL_THREAD_COUNT unset).
SYNC_THREADS = 32


class UserCode:
    """Runs user functions apart from the host loop and remembers which are running."""

    def __init__(self) -> None:
        self.loop = functions_loop.get()
        self._pool = ThreadPoolExecutor(SYNC_THREADS, thread_name_prefix="devhost-functions")
        self._running: dict[int, str] = {}
        self._ids = itertools.count()
        self._lock = threading.Lock()

    async def call(
        self, user_function: Callable[..., Any], values: dict[str, Any], name: str, what: str
    ) -> Any:
        """Call from the host loop; `what` describes the call if it is abandoned."""
        key = next(self._ids)
        with self._lock:
            self._running[key] = what
        try:
            if inspect.iscoroutinefunction(user_function):
                coroutine = call_async(user_function, values, name)
                future = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
                return await asyncio.wrap_future(future)
            host_loop = asyncio.get_running_loop()
            # The pool's threads do not take the caller's context by themselves; with it, the
            # invocation's span is current in the function, as it is in async ones.
            caller = contextvars.copy_context()
            return await host_loop.run_in_executor(
                self._pool, caller.run, call_sync, user_function, values, name
            )
        finally:
            with self._lock:
                self._running.pop(key, None)

    def running(self) -> list[str]:
        with self._lock:
            return sorted(self._running.values())

    def close(self) -> None:
        """Stop taking calls; calls still running are abandoned, not awaited."""
        self._pool.shutdown(wait=False, cancel_futures=True)


class InvocationLog:
    """Readable one-line records of each invocation, like `func start` prints."""

    def __init__(self, sink: logging.Logger = logger, instance: str = "") -> None:
        self._sink = sink
        # Which process ran the call, e.g. "instance 2, pid 4711"; the line ends with it.
        self._where = f" [{instance}]" if instance else ""

    @staticmethod
    def _elapsed_ms(started: float) -> int:
        return round((time.perf_counter() - started) * 1000)

    def http(
        self, method: str, path: str, function_name: str, status_code: int, started: float
    ) -> None:
        outcome = "Succeeded" if status_code < 500 else "Failed"
        self._sink.info(
            "Executed 'Functions.%s' (%s, %s %s -> %d, Duration=%dms)%s",
            function_name,
            outcome,
            method,
            path,
            status_code,
            self._elapsed_ms(started),
            self._where,
        )

    def durable(self, kind: str, name: str, instance_id: str, outcome: str, started: float) -> None:
        self._sink.info(
            "Executed 'Functions.%s' (%s %s, Instance=%s, Duration=%dms)%s",
            name,
            kind,
            outcome,
            instance_id,
            self._elapsed_ms(started),
            self._where,
        )
