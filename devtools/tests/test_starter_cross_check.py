"""Every starter scenario of a bake runs alike on devhost and on the standalone worker.

The check runs inside a fresh bake (see ``on_a_bake/starter_cross_check.py``), because it
needs the bake's own ``tests`` package: its scenarios, its durable-worker fixture and the
host its HTTP tests use.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import bake_project

pytestmark = pytest.mark.slow
HERE = Path(__file__).parent


@pytest.mark.parametrize(
    "answers",
    [{}, {"model_provider": "azure_openai"}],
    ids=["defaults", "with-the-agent-starter"],
)
def test_every_starter_scenario_runs_alike_on_devhost_and_the_durable_worker(
    tmp_path: Path, answers: dict[str, str]
) -> None:
    project = bake_project(tmp_path, **answers)
    shutil.copyfile(HERE / "workflow_driver.py", project / "tests" / "devhost_workflow_driver.py")
    check = project / "tests" / "test_devhost_cross_check.py"
    shutil.copyfile(HERE / "on_a_bake" / "starter_cross_check.py", check)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DAFX_", "PYTEST_"))}

    result = subprocess.run(
        # One process: the bake's own xdist workers would only compete with the template's.
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0", str(check)],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )

    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    assert " passed" in result.stdout and "skipped" not in result.stdout
