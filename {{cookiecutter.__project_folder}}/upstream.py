"""Everything the app takes from its libraries beyond their public API, in one place.

The app needs two things no public API offers, both for ``telemetry.py``: the names under which
agent-framework-durabletask registers each executor's activity and each agent's entity, to tell
which workflow a durable span belongs to; and where an executor's activity input names its run.
The library keeps both in private modules.

`UPSTREAM_VERSIONS` names the releases this module was written and tested against.
`version_mismatches()` lists the installed releases that differ, and ``tests/test_telemetry.py``
fails on each one until someone re-reads every use below against the new release and updates
the table. At run time a changed private API is an :class:`UpstreamChangedError` naming the
package and the release this module expects, never an obscure ``ImportError``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
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


def activity_input_instance_id(activity_input: Mapping[str, object]) -> str | None:
    """The top-level instance id in an executor's activity input, or None if it names none.

    agent-framework-durabletask's orchestrator adds ``host_context`` to every executor's
    activity input, naming the top-level instance under its ``HOST_METADATA_INSTANCE_ID`` key.
    """
    package = "agent-framework-durabletask"
    try:
        # Private: the activity input's format, shared by the library's orchestrator and activity.
        from agent_framework_durabletask._workflows.runner_context import (
            HOST_METADATA_INSTANCE_ID,
        )
    except ImportError as error:
        raise UpstreamChangedError(
            f"{package} no longer has _workflows.runner_context.HOST_METADATA_INSTANCE_ID "
            f"(written against {UPSTREAM_VERSIONS[package]})."
        ) from error
    host_context = activity_input.get("host_context")
    if not isinstance(host_context, Mapping):
        return None
    instance_id = host_context.get(HOST_METADATA_INSTANCE_ID)
    return instance_id if isinstance(instance_id, str) else None
