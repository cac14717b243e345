"""Azurite, the Azure Storage emulator, started for the tests that keep blobs.

Tests get a real Blob service on a free loopback port, with nothing kept on disk. Azurite is
an npm package: ``npm install`` in the project installs the version ``package.json`` pins,
and ``azurite-blob`` on ``PATH`` is used otherwise. Without Node.js or Azurite the tests that
need it are skipped, naming what to install.
"""

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
LOCAL_AZURITE = PROJECT / "node_modules" / ".bin" / "azurite-blob"
STARTUP_SECONDS = 60
# Azurite's well-known development account: public, the same on every machine (Microsoft
# Learn, "Use the Azurite emulator for local Azure Storage development", connection strings).
ACCOUNT_NAME = "devstoreaccount1"
ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)


@dataclass(frozen=True)
class Azurite:
    port: int

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT_NAME};AccountKey={ACCOUNT_KEY};"
            f"BlobEndpoint=http://127.0.0.1:{self.port}/{ACCOUNT_NAME};"
        )


def azurite_command() -> list[str]:
    """How to start Azurite's Blob service here; skips the test when it cannot be."""
    if shutil.which("node") is None:
        pytest.skip(
            "Azurite needs Node.js: install it (https://nodejs.org, or apt-get install nodejs"
            " npm), then run `npm install` in the project"
        )
    if LOCAL_AZURITE.exists():
        return [str(LOCAL_AZURITE)]
    on_path = shutil.which("azurite-blob")
    if on_path is not None:
        return [on_path]
    pytest.skip("Azurite is not installed: run `npm install` in the project (see package.json)")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def is_listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


@contextmanager
def running_azurite(workspace: Path) -> Iterator[Azurite]:
    """Azurite's Blob service on a free port, keeping its blobs in memory; stopped on exit."""
    command = azurite_command()
    port = free_port()
    command += ["--blobHost", "127.0.0.1", "--blobPort", str(port), "--inMemoryPersistence"]
    command += ["--silent", "--disableTelemetry"]
    log = workspace / "azurite.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, cwd=workspace, stdout=output, stderr=output, env=dict(os.environ)
        )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not is_listening(port):
            if process.poll() is not None:
                raise RuntimeError(f"Azurite exited with {process.returncode}:\n{log.read_text()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Azurite did not listen within {STARTUP_SECONDS}s")
            time.sleep(0.05)
        yield Azurite(port)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
