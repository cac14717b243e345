"""Check 2: every resource body is held against Azure's own REST model for its type and API
version, as published in the official azure-mgmt-* SDK packages."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

import pytest
from infra_bake import Bake
from infra_bicep import BICEP_ONLY_KEYS, parse, resources
from infra_rest_models import RESOURCE_MODELS, Kind, Shape, known_api_versions, shape_of


def body_problems(body: dict[str, Any], shape: Shape, path: str = "") -> list[str]:
    """Property names in a Bicep body that the REST model does not know, or only reports."""
    problems: list[str] = []
    if not isinstance(body, dict) or shape.kind is not Kind.OBJECT:
        return problems
    known = shape.properties()
    for raw_name, value in body.items():
        name = raw_name.strip("'")
        where = f"{path}.{name}" if path else name
        if not path and name in BICEP_ONLY_KEYS:
            continue
        if name not in known:
            close = difflib.get_close_matches(name, list(known), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            problems.append(f"{where}: not in {_model_name(shape)}{hint}")
            continue
        problems += [f"{where}: read-only" for _ in [1] if known[name].read_only]
        problems += _value_problems(value, known[name], where)
    return problems


def _value_problems(value: Any, shape: Shape, path: str) -> list[str]:
    if isinstance(value, dict) and "operator" in value:
        operator = value["operator"]
        if operator.get("type") == "conditional":
            branches = operator["operands"]
            return _value_problems(branches["true_value"], shape, path) + _value_problems(
                branches["false_value"], shape, path
            )
        return []
    if isinstance(value, dict) and ("loop_type" in value and "config" in value):
        return _value_problems(value["config"], shape.item or shape, f"{path}[]")
    if shape.kind is Kind.OBJECT and isinstance(value, dict) and "function" not in value:
        return body_problems(value, shape, path)
    if shape.kind is Kind.LIST and isinstance(value, list) and shape.item is not None:
        return [p for item in value for p in _value_problems(item, shape.item, f"{path}[]")]
    if shape.kind is Kind.MAP and isinstance(value, dict) and shape.item is not None:
        return [
            p
            for key, item in value.items()
            for p in _value_problems(item, shape.item, f"{path}.{key}")
        ]
    return []


def _model_name(shape: Shape) -> str:
    return shape.model.__name__ if shape.model is not None else "the flattened properties"


def _all_resources(bake: Bake) -> list[Any]:
    found = list(resources(bake.infra))
    assert found, f"no resources found under {bake.infra}"
    return found


def test_every_resource_type_and_api_version_has_an_sdk_model(provider_bake: Bake) -> None:
    unknown = {r.key for r in _all_resources(provider_bake)} - set(RESOURCE_MODELS)
    assert unknown == set()


def test_every_api_version_is_one_the_sdk_knows(provider_bake: Bake) -> None:
    unknown = {
        r.key
        for r in _all_resources(provider_bake)
        if r.api_version not in known_api_versions(r.type)
    }
    assert unknown == set()


def test_every_resource_body_uses_only_rest_model_properties(provider_bake: Bake) -> None:
    problems = [
        f"{r.file.name}:{r.symbol}: {problem}"
        for r in _all_resources(provider_bake)
        if not r.existing
        for problem in body_problems(r.body, shape_of(RESOURCE_MODELS[r.key]))
    ]
    assert problems == []


def test_existing_references_carry_no_body(provider_bake: Bake) -> None:
    extra = {
        f"{r.file.name}:{r.symbol}": sorted(set(r.body) - BICEP_ONLY_KEYS)
        for r in _all_resources(provider_bake)
        if r.existing and set(r.body) - BICEP_ONLY_KEYS
    }
    assert extra == {}


def _scheduler_body(tmp_path: Path, properties: str) -> dict[str, Any]:
    source = tmp_path / "scheduler.bicep"
    source.write_text(
        "resource s 'Microsoft.DurableTask/schedulers@2026-02-01' = {\n"
        "  name: 'dts'\n  location: 'westeurope'\n"
        f"  properties: {{\n{properties}\n  }}\n}}\n",
        encoding="utf-8",
    )
    return parse(source)["resources"]["s"]["config"]  # type: ignore[no-any-return]


SCHEDULER = RESOURCE_MODELS["Microsoft.DurableTask/schedulers@2026-02-01"]


def test_model_check_accepts_a_correct_scheduler(tmp_path: Path) -> None:
    body = _scheduler_body(
        tmp_path, "    ipAllowlist: ['0.0.0.0/0']\n    sku: { name: 'Consumption' }"
    )
    assert body_problems(body, shape_of(SCHEDULER)) == []


@pytest.mark.parametrize(
    ("properties", "expected"),
    [
        ("    ipAllowList: []", "properties.ipAllowList: not in SchedulerProperties"),
        ("    sku: { nmae: 'Consumption' }", "properties.sku.nmae: not in SchedulerSku"),
        ("    endpoint: 'https://x'", "properties.endpoint: read-only"),
        (
            "    sku: true ? { name: 'Dedicated', capacity: 1 } : { nam: 'Consumption' }",
            "properties.sku.nam: not in SchedulerSku",
        ),
    ],
    ids=["misspelled-casing", "nested-typo", "read-only", "inside-a-condition"],
)
def test_model_check_rejects(tmp_path: Path, properties: str, expected: str) -> None:
    problems = body_problems(_scheduler_body(tmp_path, properties), shape_of(SCHEDULER))
    assert any(problem.startswith(expected) for problem in problems), problems
