"""Baked projects for the infrastructure checks: one per model provider and Python version.

Each test runs against the `infra/` that cookiecutter and the post-generation hook really
produce, so a block or module the hook strips is checked exactly as a user receives it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from cookiecutter.main import cookiecutter

sys.path.insert(0, str(Path(__file__).parent))

from infra_bake import PROVIDER_VARIANTS, TEMPLATE, VARIANTS, Bake


def _variant_id(variant: tuple[str, str]) -> str:
    return f"{variant[0]}-py{variant[1]}"


@pytest.fixture(scope="session")
def bakes(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Bake]:
    baked: dict[tuple[str, str], Bake] = {}
    for provider, version in VARIANTS:
        output = tmp_path_factory.mktemp(f"bake-{provider}-{version}")
        project = cookiecutter(
            str(TEMPLATE),
            no_input=True,
            output_dir=str(output),
            extra_context={"model_provider": provider, "python_version": version},
        )
        baked[(provider, version)] = Bake(provider, version, Path(project))
    return baked


@pytest.fixture(params=VARIANTS, ids=_variant_id)
def bake(request: pytest.FixtureRequest, bakes: dict[tuple[str, str], Bake]) -> Bake:
    return bakes[request.param]


@pytest.fixture(params=PROVIDER_VARIANTS, ids=_variant_id)
def provider_bake(request: pytest.FixtureRequest, bakes: dict[tuple[str, str], Bake]) -> Bake:
    return bakes[request.param]
