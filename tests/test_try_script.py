"""scripts/try.sh drives only the host it started, and fails fast and clearly otherwise."""

import http.server
import importlib.util
import os
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


def run_try(port: int, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DAFX_TRY_PORT": str(port)}
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
