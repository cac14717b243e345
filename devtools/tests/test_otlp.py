"""Spans a worker of your own exports to devhost with OTLP, kept for the dashboard's waterfall.

The spans are made by an OpenTelemetry SDK tracer provider whose resource names a process,
and sent the way an exporter sends them: the SDK's OTLP/gRPC span exporter to the durable
backend's port, and the SDK's OTLP protobuf encoding (what the OTLP/HTTP exporter posts) or
OTLP/JSON to `/v1/traces` on devhost's HTTP port.
"""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
import requests
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode

from devhost import otlp
from devhost.backend import BackendCallError, LoopbackBackend, call_in_process
from devhost.host import DevHost
from devhost.span_log import LOG, SpanLog

WORKER_PID = 4242


def worker_spans(pid: int | None = WORKER_PID) -> list[ReadableSpan]:
    """A step as a worker traces it: an activity span with an executor span that failed."""
    attributes = {"service.name": "dafx_func", "service.instance.id": "a1b2"}
    if pid is not None:
        attributes["process.pid"] = pid
    kept = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create(attributes))
    provider.add_span_processor(SimpleSpanProcessor(kept))
    tracer = provider.get_tracer("worker")
    with (
        tracer.start_as_current_span("activity:heavy", attributes={"durabletask.type": "a"}),
        tracer.start_as_current_span("executor.process heavy") as executor,
    ):
        executor.set_status(Status(StatusCode.ERROR, "the model said no"))
    provider.shutdown()
    return list(kept.get_finished_spans())


def kept_records(spans: list[ReadableSpan], log: SpanLog = LOG) -> dict[str, dict[str, object]]:
    """The log's records of `spans`' trace, by span name."""
    context = spans[0].context
    assert context is not None
    records, _ = log.of_trace(format(context.trace_id, "032x"))
    return {str(record["name"]): record for record in records}


@pytest.fixture
def host(basics: DevHost) -> Iterator[str]:
    yield basics.base_url


def test_the_grpc_exporter_sends_a_workers_spans_to_the_backend_port() -> None:
    spans = worker_spans()
    backend = LoopbackBackend()
    address = backend.start()
    exporter = OTLPSpanExporter(endpoint=f"http://{address}", insecure=True)
    try:
        result = exporter.export(spans)
    finally:
        exporter.shutdown()
        backend.stop(grace=0)

    records = kept_records(spans)
    assert result is SpanExportResult.SUCCESS
    activity, executor = records["activity:heavy"], records["executor.process heavy"]
    assert executor["parentId"] == activity["spanId"]
    assert {activity["process"], executor["process"]} == {f"worker pid {WORKER_PID}"}
    assert executor["error"] == "the model said no"
    assert activity["attributes"] == {"durabletask.type": "a"}


def test_the_http_exporters_protobuf_posted_to_v1_traces_is_kept(host: str) -> None:
    spans = worker_spans()
    body = encode_spans(spans).SerializePartialToString()

    response = requests.post(
        f"{host}/v1/traces",
        data=body,
        headers={"Content-Type": "application/x-protobuf"},
        timeout=10,
    )

    assert response.status_code == 200
    answer = ExportTraceServiceResponse.FromString(response.content)
    assert answer.partial_success.rejected_spans == 0
    records = kept_records(spans)
    assert set(records) == {"activity:heavy", "executor.process heavy"}
    assert records["activity:heavy"]["end"] is not None


def test_otlp_json_with_hex_ids_is_kept_with_its_service_when_no_pid_is_given(host: str) -> None:
    trace_id, span_id = "5b8efff798038103d269b633813fc60c", "eee19b7ec3c1b174"
    export = {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [{"key": "service.name", "value": {"stringValue": "script"}}]
                },
                "scopeSpans": [
                    {
                        "spans": [
                            {
                                "traceId": trace_id,
                                "spanId": span_id,
                                "name": "fetch",
                                "kind": 3,
                                "startTimeUnixNano": "1544712660000000000",
                                "endTimeUnixNano": "1544712661000000000",
                            }
                        ]
                    }
                ],
            }
        ]
    }

    response = requests.post(f"{host}/v1/traces", json=export, timeout=10)

    assert response.status_code == 200, response.text
    assert response.json() == {}
    records, _ = LOG.of_trace(trace_id)
    assert [(r["name"], r["kind"], r["process"], r["end"]) for r in records] == [
        ("fetch", "CLIENT", "script", 1544712661.0)
    ]


@pytest.mark.parametrize(
    ("body", "content_type", "says"),
    [
        (b"\xff\xff\xff", "application/x-protobuf", "not an OTLP trace export in protobuf"),
        (b'{"resourceSpans": 3}', "application/json", "not an OTLP trace export in JSON"),
        (
            b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "zz"}]}]}]}',
            "application/json",
            "traceId 'zz' is not hex",
        ),
        (
            b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"name": 5}]}]}]}',
            "application/json",
            "not an OTLP trace export in JSON",
        ),
        (b"[" * 100_000, "application/json", "not an OTLP trace export in JSON"),
        (b"spans", "text/plain", "application/x-protobuf or application/json"),
    ],
)
def test_an_export_devhost_cannot_read_is_400_saying_why(
    host: str, body: bytes, content_type: str, says: str
) -> None:
    response = requests.post(
        f"{host}/v1/traces", data=body, headers={"Content-Type": content_type}, timeout=10
    )

    assert response.status_code == 400
    assert says in response.text


def test_an_export_over_the_size_limit_is_413_naming_it(host: str) -> None:
    response = requests.post(
        f"{host}/v1/traces",
        data=b"\0" * (otlp.MAX_EXPORT_BYTES + 1),
        headers={"Content-Type": "application/x-protobuf"},
        timeout=30,
    )

    assert response.status_code == 413
    assert str(otlp.MAX_EXPORT_BYTES) in response.text


def test_a_grpc_export_over_the_size_limit_is_refused_naming_it() -> None:
    spans = worker_spans()
    export = encode_spans(spans)
    export.resource_spans[0].scope_spans[0].spans[0].name = "x" * (otlp.MAX_EXPORT_BYTES + 1)
    log = SpanLog()

    with pytest.raises(BackendCallError) as refused:
        call_in_process(otlp.TraceService(log).Export, export)

    assert refused.value.code is grpc.StatusCode.RESOURCE_EXHAUSTED
    assert str(otlp.MAX_EXPORT_BYTES) in refused.value.details
    assert kept_records(spans, log) == {}


def test_spans_past_the_per_trace_limit_are_refused_in_the_response_naming_it() -> None:
    spans = worker_spans()
    log = SpanLog(kept_spans_per_trace=1)

    answer = otlp.keep(encode_spans(spans), log)

    assert answer.partial_success.rejected_spans == 1
    assert "limit of 1 spans per trace" in answer.partial_success.error_message
    assert len(kept_records(spans, log)) == 1


def test_a_span_without_a_valid_id_is_refused_and_the_rest_kept() -> None:
    spans = worker_spans()
    export = encode_spans(spans)
    export.resource_spans[0].scope_spans[0].spans[0].trace_id = b"short"
    log = SpanLog()

    answer = otlp.keep(export, log)

    assert answer.partial_success.rejected_spans == 1
    assert "16-byte trace id" in answer.partial_success.error_message
    assert len(kept_records(spans, log)) == 1
