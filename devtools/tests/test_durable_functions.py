"""A plain DFApp on devhost: orchestrations, activities, entities and the client API."""

from __future__ import annotations

import sys
import time
from typing import Any

import requests

from devhost.host import DevHost

from .conftest import finished, wait_for


def start(
    host: DevHost, orchestrator: str, payload: Any = None, instance_id: str = ""
) -> dict[str, Any]:
    query = f"?id={instance_id}" if instance_id else ""
    response = requests.post(
        f"{host.base_url}/api/start/{orchestrator}{query}", json=payload, timeout=10
    )
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    return body


def completed(host: DevHost, orchestrator: str, payload: Any = None) -> dict[str, Any]:
    links = start(host, orchestrator, payload)
    body: dict[str, Any] = wait_for(links["statusQueryGetUri"], finished).json()
    return body


def test_http_trigger_is_served_under_the_route_prefix(basics: DevHost) -> None:
    response = requests.get(f"{basics.base_url}/api/hello/devhost", timeout=10)
    assert (response.status_code, response.text) == (200, "Hello, devhost!")


def test_optional_route_parameter_may_be_left_out(basics: DevHost) -> None:
    assert requests.get(f"{basics.base_url}/api/hello", timeout=10).text == "Hello, world!"


def test_unknown_route_is_404_and_wrong_method_is_405(basics: DevHost) -> None:
    assert requests.get(f"{basics.base_url}/api/nowhere", timeout=10).status_code == 404
    assert requests.delete(f"{basics.base_url}/api/hello", timeout=10).status_code == 405


def test_check_status_response_points_at_this_host(basics: DevHost) -> None:
    links = start(basics, "greetings", ["Ada"])
    assert links["statusQueryGetUri"].startswith(f"{basics.base_url}/runtime/webhooks/durabletask/")
    assert links["id"] in links["sendEventPostUri"]


def test_orchestration_runs_activities_fan_out_and_a_sub_orchestration(basics: DevHost) -> None:
    status = completed(basics, "greetings", ["Ada", "Grace", "Linus"])
    assert status["runtimeStatus"] == "Completed"
    assert status["output"] == ["Hello Ada!", "Hello Grace!", "Hello Linus!", "HELLO ADA!"]
    assert status["input"] == ["Ada", "Grace", "Linus"]
    assert status["customStatus"] == {"stage": "done", "count": 3}


def test_child_orchestration_keeps_the_instance_id_its_parent_chose(basics: DevHost) -> None:
    parent = start(basics, "greetings", ["Ada"])
    wait_for(parent["statusQueryGetUri"], finished)
    child = requests.get(
        f"{basics.base_url}/api/status/{parent['id']}::shout::0", timeout=10
    ).json()
    assert child == {
        "name": "shout",
        "runtimeStatus": "Completed",
        "customStatus": None,
        "input": "Hello Ada!",
        "output": "HELLO ADA!",
    }


def test_external_event_resumes_a_waiting_orchestration(basics: DevHost) -> None:
    links = start(basics, "approval")
    status_url = f"{basics.base_url}/api/status/{links['id']}"
    wait_for(status_url, lambda response: response.json().get("customStatus") == "waiting")
    raised = requests.post(
        f"{basics.base_url}/api/raise/{links['id']}/decision", json={"approved": True}, timeout=10
    )
    assert raised.status_code == 202
    status = wait_for(links["statusQueryGetUri"], finished).json()
    assert status["output"] == {"approved": True, "parent": None}
    assert status["customStatus"] == "decided"


def test_event_sent_to_the_webhook_url_resumes_the_orchestration(basics: DevHost) -> None:
    links = start(basics, "approval")
    status_url = f"{basics.base_url}/api/status/{links['id']}"
    wait_for(status_url, lambda response: response.json().get("customStatus") == "waiting")
    url = links["sendEventPostUri"].replace("{eventName}", "decision")
    assert requests.post(url, json={"approved": False}, timeout=10).status_code == 202
    assert wait_for(links["statusQueryGetUri"], finished).json()["output"]["approved"] is False


def test_running_instance_reports_202_with_location(basics: DevHost) -> None:
    links = start(basics, "approval")
    response = wait_for(
        links["statusQueryGetUri"], lambda r: r.json().get("runtimeStatus") == "Running"
    )
    assert response.status_code == 202
    assert response.headers["Location"] == links["statusQueryGetUri"]


def test_failing_activity_fails_the_orchestration_with_its_error(basics: DevHost) -> None:
    status = completed(basics, "fails")
    assert status["runtimeStatus"] == "Failed"
    assert status["output"].startswith("Orchestrator function 'fails' failed: ")
    assert "Activity function 'explode' failed: ValueError: boom" in status["output"]


def test_orchestrator_can_catch_an_activity_failure(basics: DevHost) -> None:
    status = completed(basics, "catches")
    assert status["runtimeStatus"] == "Completed"
    assert status["output"].startswith("recovered from: Activity function 'explode' failed:")


def test_orchestrator_signals_and_calls_an_entity(basics: DevHost) -> None:
    status = completed(basics, "counts_with_entity", "from-orchestrator")
    assert status["output"] == 7


def test_client_signals_an_entity_and_reads_its_state(basics: DevHost) -> None:
    base = f"{basics.base_url}/api/counter/from-client"
    assert requests.get(base, timeout=10).json() == {"exists": False, "state": None}
    for amount in (3, 4):
        assert requests.post(f"{base}/add", json=amount, timeout=10).status_code == 202
    body = wait_for(base, lambda response: response.json().get("state") == 7).json()
    assert body == {"exists": True, "state": 7}


def test_timer_fires_and_the_orchestration_continues(basics: DevHost) -> None:
    assert completed(basics, "sleeps")["output"] == "woke up"


def test_timer_wins_a_race_against_an_event_that_never_comes(basics: DevHost) -> None:
    assert completed(basics, "deadline", 0.3)["output"] == "timed out"


def test_event_wins_a_race_against_a_timer(basics: DevHost) -> None:
    links = start(basics, "deadline", 60)
    send = links["sendEventPostUri"].replace("{eventName}", "decision")
    assert requests.post(send, json="yes", timeout=10).status_code == 202
    assert wait_for(links["statusQueryGetUri"], finished).json()["output"] == "decided in time"


def test_continue_as_new_restarts_with_the_new_input(basics: DevHost) -> None:
    status = completed(basics, "loops", 0)
    assert (status["runtimeStatus"], status["output"], status["input"]) == ("Completed", 3, 3)


def test_terminate_ends_a_running_instance_with_the_reason(basics: DevHost) -> None:
    links = start(basics, "approval")
    wait_for(links["statusQueryGetUri"], lambda r: r.json().get("runtimeStatus") == "Running")
    response = requests.post(
        f"{basics.base_url}/api/terminate/{links['id']}?reason=no%20longer%20needed", timeout=10
    )
    assert response.status_code == 202
    status = wait_for(links["statusQueryGetUri"], finished).json()
    assert (status["runtimeStatus"], status["output"]) == ("Terminated", "no longer needed")


def test_purge_removes_a_finished_instance(basics: DevHost) -> None:
    links = start(basics, "greetings", ["Ada"])
    wait_for(links["statusQueryGetUri"], finished)
    purged = requests.delete(f"{basics.base_url}/api/purge/{links['id']}", timeout=10)
    assert purged.json() == {"instancesDeleted": 1}
    assert requests.get(links["statusQueryGetUri"], timeout=10).status_code == 404
    assert (
        requests.get(f"{basics.base_url}/api/status/{links['id']}", timeout=10).status_code == 404
    )


def test_starting_an_unknown_orchestrator_is_rejected(basics: DevHost) -> None:
    url = f"{basics.base_url}/runtime/webhooks/durabletask/orchestrators/no_such_thing"
    assert requests.post(url, json={}, timeout=10).status_code == 400


def test_instance_id_of_a_running_orchestration_cannot_be_reused(basics: DevHost) -> None:
    start(basics, "approval", instance_id="only-once")
    response = requests.post(f"{basics.base_url}/api/start/approval?id=only-once", timeout=10)
    assert response.status_code == 500


def attempts(key: str) -> int:
    return int(sys.modules["basics_app"].ATTEMPTS[key])


def test_call_with_retry_policy_repeats_until_an_attempt_succeeds(basics: DevHost) -> None:
    status = completed(basics, "retries", ["third-time", 3])
    assert status["runtimeStatus"] == "Completed"
    assert status["output"] == [
        "third-time after 3 attempts",
        "Hello third-time!",
        "Hello afterwards!",
    ]
    assert attempts("third-time") == 3


def test_call_with_retry_policy_fails_once_its_attempts_are_spent(basics: DevHost) -> None:
    status = completed(basics, "retries", ["spent", 2])
    assert status["runtimeStatus"] == "Failed"
    last_failure = "Activity function 'flaky' failed: ConnectionError: attempt 2 for spent"
    assert last_failure in status["output"]
    assert attempts("spent") == 2


def test_retry_waits_the_first_retry_interval_before_each_new_attempt(basics: DevHost) -> None:
    began = time.monotonic()
    completed(basics, "retries", ["patient", 3])
    assert time.monotonic() - began >= 2 * 0.2


def test_sub_orchestrator_with_retry_policy_starts_a_new_child_per_attempt(
    basics: DevHost,
) -> None:
    status = completed(basics, "retries_child", "child")
    assert (status["runtimeStatus"], status["output"]) == ("Completed", "child after 3 attempts")
    assert attempts("child") == 3


def test_suspended_instance_holds_events_until_resumed(basics: DevHost) -> None:
    links = start(basics, "approval")
    wait_for(links["statusQueryGetUri"], lambda r: r.json().get("runtimeStatus") == "Running")
    suspend = links["suspendPostUri"].replace("{text}", "hold")
    assert requests.post(suspend, timeout=10).status_code == 202
    wait_for(links["statusQueryGetUri"], lambda r: r.json().get("runtimeStatus") == "Suspended")
    send = links["sendEventPostUri"].replace("{eventName}", "decision")
    assert requests.post(send, json={"approved": True}, timeout=10).status_code == 202
    assert (
        requests.get(links["statusQueryGetUri"], timeout=10).json()["runtimeStatus"] == "Suspended"
    )
    resume = links["resumePostUri"].replace("{text}", "go")
    assert requests.post(resume, timeout=10).status_code == 202
    status = wait_for(links["statusQueryGetUri"], finished).json()
    assert status["output"] == {"approved": True, "parent": None}


def test_instances_can_be_listed_by_status(basics: DevHost) -> None:
    links = start(basics, "greetings", ["Ada"], instance_id="listed-instance")
    wait_for(links["statusQueryGetUri"], finished)
    url = f"{basics.base_url}/runtime/webhooks/durabletask/instances?runtimeStatus=Completed"
    listed = requests.get(url, timeout=10).json()
    assert "listed-instance" in {status["instanceId"] for status in listed}
    assert {status["runtimeStatus"] for status in listed} == {"Completed"}


def test_raising_an_event_on_a_finished_instance_is_410(basics: DevHost) -> None:
    links = completed_links(basics, "greetings", ["Ada"])
    send = links["sendEventPostUri"].replace("{eventName}", "late")
    assert requests.post(send, json={}, timeout=10).status_code == 410


def completed_links(host: DevHost, orchestrator: str, payload: Any) -> dict[str, Any]:
    links = start(host, orchestrator, payload)
    wait_for(links["statusQueryGetUri"], finished)
    return links
