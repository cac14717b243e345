"""Check 6: every resource uses a type and API version that Bicep has types for.

The list comes from Bicep's own type index (Azure/bicep-types-az), extracted for the types
infra/ declares into bicep_types_index.json by make_bicep_types_index.py, which records the
index commit and date. A resource at any other version would make `bicep build` warn BCP081
and leave its body unchecked by Bicep."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

from infra_bake import TEMPLATE, Bake
from infra_bicep import Resource, resources
from make_bicep_types_index import build_index, resource_pairs

INDEX_FILE = Path(__file__).with_name("bicep_types_index.json")


@cache
def bicep_types_index() -> dict[str, Any]:
    index: dict[str, Any] = json.loads(INDEX_FILE.read_text(encoding="utf-8"))
    return index


def untyped(found: Iterable[Resource], index: dict[str, Any]) -> list[str]:
    """Resources whose type@version the index has no Bicep types for (types ignore case)."""
    known = {name.lower(): versions for name, versions in index["resource_types"].items()}
    return [
        f"{r.file.name}:{r.symbol}: {r.key}"
        for r in found
        if r.api_version not in known.get(r.type.lower(), {})
    ]


def test_every_baked_resource_has_bicep_types(provider_bake: Bake) -> None:
    found = list(resources(provider_bake.infra))
    assert found
    assert untyped(found, bicep_types_index()) == []


def test_every_canonical_resource_has_bicep_types() -> None:
    assert untyped(resources(TEMPLATE / "infra"), bicep_types_index()) == []


def test_index_names_its_source_commit_and_date() -> None:
    source = bicep_types_index()["source"]
    assert source["repository"] == "https://github.com/Azure/bicep-types-az"
    assert re.fullmatch(r"[0-9a-f]{40}", source["commit"])
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", source["date"])


def test_every_used_version_was_in_the_index_by_its_date() -> None:
    """Each version records when it reached the index; none may postdate the recorded index."""
    dates = [
        first_indexed
        for versions in bicep_types_index()["resource_types"].values()
        for first_indexed in versions.values()
    ]
    assert dates and all(first <= bicep_types_index()["source"]["date"] for first in dates)


def test_check_rejects_an_api_version_without_bicep_types(tmp_path: Path) -> None:
    (tmp_path / "main.bicep").write_text(
        "resource site 'Microsoft.Web/sites@2025-05-01' = {\n"
        "  name: 'func'\n  location: 'westeurope'\n}\n",
        encoding="utf-8",
    )
    assert untyped(resources(tmp_path), bicep_types_index()) == [
        "main.bicep:site: Microsoft.Web/sites@2025-05-01"
    ]


def test_index_maker_reads_the_resource_headings_of_a_types_page() -> None:
    page = (
        "# Microsoft.DurableTask @ 2026-02-01\n\n"
        "## Resource Microsoft.DurableTask/schedulers@2026-02-01\n"
        "* **Readable Scope(s)**: ResourceGroup\n\n"
        "## Resource Microsoft.DurableTask/schedulers/taskHubs@2026-02-01\n"
        "### Properties\n\n## SchedulerProperties\n"
    )
    assert resource_pairs(page) == {
        ("Microsoft.DurableTask/schedulers", "2026-02-01"),
        ("Microsoft.DurableTask/schedulers/taskHubs", "2026-02-01"),
    }


def _commit(repository: Path, path: str, text: str, day: str) -> None:
    target = repository / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    stamp = f"{day}T12:00:00+00:00"
    environment = {**os.environ, "GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp}
    for command in (["add", path], ["commit", "-q", "-m", f"types {day}"]):
        subprocess.run(
            ["git", "-C", str(repository), "-c", "user.name=t", "-c", "user.email=t@t", *command],
            check=True,
            env=environment,
            timeout=60,
        )


def test_index_maker_records_each_version_and_the_day_it_entered_the_index(
    tmp_path: Path,
) -> None:
    repository = tmp_path / "bicep-types-az"
    subprocess.run(["git", "init", "-q", str(repository)], check=True, timeout=60)
    _commit(
        repository,
        "generated/web/microsoft.web/2024-11-01/types.md",
        "## Resource Microsoft.Web/sites@2024-11-01\n"
        "## Resource Microsoft.Web/certificates@2024-11-01\n",
        "2025-01-10",
    )
    _commit(
        repository,
        "generated/web/microsoft.web/2025-03-01/types.md",
        "## Resource Microsoft.Web/sites@2025-03-01\n",
        "2025-11-06",
    )

    index = build_index(repository / ".git", "HEAD", {"Microsoft.Web/sites"})

    assert index["resource_types"] == {
        "Microsoft.Web/sites": {"2024-11-01": "2025-01-10", "2025-03-01": "2025-11-06"}
    }
    source = index["source"]
    assert isinstance(source, dict)
    assert source["date"] == "2025-11-06"
    assert re.fullmatch(r"[0-9a-f]{40}", source["commit"])


def test_index_maker_dates_a_version_from_before_its_folder_was_renamed(tmp_path: Path) -> None:
    # bicep-types-az moved generated/durabletask/ to generated/durabletask_0/ on 2026-07-29;
    # the versions it held entered the index long before.
    repository = tmp_path / "bicep-types-az"
    subprocess.run(["git", "init", "-q", str(repository)], check=True, timeout=60)
    _commit(
        repository,
        "generated/durabletask/microsoft.durabletask/2025-11-01/types.md",
        "## Resource Microsoft.DurableTask/schedulers@2025-11-01\n",
        "2025-11-06",
    )
    stamp = "2026-07-29T12:00:00+00:00"
    environment = {**os.environ, "GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp}
    for command in (
        ["mv", "generated/durabletask", "generated/durabletask_0"],
        ["commit", "-q", "-m", "move the provider folder"],
    ):
        subprocess.run(
            ["git", "-C", str(repository), "-c", "user.name=t", "-c", "user.email=t@t", *command],
            check=True,
            env=environment,
            timeout=60,
        )

    index = build_index(repository / ".git", "HEAD", {"Microsoft.DurableTask/schedulers"})

    assert index["resource_types"] == {
        "Microsoft.DurableTask/schedulers": {"2025-11-01": "2025-11-06"}
    }


def test_infrastructure_doc_states_the_day_the_newest_version_in_use_reached_the_index() -> None:
    index = bicep_types_index()["resource_types"]
    newest = max(
        index[resource.type][resource.api_version] for resource in resources(TEMPLATE / "infra")
    )
    doc = (TEMPLATE / "docs" / "infrastructure.md").read_text(encoding="utf-8")

    stated = re.search(r"newest version in use reached the index on\s+(\d{4}-\d{2}-\d{2})", doc)

    assert stated is not None
    assert stated[1] == newest
