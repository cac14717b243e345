"""Write tests/infra/bicep_types_index.json: the API versions Bicep has types for, for every
resource type infra/ declares, read from Bicep's own type index (Azure/bicep-types-az).

    python tests/infra/make_bicep_types_index.py PATH_TO_BICEP_TYPES_AZ_GIT_DIR [REF]

PATH is a clone (or bare mirror) of https://github.com/Azure/bicep-types-az; REF defaults to
HEAD. Bicep bundles that repository's `generated/` tree, where each provider and API version has
a `types.md` whose `## Resource <type>@<version>` headings are the resources Bicep can check.
The script reads them through git (no checkout needed), keeps the types that infra/ declares and
records, per version, the day it first appeared in the index, so the newest of those days is the
oldest type index (and so Bicep release) that knows everything infra/ uses.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from infra_bicep import resources

HERE = Path(__file__).resolve().parent
TEMPLATE_INFRA = HERE.parents[1] / "infra"
INDEX = HERE / "bicep_types_index.json"
REPOSITORY = "https://github.com/Azure/bicep-types-az"
RESOURCE_HEADING = re.compile(r"^## Resource (\S+)@(\S+)", re.MULTILINE)


def resource_pairs(types_md: str) -> set[tuple[str, str]]:
    """(type, API version) of every resource a generated types.md describes."""
    return {(match[1], match[2]) for match in RESOURCE_HEADING.finditer(types_md)}


def declared_types(infra: Path) -> set[str]:
    return {resource.type for resource in resources(infra)}


def _git(git_dir: Path, *arguments: str) -> str:
    return subprocess.run(
        ["git", "--git-dir", str(git_dir), *arguments],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    ).stdout


def _namespace(resource_type: str) -> str:
    return resource_type.split("/", 1)[0].lower()


def _first_indexed(git_dir: Path, ref: str, path: str) -> str:
    """The day a types.md for this provider and API version first entered the index.

    bicep-types-az moves provider folders (`generated/durabletask/...` became
    `generated/durabletask_0/...`), so the file's own history starts at the move. Every path
    that ever held this provider's page for this version counts: the same effect as
    `git log --follow`, without depending on git's rename detection (which needs similar
    content and every blob of a large commit).
    """
    provider, version = path.split("/")[-3:-1]
    pages = f":(glob)generated/**/{provider}/{version}/types.md"
    added = _git(git_dir, "log", "--diff-filter=A", "--format=%cs", ref, "--", pages).split()
    return added[-1] if added else ""


def build_index(git_dir: Path, ref: str, wanted: Iterable[str]) -> dict[str, object]:
    wanted_by_lower = {name.lower(): name for name in wanted}
    namespaces = {_namespace(name) for name in wanted_by_lower}
    paths = [
        path
        for path in _git(git_dir, "ls-tree", "-r", "--name-only", ref, "generated").splitlines()
        if path.endswith("/types.md") and path.split("/")[-3].lower() in namespaces
    ]
    versions: dict[str, dict[str, str]] = {name: {} for name in wanted_by_lower.values()}
    for path in paths:
        found = [
            (wanted_by_lower[kind.lower()], version)
            for kind, version in resource_pairs(_git(git_dir, "show", f"{ref}:{path}"))
            if kind.lower() in wanted_by_lower
        ]
        if not found:
            continue
        first_indexed = _first_indexed(git_dir, ref, path)
        for name, version in found:
            known = versions[name].get(version)
            versions[name][version] = min(filter(None, (known, first_indexed)), default="")
    commit, date = _git(git_dir, "log", "-1", "--format=%H %cs", ref).split()
    return {
        "source": {
            "repository": REPOSITORY,
            "commit": commit,
            "date": date,
            "made_by": "tests/infra/make_bicep_types_index.py",
        },
        "resource_types": {
            name: dict(sorted(found.items())) for name, found in sorted(versions.items())
        },
    }


def main(arguments: list[str]) -> int:
    if not 1 <= len(arguments) <= 2:
        print(__doc__, file=sys.stderr)
        return 2
    git_dir = Path(arguments[0])
    if (git_dir / ".git").is_dir():
        git_dir = git_dir / ".git"
    ref = arguments[1] if len(arguments) == 2 else "HEAD"
    index = build_index(git_dir, ref, declared_types(TEMPLATE_INFRA))
    INDEX.write_text(json.dumps(index, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {INDEX.relative_to(HERE.parents[1])} from {REPOSITORY} at {ref}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
