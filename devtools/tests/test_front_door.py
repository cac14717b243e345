"""The front door: when the app answers, who may call it, on which addresses, with which threads."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from devhost.host import DevHost
from devhost.settings import HostSettings

from .conftest import APPS, DevhostProcess, finished, free_port, wait_for

KEY_LINE = re.compile(r"^\s+key: (\S+)$", re.MULTILINE)
DASHBOARD_LINE = re.compile(r"^Dashboard: (\S+)$", re.MULTILINE)
MANAGEMENT = "runtime/webhooks/durabletask/instances"
APP = "front_door_app"


def first_answer(url: str, timeout: float = 60.0) -> requests.Response:
    """The first response `url` gives, once something listens there."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return requests.get(url, timeout=10)
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def test_the_apps_routes_answer_503_until_every_instance_is_connected(tmp_path: Path) -> None:
    gate = tmp_path / "instances-may-start"
    child = DevhostProcess(
        free_port(), APPS / "front_door", APP, instances=2, settings={"GATE_FILE": str(gate)}
    )
    base = f"http://127.0.0.1:{child.port}"
    try:
        early = first_answer(f"{base}/api/ping")
        starting = requests.get(f"{base}/admin/host/status", timeout=10).json()
        gate.touch()
        child.read_until("listening on")
        ready = requests.get(f"{base}/api/ping", timeout=10)
        running = requests.get(f"{base}/admin/host/status", timeout=10).json()
    finally:
        child.stop()

    assert (early.status_code, starting["state"]) == (503, "Initialized")
    assert (ready.status_code, ready.text, running["state"]) == (200, "pong", "Running")


@pytest.fixture
def exposed(tmp_path: Path) -> Iterator[tuple[DevhostProcess, str]]:
    """The front-door app on every interface, and what it printed up to `listening on`."""
    settings = {"HELD_DIR": str(tmp_path), "RELEASE_FILE": str(tmp_path / "released")}
    child = DevhostProcess(free_port(), APPS / "front_door", APP, settings=settings, host="0.0.0.0")
    try:
        yield child, child.read_until("listening on")
    finally:
        child.stop()


def key_of(banner: str) -> str:
    found = KEY_LINE.search(banner)
    assert found is not None, banner
    return found.group(1)


def test_listening_beyond_loopback_says_so_and_prints_a_key(
    exposed: tuple[DevhostProcess, str],
) -> None:
    _, banner = exposed

    assert "devhost listens on 0.0.0.0: anyone who reaches this port" in banner
    dashboard = DASHBOARD_LINE.search(banner)
    assert dashboard is not None and dashboard.group(1).endswith(f"?code={key_of(banner)}")


def test_beyond_loopback_the_management_api_and_dashboard_need_the_key(
    exposed: tuple[DevhostProcess, str],
) -> None:
    child, banner = exposed
    base = f"http://127.0.0.1:{child.port}"
    key = key_of(banner)

    refused = [
        requests.get(f"{base}/{MANAGEMENT}", timeout=10),
        requests.get(f"{base}/{MANAGEMENT}", params={"code": "wrong"}, timeout=10),
        requests.get(f"{base}/_devhost/", timeout=10),
        requests.get(f"{base}/api/keyed", timeout=10),
    ]
    allowed = [
        requests.get(f"{base}/{MANAGEMENT}", params={"code": key}, timeout=10),
        requests.get(f"{base}/{MANAGEMENT}", headers={"x-functions-key": key}, timeout=10),
        requests.get(f"{base}/_devhost/", params={"code": key}, timeout=10),
        requests.get(f"{base}/api/keyed", headers={"x-functions-key": key}, timeout=10),
        requests.get(f"{base}/api/ping", timeout=10),
    ]

    assert [response.status_code for response in refused] == [401] * 4
    assert "x-functions-key" in refused[0].text
    assert [response.status_code for response in allowed] == [200] * 5


def test_beyond_loopback_an_otlp_export_needs_the_key(
    exposed: tuple[DevhostProcess, str],
) -> None:
    child, banner = exposed
    export = {"url": f"http://127.0.0.1:{child.port}/v1/traces", "json": {}, "timeout": 10}

    refused = requests.post(**export)  # type: ignore[arg-type]
    allowed = requests.post(**export, headers={"x-functions-key": key_of(banner)})  # type: ignore[arg-type]

    assert (refused.status_code, allowed.status_code) == (401, 200)
    assert "x-functions-key" in refused.text


def test_beyond_loopback_a_functions_durable_client_needs_no_key_and_hands_out_keyed_urls(
    exposed: tuple[DevhostProcess, str], tmp_path: Path
) -> None:
    child, banner = exposed
    base = f"http://127.0.0.1:{child.port}"
    key = key_of(banner)
    (tmp_path / "released").touch()

    started = requests.post(f"{base}/api/hold/1", headers={"x-functions-key": key}, timeout=10)
    listed = requests.get(f"{base}/{MANAGEMENT}", params={"code": key}, timeout=10).json()
    status_url = f"{base}/{MANAGEMENT}/{listed[0]['instanceId']}?code={key}"

    assert started.status_code == 202
    assert wait_for(status_url, finished).json()["output"] == "released"


@pytest.fixture(scope="module")
def front_door(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DevHost, Path]]:
    """The front-door app served in this process, and the folder its `hold` activity uses."""
    folder = tmp_path_factory.mktemp("front_door")
    (folder / "held").mkdir()
    environment = {"HELD_DIR": str(folder / "held"), "RELEASE_FILE": str(folder / "released")}
    settings = HostSettings(project_dir=APPS / "front_door", app=APP, port=0)
    with pytest.MonkeyPatch.context() as patch:
        for name, value in environment.items():
            patch.setenv(name, value)
        with DevHost(settings) as host:
            yield host, folder
        (folder / "released").touch()


def test_by_default_devhost_answers_on_both_loopback_addresses(
    front_door: tuple[DevHost, Path],
) -> None:
    host, _ = front_door

    answers = [
        requests.get(f"http://{address}:{host.port}/api/ping", timeout=10).text
        for address in ("127.0.0.1", "[::1]")
    ]

    assert answers == ["pong", "pong"]
    assert host.key is None


def test_a_route_answers_while_every_durable_thread_is_busy(
    front_door: tuple[DevHost, Path],
) -> None:
    host, folder = front_door
    held = folder / "held"
    base = f"{host.base_url}/api"
    assert requests.post(f"{base}/hold/40", timeout=30).status_code == 202
    wait_for(f"{base}/ping", lambda _: len(list(held.iterdir())) >= 32, timeout=60)

    answered = requests.get(f"{base}/ping", timeout=10)
    (folder / "released").touch()

    assert (answered.status_code, answered.text) == (200, "pong")


def test_a_host_json_naming_no_scheduler_gets_a_warning_that_limits_differ(
    exposed: tuple[DevhostProcess, str],
) -> None:
    _, scheduler_banner = exposed
    child = DevhostProcess(free_port(), APPS / "cli")
    try:
        banner = child.read_until("listening on")
    finally:
        child.stop()

    assert "host.json names no storage provider, so the Functions host uses Azure Storage" in (
        banner
    )
    assert "applies the limits of the Durable Task Scheduler" in banner
    assert "applies the limits" not in scheduler_banner
