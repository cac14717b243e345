"""`python -m devhost`: start-up listing, invocation logs, Ctrl-C, a taken port."""

from __future__ import annotations

import signal
import socket
import threading
from collections.abc import Iterator

import pytest
import requests

from .conftest import APPS, DevhostProcess, finished, free_port, wait_for

# Generous bound for "it exits, it does not hang" on a shared machine; how fast devhost stops
# is not what these tests measure.
EXIT_BOUND_SECONDS = 60


@pytest.fixture
def cli_host() -> Iterator[tuple[DevhostProcess, str]]:
    child = DevhostProcess(free_port(), APPS / "cli")
    banner = child.read_until("listening on")
    yield child, banner
    child.stop()


def test_start_up_lists_every_function_with_its_url(cli_host: tuple[DevhostProcess, str]) -> None:
    child, banner = cli_host
    assert f"ping: [GET] http://127.0.0.1:{child.port}/ping" in banner
    assert "double: orchestrationTrigger" in banner
    assert "times_two: activityTrigger" in banner


def test_each_invocation_is_logged_on_one_line(cli_host: tuple[DevhostProcess, str]) -> None:
    child, _ = cli_host
    assert requests.get(f"http://127.0.0.1:{child.port}/ping", timeout=10).text == "pong"
    logged = child.read_until("Executed 'Functions.ping'")
    assert "GET /ping -> 200" in logged.splitlines()[-1]


def test_orchestration_runs_without_a_route_prefix_or_keys(
    cli_host: tuple[DevhostProcess, str],
) -> None:
    child, _ = cli_host
    url = f"http://127.0.0.1:{child.port}/runtime/webhooks/durabletask/orchestrators/double"
    started = requests.post(url, json=21, timeout=10)
    assert started.status_code == 202
    status = wait_for(started.json()["statusQueryGetUri"], finished).json()
    assert (status["runtimeStatus"], status["output"]) == ("Completed", 42)


def test_website_hostname_is_set_as_core_tools_sets_it(
    cli_host: tuple[DevhostProcess, str],
) -> None:
    child, _ = cli_host
    response = requests.get(f"http://127.0.0.1:{child.port}/hostname", timeout=10)
    assert response.text == f"localhost:{child.port}"


def test_ctrl_c_stops_the_host_cleanly(cli_host: tuple[DevhostProcess, str]) -> None:
    child, _ = cli_host
    child.process.send_signal(signal.SIGINT)
    assert child.process.wait(timeout=EXIT_BOUND_SECONDS) == 0
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{child.port}/ping", timeout=2)


def call_cut_off(url: str) -> None:
    """A call the host is stopped in the middle of: it gets no response."""
    with pytest.raises(requests.ConnectionError):
        requests.get(url, timeout=60)


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_stopping_exits_at_once_naming_running_calls_and_unfinished_instances(
    cli_host: tuple[DevhostProcess, str], stop_signal: signal.Signals
) -> None:
    child, _ = cli_host
    base = f"http://127.0.0.1:{child.port}"
    waiting = requests.post(
        f"{base}/runtime/webhooks/durabletask/orchestrators/waits/held", timeout=10
    )
    assert waiting.status_code == 202
    threading.Thread(target=call_cut_off, args=(f"{base}/slow",), daemon=True).start()
    child.read_until("slow call started")

    child.process.send_signal(stop_signal)

    # The call would run for an hour: devhost exits without waiting for it.
    assert child.process.wait(timeout=EXIT_BOUND_SECONDS) == 0
    said = child.read_until("Abandoned") + child.read_until("(held)")
    assert "Abandoned 2 unfinished item(s)" in said
    assert "HTTP GET /slow (slow)" in said
    assert "orchestration waits (held)" in said


def test_a_burst_of_stop_signals_still_exits_at_once(
    cli_host: tuple[DevhostProcess, str],
) -> None:
    child, _ = cli_host

    for _ in range(200):
        child.process.send_signal(signal.SIGTERM)

    assert child.process.wait(timeout=EXIT_BOUND_SECONDS) == 0


def test_a_taken_port_is_reported_and_exits_non_zero() -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = int(squatter.getsockname()[1])
        child = DevhostProcess(port, APPS / "cli")
        output = child.read_until("is unavailable")
        assert child.process.wait(timeout=30) == 1
    assert f"Port {port} is unavailable" in output


def test_an_app_the_python_worker_refuses_is_refused_with_the_workers_message() -> None:
    child = DevhostProcess(free_port(), APPS / "unbound")

    output = child.read_until("Could not load")

    assert child.process.wait(timeout=30) == 1
    assert (
        "cannot load the start function: the following parameters are declared in Python "
        "but not in function.json: {'client'}"
    ) in output
