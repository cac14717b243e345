"""Mermaid itself renders every diagram a bake ships, in headless Chromium.

GitHub shows ```mermaid blocks with the same library; a diagram Mermaid cannot parse shows as
an error there. Skips, naming what to install, without Chromium or the npm ``mermaid`` package
(``bash scripts/diagram_tools.sh`` installs both; ``.ci/run`` runs it in CI).
"""

import re
import struct
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests import mermaid_browser
from tests.conftest import TEMPLATE
from tests.test_bake import COMBINATIONS

pytestmark = pytest.mark.slow
MERMAID_BLOCK = re.compile(r"^```mermaid\n(.*?)\n```$", re.MULTILINE | re.DOTALL)
PAGE_TITLE = re.compile(r"^# `([^`]+)`$", re.MULTILINE)
STEP_ROW = re.compile(r"^\| `([^`]+)`(?: \(start\))? \| [^|]+ \| `([^`]+)` \|", re.MULTILINE)
# Every bake with a workflow to draw: the one with no starter has none.
BAKES = {
    "all-starters": {"model_provider": "azure_openai"},
    **{name: answers for name, answers in COMBINATIONS.items() if name != "no-starter"},
}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module", autouse=True)
def browser_and_mermaid() -> None:
    missing = mermaid_browser.missing_tools()
    if missing:
        pytest.skip(missing)


def sections(project: Path) -> dict[str, str]:
    """Each top-level workflow's page in docs/workflows/, by workflow name."""
    found = {}
    for page in sorted((project / "docs" / "workflows").glob("*.md")):
        text = page.read_text()
        title = PAGE_TITLE.search(text)
        assert title, f"{page.name} has no '# `name`' title"
        found[title[1]] = text
    return found


@pytest.fixture(scope="module")
def rendered(
    bake: Callable[..., Path], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, dict[str, Any]]:
    """Every diagram of the all-starters bake, as Mermaid drew it, by workflow name."""
    by_workflow = {
        name: MERMAID_BLOCK.findall(text)[0]
        for name, text in sections(bake(**BAKES["all-starters"])).items()
    }
    results = mermaid_browser.render(list(by_workflow.values()), tmp_path_factory.mktemp("mermaid"))
    return dict(zip(by_workflow, results, strict=True))


@pytest.fixture(scope="module")
def rendered_by_bake(
    bake: Callable[..., Path], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, tuple[list[str], list[dict[str, Any]]]]:
    """Each bake's workflow pages' diagrams with what Mermaid made of each, by combination.

    Starting Chromium and loading Mermaid take about 1.5 s, drawing a diagram about 0.06 s, so
    every bake's diagrams go to one page in one browser run instead of one run per bake.
    """
    blocks = {}
    for combination, answers in BAKES.items():
        project = bake(**answers)
        blocks[combination] = [
            block for text in sections(project).values() for block in MERMAID_BLOCK.findall(text)
        ]
    every_block = [block for found in blocks.values() for block in found]
    results = iter(mermaid_browser.render(every_block, tmp_path_factory.mktemp("mermaid-all")))
    return {
        combination: (found, [next(results) for _ in found])
        for combination, found in blocks.items()
    }


@pytest.mark.parametrize("combination", list(BAKES))
def test_mermaid_renders_every_diagram_of_the_workflow_pages(
    combination: str, rendered_by_bake: dict[str, tuple[list[str], list[dict[str, Any]]]]
) -> None:
    blocks, results = rendered_by_bake[combination]

    assert blocks
    assert [result.get("error") for result in results] == [None] * len(blocks)


def test_every_executor_is_drawn_with_its_durable_name(
    bake: Callable[..., Path], rendered: dict[str, dict[str, Any]]
) -> None:
    for name, text in sections(bake(**BAKES["all-starters"])).items():
        drawn = " ".join(rendered[name]["nodes"] + rendered[name]["clusters"])
        for executor_id, durable_name in STEP_ROW.findall(text):
            assert executor_id in drawn, (name, executor_id)
            assert durable_name in drawn, (name, durable_name)


def test_switch_case_routes_show_their_conditions(rendered: dict[str, dict[str, Any]]) -> None:
    assert rendered["support_triage"]["edgeLabels"] == [
        'if ticket.category == "billing"',
        'else if ticket.category == "technical"',
        "otherwise",
    ]


def test_the_fare_check_is_a_framed_child_orchestration_with_a_person_inside(
    rendered: dict[str, dict[str, Any]],
) -> None:
    trip = rendered["trip_booking"]

    assert trip["clusters"] == ["fare_check: child orchestration dafx-trip_booking_fare_check"]
    assert any(
        node.startswith("a person answers on the trip_booking instance") for node in trip["nodes"]
    )
    assert trip["edgeLabels"] == ["asks (request_info)", "answer"]


def test_a_screenshot_shows_the_diagram(bake: Callable[..., Path], tmp_path: Path) -> None:
    trip = MERMAID_BLOCK.findall(sections(bake(**BAKES["all-starters"]))["trip_booking"])[0]

    picture = mermaid_browser.screenshot(trip, tmp_path).read_bytes()

    width, height = struct.unpack(">II", picture[16:24])
    assert picture[:8] == PNG_SIGNATURE
    assert (width, height) == (1100, 1300)
    assert len(picture) > 20_000, "a blank page compresses far smaller than a drawn diagram"


def test_the_install_script_keeps_what_is_there_and_says_where_it_is() -> None:
    installed = mermaid_browser.mermaid_script().stat().st_mtime_ns

    result = subprocess.run(
        ["bash", str(TEMPLATE / "scripts" / "diagram_tools.sh")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert f"mermaid {mermaid_browser.MERMAID_VERSION} at {mermaid_browser.mermaid_dir()}" in (
        result.stdout
    )
    assert mermaid_browser.mermaid_script().stat().st_mtime_ns == installed
