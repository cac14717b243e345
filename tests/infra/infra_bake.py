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
# The foundry bakes also ask for a worker pool, so every check reads the pool's Bicep too and
# the other bakes check the infrastructure without one.
WORKER_POOL = "gpu"
POOL_PROVIDERS = ("foundry",)
# The bakes without a model provider also leave every starter out, so the checks read the
# infrastructure of a project with no workflow (no document storage) as well.
NO_STARTER_PROVIDERS = ("none",)
STARTERS = (
    "triage_workflow",
    "fanout_workflow",
    "approval_workflow",
    "composition_workflow",
    "batch_workflow",
)


def bake_answers(provider: str, version: str) -> dict[str, str]:
    """The cookiecutter answers of the infrastructure bake of one variant."""
    answers = {"model_provider": provider, "python_version": version}
    if provider in POOL_PROVIDERS:
        answers["worker_pool"] = WORKER_POOL
    if provider in NO_STARTER_PROVIDERS:
        answers |= dict.fromkeys(STARTERS, "none")
    return answers


@dataclass(frozen=True)
class Bake:
    model_provider: str
    python_version: str
    project: Path

    @property
    def hosts_document_batch(self) -> bool:
        return self.model_provider not in NO_STARTER_PROVIDERS

    @property
    def worker_pool(self) -> str | None:
        return WORKER_POOL if self.model_provider in POOL_PROVIDERS else None

    @property
    def infra(self) -> Path:
        return self.project / "infra"
