"""Check 3: checkov's Bicep checks pass, every skip carries its reason, and our own policy for
the Durable Task Scheduler holds (a SKU, and an IP allow list that can never be empty)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import NetworkVariant
from infra_bake import PROVIDER_VARIANTS, Bake
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


CHECKED_KINDS = ("passed_checks", "failed_checks", "skipped_checks")


def _checkov_reports(
    infras: list[Path], executable: str, workdir: Path
) -> dict[Path, dict[str, Any]]:
    """checkov's report on each infra/ folder, as a scan of that folder alone gives it.

    Starting checkov takes most of the ~4 s one folder costs, so the folders are copied under
    one parent and scanned by one process; each finding goes back to its folder with its path
    relative to that folder. (checkov's own repeated `-d` rescans the first folder each time.)
    """
    copies = {infra: workdir / str(index) for index, infra in enumerate(infras)}
    for infra, copy in copies.items():
        shutil.copytree(infra, copy)
    completed = subprocess.run(
        [executable, "-d", str(workdir), "--framework", "bicep", "--skip-download", "-o", "json"],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        # No platform key and no mapping download: checkov must stay offline.
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE"},
    )
    assert completed.returncode in (0, 1), completed.stderr
    combined: dict[str, Any] = json.loads(completed.stdout)
    return {infra: _report_of_folder(combined, copy) for infra, copy in copies.items()}


def _report_of_folder(combined: dict[str, Any], folder: Path) -> dict[str, Any]:
    """The part of a scan of several folders that lies in ``folder``, paths made relative."""
    prefix = f"/{folder.name}"
    results: dict[str, Any] = {
        kind: [
            {**check, "file_path": check["file_path"].removeprefix(prefix)}
            for check in combined["results"][kind]
            if Path(check["file_abs_path"]).is_relative_to(folder)
        ]
        for kind in CHECKED_KINDS
    }
    results["parsing_errors"] = [
        path for path in combined["results"]["parsing_errors"] if Path(path).is_relative_to(folder)
    ]
    summary = {kind.removesuffix("_checks"): len(results[kind]) for kind in CHECKED_KINDS}
    return {
        "summary": {**summary, "parsing_errors": len(results["parsing_errors"])},
        "results": results,
    }


@pytest.fixture(scope="session")
def checkov_reports(
    bakes: dict[tuple[str, str], Bake],
    network_variants: dict[tuple[str, bool], NetworkVariant],
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[Path, dict[str, Any]]:
    """checkov's report on every provider's infra/ and both network settings, by folder."""
    infras = [bakes[variant].infra for variant in PROVIDER_VARIANTS]
    infras += [variant.infra for variant in network_variants.values()]
    return _checkov_reports(infras, _checkov_executable(), tmp_path_factory.mktemp("checkov"))


def _skip_comments(infra: Path) -> dict[str, str]:
    """`CKV_x@file` -> the reason written beside the skip."""
    found = {}
    for path in bicep_files(infra):
        for line in path.read_text(encoding="utf-8").splitlines():
            match = SKIP_COMMENT.search(line)
            if match:
                found[f"{match[1]}@/{path.relative_to(infra)}"] = match[2].strip()
    return found


def test_checkov_reports_no_failed_check(
    provider_bake: Bake, checkov_reports: dict[Path, dict[str, Any]]
) -> None:
    report = checkov_reports[provider_bake.infra]
    assert report["summary"]["parsing_errors"] == 0
    assert report["summary"]["passed"] > 0
    failed = [
        f"{check['check_id']} {check['resource']} ({check['file_path']})"
        for check in report["results"]["failed_checks"]
    ]
    assert failed == []


def test_checkov_reports_no_failed_check_for_either_network_setting(
    network_variant: NetworkVariant, checkov_reports: dict[Path, dict[str, Any]]
) -> None:
    report = checkov_reports[network_variant.infra]
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


@pytest.fixture(scope="session")
def private_without_network_skips(
    network_variants: dict[tuple[str, bool], NetworkVariant],
    checkov_reports: dict[Path, dict[str, Any]],
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, tuple[set[str], dict[str, Any]]]:
    """By provider: the network checks its public setting skips, and checkov's report on its
    private setting with those skip comments removed (one checkov run for every provider)."""
    skipped = {
        variant.bake.model_provider: {
            check["check_id"]
            for check in checkov_reports[variant.infra]["results"]["skipped_checks"]
        }
        & NETWORK_SKIPS
        for (_, private), variant in network_variants.items()
        if not private
    }
    workdir = tmp_path_factory.mktemp("without-skips")
    stripped = {
        provider: _without_skips(
            network_variants[(provider, True)].infra, workdir / provider, check_ids
        )
        for provider, check_ids in skipped.items()
    }
    reports = _checkov_reports(
        list(stripped.values()), _checkov_executable(), tmp_path_factory.mktemp("checkov")
    )
    return {provider: (skipped[provider], reports[infra]) for provider, infra in stripped.items()}


def test_private_networking_passes_the_network_checks_without_their_skips(
    provider_bake: Bake,
    private_without_network_skips: dict[str, tuple[set[str], dict[str, Any]]],
) -> None:
    """The network skips hold only for the public setting: with privateNetworking on, checkov
    passes those checks with the skip comments removed."""
    skipped, report = private_without_network_skips[provider_bake.model_provider]
    assert skipped, "expected the public setting to skip network checks"
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


def test_every_skip_comment_suppresses_a_check_checkov_runs(
    provider_bake: Bake, checkov_reports: dict[Path, dict[str, Any]]
) -> None:
    report = checkov_reports[provider_bake.infra]
    skipped = {
        f"{check['check_id']}@{check['file_path']}" for check in report["results"]["skipped_checks"]
    }
    assert set(_skip_comments(provider_bake.infra)) == skipped


@pytest.fixture(scope="session")
def reports_without_skips(
    network_variants: dict[tuple[str, bool], NetworkVariant],
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[tuple[str, bool], dict[str, Any]]:
    """checkov's report on every provider and network setting with every skip comment removed
    (one checkov run for all of them)."""
    workdir = tmp_path_factory.mktemp("no-skips")
    every_check = {"CKV_AZURE_" + str(number) for number in range(1000)}
    stripped = {
        key: _without_skips(variant.infra, workdir / f"{key[0]}-{key[1]}", every_check)
        for key, variant in network_variants.items()
    }
    reports = _checkov_reports(
        list(stripped.values()), _checkov_executable(), tmp_path_factory.mktemp("checkov")
    )
    return {key: reports[infra] for key, infra in stripped.items()}


def test_every_skip_suppresses_a_check_that_fails_without_it(
    provider_bake: Bake, reports_without_skips: dict[tuple[str, bool], dict[str, Any]]
) -> None:
    """No skip is left over: each one's check fails, with the skips removed, for at least one
    of the two network settings the template deploys."""
    failing = {
        f"{check['check_id']}@{check['file_path']}"
        for private in (False, True)
        for check in reports_without_skips[(provider_bake.model_provider, private)]["results"][
            "failed_checks"
        ]
    }
    assert set(_skip_comments(provider_bake.infra)) - failing == set()


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
