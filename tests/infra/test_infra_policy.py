"""Check 3: checkov's Bicep checks pass, every skip carries its reason, and our own policy for
the Durable Task Scheduler holds (a SKU, and an IP allow list that can never be empty)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from conftest import NetworkVariant
from infra_bake import Bake
from infra_bicep import bicep_files, decorator, module_params, module_paths, parse, resources

SKIP_COMMENT = re.compile(r"//\s*checkov:skip=(CKV\w+)\s*:?\s*(.*)$")
MINIMUM_REASON_WORDS = 6
SCHEDULER_TYPE = "Microsoft.DurableTask/schedulers"
# Checks skipped only because, without privateNetworking, the app reaches these services publicly.
NETWORK_SKIPS = {"CKV_AZURE_35", "CKV_AZURE_59", "CKV_AZURE_134"}


def _checkov_executable() -> str:
    found = os.environ.get("CHECKOV") or shutil.which("checkov")
    if found:
        return found
    message = (
        "checkov not found: install it in its own venv "
        "(pip install -r tests/infra/requirements-checkov.txt) and put it on PATH or in $CHECKOV"
    )
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@cache
def _checkov_report(infra: Path, executable: str) -> dict[str, Any]:
    completed = subprocess.run(
        [executable, "-d", str(infra), "--framework", "bicep", "--skip-download", "-o", "json"],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        # No platform key and no mapping download: checkov must stay offline.
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE"},
    )
    assert completed.returncode in (0, 1), completed.stderr
    report: dict[str, Any] = json.loads(completed.stdout)
    return report


def _skip_comments(infra: Path) -> dict[str, str]:
    """`CKV_x@file` -> the reason written beside the skip."""
    found = {}
    for path in bicep_files(infra):
        for line in path.read_text(encoding="utf-8").splitlines():
            match = SKIP_COMMENT.search(line)
            if match:
                found[f"{match[1]}@/{path.relative_to(infra)}"] = match[2].strip()
    return found


def test_checkov_reports_no_failed_check(provider_bake: Bake) -> None:
    report = _checkov_report(provider_bake.infra, _checkov_executable())
    assert report["summary"]["parsing_errors"] == 0
    assert report["summary"]["passed"] > 0
    failed = [
        f"{check['check_id']} {check['resource']} ({check['file_path']})"
        for check in report["results"]["failed_checks"]
    ]
    assert failed == []


def test_checkov_reports_no_failed_check_for_either_network_setting(
    network_variant: NetworkVariant,
) -> None:
    report = _checkov_report(network_variant.infra, _checkov_executable())
    assert report["summary"]["parsing_errors"] == 0
    failed = [
        f"{check['check_id']} {check['resource']} ({check['file_path']})"
        for check in report["results"]["failed_checks"]
    ]
    assert failed == []


def _without_skips(infra: Path, target: Path, check_ids: set[str]) -> Path:
    shutil.copytree(infra, target)
    for path in target.rglob("*.bicep"):
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        kept = [
            line
            for line in lines
            if not ((match := SKIP_COMMENT.search(line)) and match[1] in check_ids)
        ]
        path.write_text("".join(kept), encoding="utf-8")
    return target


def test_private_networking_passes_the_network_checks_without_their_skips(
    network_variants: dict[tuple[str, bool], NetworkVariant], provider_bake: Bake, tmp_path: Path
) -> None:
    """The network skips hold only for the public setting: with privateNetworking on, checkov
    passes those checks with the skip comments removed."""
    executable = _checkov_executable()
    public = network_variants[(provider_bake.model_provider, False)]
    private = network_variants[(provider_bake.model_provider, True)]
    skipped = {
        check["check_id"]
        for check in _checkov_report(public.infra, executable)["results"]["skipped_checks"]
    } & NETWORK_SKIPS
    assert skipped, "expected the public setting to skip network checks"
    report = _checkov_report(_without_skips(private.infra, tmp_path / "infra", skipped), executable)
    assert [check["check_id"] for check in report["results"]["failed_checks"]] == []
    passed = {check["check_id"] for check in report["results"]["passed_checks"]}
    assert skipped <= passed


def test_every_checkov_skip_states_its_reason(provider_bake: Bake) -> None:
    reasons = _skip_comments(provider_bake.infra)
    assert reasons, "expected the documented skips"
    terse = {
        skip: reason
        for skip, reason in reasons.items()
        if len(reason.split()) < MINIMUM_REASON_WORDS
    }
    assert terse == {}


def test_every_skip_comment_suppresses_a_check_checkov_runs(provider_bake: Bake) -> None:
    report = _checkov_report(provider_bake.infra, _checkov_executable())
    skipped = {
        f"{check['check_id']}@{check['file_path']}" for check in report["results"]["skipped_checks"]
    }
    assert set(_skip_comments(provider_bake.infra)) == skipped


def _scheduler_resources(infra: Path) -> list[Any]:
    found = [r for r in resources(infra) if r.type == SCHEDULER_TYPE and not r.existing]
    assert len(found) == 1, found
    return found


def _sku_names(sku: Any) -> list[Any]:
    if isinstance(sku, dict) and "operator" in sku:
        operands = sku["operator"]["operands"]
        return _sku_names(operands["true_value"]) + _sku_names(operands["false_value"])
    return [sku.get("name") if isinstance(sku, dict) else None]


def test_scheduler_declares_a_sku_on_every_branch(provider_bake: Bake) -> None:
    (scheduler,) = _scheduler_resources(provider_bake.infra)
    names = _sku_names(scheduler.body["properties"]["sku"])
    assert names and all(names), names


def allow_list_problems(infra: Path, parameters: dict[str, Any]) -> list[str]:
    """Why the scheduler's ipAllowlist could end up empty, traced from main.bicep down."""
    (scheduler,) = _scheduler_resources(infra)
    value = scheduler.body["properties"].get("ipAllowlist")
    module_file = scheduler.file
    problems = []
    if not isinstance(value, str) or value not in parse(module_file)["parameters"]:
        return [f"ipAllowlist is {value!r}, not a parameter the policy can trace"]
    if (decorator(parse(module_file)["parameters"][value], "min_length") or 0) < 1:
        problems.append(f"{module_file.name}: parameter {value} lacks @minLength(1)")
    main = infra / "main.bicep"
    callers = [
        m for m, target in module_paths(main).items() if target.resolve() == module_file.resolve()
    ]
    assert len(callers) == 1, callers
    passed = module_params(main, callers[0]).get(value)
    main_parameter = parse(main)["parameters"].get(passed) if isinstance(passed, str) else None
    if main_parameter is None:
        return [*problems, f"main.bicep passes {passed!r}, not one of its parameters"]
    if (decorator(main_parameter, "min_length") or 0) < 1:
        problems.append(f"main.bicep: parameter {passed} lacks @minLength(1)")
    if not main_parameter.get("default"):
        problems.append(f"main.bicep: parameter {passed} has no non-empty default")
    if passed in parameters and not parameters[passed].get("value"):
        problems.append(f"main.parameters.json sets {passed} empty")
    return problems


def test_scheduler_ip_allowlist_can_never_be_empty(bake: Bake) -> None:
    parameters = json.loads((bake.infra / "main.parameters.json").read_text(encoding="utf-8"))
    assert allow_list_problems(bake.infra, parameters["parameters"]) == []


def test_allow_list_policy_rejects_an_empty_override(provider_bake: Bake) -> None:
    problems = allow_list_problems(provider_bake.infra, {"schedulerIpAllowlist": {"value": []}})
    assert problems == ["main.parameters.json sets schedulerIpAllowlist empty"]
