"""The generated project's devcontainer: Python at the target version, Core Tools, azd, Azurite
and the DTS emulator.

Offline: devcontainer.json against the Dev Container specification's schema (committed in
tests/schemas/, see its README), compose.yaml against the Compose specification's schema, and
the settings the two must share with the project. Building and starting the containers needs
Docker and the devcontainers CLI: that test is gated on both.
"""

import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from tests.conftest import TEMPLATE, default_answers
from tests.test_bake import COMBINATION_IDS, COMBINATIONS

pytestmark = pytest.mark.slow

SCHEMA = TEMPLATE / "tests" / "schemas" / "devContainer.base.schema.json"
DEVCONTAINERS_CLI = "@devcontainers/cli@0.89.0"


def check_jsonschema(*args: str) -> Result:
    """check-jsonschema's command, run in this process (its start-up would be most of each
    check): the result's exit code and output are what its console script gives."""
    try:
        from check_jsonschema import main
    except ImportError:
        pytest.skip("check-jsonschema is not installed: pip install -r requirements-dev.txt")
    return CliRunner().invoke(main, list(args))


@pytest.fixture(params=COMBINATION_IDS)
def combination(request: pytest.FixtureRequest) -> dict[str, str]:
    answers: dict[str, str] = COMBINATIONS[request.param]
    return answers


@pytest.fixture
def project(combination: dict[str, str], bake: Callable[..., Path]) -> Path:
    return bake(**combination)


def devcontainer(project: Path) -> dict[str, Any]:
    config: dict[str, Any] = json.loads(
        (project / ".devcontainer" / "devcontainer.json").read_text()
    )
    return config


def compose(project: Path) -> dict[str, Any]:
    services: dict[str, Any] = yaml.safe_load(
        (project / ".devcontainer" / "compose.yaml").read_text()
    )
    return services


def test_the_schema_rejects_an_unknown_property(tmp_path: Path) -> None:
    config = tmp_path / "devcontainer.json"
    config.write_text(json.dumps({"image": "python:3.12", "no_such_property": True}))

    result = check_jsonschema("--schemafile", str(SCHEMA), str(config))

    assert result.exit_code == 1, result.output
    assert "no_such_property" in result.output


def test_devcontainer_json_matches_the_specification_schema(project: Path) -> None:
    config = project / ".devcontainer" / "devcontainer.json"

    result = check_jsonschema("--schemafile", str(SCHEMA), str(config))

    assert result.exit_code == 0, result.output


def test_compose_file_matches_the_compose_schema(project: Path) -> None:
    config = project / ".devcontainer" / "compose.yaml"

    result = check_jsonschema("--builtin-schema", "vendor.compose-spec", str(config))

    assert result.exit_code == 0, result.output


def test_every_service_devcontainer_json_names_is_in_the_compose_file(project: Path) -> None:
    config = devcontainer(project)

    assert (project / ".devcontainer" / config["dockerComposeFile"]).is_file()
    assert {config["service"], *config["runServices"]} <= set(compose(project)["services"])


def test_the_app_container_runs_the_python_the_app_targets(
    project: Path, combination: dict[str, str]
) -> None:
    image = compose(project)["services"][devcontainer(project)["service"]]["image"]

    assert image.startswith("mcr.microsoft.com/devcontainers/python:")
    python_version = combination.get("python_version", default_answers()["python_version"])
    assert f"-{python_version}-" in image


def test_core_tools_azd_and_the_azure_cli_are_features(project: Path) -> None:
    features = " ".join(devcontainer(project)["features"])

    for feature in ("azure-functions-core-tools", "azure-dev/azd", "azure-cli"):
        assert feature in features


def test_the_emulators_answer_where_local_settings_point(project: Path) -> None:
    services = compose(project)["services"]
    settings = json.loads((project / "local.settings.sample.json").read_text())["Values"]
    app = devcontainer(project)["service"]

    # Sharing the app container's network makes localhost in local.settings.json reach them.
    assert services["azurite"]["network_mode"] == f"service:{app}"
    assert services["dts-emulator"]["network_mode"] == f"service:{app}"
    assert settings["AzureWebJobsStorage"] == "UseDevelopmentStorage=true"
    assert "Endpoint=http://localhost:8080" in settings["DURABLE_TASK_SCHEDULER_CONNECTION_STRING"]
    hubs = services["dts-emulator"]["environment"]["DTS_TASK_HUB_NAMES"].split(",")
    assert settings["TASKHUB_NAME"] in hubs


def test_the_emulator_image_is_the_one_the_local_hosts_page_pins(project: Path) -> None:
    image = compose(project)["services"]["dts-emulator"]["image"]

    assert ":" in image and not image.endswith(":latest")
    page = (project / "docs" / "local-hosts.md").read_text()
    assert f"-e DTS_TASK_HUB_NAMES=default {image}" in page


@pytest.fixture
def running_devcontainer(bake: Callable[..., Path]) -> Iterator[tuple[Path, str]]:
    for needed in ("docker", "npx"):
        if shutil.which(needed) is None:
            pytest.skip(
                f"{needed} is missing: building the devcontainer needs Docker and Node.js "
                "(the devcontainers CLI runs through npx)"
            )
    daemon = subprocess.run(["docker", "info"], capture_output=True, timeout=60, check=False)
    if daemon.returncode != 0:
        pytest.skip("no Docker daemon answers (docker info fails): start Docker")
    if os.environ.get("DAFX_DEVCONTAINER") != "1":
        pytest.skip("set DAFX_DEVCONTAINER=1 to build and start the devcontainer (pulls images)")
    project = bake()
    cli = ["npx", "--yes", DEVCONTAINERS_CLI]
    try:
        up = subprocess.run(
            [*cli, "up", "--workspace-folder", str(project)],
            capture_output=True,
            text=True,
            timeout=1800,
            check=False,
        )
        assert up.returncode == 0, up.stdout + up.stderr
        yield project, " ".join(cli)
    finally:
        subprocess.run(
            ["docker", "compose", "-f", str(project / ".devcontainer" / "compose.yaml"), "down"],
            capture_output=True,
            timeout=300,
            check=False,
        )


def test_the_devcontainer_has_python_core_tools_and_azd(
    running_devcontainer: tuple[Path, str],
) -> None:
    project, cli = running_devcontainer
    expected_python = default_answers()["python_version"]

    for command, expected in (
        ("python --version", f"Python {expected_python}."),
        ("func --version", "4."),
        ("azd version", "azd version"),
    ):
        result = subprocess.run(
            [*cli.split(), "exec", "--workspace-folder", str(project), *command.split()],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert result.returncode == 0 and expected in result.stdout, command


def post_create_command(project: Path, name: str) -> str:
    command: str = devcontainer(project)["postCreateCommand"][name]
    return command


def test_post_create_installs_the_development_requirements(project: Path) -> None:
    assert post_create_command(project, "dependencies") == (
        "python -m pip install -r requirements-dev.txt"
    )


def test_post_create_writes_local_settings_from_the_sample_in_a_fresh_clone(
    project: Path, tmp_path: Path
) -> None:
    # A fresh clone has no local.settings.json: git ignores it.
    clone = tmp_path / "clone"
    shutil.copytree(project, clone, ignore=shutil.ignore_patterns("local.settings.json"))

    created = subprocess.run(
        ["sh", "-c", post_create_command(project, "local-settings")],
        cwd=clone,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert created.returncode == 0, created.stderr
    assert (clone / "local.settings.json").read_text() == (
        clone / "local.settings.sample.json"
    ).read_text()


def test_post_create_keeps_a_users_local_settings(project: Path, tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    shutil.copytree(project, clone)
    (clone / "local.settings.json").write_text('{"IsEncrypted": false, "Values": {"MINE": "1"}}')

    kept = subprocess.run(
        ["sh", "-c", post_create_command(project, "local-settings")],
        cwd=clone,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert kept.returncode == 0, kept.stderr
    assert '"MINE"' in (clone / "local.settings.json").read_text()
