"""Shapes of Azure resource bodies, read from the official azure-mgmt-* SDK packages.

Each SDK describes the REST body of every resource it manages: newer packages with
`rest_field` descriptors on typespec models, older ones with msrest `_attribute_map`
tables. Both are turned here into one small tree of `Shape`s that the Bicep checks walk.
"""

from __future__ import annotations

import enum
import importlib
import re
import typing
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType


@dataclass(frozen=True)
class ModelRef:
    """Where the body of one resource type at one API version is described."""

    module: str
    model: str


# Every `type@apiVersion` the infrastructure may use, and the SDK model for its body.
# An API version absent from this table fails the check, so moving to a new version means
# moving to an SDK package that knows it (the `api_version_is_known_to_sdk` test proves it).
RESOURCE_MODELS: dict[str, ModelRef] = {
    "Microsoft.Resources/resourceGroups@2025-04-01": ModelRef(
        "azure.mgmt.resource.resources.models", "ResourceGroup"
    ),
    "Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30": ModelRef(
        "azure.mgmt.msi.v2024_11_30.models", "Identity"
    ),
    "Microsoft.Storage/storageAccounts@2026-04-01": ModelRef(
        "azure.mgmt.storage.models", "StorageAccountCreateParameters"
    ),
    "Microsoft.Storage/storageAccounts/blobServices@2026-04-01": ModelRef(
        "azure.mgmt.storage.models", "BlobServiceProperties"
    ),
    "Microsoft.Storage/storageAccounts/blobServices/containers@2026-04-01": ModelRef(
        "azure.mgmt.storage.models", "BlobContainer"
    ),
    "Microsoft.OperationalInsights/workspaces@2025-07-01": ModelRef(
        "azure.mgmt.loganalytics.models", "Workspace"
    ),
    "Microsoft.Insights/components@2020-02-02": ModelRef(
        "azure.mgmt.applicationinsights.v2020_02_02.models", "ApplicationInsightsComponent"
    ),
    "Microsoft.Web/serverfarms@2025-03-01": ModelRef("azure.mgmt.web.models", "AppServicePlan"),
    "Microsoft.Web/sites@2025-03-01": ModelRef("azure.mgmt.web.models", "Site"),
    "Microsoft.Web/sites/basicPublishingCredentialsPolicies@2025-03-01": ModelRef(
        "azure.mgmt.web.models", "CsmPublishingCredentialsPoliciesEntity"
    ),
    "Microsoft.DurableTask/schedulers@2026-02-01": ModelRef(
        "azure.mgmt.durabletask.models", "Scheduler"
    ),
    "Microsoft.DurableTask/schedulers/taskHubs@2026-02-01": ModelRef(
        "azure.mgmt.durabletask.models", "TaskHub"
    ),
    "Microsoft.DurableTask/schedulers/retentionPolicies@2026-02-01": ModelRef(
        "azure.mgmt.durabletask.models", "RetentionPolicy"
    ),
    "Microsoft.Network/virtualNetworks@2025-07-01": ModelRef(
        "azure.mgmt.network.models", "VirtualNetwork"
    ),
    "Microsoft.Network/networkSecurityGroups@2025-07-01": ModelRef(
        "azure.mgmt.network.models", "NetworkSecurityGroup"
    ),
    "Microsoft.Network/privateEndpoints@2025-07-01": ModelRef(
        "azure.mgmt.network.models", "PrivateEndpoint"
    ),
    "Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2025-07-01": ModelRef(
        "azure.mgmt.network.models", "PrivateDnsZoneGroup"
    ),
    "Microsoft.Network/privateDnsZones@2024-06-01": ModelRef(
        "azure.mgmt.privatedns.models", "PrivateZone"
    ),
    "Microsoft.Network/privateDnsZones/virtualNetworkLinks@2024-06-01": ModelRef(
        "azure.mgmt.privatedns.models", "VirtualNetworkLink"
    ),
    "Microsoft.Authorization/roleAssignments@2022-04-01": ModelRef(
        "azure.mgmt.authorization.v2022_04_01.models", "RoleAssignmentCreateParameters"
    ),
    "Microsoft.CognitiveServices/accounts@2025-09-01": ModelRef(
        "azure.mgmt.cognitiveservices.models", "Account"
    ),
    "Microsoft.CognitiveServices/accounts/deployments@2025-09-01": ModelRef(
        "azure.mgmt.cognitiveservices.models", "Deployment"
    ),
    "Microsoft.CognitiveServices/accounts/projects@2025-09-01": ModelRef(
        "azure.mgmt.cognitiveservices.models", "Project"
    ),
    "Microsoft.ContainerRegistry/registries@2025-11-01": ModelRef(
        "azure.mgmt.containerregistry.models", "Registry"
    ),
    "Microsoft.App/managedEnvironments@2025-07-01": ModelRef(
        "azure.mgmt.appcontainers.models", "ManagedEnvironment"
    ),
    "Microsoft.App/containerApps@2025-07-01": ModelRef(
        "azure.mgmt.appcontainers.models", "ContainerApp"
    ),
}

# The SDK package of each single-version resource provider, by resource type prefix (the longest
# matching prefix wins: private DNS zones are Microsoft.Network but have a package of their own).
API_VERSION_SOURCES: dict[str, str] = {
    "Microsoft.Resources": "azure.mgmt.resource.resources",
    "Microsoft.Storage": "azure.mgmt.storage",
    "Microsoft.OperationalInsights": "azure.mgmt.loganalytics",
    "Microsoft.Web": "azure.mgmt.web",
    "Microsoft.DurableTask": "azure.mgmt.durabletask",
    "Microsoft.CognitiveServices": "azure.mgmt.cognitiveservices",
    "Microsoft.Network": "azure.mgmt.network",
    "Microsoft.Network/privateDnsZones": "azure.mgmt.privatedns",
    "Microsoft.ContainerRegistry": "azure.mgmt.containerregistry",
    "Microsoft.App": "azure.mgmt.appcontainers",
}
# How a generated client states the API version it sends: the configuration's default, or each
# operation's own default (packages that dropped the configuration default).
API_VERSION_DEFAULT = re.compile(r'"api[-_]version", "(\d{4}-\d{2}-\d{2}(?:-preview)?)"')


def _sdk_package(resource_type: str) -> str | None:
    matches = [
        prefix
        for prefix in API_VERSION_SOURCES
        if resource_type == prefix or resource_type.startswith(prefix + "/")
    ]
    return API_VERSION_SOURCES[max(matches, key=len)] if matches else None


def known_api_versions(resource_type: str) -> set[str]:
    """API versions the SDK for this resource type declares, from its own source."""
    package = _sdk_package(resource_type)
    if package is None:
        # Multi-version packages keep one `vYYYY_MM_DD` models package per API version.
        versions: set[str] = set()
        for key, ref in RESOURCE_MODELS.items():
            if key.split("@")[0] == resource_type:
                match = re.search(r"\.v(\d{4})_(\d{2})_(\d{2})((?:_preview)?)\.", ref.module)
                if match and _importable(ref.module):
                    versions.add(
                        f"{match[1]}-{match[2]}-{match[3]}" + ("-preview" if match[4] else "")
                    )
        return versions
    root = Path(importlib.import_module(package).__file__ or "").parent
    sources = [root / "_configuration.py", *sorted((root / "operations").glob("*.py"))]
    return {
        version
        for source in sources
        if source.is_file()
        for version in API_VERSION_DEFAULT.findall(source.read_text(encoding="utf-8"))
    }


def _importable(module: str) -> bool:
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


class Kind(enum.Enum):
    OBJECT = "object"  # a model: known property names only
    LIST = "list"  # array of `item`
    MAP = "map"  # free keys, values of `item`
    LEAF = "leaf"  # string, number, bool, enum
    ANY = "any"  # free-form JSON: nothing to check inside


@dataclass(frozen=True)
class Shape:
    kind: Kind
    model: type | None = None
    item: Shape | None = None
    read_only: bool = False
    fixed: tuple[tuple[str, Shape], ...] | None = None

    def properties(self) -> dict[str, Shape]:
        """REST property name -> shape, for an OBJECT shape."""
        if self.fixed is not None:
            return dict(self.fixed)
        assert self.kind is Kind.OBJECT and self.model is not None
        return _object_properties(self.model)


LEAF = Shape(Kind.LEAF)
ANY = Shape(Kind.ANY)


def shape_of(ref: ModelRef) -> Shape:
    module = importlib.import_module(ref.module)
    return Shape(Kind.OBJECT, model=getattr(module, ref.model))


def _models_module(model: type) -> ModuleType:
    """The public `models` package a model class belongs to."""
    name = model.__module__
    package = name.rsplit(".", 1)[0] if name.rsplit(".", 1)[-1].startswith("_") else name
    return importlib.import_module(package)


def _is_msrest(model: type) -> bool:
    return hasattr(model, "_attribute_map") and not hasattr(model, "_calculated")


@cache
def _object_properties(model: type) -> dict[str, Shape]:
    return _msrest_properties(model) if _is_msrest(model) else _typespec_properties(model)


# --- msrest models: `_attribute_map` with dotted keys for flattened `properties.x` ------------


def _split_msrest_key(key: str) -> list[str]:
    return [part.replace("\\.", ".") for part in re.split(r"(?<!\\)\.", key)]


def _msrest_type(type_name: str, models: ModuleType) -> Shape:
    if type_name.startswith("[") and type_name.endswith("]"):
        return Shape(Kind.LIST, item=_msrest_type(type_name[1:-1], models))
    if type_name.startswith("{") and type_name.endswith("}"):
        return Shape(Kind.MAP, item=_msrest_type(type_name[1:-1], models))
    if type_name == "object":
        return ANY
    candidate = getattr(models, type_name, None)
    if isinstance(candidate, type) and _is_msrest(candidate):
        return Shape(Kind.OBJECT, model=candidate)
    return LEAF


def _msrest_properties(model: type) -> dict[str, Shape]:
    models = _models_module(model)
    validation = getattr(model, "_validation", {})
    tree: dict[str, typing.Any] = {}
    for attr, spec in model._attribute_map.items():  # type: ignore[attr-defined]
        parts = _split_msrest_key(spec["key"])
        node = tree
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        shape = _msrest_type(spec["type"], models)
        read_only = bool(validation.get(attr, {}).get("readonly"))
        node[parts[-1]] = Shape(shape.kind, shape.model, shape.item, read_only)
    return _nest(tree)


def _nest(tree: dict[str, typing.Any]) -> dict[str, Shape]:
    return {
        name: value
        if isinstance(value, Shape)
        else Shape(Kind.OBJECT, fixed=tuple(_nest(value).items()))
        for name, value in tree.items()
    }


# --- typespec models: `rest_field` descriptors with type annotations -------------------------


def _typespec_fields(model: type) -> dict[str, typing.Any]:
    fields: dict[str, typing.Any] = {}
    for klass in reversed(model.__mro__):
        for attr, value in vars(klass).items():
            if not attr.startswith("_") and hasattr(value, "_rest_name_input"):
                fields[attr] = value
    return fields


def _annotation_text(model: type, attr: str) -> str:
    for klass in model.__mro__:
        annotation = vars(klass).get("__annotations__", {}).get(attr)
        if annotation is not None:
            return annotation if isinstance(annotation, str) else repr(annotation)
    return "Any"


def _typespec_type(text: str, models: ModuleType) -> Shape:
    text = text.replace('"', "").replace("'", "").replace(" ", "")
    text = re.sub(r"^(typing\.)?Optional\[(.*)\]$", r"\2", text)
    if text.startswith(("list[", "List[")):
        return Shape(Kind.LIST, item=_typespec_type(text[5:-1], models))
    if text.startswith(("dict[str,", "Dict[str,")):
        return Shape(Kind.MAP, item=_typespec_type(text[9:-1], models))
    for name in re.findall(r"_models\.(\w+)", text):
        candidate = getattr(models, name, None)
        if isinstance(candidate, type) and not issubclass(candidate, enum.Enum):
            return Shape(Kind.OBJECT, model=candidate)
    if text in ("Any", "typing.Any"):
        return ANY
    return LEAF


def _typespec_properties(model: type) -> dict[str, Shape]:
    models = _models_module(model)
    result: dict[str, Shape] = {}
    for attr, rf in _typespec_fields(model).items():
        shape = _typespec_type(_annotation_text(model, attr), models)
        read_only = list(getattr(rf, "_visibility", None) or []) == ["read"]
        result[rf._rest_name_input or attr] = Shape(shape.kind, shape.model, shape.item, read_only)
    return result
