"""Dependabot's pip pull requests for a generated project install as they stand.

Everything is read from the project's own `.github/dependabot.yml`: which pins share a pull
request (its groups, each pin in the first group that matches it, every other pin a pull
request of its own), which releases it never proposes (its ignore rules) and how old a release
must be (its cooldown). A pull request's would-be versions are what Dependabot's pip updater
picks (dependabot-core python/.../latest_version_finder.rb): the newest release past the
cooldown that no ignore rule matches, pre-releases only for a pin that is one. For each pull
request that would change a pin, pip resolves every provider's pins with its versions, for
every Python the template offers, wheels only, as tests/test_python_versions.py resolves the
pins themselves. Releases come from the package index (PyPI), through pip.
"""

import fnmatch
import json
import subprocess
import sys
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from tests.conftest import DEFAULTS
from tests.test_pins import pins
from tests.test_python_versions import (
    INSTALL_TIMEOUT_S,
    providers_requirements,
    requirement_lines,
    resolution_command,
)

pytestmark = pytest.mark.slow

OFFERED_PYTHONS: list[str] = DEFAULTS["python_version"]
PROVIDERS: list[str] = DEFAULTS["model_provider"]
# What must share a pull request, because each bounds the others' versions.
MOVE_TOGETHER = {
    "the Agent Framework and the durable libraries": {
        "agent-framework-core",
        "agent-framework-azurefunctions",
        "agent-framework-durabletask",
        "agent-framework-openai",
        "agent-framework-foundry",
        "azure-functions",
        "azure-functions-durable",
        "durabletask",
        "durabletask-azuremanaged",
    },
    "OpenTelemetry and Azure Monitor's distro": {
        "opentelemetry-sdk",
        "opentelemetry-exporter-otlp-proto-grpc",
        "azure-monitor-opentelemetry",
    },
}


def pip_updates(project: Path) -> dict[str, Any]:
    config = yaml.safe_load((project / ".github" / "dependabot.yml").read_text())
    (update,) = [entry for entry in config["updates"] if entry["package-ecosystem"] == "pip"]
    return dict(update)


def every_pin(bake: Callable[..., Path]) -> dict[str, str]:
    """Each pinned package of any provider's project (runtime and development), by name."""
    found: dict[str, str] = {}
    for provider in PROVIDERS:
        project = bake(model_provider=provider)
        project_pins = pins(project / "requirements.txt") | pins(project / "requirements-dev.txt")
        for name, version in project_pins.items():
            found[canonicalize_name(name)] = version
    return found


def matches(name: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, canonicalize_name(pattern)) for pattern in patterns)


def pull_requests(update: Mapping[str, Any], names: list[str]) -> dict[str, list[str]]:
    """The pull requests Dependabot opens for these pins: by group, else one per package."""
    opened: dict[str, list[str]] = {}
    for name in sorted(names):
        group = next(
            (
                group_name
                for group_name, rule in update.get("groups", {}).items()
                if matches(name, rule.get("patterns", ["*"]))
                and not matches(name, rule.get("exclude-patterns", []))
            ),
            name,
        )
        opened.setdefault(group, []).append(name)
    return opened


def ignored(update: Mapping[str, Any], name: str, version: Version) -> bool:
    for rule in update.get("ignore", []):
        if not fnmatch.fnmatchcase(name, canonicalize_name(rule["dependency-name"])):
            continue
        if "versions" not in rule and "update-types" not in rule:
            return True
        ranges = [SpecifierSet(spec) for spec in rule.get("versions", [])]
        if any(spec.contains(version, prereleases=True) for spec in ranges):
            return True
    return False


def releases(name: str, pre_releases: bool, cooldown_days: int) -> list[Version]:
    """The releases the index lists that are past the cooldown, whatever Python they need."""
    listed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "index",
            "versions",
            "--json",
            "--ignore-requires-python",
            "--disable-pip-version-check",
            f"--uploaded-prior-to=P{cooldown_days}D",
            *(["--pre"] if pre_releases else []),
            name,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if listed.returncode != 0:
        return []
    return [Version(version) for version in json.loads(listed.stdout)["versions"]]


def would_be_version(update: Mapping[str, Any], name: str, current: str) -> str:
    pinned = Version(current)
    cooldown = int(update.get("cooldown", {}).get("default-days", 0))
    candidates = [
        version
        for version in releases(name, pinned.is_prerelease, cooldown)
        if version > pinned and not ignored(update, name, version)
    ]
    return str(max(candidates)) if candidates else current


@pytest.fixture(scope="module")
def planned(bake: Callable[..., Path]) -> dict[str, dict[str, str]]:
    """Each pull request Dependabot would open now, with the versions it would pin."""
    update = pip_updates(bake())
    current = every_pin(bake)
    with ThreadPoolExecutor(max_workers=4) as pool:
        newest = dict(
            zip(
                current,
                pool.map(lambda name: would_be_version(update, name, current[name]), current),
                strict=True,
            )
        )
    return {
        title: {name: newest[name] for name in members}
        for title, members in pull_requests(update, list(current)).items()
        if any(newest[name] != current[name] for name in members)
    }


def test_packages_that_bound_each_other_share_a_pull_request(bake: Callable[..., Path]) -> None:
    update = pip_updates(bake())
    current = every_pin(bake)

    opened = pull_requests(update, list(current))

    for reason, together in MOVE_TOGETHER.items():
        assert together <= set(current), reason
        assert [title for title, members in opened.items() if together & set(members)] == [
            next(title for title, members in opened.items() if together & set(members))
        ], reason


def test_every_ignore_rule_says_why(bake: Callable[..., Path]) -> None:
    lines = (bake() / ".github" / "dependabot.yml").read_text().splitlines()

    rules = [at for at, line in enumerate(lines) if line.strip().startswith("- dependency-name:")]

    assert rules
    assert [lines[at] for at in rules if not lines[at - 1].strip().startswith("#")] == []


def test_the_ignore_rules_hold_azure_functions_below_the_release_that_drops_python_3_13(
    bake: Callable[..., Path],
) -> None:
    update = pip_updates(bake())

    assert ignored(update, "azure-functions", Version("1.26.0"))
    assert ignored(update, "azure-functions", Version("2.0.0"))
    assert not ignored(update, "azure-functions", Version("1.25.1"))
    assert not ignored(update, "azure-functions-durable", Version("2.0.0"))


def with_versions(
    requirements: Path, versions: Mapping[str, str], target: Path, local: dict[str, str]
) -> Path:
    """A copy of a requirements file (includes inlined) with some pins moved.

    A local file it names (the project's devtools wheel) is named by one absolute path for
    every provider's copy (``local``, by file name): pip refuses one package from two paths.
    """
    lines = []
    for line in requirement_lines(requirements):
        name = canonicalize_name(line.split("==", 1)[0])
        if name in versions:
            line = f"{name}=={versions[name]}"
        elif line.startswith(("./", "../")):
            path = (requirements.parent / line).resolve()
            line = local.setdefault(path.name, str(path))
        lines.append(line)
    target.write_text("\n".join(lines) + "\n")
    return target


@pytest.mark.parametrize("python_version", OFFERED_PYTHONS)
def test_each_pull_request_dependabot_would_open_installs(
    bake: Callable[..., Path],
    planned: dict[str, dict[str, str]],
    tmp_path: Path,
    python_version: str,
) -> None:
    failures: dict[str, str] = {}
    for title, versions in planned.items():
        workdir = tmp_path / title
        workdir.mkdir()
        local: dict[str, str] = {}
        files = [
            with_versions(path, versions, workdir / f"{provider}.txt", local)
            for provider, path in providers_requirements(bake, python_version).items()
        ]
        resolution = subprocess.run(
            resolution_command(files, python_version, workdir),
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT_S,
            check=False,
        )
        if resolution.returncode != 0:
            failures[f"{title} {versions}"] = resolution.stderr[-2000:]

    assert failures == {}, f"Python {python_version}"


def test_azure_functions_1_26_would_not_install_for_python_3_13(
    bake: Callable[..., Path], tmp_path: Path
) -> None:
    # Why the ignore rule exists, and that the resolution above catches such a pull request.
    local: dict[str, str] = {}
    files = [
        with_versions(path, {"azure-functions": "1.26.0"}, tmp_path / f"{provider}.txt", local)
        for provider, path in providers_requirements(bake, "3.13").items()
    ]

    resolution = subprocess.run(
        resolution_command(files, "3.13", tmp_path),
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT_S,
        check=False,
    )

    assert resolution.returncode != 0
    assert "azure-functions" in resolution.stderr
