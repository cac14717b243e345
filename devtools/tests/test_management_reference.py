"""Where the management API follows the Durable Functions HTTP API reference to the letter:
history, instance ids, event and entity bodies, entity listing, what devhost does not serve."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from devhost.host import DevHost

from .conftest import finished, wait_for

WEBHOOK = "runtime/webhooks/durabletask"


def url(host: DevHost, path: str) -> str:
    return f"{host.base_url}/{WEBHOOK}/{path}"


def run_to_the_end(host: DevHost, orchestrator: str, payload: Any) -> dict[str, Any]:
    started = requests.post(url(host, f"orchestrators/{orchestrator}"), json=payload, timeout=30)
    assert started.status_code == 202, started.text
    links: dict[str, Any] = started.json()
    wait_for(links["statusQueryGetUri"], finished)
    return links


def history(host: DevHost, links: dict[str, Any], output: bool) -> list[dict[str, Any]]:
    params = {"showHistory": "true", "showHistoryOutput": str(output).lower()}
    status = requests.get(links["statusQueryGetUri"], params=params, timeout=10).json()
    events: list[dict[str, Any]] = status["historyEvents"]
    return events


def test_show_history_lists_each_step_with_its_function_and_scheduled_time(
    basics: DevHost,
) -> None:
    links = run_to_the_end(basics, "greetings", ["Tokyo", "Lima"])

    events = history(basics, links, output=True)

    kinds = [event["EventType"] for event in events]
    assert kinds[0] == "ExecutionStarted" and kinds[-1] == "ExecutionCompleted"
    assert "OrchestratorStarted" not in kinds and "TaskScheduled" not in kinds
    tasks = [event for event in events if event["EventType"] == "TaskCompleted"]
    assert [task["FunctionName"] for task in tasks] == ["say_hello", "say_hello"]
    assert sorted(task["Result"] for task in tasks) == ["Hello Lima!", "Hello Tokyo!"]
    assert all(task["ScheduledTime"] <= task["Timestamp"] for task in tasks)
    (child,) = [e for e in events if e["EventType"] == "SubOrchestrationInstanceCompleted"]
    assert (child["FunctionName"], child["InstanceId"]) == ("shout", f"{links['id']}::shout::0")
    assert events[-1]["OrchestrationStatus"] == "Completed"


def test_show_history_leaves_results_out_unless_show_history_output_is_set(
    basics: DevHost,
) -> None:
    links = run_to_the_end(basics, "greetings", ["Tokyo"])

    events = history(basics, links, output=False)

    assert not [event for event in events if "Result" in event or "Input" in event]


def test_show_history_names_a_failed_activitys_error(basics: DevHost) -> None:
    links = run_to_the_end(basics, "fails", None)

    events = history(basics, links, output=False)

    (failed,) = [event for event in events if event["EventType"] == "TaskFailed"]
    assert failed["FunctionName"] == "explode"
    assert "boom" in failed["Reason"]


def test_without_show_history_the_status_has_no_history(basics: DevHost) -> None:
    links = run_to_the_end(basics, "greetings", ["Tokyo"])

    status = requests.get(links["statusQueryGetUri"], timeout=10).json()

    assert "historyEvents" not in status


@pytest.mark.parametrize(
    ("instance_id", "message"),
    [
        ("@counter@x", "must not start with @"),
        ("a%23b", "must not contain"),
        ("x" * 257, "must not exceed 256 characters"),
    ],
)
def test_an_instance_id_the_functions_host_refuses_is_400(
    basics: DevHost, instance_id: str, message: str
) -> None:
    response = requests.post(url(basics, f"orchestrators/greetings/{instance_id}"), timeout=10)

    assert response.status_code == 400
    assert message in response.json()["Message"]


def test_an_event_that_is_not_sent_as_json_is_400(basics: DevHost) -> None:
    started = requests.post(url(basics, "orchestrators/approval"), timeout=10).json()
    event_url = started["sendEventPostUri"].replace("{eventName}", "decision")

    as_text = requests.post(
        event_url, data='{"approved": true}', headers={"Content-Type": "text/plain"}, timeout=10
    )
    broken = requests.post(
        event_url, data="{not json", headers={"Content-Type": "application/json"}, timeout=10
    )

    assert (as_text.status_code, as_text.json()["Message"]) == (
        400,
        "Only application/json request content is supported",
    )
    assert (broken.status_code, broken.json()["Message"]) == (400, "Invalid JSON content")
    requests.post(event_url, json={"approved": True}, timeout=10)


def test_an_entity_operation_with_a_text_body_gets_the_text_as_its_input(
    basics: DevHost,
) -> None:
    entity = url(basics, "entities/counter/text-body")

    sent = requests.post(
        entity, params={"op": "add"}, data="4", headers={"Content-Type": "text/plain"}, timeout=10
    )

    assert sent.status_code == 202
    state = wait_for(entity, lambda response: response.status_code == 200)
    assert state.json() == 4


def test_entities_are_listed_with_their_state(basics: DevHost) -> None:
    entity = url(basics, "entities/counter/listed")
    requests.post(entity, params={"op": "add"}, json=6, timeout=10)
    wait_for(entity, lambda response: response.status_code == 200)

    listed = requests.get(
        url(basics, "entities/counter"), params={"fetchState": "true"}, timeout=10
    )

    mine = [e for e in listed.json() if e["entityId"] == {"name": "counter", "key": "listed"}]
    assert [entity["state"] for entity in mine] == [6]


def test_rewind_is_501_saying_devhost_does_not_rewind(basics: DevHost) -> None:
    links = run_to_the_end(basics, "fails", None)

    response = requests.post(links["rewindPostUri"].replace("{text}", "again"), timeout=10)

    assert response.status_code == 501
    assert "does not rewind" in response.json()["Message"]


def test_history_times_are_when_each_event_was_stored(basics: DevHost) -> None:
    links = run_to_the_end(basics, "greetings", ["Tokyo"])
    created = requests.get(links["statusQueryGetUri"], timeout=10).json()["createdTime"]

    events = history(basics, links, output=False)

    times = [event["Timestamp"][:19] for event in events]
    assert all(time >= created[:19] for time in times), (created, times)
    assert times == sorted(times)
