"""Reading Bicep without the Bicep CLI: pycep-parser for structure, plus the few lexical facts
(symbols referenced, module outputs used) that its tree does not keep apart from strings."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, cast

from pycep import BicepParser

MODULE_OUTPUT_REFERENCE = re.compile(r"\b([A-Za-z_]\w*)\.outputs\.([A-Za-z_]\w*)")
# Keys of a resource body that Bicep consumes itself; they are not part of the REST body.
BICEP_ONLY_KEYS = frozenset({"name", "parent", "scope", "dependsOn"})


@cache
def bicep_parser() -> BicepParser:
    # Making a parser loads pycep's Lark grammar tables, about 0.1 s; parsing a file is faster.
    return BicepParser()


def parse(path: Path) -> dict[str, Any]:
    return parse_text(path.read_text(encoding="utf-8"))


@cache
def parse_text(text: str) -> dict[str, Any]:
    """The parsed tree of some Bicep; every bake carries mostly the same files, parsed once."""
    return cast(dict[str, Any], bicep_parser().parse(text=text))


def bicep_files(infra: Path) -> list[Path]:
    return sorted(infra.rglob("*.bicep"))


def module_paths(path: Path) -> dict[str, Path]:
    """Module symbol -> the file it points at, resolved against the declaring file."""
    modules = parse(path).get("modules", {})
    return {name: (path.parent / spec["detail"]["path"]) for name, spec in modules.items()}


def declared_symbols(path: Path) -> set[str]:
    tree = parse(path)
    return {
        name
        for section in ("parameters", "variables", "resources", "modules", "outputs")
        for name in tree.get(section, {})
    } - set(tree.get("outputs", {}))


def code_without_strings_and_comments(path: Path) -> str:
    """The source with comments removed and string literals blanked, keeping ${...} holes."""
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    out: list[str] = []
    i = 0
    while i < len(text):
        if text.startswith("//", i):
            end = text.find("\n", i)
            i = len(text) if end < 0 else end
        elif text[i] == "'":
            i += 1
            while i < len(text) and text[i] != "'":
                if text[i] == "\\":
                    i += 2
                elif text.startswith("${", i):
                    depth, i = 1, i + 2
                    start = i
                    while i < len(text) and depth:
                        depth += {"{": 1, "}": -1}.get(text[i], 0)
                        i += 1
                    out.append(" " + text[start : i - 1] + " ")
                else:
                    i += 1
            i += 1
            out.append("''")
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def referenced_words(path: Path) -> set[str]:
    return set(re.findall(r"\b[A-Za-z_]\w*\b", code_without_strings_and_comments(path)))


def module_output_references(path: Path) -> set[tuple[str, str]]:
    return set(MODULE_OUTPUT_REFERENCE.findall(code_without_strings_and_comments(path)))


def required_parameters(path: Path) -> set[str]:
    return {
        name
        for name, spec in parse(path).get("parameters", {}).items()
        if spec.get("default") is None
    }


def decorator(spec: dict[str, Any], kind: str) -> Any:
    for item in spec.get("decorators", []):
        if item.get("type") == kind:
            return item.get("argument")
    return None


@dataclass(frozen=True)
class Resource:
    file: Path
    symbol: str
    type: str
    api_version: str
    existing: bool
    body: dict[str, Any]

    @property
    def key(self) -> str:
        return f"{self.type}@{self.api_version}"


def unwrap(body: Any) -> Any:
    """The object inside `[for ...: {...}]` and `if (...) {...}` declarations."""
    while (
        isinstance(body, dict) and "config" in body and ("condition" in body or "loop_type" in body)
    ):
        body = body["config"]
    return body


def resources(infra: Path) -> Iterator[Resource]:
    for path in bicep_files(infra):
        for symbol, spec in parse(path).get("resources", {}).items():
            yield Resource(
                file=path,
                symbol=symbol,
                type=spec["type"],
                api_version=spec["api_version"],
                existing=bool(spec.get("existing")),
                body=unwrap(spec["config"]),
            )


def module_params(path: Path, module: str) -> dict[str, Any]:
    return unwrap(parse(path)["modules"][module]["config"]).get("params", {})  # type: ignore[no-any-return]
