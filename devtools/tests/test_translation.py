"""Offline checks of the pieces that translate between the host and the engines."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from azure.durable_functions import DurableOrchestrationContext
from google.protobuf import timestamp_pb2

from devhost.indexing import compile_route
from devhost.management import BadRequestError, encode_event_payload, encode_start_payload
from devhost.orchestrations import build_context
from devhost.settings import ProjectSettings, read_project_settings
from devhost.upstream import pb


@pytest.mark.parametrize(
    ("template", "path", "expected"),
    [
        ("workflow/{wf}/run", "/api/workflow/triage/run", {"wf": "triage"}),
        ("workflow/{wf}/run", "/API/Workflow/triage/RUN", {"wf": "triage"}),
        ("items/{id:int}", "/api/items/42", {"id": "42"}),
        ("items/{id?}", "/api/items", {}),
        ("files/{*path}", "/api/files/a/b/c.txt", {"path": "a/b/c.txt"}),
    ],
)
def test_route_template_matches_and_extracts_parameters(
    template: str, path: str, expected: dict[str, str]
) -> None:
    found = compile_route("api", template).fullmatch(path)
    assert found is not None
    assert {key: value for key, value in found.groupdict().items() if value} == expected


@pytest.mark.parametrize(
    ("template", "path"),
    [("items/{id:int}", "/api/items/forty-two"), ("workflow/{wf}/run", "/workflow/x/run")],
)
def test_route_template_rejects_other_paths(template: str, path: str) -> None:
    assert compile_route("api", template).fullmatch(path) is None


def test_empty_route_prefix_serves_routes_from_the_root() -> None:
    assert compile_route("", "health").fullmatch("/health") is not None


def test_route_prefix_comes_from_host_json(tmp_path: Path) -> None:
    (tmp_path / "host.json").write_text(
        json.dumps({"extensions": {"http": {"routePrefix": "/v1/"}}})
    )
    assert read_project_settings(tmp_path).route_prefix == "v1"


def test_route_prefix_defaults_to_api_without_host_json(tmp_path: Path) -> None:
    assert read_project_settings(tmp_path) == ProjectSettings(route_prefix="api")


def test_task_hub_name_resolves_app_setting_references(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MY_HUB", "reviews")
    durable = {"hubName": "%MY_HUB%", "storageProvider": {"connectionStringName": "DTS"}}
    (tmp_path / "host.json").write_text(json.dumps({"extensions": {"durableTask": durable}}))
    settings = read_project_settings(tmp_path)
    assert (settings.task_hub, settings.connection_name) == ("reviews", "DTS")


def test_python_client_start_payload_is_unwrapped_once() -> None:
    sent_by_client = json.dumps(json.dumps({"item": "kettle"}))
    assert json.loads(encode_start_payload(sent_by_client) or "") == {"item": "kettle"}


def test_plain_json_start_payload_is_kept() -> None:
    assert encode_start_payload('{"item": "kettle"}') == '{"item": "kettle"}'


def test_start_payload_that_is_not_json_is_refused() -> None:
    with pytest.raises(BadRequestError, match="not valid JSON"):
        encode_start_payload("hello")


def test_event_payload_that_is_not_json_is_refused() -> None:
    with pytest.raises(BadRequestError, match="not valid JSON"):
        encode_event_payload("{approved: true")


def test_empty_payload_means_no_input() -> None:
    assert encode_start_payload("") is None
    assert encode_event_payload("  ") is None


def test_event_payload_is_kept_as_sent_like_the_functions_host() -> None:
    sent_by_client = json.dumps(json.dumps({"approved": True}))
    assert encode_event_payload(sent_by_client) == sent_by_client


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 12, 1, 18, 3, 57, 123456, tzinfo=UTC),
        datetime(2026, 12, 1, 18, 3, 57, tzinfo=UTC),
        datetime(1970, 1, 1, tzinfo=UTC),
    ],
)
def test_the_engine_reads_each_event_time_as_the_same_utc_moment(moment: datetime) -> None:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(moment)
    started = pb.HistoryEvent(
        eventId=-1, timestamp=stamp, orchestratorStarted=pb.OrchestratorStartedEvent()
    )
    begun = pb.HistoryEvent(
        eventId=-1, timestamp=stamp, executionStarted=pb.ExecutionStartedEvent(name="work")
    )

    context = DurableOrchestrationContext.from_json(
        build_context("one", [], [started, begun], None)
    )

    assert context.current_utc_datetime == moment
    assert context.current_utc_datetime.utcoffset() == timedelta(0)
    assert [event.timestamp for event in context.histories] == [moment, moment]
