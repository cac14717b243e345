"""The dashboard at /_devhost/, opened in headless Chromium as a developer would open it.

The browser test serves a fresh bake with `python -m devhost` and drives the page with
Playwright for Python on Debian's Chromium (Playwright's own browser download is not used).
It skips, naming what to install, without Chromium, Playwright or the npm mermaid bundle
(`bash scripts/diagram_tools.sh` installs Chromium and mermaid; `.ci/run` runs it in CI).
"""

from __future__ import annotations

import os
import re
import shutil
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import requests

from devhost.dashboard import MERMAID_VARIABLE, diagrams
from devhost.host import DevHost
from devhost.tests.conftest import DevhostProcess, free_port
from tests import mermaid_browser
from tests.conftest import bake_project

try:
    from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright
except ImportError:
    PLAYWRIGHT_MISSING: str | None = "Playwright for Python (pip install -r requirements-dev.txt)"
else:
    PLAYWRIGHT_MISSING = None

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
DASHBOARD_LINE = re.compile(r"^Dashboard: (\S+)$", re.MULTILINE)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CLAIM: dict[str, Any] = {"employee": "Ada", "amount": 250, "category": "travel"}
INVALID_ANSWER = '{"approved": "maybe"}'
VALID_ANSWER = '{"approved": true, "comment": "fine"}'
TRIP: dict[str, Any] = {"traveller": "ana", "destination": "Lisbon", "nights": 3, "budget": 1000}
TRIP_ANSWER = '{"confirm": true, "note": "aisle"}'
# A folder to keep the screenshots in, to look at them.
SCREENSHOTS = os.environ.get("DEVHOST_DASHBOARD_SCREENSHOTS")
PAGE_SECONDS = 30_000  # Playwright waits in milliseconds


def missing_browser_tools() -> str | None:
    """What the browser test lacks, with how to get it; None when all is there."""
    missing = [PLAYWRIGHT_MISSING] if PLAYWRIGHT_MISSING else []
    if mermaid_browser.chromium() is None:
        missing.append("Chromium (bash scripts/diagram_tools.sh, or apt-get install -y chromium)")
    if not mermaid_browser.mermaid_script().is_file():
        missing.append(
            f"npm mermaid at {mermaid_browser.mermaid_dir()} (bash scripts/diagram_tools.sh)"
        )
    return "dashboard browser test needs " + "; ".join(missing) if missing else None


@pytest.fixture(scope="module")
def baked_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A default bake, once the browser, Playwright and the Mermaid bundle are there."""
    missing = missing_browser_tools()
    if missing:
        pytest.skip(missing)
    return bake_project(tmp_path_factory.mktemp("dashboard"))


@dataclass(frozen=True)
class Served:
    base_url: str
    dashboard_url: str


@contextmanager
def serving(project: Path, environment: dict[str, str]) -> Iterator[Served]:
    """`python -m devhost` serving `project` with `environment` added, and the page it prints."""
    with mock.patch.dict(os.environ, environment):
        served = DevhostProcess(free_port(), project)
    try:
        printed = served.read_until("devhost is listening on")
        dashboard = DASHBOARD_LINE.search(printed)
        assert dashboard is not None, printed
        yield Served(f"http://127.0.0.1:{served.port}", dashboard.group(1))
    finally:
        served.stop()


@pytest.fixture(scope="module")
def baked_devhost(baked_project: Path) -> Iterator[Served]:
    """The bake served with the local Mermaid bundle offered."""
    bundle = {MERMAID_VARIABLE: str(mermaid_browser.mermaid_script())}
    with serving(baked_project, bundle) as served:
        yield served


@pytest.fixture(scope="module")
def browser(baked_project: Path) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=mermaid_browser.chromium(), args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    opened = browser.new_page(viewport={"width": 1400, "height": 1000})
    opened.set_default_timeout(PAGE_SECONDS)
    try:
        yield opened
    finally:
        opened.close()


def start_run(base_url: str, workflow: str, body: dict[str, Any]) -> str:
    started = requests.post(f"{base_url}/api/workflow/{workflow}/run", json=body, timeout=30)
    assert started.status_code == 202, started.text
    instance_id: str = started.json()["instanceId"]
    return instance_id


def answer_on_the_page(request: Locator, answer: str) -> None:
    request.locator("textarea").fill(answer)
    request.locator("button").click()


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_SIGNATURE, "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


@pytest.mark.slow
def test_a_developer_answers_a_waiting_run_from_the_page_until_it_completes(
    baked_devhost: Served, baked_project: Path, page: Page, tmp_path: Path
) -> None:
    page.goto(baked_devhost.dashboard_url)
    for workflow in diagrams(baked_project):
        card = page.locator(f"section.workflow[data-workflow='{workflow}']")
        expect(card.locator("svg g.node").first).to_be_visible()

    instance_id = start_run(baked_devhost.base_url, "expense_approval", CLAIM)
    run = page.locator(f"tr[data-instance-id='{instance_id}']")
    question = run.locator(".request")
    expect(question).to_have_count(1)
    expect(question.locator(".request-data")).to_contain_text("Approve Ada's travel")
    expect(run.locator(".status")).to_have_text("Running")

    answer_on_the_page(question, INVALID_ANSWER)
    expect(run.locator(".reply-text")).to_contain_text("200")
    asked_again = run.locator(".request", has_text="The last answer was not used")
    expect(asked_again).to_have_count(1)
    expect(asked_again.locator(".request-data")).to_contain_text("maybe")
    shots = {"asked-again": tmp_path / "asked-again.png", "done": tmp_path / "done.png"}
    page.screenshot(path=str(shots["asked-again"]), full_page=True)

    answer_on_the_page(asked_again, VALID_ANSWER)
    expect(run.locator(".status")).to_have_text("Completed")
    expect(run.locator(".request")).to_have_count(0)
    expect(run.locator(".output")).to_contain_text('"decided_by": "manager"')
    page.screenshot(path=str(shots["done"]), full_page=True)

    for name, screenshot in shots.items():
        data = screenshot.read_bytes()
        width, height = png_size(data)
        assert width >= 1400 and height >= 1000, (name, width, height)
        assert len(data) > 50_000, f"{name}: a page with diagrams is not a near-blank image"
        if SCREENSHOTS:
            shutil.copyfile(screenshot, Path(SCREENSHOTS) / f"dashboard-{name}.png")


@pytest.mark.slow
def test_a_sub_workflows_request_is_answered_on_the_outer_run(
    baked_devhost: Served, page: Page
) -> None:
    page.goto(baked_devhost.dashboard_url)

    instance_id = start_run(baked_devhost.base_url, "trip_booking", TRIP)
    run = page.locator(f"tr[data-instance-id='{instance_id}']")
    question = run.locator(".request")
    expect(question).to_have_attribute("data-request-id", re.compile(r"^fare_check~0~"))
    expect(question.locator(".request-data")).to_contain_text('"trip_total": 600,')
    answer_on_the_page(question, TRIP_ANSWER)

    expect(run.locator(".status")).to_have_text("Completed")
    expect(run.locator(".output")).to_contain_text('"status": "booked"')


@pytest.mark.slow
def test_without_a_mermaid_bundle_the_page_shows_each_diagram_as_mermaid_text(
    baked_project: Path, page: Page
) -> None:
    with serving(baked_project, {}) as served:
        page.goto(served.dashboard_url)
        for workflow, source in diagrams(baked_project).items():
            card = page.locator(f"section.workflow[data-workflow='{workflow}']")
            expect(card.locator("pre.mermaid-source")).to_have_text(source)
            expect(card.locator("svg")).to_have_count(0)
        expect(page.locator("#diagram-note")).to_contain_text("no Mermaid bundle")


def test_without_a_mermaid_bundle_the_catalog_says_so(agentic: DevHost) -> None:
    assert MERMAID_VARIABLE not in os.environ
    catalog: dict[str, Any] = requests.get(
        f"{agentic.base_url}/_devhost/workflows.json", timeout=10
    ).json()

    assert catalog["mermaid"] is False
    assert requests.get(f"{agentic.base_url}/_devhost/mermaid.js", timeout=10).status_code == 404
    assert [workflow["name"] for workflow in catalog["workflows"]] == [
        "batch",
        "echo",
        "orders",
        "signoff",
    ]


def test_the_workflows_of_an_agent_function_app_are_found_from_its_status_routes(
    agentic: DevHost,
) -> None:
    catalog = requests.get(f"{agentic.base_url}/_devhost/workflows.json", timeout=10).json()

    orders = next(workflow for workflow in catalog["workflows"] if workflow["name"] == "orders")
    assert orders["orchestrator"] == "dafx-orders"
    assert orders["statusPath"] == "/api/workflow/orders/status/{instanceId}"
    assert "dafx-orders_review" in catalog["orchestrators"]


def test_the_page_is_served_at_its_path_and_its_bare_path_redirects(agentic: DevHost) -> None:
    page = requests.get(f"{agentic.base_url}/_devhost", timeout=10)

    assert page.history[0].status_code == 302
    assert page.url == f"{agentic.base_url}/_devhost/"
    assert page.headers["Content-Type"].startswith("text/html")
    assert "devhost dashboard" in page.text
