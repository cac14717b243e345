"""scripts/try.sh drives only the host it started, and fails fast and clearly otherwise."""

import http.server
import importlib.util
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import TEMPLATE

pytestmark = pytest.mark.slow


class AlwaysHealthy(http.server.BaseHTTPRequestHandler):
    """Another host on the port: answers every request 200, as a stray `func start` would."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def other_host() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), AlwaysHealthy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()


def run_try(port: int, tmp_path: Path, **settings: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DAFX_TRY_PORT": str(port), **settings}
    return subprocess.run(
        ["bash", str(TEMPLATE / "scripts" / "try.sh")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_a_taken_port_stops_try_before_it_drives_anything(other_host: int, tmp_path: Path) -> None:
    result = run_try(other_host, tmp_path)

    assert result.returncode != 0
    assert f"port {other_host} is already in use" in result.stderr
    assert "> POST" not in result.stdout


@pytest.fixture
def port_a_host_just_left() -> int:
    """A port no one listens on, holding the connections its last server closed (TIME_WAIT).

    The server bound it with SO_REUSEADDR, as aiohttp binds devhost's: a host that just stopped.
    """
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = int(listener.getsockname()[1])
        with socket.create_connection(("127.0.0.1", port)) as client:
            accepted, _ = listener.accept()
            accepted.close()
            client.recv(1)
    return port


def test_a_port_a_host_just_left_is_free_for_the_next_try(
    port_a_host_just_left: int, tmp_path: Path
) -> None:
    not_a_venv = tmp_path / "not-a-venv"
    not_a_venv.write_text("")

    result = run_try(port_a_host_just_left, tmp_path, DAFX_VENV=str(not_a_venv))

    assert "already in use" not in result.stderr
    assert "not-a-venv" in result.stderr, "try.sh stopped before it made its environment"


def load_drive() -> object:
    spec = importlib.util.spec_from_file_location("drive", TEMPLATE / "scripts" / "drive.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_driver_never_drives_a_host_whose_process_has_exited(other_host: int) -> None:
    drive = load_drive()
    exited = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    exited.wait()

    with pytest.raises(SystemExit) as stopped:
        drive.wait_for_host(  # type: ignore[attr-defined]
            f"http://127.0.0.1:{other_host}/api", exited.pid, "/tmp/devhost.log"
        )

    assert str(stopped.value) == (
        f"the development host (pid {exited.pid}) exited before it answered; see /tmp/devhost.log"
    )
