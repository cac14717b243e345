"""Azurite for apps that keep blobs in the local storage emulator.

An app setting of ``UseDevelopmentStorage=true`` points the Azure Storage libraries at
Azurite's Blob service on 127.0.0.1:10000. When the app has such a setting and nothing listens
there, devhost starts Azurite, as ``func start`` users start it by hand: the project's own
(``npm install`` with its ``package.json``), else ``azurite-blob`` on ``PATH``. Its data goes
to the project's ``.azurite/`` folder, and it stops with devhost. ``AzureWebJobsStorage`` does
not count: it is the Functions host's own storage, which devhost replaces.
"""

from __future__ import annotations

import ctypes
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

logger = logging.getLogger("devhost")

DEVELOPMENT_STORAGE = "usedevelopmentstorage=true"
HOST_STORAGE = "AzureWebJobsStorage"
BLOB_HOST = "127.0.0.1"
BLOB_PORT = 10000
DATA_FOLDER = ".azurite"
STARTUP_SECONDS = 60
STOP_SECONDS = 10


def development_storage_settings(settings: Mapping[str, str]) -> list[str]:
    """Names of the settings (host storage aside) that ask for the local emulator."""
    return sorted(
        name
        for name, value in settings.items()
        if name != HOST_STORAGE and _normalised(value) == DEVELOPMENT_STORAGE
    )


def _normalised(connection: str) -> str:
    return connection.replace(" ", "").rstrip(";").lower()


def find_azurite(project_dir: Path) -> str | None:
    """The project's Azurite Blob command, else the one on PATH; None without Node.js."""
    if shutil.which("node") is None:
        return None
    local = project_dir / "node_modules" / ".bin" / "azurite-blob"
    if local.exists():
        return str(local)
    return shutil.which("azurite-blob")


# Linux's prctl option that signals a child when its parent dies.
_PR_SET_PDEATHSIG = 1


def _stop_with_parent() -> None:
    """In the child, before Azurite starts: end it when devhost dies, even by SIGKILL."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def is_listening(host: str, port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex((host, port)) == 0


class LocalAzurite:
    """Azurite's Blob service in a child process, started only when the app needs it."""

    def __init__(self, project_dir: Path, port: int = BLOB_PORT) -> None:
        self.project_dir = project_dir
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None

    def start_if_needed(self, settings: Mapping[str, str] | None = None) -> str | None:
        """Start Azurite when a setting needs it and none runs; what was done, in one line."""
        needing = development_storage_settings(os.environ if settings is None else settings)
        if not needing:
            return None
        names = ", ".join(needing)
        use = "uses" if len(needing) == 1 else "use"
        where = f"{BLOB_HOST}:{self.port}"
        if is_listening(BLOB_HOST, self.port):
            return f"{names} {use} the Azurite already listening on {where}."
        command = find_azurite(self.project_dir)
        if command is None:
            return (
                f"{names} {'asks' if len(needing) == 1 else 'ask'} for Azurite on {where}, but"
                " nothing listens there and Azurite is"
                " not installed: run `npm install` in the project (it needs Node.js), or start"
                " Azurite yourself."
            )
        self.start(command)
        return f"{names} {use} Azurite, started by devhost on {where} (data in {DATA_FOLDER}/)."

    def start(self, command: str) -> None:
        data = self.project_dir / DATA_FOLDER
        data.mkdir(exist_ok=True)
        arguments = [command, "--blobHost", BLOB_HOST, "--blobPort", str(self.port)]
        arguments += ["--location", str(data), "--silent", "--disableTelemetry"]
        with (data / "azurite.log").open("ab") as log:
            # A devhost that is killed outright takes Azurite with it on Linux; elsewhere Azurite
            # stops when devhost stops.
            self.process = subprocess.Popen(
                arguments,
                cwd=self.project_dir,
                stdout=log,
                stderr=log,
                start_new_session=True,
                preexec_fn=_stop_with_parent if sys.platform == "linux" else None,
            )
        deadline = time.monotonic() + STARTUP_SECONDS
        while not is_listening(BLOB_HOST, self.port):
            if self.process.poll() is not None:
                code = self.process.returncode
                self.process = None
                raise RuntimeError(
                    f"Azurite exited with {code} before listening on {BLOB_HOST}:{self.port};"
                    f" see {data / 'azurite.log'}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"Azurite did not listen within {STARTUP_SECONDS}s")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None
