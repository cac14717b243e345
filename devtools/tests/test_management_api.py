"""The durable management API answers as the Durable Functions HTTP API reference says."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from devhost.host import DevHost

from .conftest import finished, wait_for

WEBHOOK = "runtime/webhooks/durabletask"


def url(host: DevHost, path: str) -> str:
    return f"{host.base_url}/{WEBHOOK}/{path}"


def start(
    host: DevHost, orchestrator: str, payload: Any, query: str = "", raw: str | None = None
) -> requests.Response:
    """Start with `payload` as JSON, or with the `raw` body text as given."""
    return requests.post(
        url(host, f"orchestrators/{orchestrator}{query}"),
        data=json.dumps(payload) if raw is None else raw,
        headers={"Content-Type": "application/json"},
        timeout=30,
    )


def waiting(host: DevHost) -> dict[str, Any]:
    links: dict[str, Any] = start(host, "waits", None).json()
    wait_for(links["statusQueryGetUri"], lambda r: r.json()["runtimeStatus"] == "Running")
    return links


def test_a_suspended_instance_reports_202_with_location_so_pollers_keep_polling(
    stress: DevHost,
) -> None:
    links = waiting(stress)
    suspend = links["suspendPostUri"].replace("{text}", "hold")
    assert requests.post(suspend, timeout=10).status_code == 202

    status = wait_for(
        links["statusQueryGetUri"], lambda r: r.json()["runtimeStatus"] == "Suspended"
    )

    assert status.status_code == 202
    assert status.headers["Location"] == links["statusQueryGetUri"]


def test_the_instance_list_shows_outputs_and_pages_with_top_and_a_continuation_token(
    stress: DevHost,
) -> None:
    prefix = "paged-"
    for number in range(3):
        links = start(stress, "echo_length", "abc", f"/{prefix}{number}").json()
        wait_for(links["statusQueryGetUri"], finished)
    listing = url(stress, f"instances?instanceIdPrefix={prefix}&top=2")

    first = requests.get(listing, timeout=10)
    token = first.headers["x-ms-continuation-token"]
    second = requests.get(listing, headers={"x-ms-continuation-token": token}, timeout=10)

    assert [item["output"] for item in first.json()] == [3, 3]
    assert len(second.json()) == 1
    assert "x-ms-continuation-token" not in second.headers
    ids = {item["instanceId"] for item in [*first.json(), *second.json()]}
    assert ids == {f"{prefix}{number}" for number in range(3)}


def test_an_unknown_runtime_status_filter_is_400_naming_it(stress: DevHost) -> None:
    response = requests.get(url(stress, "instances?runtimeStatus=Sleeping"), timeout=10)

    assert response.status_code == 400
    assert "Sleeping" in response.json()["Message"]


def test_a_start_body_that_is_not_json_is_400(stress: DevHost) -> None:
    response = start(stress, "echo_length", None, raw="{not json")

    assert response.status_code == 400
    assert "not valid JSON" in response.json()["Message"]


def test_an_event_body_that_is_not_json_is_400(stress: DevHost) -> None:
    links = waiting(stress)

    response = requests.post(
        links["sendEventPostUri"].replace("{eventName}", "decision"), data="yes", timeout=10
    )

    assert response.status_code == 400


def test_purging_many_instances_needs_created_time_from(stress: DevHost) -> None:
    links = start(stress, "echo_length", "kept").json()
    wait_for(links["statusQueryGetUri"], finished)

    response = requests.delete(url(stress, "instances?runtimeStatus=Completed"), timeout=10)

    assert response.status_code == 400
    assert requests.get(links["statusQueryGetUri"], timeout=10).status_code == 200


def test_purging_many_instances_from_a_time_deletes_them(stress: DevHost) -> None:
    since = (datetime.now(UTC) - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    links = start(stress, "echo_length", "gone").json()
    wait_for(links["statusQueryGetUri"], finished)

    response = requests.delete(
        url(stress, f"instances?createdTimeFrom={since}&runtimeStatus=Completed"), timeout=10
    )

    assert response.status_code == 200 and response.json()["instancesDeleted"] >= 1
    assert requests.get(links["statusQueryGetUri"], timeout=10).status_code == 404


def test_restarting_a_running_instance_starts_a_new_one_with_the_same_input(
    stress: DevHost,
) -> None:
    links = start(stress, "waits", {"ticket": 7}).json()

    restarted = requests.post(links["restartPostUri"], timeout=10)

    assert restarted.status_code == 202
    new_id = restarted.json()["id"]
    assert new_id != links["id"]
    status = wait_for(restarted.json()["statusQueryGetUri"], lambda r: r.status_code == 202)
    assert status.json()["input"] == {"ticket": 7}


def test_create_and_wait_returns_the_output_when_the_run_ends_in_time(stress: DevHost) -> None:
    response = start(stress, "echo_length", "four", "?timeout=20&pollingInterval=1")

    assert (response.status_code, response.json()) == (200, 4)


def test_create_and_wait_returns_202_with_links_when_the_timeout_passes(stress: DevHost) -> None:
    response = start(stress, "waits", None, "?timeout=0.3")

    assert response.status_code == 202
    assert response.headers["Location"] == response.json()["statusQueryGetUri"]


def test_instance_ids_are_url_encoded_in_links(stress: DevHost) -> None:
    links = start(stress, "echo_length", "ab", "/with%20space").json()

    assert links["id"] == "with space"
    assert "/instances/with%20space?" in links["statusQueryGetUri"]
    assert wait_for(links["statusQueryGetUri"], finished).json()["output"] == 2


def test_terminate_ends_only_the_instance_it_names_not_its_children(stress: DevHost) -> None:
    links = start(stress, "parent_of_waiter", None).json()
    child_status = links["statusQueryGetUri"].replace(links["id"], f"{links['id']}-child")
    wait_for(child_status, lambda r: r.status_code == 202)

    terminate = links["terminatePostUri"].replace("{text}", "enough")
    assert requests.post(terminate, timeout=10).status_code == 202

    assert wait_for(links["statusQueryGetUri"], finished).json()["runtimeStatus"] == "Terminated"
    assert requests.get(child_status, timeout=10).json()["runtimeStatus"] == "Running"
