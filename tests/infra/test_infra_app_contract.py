"""Check 4: the Function App sets every setting the generated app reads, and every deployment
output that azure.yaml, the scripts or the docs name is one main.bicep really produces."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from infra_bake import TEMPLATE, Bake
from infra_bicep import module_params, module_paths, parse

# Set by the platform or by azd itself, never by the template's Bicep.
PLATFORM_SETTINGS = re.compile(r"^(WEBSITE_|FUNCTIONS_|AZURE_FUNCTIONS_ENVIRONMENT$)")
AZD_ENVIRONMENT = {
    "AZURE_ENV_NAME",
    "AZURE_LOCATION",
    "AZURE_SUBSCRIPTION_ID",
    "AZURE_PRINCIPAL_ID",
}
# The names agreed with the app for each model provider (brief: "App settings the app reads").
MODEL_SETTINGS = {
    "none": set(),
    "azure_openai": {"AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_CHAT_MODEL"},
    "foundry": {"FOUNDRY_PROJECT_ENDPOINT", "FOUNDRY_MODEL"},
}
HOST_STORAGE = "AzureWebJobsStorage"
SETTING_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Written into local.settings.json only; in Azure the Bicep builds it from the scheduler endpoint.
LOCAL_ONLY = {"DURABLE_TASK_SCHEDULER_CONNECTION_STRING"}
# Standard OpenTelemetry variables telemetry.py honours when present, for a local collector; in
# Azure it exports to Application Insights instead, so the Bicep leaves them unset.
LOCAL_COLLECTOR = {"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"}
# A machine's proxy variables, which the blob client honours where they are set; not settings
# the Function App is deployed with.
MACHINE_PROXY = {
    name for base in ("https_proxy", "http_proxy", "all_proxy") for name in (base, base.upper())
}
# Limits of the post-deploy trigger sync, read from the environment with defaults.
HOOK_SETTINGS = {"SYNC_TRIGGERS_ATTEMPTS", "SYNC_TRIGGERS_WAIT_SECONDS"}
HOOK_EVENTS = ("postprovision", "postdeploy")
# First azd release whose Flex Consumption packaging honours .funcignore fully.
MINIMUM_AZD = (1, 23, 13)
FUNCTION_APP_MODULE = "app/function-app.bicep"


def function_app_settings(infra: Path) -> set[str]:
    """Names of the app settings the Function App resource is deployed with."""
    main = infra / "main.bicep"
    module = next(
        m for m, target in module_paths(main).items() if target == infra / FUNCTION_APP_MODULE
    )
    app_file = parse(infra / FUNCTION_APP_MODULE)
    base = app_file["variables"]["baseAppSettings"]["value"]
    extra = module_params(main, module).get("extraAppSettings", {})
    loop = app_file["variables"]["appSettingList"]["value"]
    assert loop["loop_type"]["detail"]["item_name"] == "setting", (
        "appSettings is no longer built from the settings objects"
    )
    return {key.strip("'") for key in {**base, **extra}}


def host_json_settings(project: Path) -> set[str]:
    host = json.loads((project / "host.json").read_text(encoding="utf-8"))
    names: set[str] = set()

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "connectionStringName" or key.endswith("ConnectionName"):
                    names.add(value)
                visit(value)
        elif isinstance(node, list):
            for item in node:
                visit(item)
        elif isinstance(node, str):
            names.update(re.findall(r"%(\w+)%", node))

    visit(host)
    return names


def python_settings(project: Path) -> set[str]:
    """Setting names the app's own code reads: os.environ/getenv literals and *_SETTINGS tuples."""
    names: set[str] = set()
    sources = [
        path
        for path in project.rglob("*.py")
        if not {"tests", "devhost", "scripts", ".venv"} & set(path.relative_to(project).parts)
    ]
    for path in sources:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _reads_environment(node.func) and node.args:
                if isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                    names.add(node.args[0].value)
            elif isinstance(node, ast.Subscript) and _is_os_environ(node.value):
                if isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str):
                    names.add(node.slice.value)
            elif isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id.endswith("_SETTINGS") for t in node.targets
            ):
                names.update(
                    c.value
                    for c in ast.walk(node.value)
                    if isinstance(c, ast.Constant) and isinstance(c.value, str)
                )
    # Paths and messages in *_SETTINGS constants are not setting names.
    return {
        name for name in names if SETTING_NAME.fullmatch(name) and not PLATFORM_SETTINGS.match(name)
    }


def _is_os_environ(node: ast.expr) -> bool:
    return isinstance(node, ast.Attribute) and node.attr == "environ"


def _reads_environment(func: ast.expr) -> bool:
    if isinstance(func, ast.Attribute) and func.attr == "get" and _is_os_environ(func.value):
        return True
    return (
        isinstance(func, ast.Attribute | ast.Name)
        and getattr(func, "attr", getattr(func, "id", "")) == "getenv"
    )


def _satisfied(name: str, settings: set[str]) -> bool:
    """A connection can be one value or an identity-based `<name>__*` group."""
    return name in settings or any(s.startswith(f"{name}__") for s in settings)


def test_function_app_sets_every_setting_host_json_reads(bake: Bake) -> None:
    wanted = host_json_settings(bake.project) | {HOST_STORAGE}
    assert {"DURABLE_TASK_SCHEDULER_CONNECTION_STRING", "TASKHUB_NAME"} <= wanted
    settings = function_app_settings(bake.infra)
    assert {name for name in wanted if not _satisfied(name, settings)} == set()


def test_host_storage_uses_the_managed_identity(bake: Bake) -> None:
    settings = function_app_settings(bake.infra)
    assert HOST_STORAGE not in settings, "a plain AzureWebJobsStorage would be a connection string"
    assert {f"{HOST_STORAGE}__credential", f"{HOST_STORAGE}__clientId"} <= settings


def test_host_storage_reaches_only_the_blob_service_its_identity_has_a_role_for(
    provider_bake: Bake,
) -> None:
    # __accountName would point the host at queues and tables too, where the identity has no
    # role; a service URI per service reaches only that service.
    settings = function_app_settings(provider_bake.infra)
    services = {
        name.removeprefix(f"{HOST_STORAGE}__").removesuffix("ServiceUri")
        for name in settings
        if name.startswith(f"{HOST_STORAGE}__") and name.endswith("ServiceUri")
    }
    main = provider_bake.infra / "main.bicep"
    # The app identity's roles on the storage account (others, such as the deployer's, aside).
    # Each role module gets `roles.<name>`: the name is the accessor's second operand.
    storage_roles = {
        params["roleDefinitionId"]["operator"]["operands"]["operand_2"]
        for module, target in module_paths(main).items()
        if target.name == "storage-account-roles.bicep"
        and "appPrincipal" in json.dumps((params := module_params(main, module))["principals"])
    }

    assert f"{HOST_STORAGE}__accountName" not in settings
    assert services == {"blob"}
    assert storage_roles == {"storageBlobDataOwner"}


def test_function_app_sets_every_setting_the_python_code_reads(bake: Bake) -> None:
    read = python_settings(bake.project)
    assert MODEL_SETTINGS[bake.model_provider] <= read, "the app no longer reads the agreed names"
    assert read - LOCAL_COLLECTOR - MACHINE_PROXY - function_app_settings(bake.infra) == set()


def test_model_settings_are_those_of_the_chosen_provider(bake: Bake) -> None:
    all_model_settings = set().union(*MODEL_SETTINGS.values())
    assert (
        function_app_settings(bake.infra) & all_model_settings
        == MODEL_SETTINGS[bake.model_provider]
    )


def test_app_identity_is_handed_to_default_azure_credential(bake: Bake) -> None:
    assert "AZURE_CLIENT_ID" in function_app_settings(bake.infra)


def test_python_worker_exports_its_spans_beside_the_host_in_opentelemetry_mode(bake: Bake) -> None:
    base = parse(bake.infra / FUNCTION_APP_MODULE)["variables"]["baseAppSettings"]["value"]
    host = json.loads((bake.project / "host.json").read_text(encoding="utf-8"))

    assert host["telemetryMode"] == "OpenTelemetry"
    assert base["PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY"] == "true"
    assert "Authorization=AAD" in base["APPLICATIONINSIGHTS_AUTHENTICATION_STRING"]


def test_python_worker_calls_the_extension_that_names_each_invocations_run(bake: Bake) -> None:
    base = parse(bake.infra / FUNCTION_APP_MODULE)["variables"]["baseAppSettings"]["value"]
    app = (bake.project / "function_app.py").read_text(encoding="utf-8")

    assert base["PYTHON_ENABLE_WORKER_EXTENSIONS"] == "1"
    assert "telemetry.name_runs_of_function_invocations(workflows)" in app


def test_scheduler_connection_uses_the_managed_identity(provider_bake: Bake) -> None:
    base = parse(provider_bake.infra / FUNCTION_APP_MODULE)["variables"]["baseAppSettings"]["value"]
    connection = base["DURABLE_TASK_SCHEDULER_CONNECTION_STRING"]
    assert "Authentication=ManagedIdentity" in connection
    assert "ClientID=${identityClientId}" in connection


def main_outputs(infra: Path) -> set[str]:
    return set(parse(infra / "main.bicep")["outputs"])


def _azure_yaml(project: Path) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((project / "azure.yaml").read_text(encoding="utf-8"))
    return document


def test_azure_yaml_deploys_one_python_function_service_and_the_pools_image(bake: Bake) -> None:
    services = _azure_yaml(bake.project)["services"]
    pools = [f"worker-{bake.worker_pool}"] if bake.worker_pool else []
    assert list(services) == ["function", *pools]
    assert services["function"]["host"] == "function"
    assert services["function"]["language"] == "python"
    for pool in pools:
        assert services[pool]["host"] == "containerapp"
        assert services[pool]["docker"] == {"path": "Dockerfile", "remoteBuild": True}
        assert (bake.project / "Dockerfile").is_file()


def test_function_app_carries_the_azure_yaml_service_tag(bake: Bake) -> None:
    service = next(iter(_azure_yaml(bake.project)["services"]))
    main = bake.infra / "main.bicep"
    module = next(
        m for m, target in module_paths(main).items() if target == bake.infra / FUNCTION_APP_MODULE
    )
    assert module_params(main, module)["serviceName"] == service
    tags = parse(bake.infra / FUNCTION_APP_MODULE)["resources"]["functionApp"]["config"]["tags"]
    assert "'azd-service-name'" in json.dumps(tags)


@pytest.mark.parametrize("event", HOOK_EVENTS)
def test_azure_yaml_hook_scripts_exist_for_both_platforms(bake: Bake, event: str) -> None:
    hooks = _azure_yaml(bake.project)["hooks"][event]
    assert {hooks["posix"]["shell"], hooks["windows"]["shell"]} == {"sh", "pwsh"}
    for platform in ("posix", "windows"):
        assert (bake.project / hooks[platform]["run"]).is_file()


def test_azure_yaml_requires_an_azd_that_honours_funcignore(bake: Bake) -> None:
    required = _azure_yaml(bake.project)["requiredVersions"]["azd"]
    match = re.fullmatch(r">=\s*(\d+)\.(\d+)\.(\d+)", required)
    assert match, required
    assert tuple(map(int, match.groups())) >= MINIMUM_AZD


def referenced_environment_names(text: str, powershell: bool = False) -> set[str]:
    """Upper-case names read as environment values: $X or ${X} (sh, Markdown), $env:X
    (PowerShell, where a bare $X is a script variable) and `azd env get-value X`."""
    patterns = [r"\$env:([A-Z][A-Z0-9_]+)", r"azd env get-value ([A-Z][A-Z0-9_]+)"]
    if not powershell:
        patterns.append(r"\$\{?([A-Z][A-Z0-9_]+)\b")
    return {name for pattern in patterns for name in re.findall(pattern, text)}


def test_outputs_named_by_scripts_and_docs_exist(bake: Bake) -> None:
    files = [
        bake.project / "azure.yaml",
        *sorted((bake.project / "scripts").glob("postprovision.*")),
        *sorted((bake.project / "scripts").glob("postdeploy.*")),
        TEMPLATE / "devtools" / "src" / "devhost" / "local_settings.py",
        bake.project / "scripts" / "sync_triggers.py",
        bake.project / "README.md",
        bake.project / "docs" / "deploy.md",
    ]
    referenced: set[str] = set()
    for path in files:
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            referenced |= referenced_environment_names(text, powershell=path.suffix == ".ps1")
            if path.suffix == ".py":
                referenced |= {name for name in re.findall(r'"([A-Z][A-Z0-9_]{3,})"', text)}
    assert {
        "AZURE_FUNCTION_APP_URL",
        "DURABLE_TASK_SCHEDULER_ENDPOINT",
        "AZURE_FUNCTION_APP_ID",
    } <= referenced
    # Model outputs of the other providers may be named by the shared local-settings script.
    other_models = set().union(*MODEL_SETTINGS.values()) - MODEL_SETTINGS[bake.model_provider]
    missing = (
        referenced
        - main_outputs(bake.infra)
        - AZD_ENVIRONMENT
        - LOCAL_ONLY
        - HOOK_SETTINGS
        - other_models
    )
    assert {name for name in missing if not PLATFORM_SETTINGS.match(name)} == set()


def test_outputs_include_what_users_need(provider_bake: Bake) -> None:
    expected = {
        "AZURE_FUNCTION_APP_NAME",
        "AZURE_FUNCTION_APP_ID",
        "AZURE_FUNCTION_APP_URL",
        "DURABLE_TASK_SCHEDULER_ENDPOINT",
        "TASKHUB_NAME",
        "DURABLE_TASK_SCHEDULER_DASHBOARD_URL",
        "APPLICATIONINSIGHTS_NAME",
    } | MODEL_SETTINGS[provider_bake.model_provider]
    assert expected <= main_outputs(provider_bake.infra)


def test_document_storage_is_set_with_the_managed_identity_exactly_when_the_batch_is_hosted(
    bake: Bake,
) -> None:
    settings = function_app_settings(bake.infra)
    expected = {
        "DOCUMENTS_STORAGE__blobServiceUri",
        "DOCUMENTS_STORAGE__credential",
        "DOCUMENTS_STORAGE__clientId",
    }

    # A plain DOCUMENTS_STORAGE would be a connection string.
    assert {name for name in settings if name.startswith("DOCUMENTS_STORAGE")} == (
        expected if bake.hosts_document_batch else set()
    )


WORKER_POOL_MODULE = "app/worker-pool.bicep"
DOCUMENT_STORAGE_IDENTITY = {
    "DOCUMENTS_STORAGE__blobServiceUri": "documentsBlobEndpoint",
    "DOCUMENTS_STORAGE__credential": "managedidentity",
    "DOCUMENTS_STORAGE__clientId": "identityClientId",
}


def _pool_environment(infra: Path) -> dict[str, Any]:
    pool = parse(infra / WORKER_POOL_MODULE)["resources"]["pool"]["config"]
    (container,) = pool["properties"]["template"]["containers"]
    return {entry["name"]: entry["value"] for entry in container["env"]}


def _accessor(node: Any) -> list[str]:
    """`a.b.c` in pycep's nested property accessors, as ['a', 'b', 'c']."""
    if isinstance(node, str):
        return [node]
    operands = node["operator"]["operands"]
    return [*_accessor(operands["operand_1"]), *_accessor(operands["operand_2"])]


def test_the_pool_reaches_the_document_storage_with_its_own_identity(pool_bake: Bake) -> None:
    """The pool runs the document batch's chunk analysis, which reads and writes blobs."""
    bake = pool_bake
    environment = _pool_environment(bake.infra)
    assert "DOCUMENTS_STORAGE" not in environment, "a plain value would be a connection string"
    assert {name: environment.get(name) for name in DOCUMENT_STORAGE_IDENTITY} == (
        DOCUMENT_STORAGE_IDENTITY
    )
    main = bake.infra / "main.bicep"
    endpoint = module_params(main, "workerPool")["documentsBlobEndpoint"]
    assert _accessor(endpoint) == ["storage", "outputs", "blobEndpoint"]


def test_the_pool_identity_has_a_blob_data_role_on_the_document_storage(pool_bake: Bake) -> None:
    bake = pool_bake
    main = bake.infra / "main.bicep"
    assert module_paths(main)["poolStorageRoles"] == bake.infra / "rbac/storage-account-roles.bicep"
    grant = module_params(main, "poolStorageRoles")
    assert grant["principals"] == "poolPrincipal"
    assert _accessor(grant["storageAccountName"]) == ["storage", "outputs", "name"]
    assert _accessor(grant["roleDefinitionId"]) == ["roles", "storageBlobDataContributor"]
