"""The template's test environment installs exactly what generated projects pin."""

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import TEMPLATE

pytestmark = pytest.mark.slow
PIN = re.compile(r"^([A-Za-z0-9_.-]+)==(\S+)$")


def pins(path: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    for line in path.read_text().splitlines():
        match = PIN.match(line.strip())
        if match:
            found[match.group(1).lower()] = match.group(2)
    return found


@pytest.mark.parametrize("provider", ["none", "azure_openai", "foundry"])
def test_every_project_pin_is_pinned_identically_for_the_template_tests(
    bake: Callable[..., Path], provider: str
) -> None:
    project = bake(model_provider=provider)
    template_pins = pins(TEMPLATE / "requirements-dev.txt")
    project_pins = pins(project / "requirements.txt") | pins(project / "requirements-dev.txt")

    assert {name: template_pins.get(name) for name in project_pins} == project_pins


def test_project_requirements_pin_every_line(bake: Callable[..., Path]) -> None:
    project = bake(model_provider="foundry")
    lines = [
        line.strip()
        for line in (project / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]

    assert lines and all(PIN.match(line) for line in lines)


def test_the_meta_package_is_not_installed(bake: Callable[..., Path]) -> None:
    project = bake(model_provider="foundry")

    assert "agent-framework" not in pins(project / "requirements.txt")
