"""Fixtures: a devhost serving one of the small test apps on a free loopback port."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from devhost.host import DevHost, HostSettings, shared_loop

APPS = Path(__file__).parent / "apps"


def start_host(app_dir: str, app: str) -> DevHost:
    host = DevHost(HostSettings(project_dir=APPS / app_dir, app=app, port=0))
    host.start()
    return host


@pytest.fixture(scope="session", autouse=True)
def release_shared_loop() -> Iterator[None]:
    """Hosts share the process event loop, as functions share the worker's; close it last."""
    yield
    shared_loop.release()


@pytest.fixture(scope="session")
def basics() -> Iterator[DevHost]:
    """The plain DFApp of apps/basics, served by devhost."""
    host = start_host("basics", "basics_app")
    yield host
    host.stop()


@pytest.fixture(scope="session")
def agentic() -> Iterator[DevHost]:
    """The AgentFunctionApp of apps/agentic (agent, sub-workflow, HITL), served by devhost."""
    host = start_host("agentic", "agentic_app")
    yield host
    host.stop()


def wait_for(
    url: str, done: Callable[[requests.Response], bool], timeout: float = 15.0
) -> requests.Response:
    """Poll `url` until `done` holds for the response, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        response = requests.get(url, timeout=10)
        if done(response):
            return response
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out waiting on {url}: {response.status_code} {response.text}"
            )
        time.sleep(0.05)


def finished(response: requests.Response) -> bool:
    body: Any = response.json() if response.content else None
    return isinstance(body, dict) and body.get("runtimeStatus") in {
        "Completed",
        "Failed",
        "Terminated",
    }
