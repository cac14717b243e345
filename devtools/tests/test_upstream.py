"""devhost's reach beyond its libraries' public APIs is pinned to the releases it was checked on."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from devhost import upstream

PACKAGE = Path(upstream.__file__).parent
# Documented names that merely start with an underscore.
PUBLIC_UNDERSCORED = {("os", "_exit")}


def test_installed_libraries_are_the_releases_devhost_upstream_was_written_against() -> None:
    problems = upstream.upstream_mismatches()

    assert problems == [], (
        "devhost/upstream.py reaches into these libraries' internals and has not been "
        "checked against the installed releases:\n  "
        + "\n  ".join(problems)
        + "\nRe-read every use in devhost/upstream.py against the new release, run devhost's "
        "tests, then add the release to UPSTREAM_VERSIONS."
    )


def test_a_moved_pin_is_reported_with_the_package_and_both_versions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(upstream.UPSTREAM_VERSIONS, "durabletask", ("0.0.1",))

    [problem] = upstream.upstream_mismatches()

    assert problem.startswith("durabletask 1.")
    assert "written against 0.0.1" in problem


def private_reaches(source: str) -> list[str]:
    """Imports of private modules and uses of private attributes of other objects."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and ".internal" in node.module:
            found.append(node.module)
        elif isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names if ".internal" in alias.name)
        elif isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            owner = node.value
            owner_name = owner.id if isinstance(owner, ast.Name) else ""
            is_own = owner_name in ("self", "cls")
            is_public = (owner_name, node.attr) in PUBLIC_UNDERSCORED
            if not node.attr.startswith("__") and not is_own and not is_public:
                found.append(node.attr)
    return found


def test_no_module_but_upstream_reaches_into_private_code() -> None:
    reaches = {
        path.name: private_reaches(path.read_text(encoding="utf-8"))
        for path in sorted(PACKAGE.glob("*.py"))
        if path.name != "upstream.py"
    }

    assert {name: found for name, found in reaches.items() if found} == {}


def test_upstream_does_reach_into_private_code_so_the_check_above_can_fail() -> None:
    assert private_reaches((PACKAGE / "upstream.py").read_text(encoding="utf-8"))
