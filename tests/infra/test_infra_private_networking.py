"""Check 7: the `privateNetworking` switch. With it on, the app joins a virtual network, every
service it calls (host storage, the scheduler, the model) gets a private endpoint with its
private DNS zones, and public network access is off on each; with it off nothing changes."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import NetworkVariant
from infra_bake import Bake
from infra_bicep import module_params, module_paths, parse, resources
from test_infra_app_contract import function_app_settings, host_json_settings

SWITCH = "privateNetworking"
PRIVATE_ENDPOINT_MODULE = "core/private-endpoint.bicep"
# Module of the service -> the Private Link sub-resource its endpoint connects to.
ENDPOINT_GROUPS = {
    "storage": "blob",
    "scheduler": "scheduler",
    "openAi": "account",
    "foundry": "account",
}
SERVICE_TYPES = {
    "Microsoft.Storage/storageAccounts",
    "Microsoft.DurableTask/schedulers",
    "Microsoft.CognitiveServices/accounts",
}
MODEL_MODULES = {"none": set(), "azure_openai": {"openAi"}, "foundry": {"foundry"}}


def accessor(node: Any) -> str:
    """`a.outputs.b` as written, from pycep's nested property accessors."""
    if isinstance(node, dict) and node.get("operator", {}).get("type") == "property_accessor":
        operands = node["operator"]["operands"]
        return f"{accessor(operands['operand_1'])}.{accessor(operands['operand_2'])}"
    return str(node)


def _main_modules(bake: Bake) -> dict[str, Any]:
    return parse(bake.infra / "main.bicep")["modules"]  # type: ignore[no-any-return]


def _private_endpoints(bake: Bake) -> dict[str, Any]:
    main = bake.infra / "main.bicep"
    return {
        symbol: spec
        for symbol, spec in _main_modules(bake).items()
        if module_paths(main)[symbol] == bake.infra / PRIVATE_ENDPOINT_MODULE
    }


def test_every_service_the_app_calls_gets_a_private_endpoint(provider_bake: Bake) -> None:
    main = provider_bake.infra / "main.bicep"
    targets = {}
    for symbol, spec in _private_endpoints(provider_bake).items():
        assert spec["config"].get("condition") == SWITCH, f"{symbol} is not behind {SWITCH}"
        params = module_params(main, symbol)
        service = accessor(params["targetResourceId"]).split(".")[0]
        targets[service] = params["groupId"]
    expected_services = {"storage", "scheduler"} | MODEL_MODULES[provider_bake.model_provider]
    assert targets == {service: ENDPOINT_GROUPS[service] for service in expected_services}


def test_private_endpoints_sit_in_the_endpoint_subnet_and_link_dns_to_the_network(
    provider_bake: Bake,
) -> None:
    main = provider_bake.infra / "main.bicep"
    for symbol in _private_endpoints(provider_bake):
        params = module_params(main, symbol)
        assert accessor(params["subnetId"]) == "network.outputs.privateEndpointSubnetId"
        assert accessor(params["virtualNetworkId"]) == "network.outputs.id"
        assert params["dnsZoneNames"], f"{symbol} has no private DNS zone"


@pytest.mark.parametrize("private", [False, True], ids=["public", "private"])
def test_public_network_access_follows_the_switch_on_every_service(
    network_variants: dict[tuple[str, bool], NetworkVariant], provider_bake: Bake, private: bool
) -> None:
    variant = network_variants[(provider_bake.model_provider, private)]
    access = {
        r.type: r.body["properties"].get("publicNetworkAccess")
        for r in resources(variant.infra)
        if r.type in SERVICE_TYPES and not r.existing
    }
    expected_types = SERVICE_TYPES - (
        {"Microsoft.CognitiveServices/accounts"}
        if provider_bake.model_provider == "none"
        else set()
    )
    assert set(access) == expected_types
    assert set(access.values()) == {"Disabled" if private else "Enabled"}


def test_the_network_and_the_app_subnet_follow_the_switch(provider_bake: Bake) -> None:
    main = provider_bake.infra / "main.bicep"
    modules = _main_modules(provider_bake)
    network = next(s for s in modules if module_paths(main)[s].name == "network.bicep")
    app = next(s for s in modules if module_paths(main)[s].name == "function-app.bicep")
    assert module_params(main, network)["enabled"] == SWITCH
    assert accessor(module_params(main, app)["virtualNetworkSubnetId"]) == (
        f"{network}.outputs.appSubnetId"
    )


def test_the_app_subnet_is_delegated_to_flex_consumption(provider_bake: Bake) -> None:
    (network,) = [
        r
        for r in resources(provider_bake.infra)
        if r.type == "Microsoft.Network/virtualNetworks" and not r.existing
    ]
    names = parse(network.file)["variables"]
    delegations = {
        names[subnet["name"]]["value"]: [
            d["properties"]["serviceName"] for d in subnet["properties"].get("delegations", [])
        ]
        for subnet in network.body["properties"]["subnets"]
    }
    assert delegations["app"] == ["Microsoft.App/environments"]


def test_private_networking_changes_no_app_setting(
    network_variants: dict[tuple[str, bool], NetworkVariant], provider_bake: Bake
) -> None:
    public, private = (network_variants[(provider_bake.model_provider, p)] for p in (False, True))
    settings = function_app_settings(private.infra)
    assert settings == function_app_settings(public.infra)
    wanted = host_json_settings(provider_bake.project)
    assert {name for name in wanted if name not in settings} == set()
