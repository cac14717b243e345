"""Baked projects for the infrastructure checks: one per model provider and Python version.

Each test runs against the `infra/` that cookiecutter and the post-generation hook really
produce, so a block or module the hook strips is checked exactly as a user receives it.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from infra_bake import POOL_PROVIDERS, PROVIDER_VARIANTS, VARIANTS, Bake, bake_answers
from infra_variants import network_variant as resolve_network_variant

from tests.conftest import bake_copy


def _variant_id(variant: tuple[str, str]) -> str:
    return f"{variant[0]}-py{variant[1]}"


@pytest.fixture(scope="session")
def bakes(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Bake]:
    return {
        (provider, version): Bake(
            provider,
            version,
            bake_copy(tmp_path_factory, **bake_answers(provider, version)),
        )
        for provider, version in VARIANTS
    }


@pytest.fixture(params=VARIANTS, ids=_variant_id)
def bake(request: pytest.FixtureRequest, bakes: dict[tuple[str, str], Bake]) -> Bake:
    return bakes[request.param]


@pytest.fixture(params=PROVIDER_VARIANTS, ids=_variant_id)
def provider_bake(request: pytest.FixtureRequest, bakes: dict[tuple[str, str], Bake]) -> Bake:
    return bakes[request.param]


POOL_VARIANTS = [variant for variant in PROVIDER_VARIANTS if variant[0] in POOL_PROVIDERS]


@pytest.fixture(params=POOL_VARIANTS, ids=_variant_id)
def pool_bake(request: pytest.FixtureRequest, bakes: dict[tuple[str, str], Bake]) -> Bake:
    """A bake that answers a worker pool (the foundry bakes)."""
    return bakes[request.param]


NETWORK_SETTINGS = (False, True)


@dataclass(frozen=True)
class NetworkVariant:
    """A baked project's infra/ with privateNetworking fixed to one value."""

    bake: Bake
    private: bool
    infra: Path


@pytest.fixture(scope="session")
def network_variants(
    bakes: dict[tuple[str, str], Bake], tmp_path_factory: pytest.TempPathFactory
) -> dict[tuple[str, bool], NetworkVariant]:
    made = {}
    for variant in PROVIDER_VARIANTS:
        bake = bakes[variant]
        for private in NETWORK_SETTINGS:
            target = tmp_path_factory.mktemp(f"net-{bake.model_provider}-{private}") / "infra"
            made[(bake.model_provider, private)] = NetworkVariant(
                bake, private, resolve_network_variant(bake.infra, target, private)
            )
    return made


@pytest.fixture(
    params=[(v[0], private) for v in PROVIDER_VARIANTS for private in NETWORK_SETTINGS],
    ids=lambda p: f"{p[0]}-{'private' if p[1] else 'public'}",
)
def network_variant(
    request: pytest.FixtureRequest, network_variants: dict[tuple[str, bool], NetworkVariant]
) -> NetworkVariant:
    return network_variants[request.param]
