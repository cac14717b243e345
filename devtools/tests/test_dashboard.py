"""The dashboard at /_devhost/, opened in headless Chromium and clicked as a developer would.

The browser tests serve a fresh bake with `python -m devhost` and drive the page with
Playwright for Python on Debian's Chromium (Playwright's own browser download is not used).
They skip, naming what to install, without Chromium or Playwright (`bash
scripts/diagram_tools.sh` installs Chromium; `.ci/run` runs it in CI). Nothing else is
needed: devhost draws the diagrams itself. Screenshots are saved for a person to look at,
in `DEVHOST_DASHBOARD_SCREENSHOTS` when set.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import requests

from devhost.dashboard import diagrams
from devhost.diagram import parse, to_svg
from devhost.host import DevHost
from devhost.span_log import KEPT_SPANS_PER_TRACE, SpanLog
from devtools.tests.conftest import DevhostProcess, free_port
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
# Generous: a run of a few steps on a machine other tests share; nothing hangs longer.
RUN_SECONDS = 60


def missing_browser_tools() -> str | None:
    """What the browser tests lack, with how to get it; None when all is there."""
    missing = [PLAYWRIGHT_MISSING] if PLAYWRIGHT_MISSING else []
    if mermaid_browser.chromium() is None:
        missing.append("Chromium (bash scripts/diagram_tools.sh, or apt-get install -y chromium)")
    return "dashboard browser test needs " + "; ".join(missing) if missing else None


@pytest.fixture(scope="module")
def baked_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A default bake, once the browser and Playwright are there."""
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
    with serving(baked_project, {}) as served:
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
    # Assertions wait as long as actions do: on a busy machine a run takes longer to finish.
    expect.set_options(timeout=PAGE_SECONDS)
    try:
        yield opened
    finally:
        opened.close()


def start_run(base_url: str, workflow: str, body: Any) -> str:
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


def keep(page: Page, folder: Path, name: str) -> Path:
    """A full-page screenshot, checked to be a real picture, kept when asked to."""
    shot = folder / f"{name}.png"
    page.screenshot(path=str(shot), full_page=True)
    data = shot.read_bytes()
    width, height = png_size(data)
    assert width >= 1400 and height >= 1000, (name, width, height)
    assert len(data) > 40_000, f"{name}: a page with runs is not a near-blank image"
    if SCREENSHOTS:
        shutil.copyfile(shot, Path(SCREENSHOTS) / f"dashboard-{name}.png")
    return shot


@pytest.mark.slow
def test_every_workflow_is_drawn_by_devhost_with_nothing_but_python(
    baked_devhost: Served, baked_project: Path, page: Page, tmp_path: Path
) -> None:
    page.goto(baked_devhost.dashboard_url)
    page.get_by_role("link", name="Workflows").click()

    for workflow, source in diagrams(baked_project).items():
        card = page.locator(f"section.workflow[data-workflow='{workflow}']")
        for node in parse(source).nodes:
            expect(card.locator(f"svg g.node[data-id='{node}']")).to_be_visible()
    expect(page.locator("pre.mermaid-source")).to_have_count(0)
    keep(page, tmp_path, "workflows")


@pytest.mark.slow
def test_a_developer_answers_a_waiting_run_from_the_page_until_it_completes(
    baked_devhost: Served, page: Page, tmp_path: Path
) -> None:
    page.goto(baked_devhost.dashboard_url)
    instance_id = start_run(baked_devhost.base_url, "expense_approval", CLAIM)
    run = page.locator(f"tr[data-instance-id='{instance_id}']").first
    question = page.locator(f"tr.requests-row[data-instance-id='{instance_id}'] .request")
    expect(question).to_have_count(1)
    expect(question.locator(".request-data")).to_contain_text("Approve Ada's travel")
    expect(run.locator(".status")).to_have_text("Running")
    asked_under = question.get_attribute("data-request-id")

    answer_on_the_page(question, INVALID_ANSWER)
    expect(page.locator(".reply-text")).to_contain_text("200")
    asked_again = page.locator(".request", has_text="The last answer was not used")
    expect(asked_again).to_have_count(1)
    expect(asked_again).to_have_attribute("data-request-id", str(asked_under))
    expect(asked_again.locator(".request-data")).to_contain_text("maybe")
    keep(page, tmp_path, "asked-again")

    answer_on_the_page(asked_again, VALID_ANSWER)
    expect(run.locator(".status")).to_have_text("Completed")
    expect(page.locator(".request")).to_have_count(0)
    expect(run.locator(".output")).to_contain_text('"decided_by":"manager"')
    keep(page, tmp_path, "completed")


@pytest.mark.slow
def test_a_run_page_shows_its_history_where_each_step_ran_its_child_and_a_waterfall(
    baked_devhost: Served, page: Page, tmp_path: Path
) -> None:
    instance_id = start_run(baked_devhost.base_url, "trip_booking", TRIP)
    page.goto(baked_devhost.dashboard_url)
    page.locator(f"tr[data-instance-id='{instance_id}'] a.run-link").click()

    question = page.locator(".request")
    expect(question).to_have_attribute("data-request-id", re.compile(r"^fare_check~0~"))
    answer_on_the_page(question, TRIP_ANSWER)
    expect(page.locator("#run-status")).to_have_text("Completed")
    expect(page.locator("#run-output")).to_contain_text('"status": "booked"')
    planned = page.locator("table.timeline tr", has_text="dafx-trip_booking-plan_trip")
    expect(planned.locator("td.where")).to_contain_text("instance 1")
    expect(planned).to_contain_text('"destination": "lisbon"')
    waterfall_is_the_trace(page)
    keep(page, tmp_path, "run")

    page.locator("ul.children a.run-link").click()
    expect(page.locator("#run-id")).to_have_text(f"{instance_id}::fare_check::0")
    expect(page.locator("#run-output")).not_to_contain_text("__pickled__")
    expect(page.locator("#run-output")).to_contain_text('"confirmed": true')
    page.get_by_role("link", name=instance_id).click()
    expect(page.locator("#run-id")).to_have_text(instance_id)


def span_row(page: Page, name: str, count: int = 1) -> Locator:
    """The waterfall's rows for the spans named `name`, checked to be `count` of them."""
    row = page.locator(f".waterfall .bar-row[data-name='{name}']")
    expect(row).to_have_count(count)
    return row


def waterfall_is_the_trace(page: Page) -> None:
    """The trip's waterfall: the spans of its trace, each under its parent, with its process."""
    start = span_row(page, "POST /api/workflow/trip_booking/run")
    created = span_row(page, "create_orchestration:dafx-trip_booking")
    top = span_row(page, "orchestration:dafx-trip_booking")
    planned = span_row(page, "activity:dafx-trip_booking-plan_trip")
    fare_check = span_row(page, "orchestration:dafx-trip_booking_fare_check")
    # The fare hold runs twice: once to ask the traveller, once with the answer.
    held = span_row(page, "activity:dafx-trip_booking_fare_check-fare_hold", count=2)
    answered = page.locator(".waterfall .bar-row[data-name^='orchestration_event:']")
    expect(answered).to_have_count(1)
    for child, parent in [
        (created, start),
        (top, created),
        (planned, top),
        (fare_check, top),
        (held.first, fare_check),
        (held.last, fare_check),
    ]:
        expect(child).to_have_attribute("data-parent-id", str(parent.get_attribute("data-span-id")))
    expect(start).to_have_attribute("data-depth", "0")
    expect(held.first).to_have_attribute("data-depth", "4")
    for row in (start, top, planned, held.first):
        expect(row).to_have_attribute("data-process", re.compile(r"^instance 1 \(pid \d+\)$"))
        expect(row.locator(".where")).to_contain_text("instance 1 (pid")
    expect(planned.locator(".bar")).to_have_class(re.compile(r"\bactivity\b"))
    expect(page.locator(".waterfall .bar.open")).to_have_count(0)
    expect(page.locator(".waterfall .bar.failed")).to_have_count(0)


@pytest.mark.slow
def test_an_answer_the_run_cannot_use_is_refused_on_the_page_and_the_first_one_is_used(
    baked_devhost: Served, page: Page, tmp_path: Path
) -> None:
    instance_id = start_run(baked_devhost.base_url, "expense_approval", CLAIM)
    page.goto(f"{baked_devhost.dashboard_url}#/run/{instance_id}")
    question = page.locator(".request")
    expect(question).to_have_count(1)
    request_id = str(question.get_attribute("data-request-id"))
    respond = f"{baked_devhost.base_url}/api/workflow/expense_approval/respond/{instance_id}"

    # Suspended, the run takes no answer: the question stays on the page after the first.
    page.get_by_role("button", name="Suspend").click()
    expect(page.locator("#run-status")).to_have_text("Suspended")
    answer_on_the_page(question, VALID_ANSWER)
    expect(page.locator(".reply-text")).to_contain_text(f"{request_id}: 200")
    answer_on_the_page(question, '{"approved": false}')
    expect(page.locator(".reply-text")).to_contain_text(f"{request_id}: 409")
    expect(page.locator(".reply-text")).to_contain_text("has not taken it yet")
    unknown = requests.post(f"{respond}/no-such-request", json={"approved": False}, timeout=30)
    keep(page, tmp_path, "answer-refused")
    page.get_by_role("button", name="Resume").click()

    expect(page.locator("#run-status")).to_have_text("Completed")
    expect(page.locator("#run-output")).to_contain_text('"decided_by": "manager"')
    expect(page.locator("#run-output")).to_contain_text('"comment": "fine"')
    assert unknown.status_code == 404
    assert unknown.json()["pendingHumanInputRequests"][0]["requestId"] == request_id
    late = requests.post(f"{respond}/{request_id}", json={"approved": False}, timeout=30)
    assert late.status_code == 409
    assert "has ended (Completed)" in late.json()["error"]


@pytest.mark.slow
def test_a_failed_step_shows_red_under_its_orchestration_with_its_message(
    basics: DevHost, page: Page, tmp_path: Path
) -> None:
    run = finished_run(basics, "fails", None)
    page.goto(f"{basics.base_url}/_devhost/")
    page.locator(f"tr[data-instance-id='{run['status']['instanceId']}'] a.run-link").click()

    expect(page.locator("#run-status")).to_have_text("Failed")
    failed = span_row(page, "orchestration:fails")
    explode = span_row(page, "activity:explode")
    expect(explode).to_have_attribute("data-parent-id", str(failed.get_attribute("data-span-id")))
    expect(explode.locator(".bar")).to_have_class(re.compile(r"\bfailed\b"))
    expect(explode.locator(".span-error")).to_contain_text("boom")
    expect(failed.locator(".span-error")).to_contain_text("boom")
    keep(page, tmp_path, "failed-run")


@pytest.mark.slow
def test_a_run_is_suspended_resumed_terminated_restarted_and_purged_from_its_page(
    baked_devhost: Served, page: Page
) -> None:
    instance_id = start_run(baked_devhost.base_url, "expense_approval", CLAIM)
    page.goto(f"{baked_devhost.dashboard_url}#/run/{instance_id}")
    status = page.locator("#run-status")
    expect(page.locator(".request")).to_have_count(1)

    page.locator("button[data-action='suspend']").click()
    expect(status).to_have_text("Suspended")
    page.locator("button[data-action='resume']").click()
    expect(status).to_have_text("Running")
    page.locator("button[data-action='terminate']").click()
    expect(status).to_have_text("Terminated")
    page.locator("button[data-action='restart']").click()
    expect(page.locator("#run-id")).not_to_have_text(instance_id)
    expect(status).to_have_text("Running")
    restarted = page.locator("#run-id").inner_text()
    expect(page.locator("#run-input")).to_contain_text('"employee": "Ada"')

    page.goto(f"{baked_devhost.dashboard_url}#/run/{instance_id}")
    page.locator("button[data-action='purge']").click()
    expect(page.locator("#view-run")).to_contain_text("No such instance")
    assert restarted != instance_id


@pytest.mark.slow
def test_an_event_raised_from_the_page_answers_the_run(baked_devhost: Served, page: Page) -> None:
    instance_id = start_run(baked_devhost.base_url, "expense_approval", CLAIM)
    page.goto(f"{baked_devhost.dashboard_url}#/run/{instance_id}")
    request_id = page.locator(".request").get_attribute("data-request-id")

    page.locator("details summary", has_text="Raise an event").click()
    page.locator("input[name='event-name']").fill(str(request_id))
    page.locator("textarea[name='event-data']").fill(VALID_ANSWER)
    page.get_by_role("button", name="Raise event").click()

    expect(page.locator("#action-result")).to_contain_text("202")
    expect(page.locator("#run-status")).to_have_text("Completed")
    expect(page.locator("table.timeline")).to_contain_text("EventRaised")


@pytest.mark.slow
def test_runs_are_found_by_workflow_search_and_pages(
    baked_devhost: Served, page: Page, tmp_path: Path
) -> None:
    marker = "needle-" + os.urandom(4).hex()
    for number in range(12):
        ticket = {"subject": f"{marker} no{number:02d}", "body": "charged twice"}
        start_run(baked_devhost.base_url, "support_triage", ticket)
    page.goto(baked_devhost.dashboard_url)
    rows = page.locator("#instances tr[data-instance-id]")

    page.locator("select[name='name']").select_option("dafx-support_triage")
    page.locator("input[name='q']").fill(marker)
    page.locator("select[name='size']").select_option("10")
    expect(page.locator("#page-note")).to_have_text("page 1 of 2 (12 run(s))")
    expect(rows).to_have_count(10)
    page.get_by_role("button", name="Next").click()
    expect(page.locator("#page-note")).to_have_text("page 2 of 2 (12 run(s))")
    expect(rows).to_have_count(2)
    page.locator("input[name='q']").fill(f"{marker} no07")
    expect(rows).to_have_count(1)
    expect(rows.first.locator(".input")).to_contain_text(f"{marker} no07")
    expect(rows.first.locator(".status")).to_have_text("Completed")
    keep(page, tmp_path, "found")


KEY_LINE = re.compile(r"^\s+key: (\S+)$", re.MULTILINE)
QUOTE = {"item": "desk lamp", "quantity": 150, "needed_within_days": 14}


@pytest.mark.slow
def test_reachable_on_two_instances_the_page_uses_its_key_and_names_both_processes(
    baked_project: Path, page: Page, tmp_path: Path
) -> None:
    served = DevhostProcess(free_port(), baked_project, instances=2, host="0.0.0.0")
    try:
        printed = served.read_until("devhost is listening on")
        key_line, dashboard = KEY_LINE.search(printed), DASHBOARD_LINE.search(printed)
        assert key_line is not None and dashboard is not None, printed
        base = f"http://127.0.0.1:{served.port}"
        headers = {"x-functions-key": key_line.group(1)}
        started = requests.post(
            f"{base}/api/workflow/supplier_quotes/run", json=QUOTE, headers=headers, timeout=30
        )
        assert started.status_code == 202, started.text
        instance_id = started.json()["instanceId"]
        claim = requests.post(
            f"{base}/api/workflow/expense_approval/run", json=CLAIM, headers=headers, timeout=30
        ).json()["instanceId"]

        page.goto(dashboard.group(1).replace("0.0.0.0", "127.0.0.1") + f"#/run/{instance_id}")
        expect(page.locator("#run-status")).to_have_text("Completed")
        ran_on = page.locator("table.timeline td.where")
        expect(ran_on.filter(has_text="instance 1").first).to_be_visible()
        expect(ran_on.filter(has_text="instance 2").first).to_be_visible()
        # The spans say the same: each step's span was made in the process that ran it, the
        # orchestration's in the front door, which sees a run's whole life.
        spans = page.locator(".waterfall .bar-row")
        expect(spans.filter(has_text="instance 1 (pid").first).to_be_visible()
        expect(spans.filter(has_text="instance 2 (pid").first).to_be_visible()
        expect(
            page.locator(".waterfall .bar-row[data-name='orchestration:dafx-supplier_quotes']")
        ).to_have_attribute("data-process", re.compile(r"^front door \(pid \d+\)$"))
        keep(page, tmp_path, "two-instances")
        page.locator("header a", has_text="Runs").click()
        question = page.locator(f"tr.requests-row[data-instance-id='{claim}'] .request")
        answer_on_the_page(question, VALID_ANSWER)
        expect(page.locator(f"tr[data-instance-id='{claim}'] .status")).to_have_text("Completed")
        expect(page.locator("#problem")).to_have_text("")
    finally:
        served.stop()


TRACES_LINE = re.compile(r"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=(http://\S+) \(OTLP/gRPC\)")
PLACEMENT_APP = "tests.placement_demo_app:app"
PLACEMENT_WORKFLOWS = "tests.placement_demo:build_workflows"
CRUNCH = "dafx-placement_demo-crunch"
WORKER_READY = "Waiting for work items"


@contextmanager
def pool_worker(project: Path, backend: str, log: Path, traces: bool) -> Iterator[int]:
    """`python worker.py --pool gpu` on devhost's backend, exporting its spans there or not;
    its pid once it waits for work."""
    environment = {
        **os.environ,
        "DURABLE_TASK_SCHEDULER_CONNECTION_STRING": f"Endpoint={backend};Authentication=None",
        "TASKHUB_NAME": "default",
    }
    environment.pop("OTEL_TRACES_EXPORTER", None)
    if traces:
        environment["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] = backend
    with log.open("wb") as output:
        worker = subprocess.Popen(
            [sys.executable, "worker.py", "--workflows", PLACEMENT_WORKFLOWS, "--pool", "gpu"],
            cwd=project,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + RUN_SECONDS
        while WORKER_READY not in log.read_text(errors="replace"):
            assert worker.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        yield worker.pid
    finally:
        worker.terminate()
        worker.wait(timeout=30)


@pytest.mark.slow
def test_a_step_run_by_a_pool_worker_shows_in_the_waterfall_under_that_workers_process(
    baked_project: Path, page: Page, tmp_path: Path
) -> None:
    """The heavy step of the project's placement demo runs on `worker.py --pool gpu`: its
    spans are in the waterfall once the worker exports them to devhost as the start-up
    message says, and the page names the worker whose spans are elsewhere."""
    settings = {f"AzureWebJobs.{CRUNCH}.Disabled": "true"}
    served = DevhostProcess(free_port(), baked_project, app=PLACEMENT_APP, settings=settings)
    try:
        printed = served.read_until("devhost is listening on")
        traces, dashboard = TRACES_LINE.search(printed), DASHBOARD_LINE.search(printed)
        assert traces is not None and dashboard is not None, printed
        backend, base = traces.group(1), f"http://127.0.0.1:{served.port}"

        def run_on_the_page(label: str) -> None:
            started = requests.post(
                f"{base}/api/workflow/placement_demo/run",
                json={"label": label, "rounds": 1000},
                timeout=30,
            )
            assert started.status_code == 202, started.text
            page.goto(dashboard.group(1) + f"#/run/{started.json()['instanceId']}")
            expect(page.locator("#run-status")).to_have_text("Completed")

        step = page.locator(f".waterfall .bar-row[data-name='activity:{CRUNCH}']")
        with pool_worker(baked_project, backend, tmp_path / "silent.log", traces=False) as pid:
            run_on_the_page("elsewhere")
            expect(page.locator(".waterfall")).to_contain_text(
                f"Steps run by worker pid {pid} are not here"
            )
            expect(step).to_have_count(0)
        with pool_worker(baked_project, backend, tmp_path / "traced.log", traces=True) as pid:
            run_on_the_page("on-the-page")
            where = f"worker pid {pid}"
            expect(step).to_have_attribute("data-process", where)
            expect(step).to_contain_text(where)
            orchestration = page.locator(
                ".waterfall .bar-row[data-name='orchestration:dafx-placement_demo']"
            )
            expect(step).to_have_attribute(
                "data-parent-id", str(orchestration.get_attribute("data-span-id"))
            )
            executor = page.locator(".waterfall .bar-row[data-name='executor.process crunch']")
            expect(executor).to_have_attribute("data-process", where)
            expect(page.locator("table.timeline td.where", has_text=where).first).to_be_visible()
            expect(page.locator(".waterfall")).not_to_contain_text("are not here")
            keep(page, tmp_path, "pool-worker")
    finally:
        served.stop()


@pytest.mark.slow
def test_entities_are_listed_with_their_state_on_the_page(basics: DevHost, page: Page) -> None:
    key = "on-the-page-" + os.urandom(3).hex()
    requests.post(f"{basics.base_url}/api/counter/{key}/add", json=5, timeout=10)

    page.goto(f"{basics.base_url}/_devhost/#/entities")

    row = page.locator(f"#entities tr[data-entity='counter@{key}']")
    expect(row).to_contain_text("5")


def test_every_node_of_every_starter_diagram_is_drawn(tmp_path: Path) -> None:
    project = bake_project(tmp_path)

    drawn = {workflow: to_svg(source, workflow) for workflow, source in diagrams(project).items()}

    assert drawn, "the default bake has diagrams"
    for workflow, svg in drawn.items():
        for node in parse(diagrams(project)[workflow]).nodes:
            assert f'<g class="node" data-id="{node}">' in svg, (workflow, node)


def test_runs_are_listed_newest_first_in_pages_with_filters(agentic: DevHost) -> None:
    prefix = "listed-" + os.urandom(3).hex()
    for number in range(3):
        requests.post(
            f"{agentic.base_url}/runtime/webhooks/durabletask/orchestrators/dafx-echo/"
            f"{prefix}-{number}",
            json="level",
            timeout=10,
        )
    base = f"{agentic.base_url}/_devhost/api/instances"

    first = requests.get(base, params={"prefix": prefix, "size": 2}, timeout=10).json()
    second = requests.get(base, params={"prefix": prefix, "size": 2, "page": 1}, timeout=10).json()
    none = requests.get(base, params={"prefix": prefix, "name": "dafx-orders"}, timeout=10).json()

    assert first["total"] == 3 and len(first["instances"]) == 2 and len(second["instances"]) == 1
    listed = [i["instanceId"] for i in first["instances"] + second["instances"]]
    assert sorted(listed) == [f"{prefix}-{n}" for n in range(3)]
    assert none["total"] == 0
    assert "dafx-echo" in first["names"]


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


def test_an_unknown_run_is_404(agentic: DevHost) -> None:
    response = requests.get(f"{agentic.base_url}/_devhost/api/instances/no-such-run", timeout=10)

    assert response.status_code == 404


def test_a_run_names_the_trace_it_belongs_to(agentic: DevHost) -> None:
    trace_id = os.urandom(16).hex()
    started = requests.post(
        f"{agentic.base_url}/runtime/webhooks/durabletask/orchestrators/dafx-echo",
        json="level",
        headers={"traceparent": f"00-{trace_id}-{os.urandom(8).hex()}-01"},
        timeout=10,
    ).json()

    run = requests.get(f"{agentic.base_url}/_devhost/api/instances/{started['id']}", timeout=10)

    assert run.json()["traceId"] == trace_id


def finished_run(host: DevHost, orchestrator: str, body: Any) -> dict[str, Any]:
    """A run of `orchestrator` started through the management API, as the page reads it once
    it has ended and its spans have been kept."""
    started = requests.post(
        f"{host.base_url}/runtime/webhooks/durabletask/orchestrators/{orchestrator}",
        json=body,
        timeout=10,
    ).json()
    url = f"{host.base_url}/_devhost/api/instances/{started['id']}"
    deadline = time.monotonic() + RUN_SECONDS
    while time.monotonic() < deadline:
        run: dict[str, Any] = requests.get(url, timeout=10).json()
        ended = run["status"]["runtimeStatus"] in ("Completed", "Failed")
        if ended and run["spans"] and all(span["end"] is not None for span in run["spans"]):
            return run
        time.sleep(0.05)
    raise AssertionError(f"{orchestrator} did not end with its spans within {RUN_SECONDS} s")


def one_span(run: dict[str, Any], name: str) -> dict[str, Any]:
    (span,) = [span for span in run["spans"] if span["name"] == name]
    return span


def test_a_runs_waterfall_is_its_trace_each_span_under_its_parent_with_its_process(
    basics: DevHost,
) -> None:
    run = finished_run(basics, "greetings", ["Ada", "Bob"])

    top = one_span(run, "orchestration:greetings")
    child = one_span(run, "orchestration:shout")
    hellos = [span for span in run["spans"] if span["name"] == "activity:say_hello"]
    upper = one_span(run, "activity:to_upper")
    started = one_span(run, "create_orchestration:greetings")
    assert {span["traceId"] for span in run["spans"]} == {run["traceId"]}
    assert top["parentId"] == started["spanId"]
    assert len(hellos) == 2
    assert all(span["parentId"] == top["spanId"] for span in hellos)
    assert child["parentId"] == top["spanId"]
    assert upper["parentId"] == child["spanId"]
    assert {span["process"] for span in run["spans"]} == {f"instance 1 (pid {os.getpid()})"}
    assert top["attributes"]["durabletask.task.instance_id"] == run["status"]["instanceId"]


def test_a_child_runs_waterfall_is_its_part_of_the_trace_and_what_led_to_it(
    basics: DevHost,
) -> None:
    parent = finished_run(basics, "greetings", ["Ada"])
    url = f"{basics.base_url}/_devhost/api/instances/{parent['status']['instanceId']}::shout::0"

    child = requests.get(url, timeout=10).json()

    names = [span["name"] for span in child["spans"]]
    assert sorted(names) == sorted(
        [
            "create_orchestration:greetings",
            "orchestration:greetings",
            "orchestration:shout",
            "activity:to_upper",
        ]
    )


def test_a_failed_step_is_a_failed_span_with_its_message_in_the_waterfall(
    basics: DevHost,
) -> None:
    run = finished_run(basics, "fails", None)

    explode = one_span(run, "activity:explode")
    failed = one_span(run, "orchestration:fails")
    assert run["status"]["runtimeStatus"] == "Failed"
    assert explode["error"] is not None and "boom" in explode["error"]
    assert explode["parentId"] == failed["spanId"]
    assert failed["error"] is not None and "boom" in failed["error"]


def span_record(trace_id: str, span_id: str) -> dict[str, Any]:
    return {"traceId": trace_id, "spanId": span_id, "parentId": None, "attributes": {}}


def test_the_span_log_keeps_the_latest_traces_and_counts_the_spans_past_its_limit() -> None:
    log = SpanLog(kept_traces=2)
    for trace_id in ("a", "b", "c"):
        log.add(span_record(trace_id, "1"))
    for number in range(KEPT_SPANS_PER_TRACE + 3):
        log.add(span_record("c", f"span-{number}"))

    kept, dropped = log.of_trace("c")

    assert log.of_trace("a") == ([], 0)
    assert len(log.of_trace("b")[0]) == 1
    assert (len(kept), dropped) == (KEPT_SPANS_PER_TRACE, 4)
