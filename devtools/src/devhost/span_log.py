"""The spans of each run, kept in memory so the dashboard can draw a run's trace as a waterfall.

devhost makes its spans with the OpenTelemetry API (tracing.py), and each devhost process
also keeps them here:

- When the app set up an OpenTelemetry SDK tracer provider (the project's ``telemetry.py``
  does when telemetry is on), devhost adds a span processor to it. The processor sees the
  app's own spans as well, such as the Agent Framework's executor and model call spans.
- When the app set up none, devhost's spans go to a provider of devhost's own, which exports
  nothing: it only keeps them. The app's global provider stays as the app left it.

A span is kept when it starts (with no end yet) and again when it ends, so a running step
shows as an open bar. An ``--instances`` process sends its spans to the host process over a
pipe; the host keeps the spans of the most recent traces. Each span names the process that
made it: ``instance N (pid P)`` or ``front door (pid P)``.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.trace import StatusCode

# Traces kept in the host process; the oldest are dropped first.
KEPT_TRACES = 2000
# Spans kept per trace; a longer trace keeps its first ones and counts the rest.
KEPT_SPANS_PER_TRACE = 5000
# Attributes kept per span, and characters per attribute value.
KEPT_ATTRIBUTES = 40
ATTRIBUTE_CHARACTERS = 300
TYPE_ATTRIBUTE = "durabletask.type"
INSTANCE_ATTRIBUTE = "durabletask.task.instance_id"

Record = dict[str, Any]


class SpanLog:
    """Spans by trace id (32 hex digits), each by span id, in the order they started."""

    def __init__(
        self, kept_traces: int = KEPT_TRACES, kept_spans_per_trace: int = KEPT_SPANS_PER_TRACE
    ) -> None:
        self._lock = threading.Lock()
        self._kept = kept_traces
        self.kept_spans_per_trace = kept_spans_per_trace
        self._traces: OrderedDict[str, dict[str, Record]] = OrderedDict()
        self._dropped: dict[str, int] = {}

    def add(self, record: Record) -> bool:
        """Keep `record` (a later record of the same span replaces it); False when its trace
        has `kept_spans_per_trace` spans already, which is then counted instead."""
        trace_id, span_id = record["traceId"], record["spanId"]
        with self._lock:
            spans = self._traces.setdefault(trace_id, {})
            if span_id not in spans and len(spans) >= self.kept_spans_per_trace:
                self._dropped[trace_id] = self._dropped.get(trace_id, 0) + 1
                return False
            spans[span_id] = record
            self._traces.move_to_end(trace_id)
            while len(self._traces) > self._kept:
                dropped, _ = self._traces.popitem(last=False)
                self._dropped.pop(dropped, None)
        return True

    def of_trace(self, trace_id: str) -> tuple[list[Record], int]:
        """The trace's spans, and how many more it had than were kept."""
        with self._lock:
            return list(self._traces.get(trace_id, {}).values()), self._dropped.get(trace_id, 0)


def of_run(spans: list[Record], instance_id: str) -> list[Record]:
    """The spans of one orchestration instance among its trace's spans.

    Its ``orchestration:`` spans (one per execution), everything below them (activities,
    entity operations, child orchestrations and theirs, answers sent to it), and the spans
    above them (the call that started it, a parent orchestration).
    """
    by_id = {span["spanId"]: span for span in spans}
    children: dict[str, list[str]] = {}
    for span in spans:
        if span["parentId"]:
            children.setdefault(span["parentId"], []).append(span["spanId"])
    roots = [
        span["spanId"]
        for span in spans
        if span["attributes"].get(TYPE_ATTRIBUTE) == "orchestration"
        and span["attributes"].get(INSTANCE_ATTRIBUTE) == instance_id
    ]
    kept: set[str] = set()
    waiting = list(roots)
    while waiting:
        span_id = waiting.pop()
        if span_id not in kept:
            kept.add(span_id)
            waiting.extend(children.get(span_id, ()))
    for root in roots:
        parent = by_id[root]["parentId"]
        while parent in by_id and parent not in kept:
            kept.add(parent)
            parent = by_id[parent]["parentId"]
    return [span for span in spans if span["spanId"] in kept]


# -- this process's recorder ---------------------------------------------------------------

LOG = SpanLog()
_sink: Callable[[Record], object] = LOG.add
_process = f"pid {os.getpid()}"
_lock = threading.Lock()
_joined: list[TracerProvider] = []
_own: TracerProvider | None = None


def set_process(label: str) -> None:
    """How spans made in this process name it from now on."""
    global _process
    _process = label


def send_to(connection: Connection) -> None:
    """Send this process's spans over `connection` (to the host's `receive`) from now on."""
    global _sink
    _sink = _PipeSink(connection)


def receive(connection: Connection, log: SpanLog = LOG) -> threading.Thread:
    """Keep the spans an instance sends in `log` until its end of the pipe closes."""

    def read() -> None:
        with connection:
            while True:
                try:
                    record = connection.recv()
                except (EOFError, OSError):
                    return
                log.add(record)

    reader = threading.Thread(target=read, name="devhost-spans", daemon=True)
    reader.start()
    return reader


class _PipeSink:
    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._lock = threading.Lock()
        self._open = True

    def __call__(self, record: Record) -> None:
        with self._lock:
            if not self._open:
                return
            try:
                self._connection.send(record)
            except (OSError, ValueError):
                # The host is gone: this process is about to exit too.
                self._open = False


def record_of(span: ReadableSpan, ended: bool) -> Record:
    """A span as the dashboard reads it: ids in hex, times in epoch seconds."""
    context = span.context
    assert context is not None
    attributes = {}
    for key, value in list((span.attributes or {}).items())[:KEPT_ATTRIBUTES]:
        text = value if isinstance(value, str) else str(value)
        attributes[key] = text[:ATTRIBUTE_CHARACTERS]
    error = None
    if span.status.status_code == StatusCode.ERROR:
        error = span.status.description or next(
            (
                str((event.attributes or {}).get("exception.message", ""))
                for event in span.events
                if event.name == "exception"
            ),
            "",
        )
    return {
        "name": span.name,
        "traceId": format(context.trace_id, "032x"),
        "spanId": format(context.span_id, "016x"),
        "parentId": format(span.parent.span_id, "016x") if span.parent else None,
        "kind": span.kind.name,
        "start": (span.start_time or 0) / 1e9,
        "end": (span.end_time or 0) / 1e9 if ended else None,
        "error": error,
        "attributes": attributes,
        "process": _process,
    }


class Recorder(SpanProcessor):
    """Keeps every span of the provider it is added to, started and ended."""

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        if span.context is not None and span.context.trace_flags.sampled:
            _sink(record_of(span, ended=False))

    def on_end(self, span: ReadableSpan) -> None:
        if span.context is not None and span.context.trace_flags.sampled:
            _sink(record_of(span, ended=True))


def tracer(name: str) -> trace.Tracer:
    """A tracer whose spans this process keeps: the app's provider's if it set one up (joined
    once), else devhost's own. Looked up on each use: an app sets its provider when it is
    imported, after devhost."""
    global _own
    provider = trace.get_tracer_provider()
    if isinstance(provider, TracerProvider):
        with _lock:
            if not any(joined is provider for joined in _joined):
                provider.add_span_processor(Recorder())
                _joined.append(provider)
        return provider.get_tracer(name)
    with _lock:
        if _own is None:
            _own = TracerProvider()
            _own.add_span_processor(Recorder())
        return _own.get_tracer(name)
