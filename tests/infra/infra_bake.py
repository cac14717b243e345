"""What a baked project is, for the infrastructure checks (shared by conftest and tests)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parents[2]
MODEL_PROVIDERS = ("none", "azure_openai", "foundry")
PYTHON_VERSIONS = ("3.12", "3.11", "3.13")
VARIANTS = [(provider, version) for provider in MODEL_PROVIDERS for version in PYTHON_VERSIONS]
# Python versions change only main.parameters.json, so the Bicep-only checks bake one per provider.
PROVIDER_VARIANTS = [(provider, PYTHON_VERSIONS[0]) for provider in MODEL_PROVIDERS]


@dataclass(frozen=True)
class Bake:
    model_provider: str
    python_version: str
    project: Path

    @property
    def infra(self) -> Path:
        return self.project / "infra"
