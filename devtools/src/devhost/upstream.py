"""Everything devhost takes from its libraries beyond their public API, in one place.

devhost joins two protocols that no public API joins: durabletask's gRPC work items and the
out-of-process JSON protocol of azure-functions-durable's engine. What it needs for that and
cannot get publicly is below, each with the reason. Nothing else in devhost imports a private
module or touches a private attribute.

`UPSTREAM_VERSIONS` names the releases this module was written and tested against. devhost
warns at start-up when another release is installed, and its tests fail, naming the package,
until someone has re-read every use below against the new release and updated the table.
"""

from __future__ import annotations

import copy
import functools
import json
import multiprocessing.util
import shutil
from collections.abc import Callable, Iterator
from concurrent import futures
from contextlib import AbstractContextManager
from dataclasses import dataclass
from importlib import metadata
from typing import TYPE_CHECKING, Any, Protocol, cast

# The Durable Task protocol messages and service stubs. durabletask ships them only in
# `durabletask.internal`; its public client and worker wrap them and cannot host another
# engine's orchestrators.
import durabletask.internal.orchestrator_service_pb2 as pb
import durabletask.internal.orchestrator_service_pb2_grpc as stubs
import grpc
from durabletask.testing import InMemoryOrchestrationBackend
from durabletask.testing.in_memory_backend import ActivityWorkItem

# azure-functions-durable and azure-functions are imported where they are used: importing
# the engine takes about 0.2 s, and a process that only serves the backend (the project's
# standalone-worker tests, the benchmark's standalone side) never replays an orchestrator.
if TYPE_CHECKING:
    from azure.durable_functions import DurableOrchestrationContext, Orchestrator
    from azure.durable_functions.models.history import HistoryEvent
    from azure.durable_functions.models.TaskOrchestrationExecutor import (
        TaskOrchestrationExecutor,
    )

__all__ = [
    "UPSTREAM_VERSIONS",
    "InstanceEvents",
    "OrchestratorHandle",
    "RetryStep",
    "backend_lock",
    "close_durable_client_session",
    "decode_activity_input",
    "decode_entity_batch",
    "encode_activity_output",
    "engine_events",
    "instance_events",
    "instance_name",
    "matches_filter",
    "parse_work_item_filters",
    "pb",
    "pending_retry_steps",
    "replay",
    "replay_events",
    "requeue_activity",
    "serve_backend",
    "split_engine_error",
    "stored_custom_status",
    "stored_entity_state",
    "stubs",
    "upstream_mismatches",
    "wake_dispatcher",
]

UPSTREAM_VERSIONS: dict[str, tuple[str, ...]] = {
    "durabletask": ("1.12.0",),
    "azure-functions-durable": ("1.7.0",),
    "azure-functions": ("1.25.0", "1.26.0"),
}


def upstream_mismatches() -> list[str]:
    """One line per library whose installed release this module was not written against."""
    problems: list[str] = []
    for package, versions in UPSTREAM_VERSIONS.items():
        try:
            installed = metadata.version(package)
        except metadata.PackageNotFoundError:
            installed = "(not installed)"
        if installed not in versions:
            problems.append(
                f"{package} {installed}: devhost/upstream.py was written against "
                f"{' or '.join(versions)}"
            )
    return problems


# -- durabletask's in-memory backend -------------------------------------------------------


def serve_backend(
    backend: InMemoryOrchestrationBackend,
    options: list[tuple[str, int]],
    threads: int,
    port: int = 0,
    also: Callable[[grpc.Server], None] | None = None,
) -> str:
    """Serve `backend` on a loopback port (0: a free one) with these gRPC options; its address.
    `also` adds other services to the same server before it starts.

    The backend's own `start()` binds every interface on a fixed port with gRPC's default
    4 MB message limit; it keeps its server in `_server` (for `stop()`) and clears
    `_shutdown_event` on start.
    """
    backend._shutdown_event.clear()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=threads), options=options)
    stubs.add_TaskHubSidecarServiceServicer_to_server(backend, server)  # type: ignore[no-untyped-call]
    if also is not None:
        also(server)
    try:
        port = server.add_insecure_port(f"127.0.0.1:{port}")
    except RuntimeError as error:  # grpcio raises RuntimeError when it cannot bind
        raise OSError(f"cannot serve the durable backend on 127.0.0.1:{port}: {error}") from error
    server.start()
    backend._server = server
    return f"127.0.0.1:{port}"


def backend_lock(backend: InMemoryOrchestrationBackend) -> AbstractContextManager[Any]:
    """The re-entrant lock (`_lock`) under which the backend changes its state.

    devhost holds it around a call into the backend and the trace context it adds to what
    that call stored, so the work-item loop (which builds work items under the same lock)
    never hands out an item before the trace context is on it.
    """
    return cast(AbstractContextManager[Any], backend._lock)


@dataclass(frozen=True)
class InstanceEvents:
    """The live event lists the backend keeps for an instance (change them under its lock)."""

    history: list[pb.HistoryEvent]
    dispatched: list[pb.HistoryEvent]
    pending: list[pb.HistoryEvent]


def instance_events(
    backend: InMemoryOrchestrationBackend, instance_id: str
) -> InstanceEvents | None:
    """An instance's stored history, the new events handed out and those still to come.

    The in-memory backend drops every trace context durabletask sends (it builds
    ExecutionStarted, TaskScheduled and SubOrchestrationInstanceCreated events without
    one); devhost puts them back on the events it stored: `OrchestrationInstance.history`,
    `.dispatched_events` (with the work item in flight) and `.pending_events`.
    """
    instance = backend._instances.get(instance_id)
    if instance is None:
        return None
    return InstanceEvents(instance.history, instance.dispatched_events, instance.pending_events)


def wait_for_state(
    backend: InMemoryOrchestrationBackend,
    instance_id: str,
    predicate: Callable[[Any], bool],
    timeout: float | None,
) -> Any:
    """durabletask's own wait for an instance to reach a state (its backend's private method),
    for a subclass that changes how long an unlimited wait lasts."""
    return InMemoryOrchestrationBackend._wait_for_state(backend, instance_id, predicate, timeout)


def instance_name(backend: InMemoryOrchestrationBackend, instance_id: str) -> str | None:
    """The orchestration name of an instance (`_instances`, under `_lock`).

    An orchestrator work item does not carry its name; the backend's own filter check reads
    it from the stored instance the same way.
    """
    with backend._lock:
        instance = backend._instances.get(instance_id)
        return instance.name if instance is not None else None


WorkItemFilter = dict[str, frozenset[str]] | None


def parse_work_item_filters(
    request: pb.GetWorkItemsRequest,
) -> tuple[WorkItemFilter, WorkItemFilter, WorkItemFilter]:
    """A worker's work item filters (orchestrations, activities, entities), as the
    in-memory backend reads them (`_parse_work_item_filters`): None accepts every name of
    that kind, a mapping only the names it lists (with their versions)."""
    return InMemoryOrchestrationBackend._parse_work_item_filters(request)


def matches_filter(name: str, version: str | None, accepted: WorkItemFilter) -> bool:
    """Whether a work item's name and version pass one filter (`_matches_filter`)."""
    return InMemoryOrchestrationBackend._matches_filter(name, version, accepted)


def stored_custom_status(backend: InMemoryOrchestrationBackend, instance_id: str) -> str | None:
    """The custom status the backend holds for an instance (`_instances`, under `_lock`)."""
    with backend._lock:
        instance = backend._instances.get(instance_id)
        return instance.custom_status if instance is not None else None


def stored_entity_state(backend: InMemoryOrchestrationBackend, entity_id: str) -> str | None:
    """The state the backend holds for an entity (`_entities`, under `_lock`)."""
    with backend._lock:
        entity = backend._entities.get(entity_id)
        return entity.serialized_state if entity is not None else None


def wake_dispatcher(backend: InMemoryOrchestrationBackend) -> None:
    """Wake the backend's work-item loop now instead of after its 0.1 s poll.

    The loop re-queues an instance that is still running and then waits on
    `_work_available`; events that arrive for it meanwhile do not set that event.
    """
    backend._work_available.set()


# -- azure-functions-durable's orchestration engine ----------------------------------------


class OrchestratorHandle(Protocol):
    """What `Orchestrator.create` registers: the trigger handle, carrying the user's function."""

    orchestrator_function: Callable[[DurableOrchestrationContext], Any]

    def __call__(self, context: Any) -> str: ...


def replay(
    handle: OrchestratorHandle, context_json: str
) -> tuple[dict[str, Any], DurableOrchestrationContext]:
    """Run the engine as the handle `Orchestrator.create` builds does, keeping its context.

    The handle builds and drops its context; devhost needs it afterwards to see which retry
    steps the engine waits on. So this repeats the handle's three lines, including the
    private `_input_expected_type` it sets from the decorator's `_df_input_type`, with the
    `Orchestrator` built as `_orchestrator` builds it.
    """
    from azure.durable_functions import DurableOrchestrationContext

    context = DurableOrchestrationContext.from_json(context_json)
    context._input_expected_type = getattr(handle, "_df_input_type", None)
    state = json.loads(_orchestrator(handle.orchestrator_function).handle(context))
    return cast(dict[str, Any], state), context


def engine_events(translated: list[dict[str, Any]]) -> list[HistoryEvent]:
    """History events as the engine's context builds them from its JSON (`HistoryEvent(**he)`).

    devhost builds each event once and keeps it for the instance's later replays: the
    constructor parses the event's time with dateutil, most of a replay's cost when done
    again for every event of a long history on every replay. The engine only reads these
    objects (nothing in azure-functions-durable 1.7.0 sets an attribute of a HistoryEvent).
    """
    from azure.durable_functions.models.history import HistoryEvent

    return [HistoryEvent(**fields) for fields in translated]


def replay_events(
    handle: OrchestratorHandle,
    events: list[HistoryEvent],
    fields: dict[str, Any],
) -> tuple[dict[str, Any], DurableOrchestrationContext]:
    """`replay` on history events already built, with the context's other fields.

    `DurableOrchestrationContext(history=..., **fields)` builds every event of `history`
    from a dict; this builds the context on its first OrchestratorStarted alone and then sets
    what the constructor derives from the history: `_histories`, `decision_started_event`
    (the first OrchestratorStarted), `_current_utc_datetime` (its time) and `_version` (from
    `_extract_version_from_history`).
    """
    from azure.durable_functions import DurableOrchestrationContext
    from azure.durable_functions.models.history import HistoryEventType

    first_started = next(
        event for event in events if event.event_type == HistoryEventType.ORCHESTRATOR_STARTED
    )
    seed = {
        "EventType": int(HistoryEventType.ORCHESTRATOR_STARTED),
        "EventId": first_started.event_id,
        "IsPlayed": first_started.is_played,
        "Timestamp": first_started.timestamp.isoformat(),
    }
    context = DurableOrchestrationContext(history=[seed], **fields)
    context._histories = events
    context.decision_started_event = first_started
    context._current_utc_datetime = first_started.timestamp
    context._version = context._extract_version_from_history(events)
    context._input_expected_type = getattr(handle, "_df_input_type", None)
    state = json.loads(_orchestrator(handle.orchestrator_function).handle(context))
    return cast(dict[str, Any], state), context


@functools.cache
def _executor_template() -> TaskOrchestrationExecutor:
    """An executor whose constant tables (built in its constructor) every copy shares."""
    from azure.durable_functions.models.TaskOrchestrationExecutor import (
        TaskOrchestrationExecutor,
    )

    return TaskOrchestrationExecutor()


def _orchestrator(function: Callable[[DurableOrchestrationContext], Any]) -> Orchestrator:
    """What `Orchestrator(function)` builds, without rebuilding the executor's tables.

    `TaskOrchestrationExecutor()` defines a namedtuple class and two lookup tables that never
    change, about a sixth of a replay's CPU when done for every work item. So the executor is
    a shallow copy of one built once, then `initialize()`d (which its constructor ends with,
    and which sets everything an invocation changes); the `Orchestrator` gets the two
    attributes its constructor sets (`fn`, `task_orchestration_executor`). Each replay still
    has objects of its own, dropped when it ends, as the handle's are.
    """
    from azure.durable_functions import Orchestrator

    executor = copy.copy(_executor_template())
    executor.initialize()
    orchestrator = Orchestrator.__new__(Orchestrator)
    orchestrator.fn = function
    orchestrator.task_orchestration_executor = executor
    return orchestrator


# The engine reports a failed orchestrator as an exception whose text carries the
# orchestration state after this marker (TaskOrchestrationExecutor); there is no other channel.
_OUT_OF_PROC_ERROR_MARKER = "\n\n$OutOfProcData$:"


def split_engine_error(error: Exception) -> tuple[str, dict[str, Any] | None]:
    """The message of an orchestrator failure, and the state the engine attached, if any."""
    message = str(error).strip()
    if _OUT_OF_PROC_ERROR_MARKER not in message:
        return message, None
    message, _, state_text = message.partition(_OUT_OF_PROC_ERROR_MARKER)
    return message.strip(), json.loads(state_text)


@dataclass(frozen=True)
class RetryStep:
    """A step of a call with a retry policy that the engine is waiting on."""

    task_id: int
    waits_on_timer: bool
    first_retry_interval_ms: int
    action: dict[str, Any]


def pending_retry_steps(context: DurableOrchestrationContext) -> Iterator[RetryStep]:
    """The retry timers and repeat attempts the engine waits on after a replay.

    On the Functions host the Durable Task Framework runs retry loops; the engine only
    numbers the steps and waits on them as anonymous `NoOpAction` tasks whose parent is the
    `RetryAbleTask` (`open_tasks`, `parent`, `action_repr`, `is_waiting_on_timer`).
    """
    from azure.durable_functions.models.actions.NoOpAction import NoOpAction
    from azure.durable_functions.models.Task import RetryAbleTask

    for entry in context.open_tasks.values():
        for task in entry if isinstance(entry, list) else [entry]:
            retry = task.parent
            if isinstance(task.action_repr, NoOpAction) and isinstance(retry, RetryAbleTask):
                yield RetryStep(
                    task_id=int(task.id),
                    waits_on_timer=bool(retry.is_waiting_on_timer),
                    first_retry_interval_ms=int(
                        retry.retry_options.first_retry_interval_in_milliseconds
                    ),
                    action=retry.actions.to_json(),
                )


def remove_multiprocessing_temp_dir() -> None:
    """Remove the folder multiprocessing made for this process (the fork server's socket).

    multiprocessing removes it in an exit handler, which the `os._exit` that ends
    `python -m devhost` skips; only the undocumented `multiprocessing.util` says where it is.
    Call it only once a fork server was started: otherwise it makes a folder to remove.
    """
    shutil.rmtree(multiprocessing.util.get_temp_dir(), ignore_errors=True)


async def close_durable_client_session() -> None:
    """Close the process-wide aiohttp session the durable client keeps (no public close)."""
    from azure.durable_functions.models.utils import http_utils

    await http_utils._close_session()


# -- azure-functions' trigger converters (what the Python worker runs) ----------------------


def decode_activity_input(encoded: str) -> Any:
    """An activity's input as the worker's activity trigger converter hands it over."""
    from azure.functions import meta
    from azure.functions.durable_functions import ActivityTriggerConverter

    return ActivityTriggerConverter.decode(
        meta.Datum(type="json", value=encoded), trigger_metadata=None
    )


def encode_activity_output(value: Any) -> str:
    """An activity's return value as the worker's converter sends it back."""
    from azure.functions.durable_functions import ActivityTriggerConverter

    return str(ActivityTriggerConverter.encode(value, expected_type=None).value)


def decode_entity_batch(context_json: str) -> Any:
    """An entity batch context as the worker's entity trigger converter hands it over."""
    from azure.functions import meta
    from azure.functions.durable_functions import EnitityTriggerConverter

    return EnitityTriggerConverter.decode(
        meta.Datum(type="json", value=context_json), trigger_metadata=None
    )


def requeue_activity(
    backend: InMemoryOrchestrationBackend, request: Any, completion_token: str
) -> None:
    """Put an activity work item that was handed out but never completed back in the queue.

    The in-memory backend forgets an activity once it is streamed (its
    `AbandonTaskActivityWorkItem` does nothing): devhost re-appends it to `_activity_queue`,
    as an `ActivityWorkItem`, under `_lock`, and wakes the loop through `_work_available`.
    """
    item = ActivityWorkItem(
        instance_id=request.orchestrationInstance.instanceId,
        name=request.name,
        task_id=request.taskId,
        input=request.input.value if request.HasField("input") else None,
        completion_token=int(completion_token or 0),
        version=request.version.value if request.HasField("version") else None,
    )
    with backend._lock:
        backend._activity_queue.append(item)
    backend._work_available.set()


def decode_workflow_value(value: Any) -> Any:
    """A value an Agent Framework workflow stored with its checkpoint encoding, decoded.

    Typed outputs (dataclasses, pydantic models) are kept as `__pickled__` base64 markers in a
    child workflow's output and in events; agent-framework-durabletask's own decoder (the one
    AgentFunctionApp's status route uses) turns them back into objects. Values from the app's
    own orchestrations only. Without the package, the value is returned as it is.
    """
    try:
        from agent_framework_durabletask._workflows.serialization import deserialize_value
    except ImportError:
        return value
    try:
        return deserialize_value(value)
    except Exception:
        return value


def instance_ids(backend: InMemoryOrchestrationBackend) -> list[str]:
    """Every instance id the backend holds (call under `backend_lock`); the in-memory
    backend's public query pages through full states, far more than a membership test needs."""
    return list(backend._instances)


def bare_request_id(request_id: str) -> str:
    """The request id a (possibly nested) sub-workflow waits on: the last part of a qualified
    ``{executor}~{ordinal}~{id}`` id, as AgentFunctionApp's respond route reads it.

    agent-framework-durabletask keeps `split_subworkflow_request_id` in a private module;
    using it keeps devhost's reading of an id the library's own.
    """
    from agent_framework_durabletask._workflows.naming import split_subworkflow_request_id

    while (hop := split_subworkflow_request_id(request_id)) is not None:
        request_id = hop[2]
    return request_id
