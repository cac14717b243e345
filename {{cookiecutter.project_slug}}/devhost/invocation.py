"""Call user functions as the worker does, and log one line per invocation."""

from __future__ import annotations

import inspect
import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import azure.functions as func

logger = logging.getLogger("devhost")


class _NoTraceContext(func.TraceContext):
    def __init__(self) -> None:
        super().__init__("", "", {})


class InvocationContext(func.Context):
    """The `context` argument a function may declare."""

    def __init__(self, function_name: str, function_directory: str) -> None:
        self._invocation_id = str(uuid.uuid4())
        self._function_name = function_name
        self._function_directory = function_directory
        self._thread_local = threading.local

    @property
    def invocation_id(self) -> str:
        return self._invocation_id

    @property
    def thread_local_storage(self) -> type[threading.local]:
        return self._thread_local

    @property
    def function_name(self) -> str:
        return self._function_name

    @property
    def function_directory(self) -> str:
        return self._function_directory

    @property
    def trace_context(self) -> func.TraceContext:
        return _NoTraceContext()

    @property
    def retry_context(self) -> func.RetryContext:
        return func.RetryContext(0, 0, {})


def bind_arguments(
    user_function: Callable[..., Any], values: dict[str, Any], function_name: str
) -> dict[str, Any]:
    """Pass each declared parameter its binding value; `context` gets the invocation context."""
    arguments: dict[str, Any] = {}
    for parameter in inspect.signature(user_function).parameters:
        if parameter in values:
            arguments[parameter] = values[parameter]
        elif parameter == "context":
            arguments[parameter] = InvocationContext(function_name, "")
    return arguments


def call_sync(user_function: Callable[..., Any], values: dict[str, Any], name: str) -> Any:
    return user_function(**bind_arguments(user_function, values, name))


async def call_async(user_function: Callable[..., Any], values: dict[str, Any], name: str) -> Any:
    return await user_function(**bind_arguments(user_function, values, name))


class InvocationLog:
    """Readable one-line records of each invocation, like `func start` prints."""

    def __init__(self, sink: logging.Logger = logger) -> None:
        self._sink = sink

    @staticmethod
    def _elapsed_ms(started: float) -> int:
        return round((time.perf_counter() - started) * 1000)

    def http(self, method: str, path: str, function_name: str, status_code: int, started: float) -> None:
        outcome = "Succeeded" if status_code < 500 else "Failed"
        self._sink.info(
            "Executed 'Functions.%s' (%s, %s %s -> %d, Duration=%dms)",
            function_name,
            outcome,
            method,
            path,
            status_code,
            self._elapsed_ms(started),
        )

    def durable(self, kind: str, name: str, instance_id: str, outcome: str, started: float) -> None:
        self._sink.info(
            "Executed 'Functions.%s' (%s %s, Instance=%s, Duration=%dms)",
            name,
            kind,
            outcome,
            instance_id,
            self._elapsed_ms(started),
        )
