"""Build the dafx-devhost wheel with the Python standard library alone.

    python build_wheel.py OUTPUT_DIR     # prints the wheel's path

The template's post-generation hook runs this to put the wheel in a new project's
``devtools/``. cookiecutter and cruft run hooks in the user's own Python, where no build
backend (hatchling, setuptools) is installed and the network may be out of reach, so this
writes the wheel format directly: the package's files, then METADATA, WHEEL,
entry_points.txt and RECORD, all read from ``pyproject.toml`` and ``__init__.py``. Entries
are sorted and dated 1980-01-01, so the same source always gives the same bytes and
``cruft update`` sees a change only when the source changed. The template's tests build the
same wheel with hatchling and compare the two.
"""

from __future__ import annotations

import base64
import hashlib
import re
import sys
import tomllib
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
PACKAGE = ROOT / "src" / "devhost"
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
VERSION = re.compile(r'^__version__ = "([^"]+)"$', re.MULTILINE)


def version() -> str:
    found = VERSION.search((PACKAGE / "__init__.py").read_text(encoding="utf-8"))
    if found is None:
        raise SystemExit(f"no __version__ in {PACKAGE / '__init__.py'}")
    return found.group(1)


def distribution_name(name: str) -> str:
    """The name as wheel file names and .dist-info folders spell it."""
    return re.sub(r"[-_.]+", "_", name).lower()


def wheel_name(project: dict[str, Any] | None = None) -> str:
    project = project or tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return f"{distribution_name(project['name'])}-{version()}-py3-none-any.whl"


def metadata(project: dict[str, Any]) -> str:
    lines = [
        "Metadata-Version: 2.4",
        f"Name: {project['name']}",
        f"Version: {version()}",
        f"Summary: {project['description']}",
        f"License-Expression: {project['license']}",
        f"Requires-Python: {project['requires-python']}",
        *(f"Requires-Dist: {dependency}" for dependency in project["dependencies"]),
        "Description-Content-Type: text/markdown",
        "",
        (ROOT / project["readme"]).read_text(encoding="utf-8"),
    ]
    return "\n".join(lines)


def entry_points(project: dict[str, Any]) -> str:
    groups = {"console_scripts": project.get("scripts", {})}
    groups.update(project.get("entry-points", {}))
    sections = []
    for group, entries in groups.items():
        body = "".join(f"{name} = {target}\n" for name, target in entries.items())
        sections.append(f"[{group}]\n{body}")
    return "\n".join(sections)


def package_files() -> list[tuple[str, bytes]]:
    return [
        (f"devhost/{path.relative_to(PACKAGE).as_posix()}", path.read_bytes())
        for path in sorted(PACKAGE.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    ]


def record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def build(output_dir: Path) -> Path:
    """Write the wheel into ``output_dir`` and return its path."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    dist_info = f"{distribution_name(project['name'])}-{version()}.dist-info"
    files = package_files()
    files += [
        (f"{dist_info}/METADATA", metadata(project).encode()),
        (
            f"{dist_info}/WHEEL",
            b"Wheel-Version: 1.0\nGenerator: dafx-devhost build_wheel.py\n"
            b"Root-Is-Purelib: true\nTag: py3-none-any\n",
        ),
        (f"{dist_info}/entry_points.txt", entry_points(project).encode()),
    ]
    record = [record_line(name, data) for name, data in files] + [f"{dist_info}/RECORD,,"]
    files.append((f"{dist_info}/RECORD", ("\n".join(record) + "\n").encode()))
    output_dir.mkdir(parents=True, exist_ok=True)
    target = output_dir / wheel_name(project)
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as wheel:
        for name, data in files:
            entry = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
            entry.external_attr = 0o644 << 16
            entry.compress_type = zipfile.ZIP_DEFLATED
            wheel.writestr(entry, data)
    return target


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: python build_wheel.py OUTPUT_DIR")
    print(build(Path(sys.argv[1])))
