"""The azd pipeline: a provision in GitHub Actions gets every value a local `azd up` of the same
environment gets, so CI never resets an option the team chose.

The list of values is derived from the rendered infra/main.parameters.json, never written down
twice: each `${NAME}` it reads from the azd environment must be listed under
`pipeline.variables` in azure.yaml (so `azd pipeline config` copies it into a repository
variable) and passed to azd in the deploy workflow's `env` (so the job's azd sees it).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml
from infra_bake import Bake

# `${NAME}` or `${NAME=default}` in a parameters file: azd substitutes NAME from its environment.
AZD_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:[^}]*)\}")
# Names azd fills itself in CI: the two `azd pipeline config` always sets as repository
# variables, and the two azd substitutes from its own sign-in (principal id and type), whatever
# the environment holds (azure-dev cli/azd/pkg/infra/provisioning/bicep/bicep_provider.go).
SET_BY_AZD = {"AZURE_ENV_NAME", "AZURE_LOCATION", "AZURE_PRINCIPAL_ID", "AZURE_PRINCIPAL_TYPE"}
# The only workflow file names `azd pipeline config` recognises for GitHub Actions
# (azure-dev cli/azd/pkg/pipeline/pipeline.go, pipelineFileNames).
AZD_WORKFLOW_NAMES = ("azure-dev.yml", "azure-dev.yaml")


def parameters_from_azd_environment(project: Path) -> set[str]:
    text = (project / "infra" / "main.parameters.json").read_text(encoding="utf-8")
    return set(AZD_REFERENCE.findall(text))


def azure_yaml(project: Path) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((project / "azure.yaml").read_text(encoding="utf-8"))
    return document


def deploy_workflow(project: Path) -> Path:
    workflows = project / ".github" / "workflows"
    (path,) = [workflows / name for name in AZD_WORKFLOW_NAMES if (workflows / name).is_file()]
    return path


def deploy_environment(project: Path) -> dict[str, str]:
    workflow = yaml.safe_load(deploy_workflow(project).read_text(encoding="utf-8"))
    environment: dict[str, str] = workflow["jobs"]["deploy"]["env"]
    return environment


def test_parameters_read_the_options_a_team_sets_from_the_azd_environment(bake: Bake) -> None:
    names = parameters_from_azd_environment(bake.project)

    assert names >= SET_BY_AZD
    assert {"AZURE_PRIVATE_NETWORKING", "AZURE_DURABLE_ALWAYS_READY_INSTANCES"} <= names
    assert ("AZURE_AI_LOCATION" in names) == (bake.model_provider != "none")


def test_pipeline_variables_are_every_azd_value_the_parameters_read(bake: Bake) -> None:
    expected = parameters_from_azd_environment(bake.project) - SET_BY_AZD

    listed = azure_yaml(bake.project)["pipeline"]["variables"]

    assert sorted(listed) == sorted(expected)


def test_deploy_workflow_passes_every_azd_value_the_parameters_read(bake: Bake) -> None:
    environment = deploy_environment(bake.project)

    for name in parameters_from_azd_environment(bake.project) - {
        "AZURE_PRINCIPAL_ID",
        "AZURE_PRINCIPAL_TYPE",
    }:
        assert environment.get(name) == f"${{{{ vars.{name} }}}}", name


def test_deploy_workflow_leaves_the_principal_type_to_azd(bake: Bake) -> None:
    assert "AZURE_PRINCIPAL_TYPE" not in deploy_environment(bake.project)


def test_azure_yaml_names_github_as_the_pipeline_provider(bake: Bake) -> None:
    assert azure_yaml(bake.project)["pipeline"]["provider"] == "github"


def test_the_deploy_workflow_is_the_one_azd_pipeline_config_recognises(bake: Bake) -> None:
    workflows = sorted((bake.project / ".github" / "workflows").iterdir())
    running_azd = [path.name for path in workflows if "azd provision" in path.read_text()]

    assert running_azd == [deploy_workflow(bake.project).name]
    assert running_azd[0] in AZD_WORKFLOW_NAMES


def test_parameters_file_renders_one_entry_per_line(bake: Bake) -> None:
    text = (bake.infra / "main.parameters.json").read_text(encoding="utf-8")

    assert text == json.dumps(json.loads(text), indent=2) + "\n"
