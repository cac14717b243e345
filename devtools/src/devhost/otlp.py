"""Spans other processes export to devhost with OTLP, kept for the dashboard's waterfall.

A worker of your own (``python worker.py``, ``worker.py --pool NAME``) runs steps of a run,
but its spans go to its own exporter. Pointed at devhost, its OTLP exporter sends them here
instead, and the dashboard shows them with the process that made them. devhost takes:

- OTLP/gRPC, the trace service, on the durable backend's loopback port: the exporter the
  project installs (``opentelemetry-exporter-otlp-proto-grpc``) speaks it, and a worker
  already reaches that port.
- OTLP/HTTP, ``POST /v1/traces`` on devhost's HTTP port, as protobuf or JSON. It takes the
  key when devhost listens beyond loopback, as the dashboard does.

Requests are parsed with opentelemetry-proto's generated classes. Each span names its
process from its resource: ``worker pid P`` (``process.pid``, as devhost names a worker
that takes work items) or the service name and ``service.instance.id``. Only traces are
taken: metrics and logs have no place on the dashboard.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Iterable
from typing import Any

import grpc
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1 import trace_pb2

from .span_log import ATTRIBUTE_CHARACTERS, KEPT_ATTRIBUTES, LOG, Record, SpanLog

TRACES_PATH = "/v1/traces"
PROTOBUF = "application/x-protobuf"
JSON = "application/json"
# The largest OTLP export devhost reads; the SDK's batch processor sends 512 spans at most.
MAX_EXPORT_BYTES = 16 * 1024 * 1024

logger = logging.getLogger("devhost")

ExportRequest = trace_service_pb2.ExportTraceServiceRequest
ExportResponse = trace_service_pb2.ExportTraceServiceResponse


class BadExport(ValueError):
    """An OTLP request devhost cannot read."""


def _text(value: AnyValue) -> str:
    field = value.WhichOneof("value")
    if field is None:
        return ""
    if field in ("array_value", "kvlist_value"):
        return json.dumps(json_format.MessageToDict(getattr(value, field)))
    if field == "bytes_value":
        return value.bytes_value.hex()
    return str(getattr(value, field))


def process_of(resource: Resource) -> str:
    """How the waterfall names the process that made a resource's spans."""
    attributes = {item.key: _text(item.value) for item in resource.attributes}
    pid = attributes.get("process.pid")
    if pid:
        return f"worker pid {pid}"
    service = attributes.get("service.name") or "unknown service"
    instance = attributes.get("service.instance.id")
    return f"{service} ({instance})" if instance else service


def _record(span: trace_pb2.Span, process: str) -> Record:
    attributes = {
        item.key: _text(item.value)[:ATTRIBUTE_CHARACTERS]
        for item in list(span.attributes)[:KEPT_ATTRIBUTES]
    }
    error = None
    if span.status.code == trace_pb2.Status.STATUS_CODE_ERROR:
        error = span.status.message or next(
            (
                _text(item.value)
                for event in span.events
                if event.name == "exception"
                for item in event.attributes
                if item.key == "exception.message"
            ),
            "",
        )
    kind = trace_pb2.Span.SpanKind.Name(span.kind).removeprefix("SPAN_KIND_")
    return {
        "name": span.name,
        "traceId": span.trace_id.hex(),
        "spanId": span.span_id.hex(),
        "parentId": span.parent_span_id.hex() or None,
        "kind": "INTERNAL" if kind == "UNSPECIFIED" else kind,
        "start": span.start_time_unix_nano / 1e9,
        "end": span.end_time_unix_nano / 1e9 if span.end_time_unix_nano else None,
        "error": error,
        "attributes": attributes,
        "process": process,
    }


def records_of(request: ExportRequest) -> Iterable[Record]:
    """Each span of an export request as the span log keeps it."""
    for resource_spans in request.resource_spans:
        process = process_of(resource_spans.resource)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                if len(span.trace_id) == 16 and len(span.span_id) == 8:
                    yield _record(span, process)


def keep(request: ExportRequest, log: SpanLog = LOG) -> ExportResponse:
    """Keep the request's spans in `log`; the response counts those refused, and why."""
    refused = 0
    malformed = 0
    for resource_spans in request.resource_spans:
        for scope_spans in resource_spans.scope_spans:
            malformed += sum(
                1
                for span in scope_spans.spans
                if len(span.trace_id) != 16 or len(span.span_id) != 8
            )
    for record in records_of(request):
        if not log.add(record):
            refused += 1
    response = ExportResponse()
    problems = []
    if malformed:
        problems.append(f"{malformed} spans had no 16-byte trace id and 8-byte span id")
    if refused:
        problems.append(
            f"{refused} spans were over devhost's limit of {log.kept_spans_per_trace} spans "
            "per trace"
        )
    if problems:
        response.partial_success.rejected_spans = malformed + refused
        response.partial_success.error_message = "; ".join(problems)
        logger.warning("OTLP export: %s", response.partial_success.error_message)
    return response


# -- OTLP/HTTP ------------------------------------------------------------------------------

_ID_FIELDS = ("traceId", "spanId", "parentSpanId")


def _ids_to_base64(span: dict[str, Any]) -> None:
    """OTLP/JSON writes ids in hex where protobuf's JSON mapping expects base64."""
    for holder in (span, *span.get("links", ())):
        if not isinstance(holder, dict):
            continue
        for field in _ID_FIELDS:
            value = holder.get(field)
            if isinstance(value, str) and value:
                try:
                    holder[field] = base64.b64encode(bytes.fromhex(value)).decode()
                except ValueError as error:
                    raise BadExport(f"{field} '{value[:40]}' is not hex") from error


def parse(body: bytes, content_type: str) -> ExportRequest:
    """An OTLP/HTTP trace export in protobuf or JSON, as its content type says."""
    request = ExportRequest()
    if content_type == PROTOBUF:
        try:
            request.ParseFromString(body)
        except DecodeError as error:
            raise BadExport(f"The body is not an OTLP trace export in protobuf: {error}") from error
        return request
    if content_type != JSON:
        raise BadExport(f"Send the spans as {PROTOBUF} or {JSON}, not '{content_type}'.")
    try:
        data = json.loads(body)
        for resource_spans in data.get("resourceSpans", ()):
            for scope_spans in resource_spans.get("scopeSpans", ()):
                for span in scope_spans.get("spans", ()):
                    _ids_to_base64(span)
        json_format.ParseDict(data, request, ignore_unknown_fields=True)
    except (
        AttributeError,
        TypeError,
        ValueError,
        RecursionError,
        binascii.Error,
        json_format.ParseError,
    ) as error:
        raise BadExport(f"The body is not an OTLP trace export in JSON: {error}") from error
    return request


def http_response(response: ExportResponse, content_type: str) -> tuple[bytes, str]:
    """The body an OTLP/HTTP exporter reads back, in the request's encoding."""
    if content_type == JSON:
        return json.dumps(json_format.MessageToDict(response)).encode(), JSON
    return response.SerializeToString(), PROTOBUF


# -- OTLP/gRPC ------------------------------------------------------------------------------


class TraceService(trace_service_pb2_grpc.TraceServiceServicer):
    """OTLP's gRPC trace service, keeping what it is sent in a span log."""

    def __init__(self, log: SpanLog = LOG) -> None:
        self._log = log

    def Export(self, request: ExportRequest, context: grpc.ServicerContext) -> ExportResponse:
        size = request.ByteSize()
        if size > MAX_EXPORT_BYTES:
            context.abort(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"An OTLP export to devhost is at most {MAX_EXPORT_BYTES} bytes, not {size}: "
                "send fewer spans per export (OTEL_BSP_MAX_EXPORT_BATCH_SIZE).",
            )
        return keep(request, self._log)


def add_trace_service(server: grpc.Server, log: SpanLog = LOG) -> None:
    """Serve OTLP's trace service on `server` beside the durable backend."""
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(  # type: ignore[no-untyped-call]
        TraceService(log), server
    )
