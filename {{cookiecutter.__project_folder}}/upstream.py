"""Everything the app takes from its libraries beyond their public API, in one place.

The app needs one thing no public API offers: the names under which agent-framework-durabletask
registers each executor's activity and each agent's entity, so that ``telemetry.py`` can tell
which workflow a durable span belongs to. The library keeps those functions in a private module.

`UPSTREAM_VERSIONS` names the releases this module was written and tested against.
`version_mismatches()` lists the installed releases that differ, and ``tests/test_telemetry.py``
fails on each one until someone re-reads every use below against the new release and updates
the table. At run time a changed private API is an :class:`UpstreamChangedError` naming the
package and the release this module expects, never an obscure ``ImportError``.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import metadata
from typing import cast

UPSTREAM_VERSIONS = {"agent-framework-durabletask": "1.0.0b260922"}


class UpstreamChangedError(RuntimeError):
    """A private API of a library is gone or has changed."""


def version_mismatches() -> list[str]:
    """One line per library whose installed release is not the one this module was written for."""
    mismatches = []
    for package, expected in UPSTREAM_VERSIONS.items():
        try:
            installed = metadata.version(package)
        except metadata.PackageNotFoundError:
            installed = "not installed"
        if installed != expected:
            mismatches.append(
                f"{package} is {installed}; upstream.py was written against {expected}: "
                "re-read its private uses against the installed release, then update "
                "UPSTREAM_VERSIONS."
            )
    return mismatches


def _durabletask_naming(name: str) -> Callable[[str, str], str]:
    package = "agent-framework-durabletask"
    try:
        # Private: agent-framework-durabletask exports the orchestrator's naming functions but
        # not these two, which name an executor's activity and an agent's entity.
        from agent_framework_durabletask._workflows import naming
    except ImportError as error:
        raise UpstreamChangedError(
            f"{package} no longer has _workflows.naming (written against "
            f"{UPSTREAM_VERSIONS[package]})."
        ) from error
    function = getattr(naming, name, None)
    if not callable(function):
        raise UpstreamChangedError(
            f"{package} no longer has _workflows.naming.{name} (written against "
            f"{UPSTREAM_VERSIONS[package]})."
        )
    return cast("Callable[[str, str], str]", function)


def workflow_executor_activity_name(workflow_name: str, executor_id: str) -> str:
    """The durable activity name of a plain executor: ``dafx-{workflow}-{executor}``."""
    return _durabletask_naming("workflow_executor_activity_name")(workflow_name, executor_id)


def workflow_scoped_executor_id(workflow_name: str, executor_id: str) -> str:
    """An agent executor's workflow-scoped id, from which its entity name is made."""
    return _durabletask_naming("workflow_scoped_executor_id")(workflow_name, executor_id)
