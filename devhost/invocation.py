"""Call user functions as the worker does, and log one line per invocation."""

from __future__ import annotations

import inspect
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger("devhost")


@dataclass(frozen=True)
class TraceContext:
    """No distributed tracing runs locally: the trace context is empty."""

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
        self.trace_context = TraceContext()
        self.retry_context = None


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

    def http(
        self, method: str, path: str, function_name: str, status_code: int, started: float
    ) -> None:
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
