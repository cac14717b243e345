"""Check 1: every Bicep file parses, modules and parameters line up, and the hook's stripping
leaves no dangling reference behind."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from infra_bake import MODEL_PROVIDERS, PYTHON_VERSIONS, TEMPLATE, Bake
from infra_bicep import (
    bicep_files,
    declared_symbols,
    decorator,
    module_output_references,
    module_params,
    module_paths,
    parse,
    referenced_words,
    required_parameters,
    resources,
)

CANONICAL_INFRA = TEMPLATE / "infra"
FLEX_MEMORY_QUOTA_MB = 512_000


def _parse_errors(infra: Path) -> dict[str, str]:
    errors = {}
    for path in bicep_files(infra):
        try:
            parse(path)
        except Exception as error:  # pycep raises lark's several error types
            errors[str(path.relative_to(infra))] = str(error).splitlines()[0]
    return errors


def test_canonical_infra_parses_with_every_block_kept() -> None:
    assert bicep_files(CANONICAL_INFRA), "infra/ holds no Bicep"
    assert _parse_errors(CANONICAL_INFRA) == {}


def test_canonical_infra_has_no_parameters_file() -> None:
    assert not list(CANONICAL_INFRA.rglob("*.parameters.json"))


def test_every_baked_bicep_file_parses(provider_bake: Bake) -> None:
    assert (provider_bake.infra / "main.bicep").is_file()
    assert _parse_errors(provider_bake.infra) == {}


def test_main_bicep_targets_the_subscription(provider_bake: Bake) -> None:
    assert parse(provider_bake.infra / "main.bicep")["globals"]["scope"]["value"] == "subscription"


def test_every_module_path_resolves(provider_bake: Bake) -> None:
    missing = [
        f"{path.name}: {symbol} -> {target}"
        for path in bicep_files(provider_bake.infra)
        for symbol, target in module_paths(path).items()
        if not target.is_file()
    ]
    assert missing == []


def test_every_baked_module_is_used(provider_bake: Bake) -> None:
    used = {
        target.resolve()
        for path in bicep_files(provider_bake.infra)
        for target in module_paths(path).values()
    }
    main = (provider_bake.infra / "main.bicep").resolve()
    unused = {path.resolve() for path in bicep_files(provider_bake.infra)} - used - {main}
    assert unused == set()


def test_module_calls_pass_declared_parameters_and_every_required_one(
    provider_bake: Bake,
) -> None:
    problems = []
    for path in bicep_files(provider_bake.infra):
        for symbol, target in module_paths(path).items():
            declared = set(parse(target).get("parameters", {}))
            passed = set(module_params(path, symbol))
            problems += [f"{symbol}: unknown parameter {name}" for name in passed - declared]
            problems += [
                f"{symbol}: required parameter {name} not passed"
                for name in required_parameters(target) - passed
            ]
    assert problems == []


def test_module_outputs_used_are_declared_by_the_module(provider_bake: Bake) -> None:
    problems = []
    for path in bicep_files(provider_bake.infra):
        modules = module_paths(path)
        for symbol, output in module_output_references(path):
            if symbol not in modules:
                problems.append(f"{path.name}: {symbol}.outputs.{output}: no such module")
            elif output not in parse(modules[symbol]).get("outputs", {}):
                problems.append(f"{path.name}: {symbol} has no output {output}")
    assert problems == []


def test_stripping_leaves_no_reference_to_a_removed_symbol(provider_bake: Bake) -> None:
    main = provider_bake.infra / "main.bicep"
    removed = declared_symbols(CANONICAL_INFRA / "main.bicep") - declared_symbols(main)
    assert removed.isdisjoint(referenced_words(main)), removed & referenced_words(main)


@pytest.mark.parametrize("provider", ["azure_openai", "foundry"])
def test_model_blocks_are_kept_only_for_their_provider(
    bakes: dict[tuple[str, str], Bake], provider: str
) -> None:
    module = {"azure_openai": "openAi", "foundry": "foundry"}[provider]
    having_module = {
        other
        for other in MODEL_PROVIDERS
        if module in declared_symbols(bakes[(other, PYTHON_VERSIONS[0])].infra / "main.bicep")
    }
    assert having_module == {provider}


def test_parameter_file_names_only_main_parameters(bake: Bake) -> None:
    supplied = _parameter_file(bake)
    declared = set(parse(bake.infra / "main.bicep")["parameters"])
    assert set(supplied) - declared == set()


def test_parameter_file_supplies_every_required_main_parameter(bake: Bake) -> None:
    supplied = _parameter_file(bake)
    assert required_parameters(bake.infra / "main.bicep") - set(supplied) == set()


def test_parameter_file_carries_the_chosen_python_version(bake: Bake) -> None:
    assert _parameter_file(bake)["pythonVersion"]["value"] == bake.python_version


def test_parameter_file_maps_the_azd_environment(bake: Bake) -> None:
    supplied = _parameter_file(bake)
    assert supplied["environmentName"]["value"] == "${AZURE_ENV_NAME}"
    assert supplied["location"]["value"] == "${AZURE_LOCATION}"
    assert supplied["principalId"]["value"] == "${AZURE_PRINCIPAL_ID}"


def _parameter_file(bake: Bake) -> dict[str, dict[str, str]]:
    document = json.loads((bake.infra / "main.parameters.json").read_text(encoding="utf-8"))
    return document["parameters"]  # type: ignore[no-any-return]


def test_parameter_file_fallbacks_match_the_bicep_defaults(bake: Bake) -> None:
    """`${VAR=fallback}` applies when the azd variable is unset; it must not drift from Bicep."""
    declared = parse(bake.infra / "main.bicep")["parameters"]
    drift = {}
    for name, entry in _parameter_file(bake).items():
        if not isinstance(entry["value"], str):  # a literal (the pool's activities), no fallback
            continue
        match = re.fullmatch(r"\$\{[A-Z_]+=(.*)\}", entry["value"])
        default = _as_parameter_text(declared[name].get("default"))
        if match and match[1] != default:
            drift[name] = (match[1], default)
    assert drift == {}


def _as_parameter_text(value: object) -> object:
    """A Bicep default as azd writes it after substitution (`false`, `0`)."""
    return json.dumps(value) if isinstance(value, bool | int) else value


def test_canonical_modules_are_all_reachable_from_main() -> None:
    reached: set[Path] = set()
    pending = [CANONICAL_INFRA / "main.bicep"]
    while pending:
        current = pending.pop().resolve()
        if current not in reached:
            reached.add(current)
            pending.extend(module_paths(current).values())
    assert {path.resolve() for path in bicep_files(CANONICAL_INFRA)} - reached == set()


# The values of answers cookiecutter.json derives from others (templates, not lists).
DERIVED_CHOICES = {"__worker_pool_enabled": ["yes", "no"]}


def test_derived_answers_take_only_their_listed_values() -> None:
    from tests.conftest import default_answers

    assert default_answers()["__worker_pool_enabled"] == "no"
    assert default_answers(worker_pool="gpu")["__worker_pool_enabled"] == "yes"


def test_strip_markers_are_balanced_and_name_real_answers() -> None:
    choices = json.loads((TEMPLATE / "cookiecutter.json").read_text(encoding="utf-8"))
    choices.update(DERIVED_CHOICES)
    problems = []
    for path in bicep_files(CANONICAL_INFRA):
        open_block = None
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            where = f"{path.name}:{number}"
            if when := re.match(r"\s*//\s*dafx:when\s+(\w+)(!?=)([\w|]+)\s*$", line):
                if open_block:
                    problems.append(f"{where}: nested block")
                key, operator, values = when.groups()
                # A named starter's answer is free text: its blocks test `!=none` (it is on).
                named = isinstance(choices.get(key), str) and (operator, values) == ("!=", "none")
                unknown = set() if named else set(values.split("|")) - set(choices.get(key, []))
                if unknown:
                    problems.append(f"{where}: {key} has no answer {sorted(unknown)}")
                open_block = where
            elif re.match(r"\s*//\s*dafx:end\s*$", line):
                if not open_block:
                    problems.append(f"{where}: dafx:end without dafx:when")
                open_block = None
            elif "dafx:" in line:
                problems.append(f"{where}: malformed marker")
        if open_block:
            problems.append(f"{open_block}: block never closed")
    assert problems == []


def _azd_metadata(path: Path, parameter: str) -> dict[str, object]:
    metadata = decorator(parse(path)["parameters"][parameter], "metadata") or {}
    return metadata.get("azd", {})  # type: ignore[no-any-return]


def test_location_is_an_azd_location_limited_to_the_supported_regions(bake: Bake) -> None:
    main = bake.infra / "main.bicep"
    allowed = decorator(parse(main)["parameters"]["location"], "allowed")
    assert _azd_metadata(main, "location") == {"type": "location"}
    assert allowed and all(re.fullmatch(r"[a-z0-9]+", region) for region in allowed)
    assert len(set(allowed)) == len(allowed)


@pytest.mark.parametrize("provider", ["azure_openai", "foundry"])
def test_model_location_is_an_azd_location_with_the_default_model_quota(
    bakes: dict[tuple[str, str], Bake], provider: str
) -> None:
    """azd offers only regions with quota for the default deployment; the usage name is a
    literal, so it must be kept equal to the model defaults."""
    main = bakes[(provider, PYTHON_VERSIONS[0])].infra / "main.bicep"
    defaults = {name: spec.get("default") for name, spec in parse(main)["parameters"].items()}
    expected = (
        f"OpenAI.{defaults['modelSkuName']}.{defaults['modelName']},{defaults['modelCapacity']}"
    )
    assert _azd_metadata(main, "modelLocation") == {"type": "location", "usageName": [expected]}
    # No fallback: with AZURE_AI_LOCATION unset azd leaves the value out and prompts for it.
    parameter_file = _parameter_file(bakes[(provider, PYTHON_VERSIONS[0])])
    assert parameter_file["modelLocation"]["value"] == "${AZURE_AI_LOCATION}"


def test_flex_memory_quota_holds_for_every_allowed_size_and_count(provider_bake: Bake) -> None:
    """Flex Consumption gives a subscription 512,000 MB per region; the largest instance size
    times the highest instance count must fit."""
    parameters = parse(provider_bake.infra / "main.bicep")["parameters"]
    largest = max(decorator(parameters["instanceMemoryMB"], "allowed"))
    most = decorator(parameters["maximumInstanceCount"], "max_value")
    assert largest * most <= FLEX_MEMORY_QUOTA_MB


def test_always_ready_instances_go_to_the_durable_trigger_group_only_when_asked(
    provider_bake: Bake,
) -> None:
    app_file = provider_bake.infra / "app" / "function-app.bicep"
    groups = parse(app_file)["variables"]["alwaysReadyGroups"]["value"]["operator"]["operands"]
    assert (groups["true_value"], groups["false_value"]) == (["durable"], [])
    main = provider_bake.infra / "main.bicep"
    app = next(m for m, target in module_paths(main).items() if target == app_file)
    assert module_params(main, app)["durableAlwaysReadyInstances"] == (
        "durableAlwaysReadyInstances"
    )


def test_scheduler_purges_completed_and_failed_instances_after_their_own_days(
    provider_bake: Bake,
) -> None:
    (policy,) = [
        r
        for r in resources(provider_bake.infra)
        if r.type == "Microsoft.DurableTask/schedulers/retentionPolicies"
    ]
    days = {
        rule["orchestrationState"]: rule["retentionPeriodInDays"]
        for rule in policy.body["properties"]["retentionPolicies"]
    }
    assert days == {"Completed": "completedRetentionDays", "Failed": "failedRetentionDays"}
    defaults = parse(provider_bake.infra / "main.bicep")["parameters"]
    assert (
        1
        <= defaults["completedRetentionDays"]["default"]
        <= defaults["failedRetentionDays"]["default"]
    )


MODEL_ROLE_MODULES = {"none": set(), "azure_openai": {"openAiRoles"}, "foundry": {"foundryRoles"}}


def test_function_app_waits_for_every_role_it_holds_and_every_private_endpoint(
    provider_bake: Bake,
) -> None:
    """The app starts as soon as it exists: each role assignment to its identity (the model's
    included) and each private endpoint must be deployed before it, or its first calls get
    403. Roles only the deployer gets need not hold the app back."""
    main = provider_bake.infra / "main.bicep"
    targets = module_paths(main)
    needed = {
        module
        for module, target in targets.items()
        if (
            target.parent.name == "rbac"
            and "appPrincipal" in json.dumps(module_params(main, module)["principals"])
        )
        or target.name == "private-endpoint.bicep"
    }
    app = next(m for m, target in targets.items() if target.name == "function-app.bicep")

    depends_on = parse(main)["modules"][app]["config"]["dependsOn"]

    assert needed - set(depends_on) == set()
    assert MODEL_ROLE_MODULES[provider_bake.model_provider] <= needed


CONSUMPTION_RETENTION_DAYS = 30  # the scheduler's Consumption SKU keeps data at most 30 days


def test_retention_defaults_fit_the_consumption_sku_the_scheduler_defaults_to(
    provider_bake: Bake,
) -> None:
    parameters = parse(provider_bake.infra / "main.bicep")["parameters"]

    assert parameters["schedulerSkuName"]["default"] == "Consumption"
    for name in ("completedRetentionDays", "failedRetentionDays"):
        assert parameters[name]["default"] <= CONSUMPTION_RETENTION_DAYS, name
        assert "at most 30 on the Consumption SKU" in decorator(parameters[name], "description")
