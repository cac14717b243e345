"""Every Python version the template offers installs a baked project and passes its suite.

The template's own environment runs on one Python (3.11 here and in CI), so these tests reach
the others: pip resolves the bakes' pins for each offered version from PyPI; a bake that
answers 3.12 is installed into a virtual environment of a real Python 3.12 (the machine's
own, such as pyenv's) and passes its suite there; and the bake that answers 3.13 is installed
and tested with a real Python 3.13 in a Debian trixie root (``scripts/python313.sh``).
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

from tests.conftest import (
    DEFAULTS,
    ONE_PROCESS_SUITE,
    TEMPLATE,
    assert_suite_passed,
    project_environment,
)
from tests.test_bake import COMBINATIONS
from tests.test_pins import pins

pytestmark = pytest.mark.slow

OFFERED_PYTHONS: list[str] = DEFAULTS["python_version"]
PROVIDERS: list[str] = DEFAULTS["model_provider"]
PYTHON313_SCRIPT = TEMPLATE / "scripts" / "python313.sh"
# The bake that answers 3.13 (with Azure OpenAI and anonymous routes) runs its suite there,
# on the Python it targets, and nowhere else.
ON_PYTHON_313 = "all-options-on"
# A bake that answers 3.12 (the default), with a sub-workflow's request first: its suite runs
# on a real 3.12, and nowhere else.
ON_PYTHON_312 = "without-approval"
INSIDE_PATH = "/usr/local/bin:/usr/bin:/bin"
CHROOT_TOOLS = ("chroot", "unshare", "mount")
INSTALL_TIMEOUT_S = 900
SUITE_TIMEOUT_S = 900
INCLUDE = re.compile(r"^-r\s+(\S+)$")
# A name and an exact version, nothing else: no extra, no environment marker, no option.
PLAIN_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9.!+_-]+)$")
# The development tools' wheel, the same file in every bake: installed from the project's own
# folder, not a PyPI pin.
DEVTOOLS_WHEEL = re.compile(r"^\./devtools/dafx_devhost-[^/]+-py3-none-any\.whl$")


def providers_requirements(bake: Callable[..., Path], python_version: str) -> dict[str, Path]:
    """Each model provider's bake for one Python: its requirements-dev.txt, which includes
    its requirements.txt."""
    return {
        provider: bake(python_version=python_version, model_provider=provider)
        / "requirements-dev.txt"
        for provider in PROVIDERS
    }


def resolution_command(requirements: list[Path], python_version: str, workdir: Path) -> list[str]:
    """pip's dry-run resolution of all the given requirements files together for one Python.

    The files are passed as they are, not merged into one, so pip's conflict messages name
    the bake's file and line at fault.
    """
    return [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--dry-run",
        "--ignore-installed",
        "--python-version",
        python_version,
        "--only-binary=:all:",
        "--target",
        str(workdir / "target"),
        "--report",
        str(workdir / "report.json"),
        "--quiet",
        "--disable-pip-version-check",
        *(argument for path in requirements for argument in ("-r", str(path))),
    ]


def requirement_lines(path: Path) -> list[str]:
    """The lines pip reads from a requirements file, its includes followed, comments left out."""
    lines: list[str] = []
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        include = INCLUDE.match(line)
        if include:
            lines += requirement_lines(path.parent / include.group(1))
        elif line:
            lines.append(line)
    return lines


def included_files(command: list[str]) -> list[Path]:
    return [Path(command[at + 1]) for at, argument in enumerate(command) if argument == "-r"]


@pytest.mark.parametrize("python_version", OFFERED_PYTHONS)
def test_one_resolution_covers_every_providers_plain_pins(
    bake: Callable[..., Path], tmp_path: Path, python_version: str
) -> None:
    # The resolution test below resolves every provider's pins together, once per Python.
    # That proves each provider's own set resolvable only if every line is a plain
    # `name==version` (no pip option, which would apply to the whole run, no marker, no extra),
    # no package is pinned at two versions, and every provider's lines are in the run.
    command = resolution_command(
        list(providers_requirements(bake, python_version).values()), python_version, tmp_path
    )
    resolved_lines = {line for path in included_files(command) for line in requirement_lines(path)}
    versions: dict[str, set[str]] = {}
    for line in resolved_lines:
        if DEVTOOLS_WHEEL.match(line):
            continue
        match = PLAIN_PIN.match(line)
        assert match, f"not a plain pin, so the union no longer stands for each provider: {line}"
        versions.setdefault(canonicalize_name(match.group(1)), set()).add(match.group(2))

    for provider in PROVIDERS:
        own = bake(python_version=python_version, model_provider=provider)
        own_lines = set(requirement_lines(own / "requirements-dev.txt"))
        assert own_lines and own_lines <= resolved_lines, (provider, own_lines - resolved_lines)
    assert {name: found for name, found in versions.items() if len(found) > 1} == {}, (
        "providers pin these at different versions, which one resolution of all cannot hold: "
        "resolve those providers apart"
    )


@pytest.mark.parametrize("python_version", OFFERED_PYTHONS)
def test_every_providers_pins_resolve_together_for_the_offered_python(
    bake: Callable[..., Path], tmp_path: Path, python_version: str
) -> None:
    # Every line is a plain pin (checked above), so a resolution of all providers' lines
    # together is, restricted to one provider's packages and their dependencies, a resolution
    # of that provider's own: one pip run per Python instead of one per provider.
    requirements = providers_requirements(bake, python_version)

    resolution = subprocess.run(
        resolution_command(list(requirements.values()), python_version, tmp_path),
        # Every bake names its development tools' wheel by the same relative path.
        cwd=next(iter(requirements.values())).parent,
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT_S,
        check=False,
    )

    bakes = "\n".join(f"  {provider}: {path.parent}" for provider, path in requirements.items())
    assert resolution.returncode == 0, (
        f"Python {python_version}, the providers' bakes:\n{bakes}\n{resolution.stderr[-4000:]}"
    )
    resolved = {
        canonicalize_name(item["metadata"]["name"]): item["metadata"]["version"]
        for item in json.loads((tmp_path / "report.json").read_text())["install"]
    }
    wanted = {
        provider: pins(path.parent / "requirements.txt") | pins(path)
        for provider, path in requirements.items()
    }
    assert {
        provider: {name: resolved.get(canonicalize_name(name)) for name in own}
        for provider, own in wanted.items()
    } == wanted


def pip_install(python: str, requirements: str) -> list[str]:
    """Install a project's pins into ``python``'s environment, as its README does: from the
    project's folder, where ``requirements-dev.txt`` names the development tools' wheel.

    ``--no-compile``: writing bytecode for every installed module was half the install's time
    (13 of 24 s of CPU); the suite compiles the modules it imports as it goes.
    """
    return [
        python,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--no-compile",
        "--disable-pip-version-check",
        "-r",
        requirements,
    ]


def python313_root() -> tuple[Path, bool]:
    """Where scripts/python313.sh keeps the Python 3.13 root, and whether it is ready."""
    where = subprocess.run(
        ["bash", str(PYTHON313_SCRIPT), "--where"], capture_output=True, text=True, check=False
    )
    assert where.returncode in (0, 1), where.stderr
    return Path(where.stdout.strip()), where.returncode == 0


def test_python313_script_reports_a_root_not_made_yet_without_making_it(tmp_path: Path) -> None:
    root = tmp_path / "root"

    where = subprocess.run(
        ["bash", str(PYTHON313_SCRIPT), "--where"],
        env={**os.environ, "DAFX_PY313_ROOT": str(root)},
        capture_output=True,
        text=True,
        check=False,
    )

    assert (where.returncode, where.stdout.strip()) == (1, str(root))
    assert not root.exists()


def chroot_run(
    root: Path, *command: str, timeout: int, cwd: str = "/"
) -> subprocess.CompletedProcess[str]:
    """Run a command inside the root with a small, explicit environment (host proxies only)."""
    env = {
        "PATH": INSIDE_PATH,
        "HOME": "/root",
        "LANG": "C.UTF-8",
        "PIP_CERT": "/etc/ssl/certs/ca-certificates.crt",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    env |= {
        name: value
        for name, value in os.environ.items()
        if name.lower() in {"http_proxy", "https_proxy", "no_proxy"}
    }
    tools = os.environ.get("PATH", "") + ":/usr/sbin:/sbin:/usr/bin:/bin"
    chroot, unshare, mount = (shutil.which(tool, path=tools) for tool in CHROOT_TOOLS)
    assert chroot and unshare and mount, f"needs {', '.join(CHROOT_TOOLS)} (coreutils, util-linux)"
    # A real system has /proc (pytest-xdist's `-n auto` counts cores there, through psutil);
    # it is mounted in a mount namespace of the command's own, so it goes when the command ends.
    enter = (
        f'root="$1" cwd="$2"; shift 2; {mount} -t proc proc "$root/proc" && '
        f'exec {chroot} "$root" /usr/bin/env --chdir="$cwd" "$@"'
    )
    return subprocess.run(
        [
            unshare,
            "--mount",
            "--fork",
            "--",
            "/bin/sh",
            "-c",
            enter,
            "sh",
            str(root),
            cwd,
            *command,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.mark.starts_first
def test_the_all_options_bake_installs_and_passes_its_suite_on_python_3_13(
    bake: Callable[..., Path],
) -> None:
    root, ready = python313_root()
    if not ready:
        missing = (
            f"no Python 3.13 root at {root}: create it with `sudo bash scripts/python313.sh` "
            "(installs debootstrap with apt-get, then downloads about 270 MB of Debian trixie)"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(f"{missing}; .ci/run should have made it")
        pytest.skip(missing)
    if os.geteuid() != 0:
        pytest.skip("entering the Python 3.13 root needs chroot, which needs root: use sudo")
    refreshed = subprocess.run(
        ["bash", str(PYTHON313_SCRIPT)], capture_output=True, text=True, check=False
    )
    assert refreshed.returncode == 0, refreshed.stderr

    answers = COMBINATIONS[ON_PYTHON_313]
    assert answers["python_version"] == "3.13", answers
    project = bake(**answers)
    work = Path(tempfile.mkdtemp(prefix="dafx-", dir=root / "tmp"))
    inside = "/" + str(work.relative_to(root))
    try:
        shutil.copytree(project, work / "project")
        venv_python = f"{inside}/venv/bin/python"
        made = chroot_run(root, "python3.13", "-m", "venv", f"{inside}/venv", timeout=120)
        assert made.returncode == 0, made.stderr
        version = chroot_run(root, venv_python, "--version", timeout=60)
        assert version.stdout.startswith("Python 3.13."), version.stdout + version.stderr

        installed = chroot_run(
            root,
            *pip_install(venv_python, "requirements-dev.txt"),
            timeout=INSTALL_TIMEOUT_S,
            cwd=f"{inside}/project",
        )
        assert installed.returncode == 0, installed.stdout[-3000:] + installed.stderr[-3000:]

        suite = chroot_run(
            root,
            venv_python,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            cwd=f"{inside}/project",
            timeout=SUITE_TIMEOUT_S,
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)

    assert_suite_passed(suite)


def patch(interpreter: Path) -> int:
    """The patch number of a pyenv interpreter, from its folder (``3.12.1`` -> 1)."""
    number = re.match(r"\d+", interpreter.parents[1].name.split(".", 2)[-1])
    return int(number.group()) if number else -1


def python_interpreter(version: str) -> Path | None:
    """A real ``python{version}``: on PATH, or the newest of pyenv's (``$PYENV_ROOT``)."""
    found = shutil.which(f"python{version}")
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates = [Path(found)] if found else []
    candidates += sorted(pyenv.glob(f"{version}.*/bin/python{version}"), key=patch, reverse=True)
    for candidate in candidates:
        # pyenv's shims exist for every version it knows and fail for the ones not selected.
        answered = subprocess.run(
            [str(candidate), "--version"], capture_output=True, text=True, check=False
        )
        if answered.returncode == 0 and answered.stdout.startswith(f"Python {version}."):
            return candidate
    return None


@pytest.mark.starts_first
def test_a_bake_that_answers_3_12_installs_and_passes_its_suite_on_python_3_12(
    bake: Callable[..., Path], tmp_path: Path
) -> None:
    python312 = python_interpreter("3.12")
    if python312 is None:
        pytest.skip(
            "no Python 3.12 interpreter on PATH or in pyenv: install one "
            "(`pyenv install 3.12`, or your system's python3.12 package)"
        )
    answers = COMBINATIONS[ON_PYTHON_312]
    assert answers.get("python_version", DEFAULTS["python_version"][0]) == "3.12", answers
    project = shutil.copytree(bake(**answers), tmp_path / "project")
    environment = project_environment()

    made = subprocess.run(
        [str(python312), "-m", "venv", str(tmp_path / "venv")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert made.returncode == 0, made.stderr
    venv_python = str(tmp_path / "venv" / "bin" / "python")
    installed = subprocess.run(
        pip_install(venv_python, "requirements-dev.txt"),
        cwd=project,
        env=environment,
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT_S,
        check=False,
    )
    assert installed.returncode == 0, installed.stdout[-3000:] + installed.stderr[-3000:]
    # In one process, as the template runs baked suites; the 3.13 run keeps the README's xdist.
    suite = subprocess.run(
        [venv_python, "-m", "pytest", *ONE_PROCESS_SUITE],
        cwd=project,
        env=environment,
        capture_output=True,
        text=True,
        timeout=SUITE_TIMEOUT_S,
        check=False,
    )

    version = subprocess.run(
        [venv_python, "--version"], capture_output=True, text=True, check=False
    )
    assert version.stdout.startswith("Python 3.12."), version.stdout + version.stderr
    assert_suite_passed(suite)
