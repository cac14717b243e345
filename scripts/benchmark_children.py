"""What the benchmark's parts share: code run in a fresh interpreter, and stopping a process."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

CHILD_SECONDS = 120
STOP_SECONDS = 15


def run_python(
    code: str,
    cwd: Path,
    *arguments: str,
    env: dict[str, str] | None = None,
    timeout: float | None = CHILD_SECONDS,
) -> Any:
    """Run ``code`` in a fresh interpreter in ``cwd``; its last stdout line is JSON.

    A child that fails ends the benchmark with the end of its stderr.
    """
    completed = subprocess.run(
        [sys.executable, "-c", code, *arguments],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if completed.returncode != 0:
        sys.exit(f"child python failed ({completed.returncode}):\n{completed.stderr[-4000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL if the process has not ended within ``STOP_SECONDS``."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_SECONDS)
