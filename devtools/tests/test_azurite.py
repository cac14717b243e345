"""devhost starts Azurite for an app whose settings ask for the local storage emulator.

The tests run the real Azurite (npm) on a free port: the template's `scripts/test.sh` puts the
one `scripts/azurite.sh` installs on PATH. Without it the tests that need it skip, naming it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from devhost.__main__ import _parse
from devhost.azurite import LocalAzurite, development_storage_settings, is_listening

EMULATOR = {"DOCUMENTS_STORAGE": "UseDevelopmentStorage=true"}
SOURCE = Path(__file__).resolve().parents[1] / "src"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def azurite(tmp_path: Path) -> Iterator[LocalAzurite]:
    if shutil.which("node") is None or shutil.which("azurite-blob") is None:
        pytest.skip("needs Node.js and Azurite on PATH: bash scripts/azurite.sh prints its folder")
    local = LocalAzurite(tmp_path, port=free_port())
    try:
        yield local
    finally:
        local.stop()


def test_settings_naming_the_emulator_ask_for_azurite_but_not_host_storage() -> None:
    settings = {
        "AzureWebJobsStorage": "UseDevelopmentStorage=true",
        "DOCUMENTS_STORAGE": "usedevelopmentstorage = true;",
        "OTHER_STORAGE": "DefaultEndpointsProtocol=https;AccountName=real",
        "UNRELATED": "true",
    }

    assert development_storage_settings(settings) == ["DOCUMENTS_STORAGE"]


def test_an_app_without_such_a_setting_starts_nothing(tmp_path: Path) -> None:
    local = LocalAzurite(tmp_path, port=free_port())

    assert local.start_if_needed({"AzureWebJobsStorage": "UseDevelopmentStorage=true"}) is None
    assert local.process is None


def test_azurite_is_started_for_the_setting_and_stopped_with_devhost(
    azurite: LocalAzurite,
) -> None:
    note = azurite.start_if_needed(EMULATOR)

    assert note is not None and "started by devhost" in note and "DOCUMENTS_STORAGE" in note
    assert is_listening("127.0.0.1", azurite.port)
    assert (azurite.project_dir / ".azurite").is_dir()
    azurite.stop()
    assert not is_listening("127.0.0.1", azurite.port)


@pytest.mark.skipif(sys.platform != "linux", reason="the parent-death signal is Linux's")
def test_azurite_stops_when_devhost_is_killed_outright(azurite: LocalAzurite) -> None:
    starts = (
        "import sys, time; from pathlib import Path; from devhost.azurite import LocalAzurite;"
        f"LocalAzurite(Path({str(azurite.project_dir)!r}), port={azurite.port})"
        f".start_if_needed({EMULATOR!r}); print('up', flush=True); time.sleep(600)"
    )
    environment = {**os.environ, "PYTHONPATH": str(SOURCE)}
    with subprocess.Popen(
        [sys.executable, "-c", starts], stdout=subprocess.PIPE, text=True, env=environment
    ) as host:
        assert host.stdout is not None and host.stdout.readline().strip() == "up"
        host.kill()
    deadline = time.monotonic() + 15
    while is_listening("127.0.0.1", azurite.port) and time.monotonic() < deadline:
        time.sleep(0.1)

    assert not is_listening("127.0.0.1", azurite.port)


def test_an_azurite_already_listening_is_used_not_started_again(tmp_path: Path) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        local = LocalAzurite(tmp_path, port=int(listener.getsockname()[1]))

        note = local.start_if_needed(EMULATOR)

    assert note is not None and "already listening" in note
    assert local.process is None


def test_without_azurite_installed_the_note_says_to_run_npm_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    local = LocalAzurite(tmp_path, port=free_port())

    note = local.start_if_needed(EMULATOR)

    assert note is not None and "run `npm install` in the project" in note
    assert local.process is None


def test_devhost_starts_azurite_unless_told_not_to() -> None:
    assert _parse([]).azurite
    assert not _parse(["--no-azurite"]).azurite
