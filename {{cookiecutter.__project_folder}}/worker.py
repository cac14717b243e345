"""Run the app's workflows outside Azure Functions, on a standalone Durable Task worker.

``python worker.py`` hosts the same ``build_workflows()`` the Function App hosts, on
agent-framework-durabletask's worker, and runs their orchestrations, activities and entities
until Ctrl-C or SIGTERM, except the executors placed on a worker pool (``workflows.placement``).
``python worker.py --pool NAME`` runs only the executors placed on pool NAME. Each asks the
scheduler for exactly that work (work item filters), so a pool's steps go to its workers only.
``python worker.py client ...`` starts a run, reads its status (with the steps it waits for)
and answers a human request. All connect with the settings the Function App uses:

``DURABLE_TASK_SCHEDULER_CONNECTION_STRING``
    ``Endpoint=<url>;Authentication=None|ManagedIdentity|DefaultAzure[;ClientID=<id>]
    [;TaskHub=<name>]``. ``Authentication=None`` with an ``http://`` endpoint reaches the DTS
    emulator or any Durable Task sidecar; ``ManagedIdentity`` (with the user-assigned
    identity's ``ClientID``) is for Azure; ``DefaultAzure`` is your developer login.
``TASKHUB_NAME``
    The task hub, unless the connection string names it.
``DURABLE_PAYLOAD_STORAGE`` (optional)
    Keep payloads over 256 KiB in Blob Storage (durabletask's Blob payload store) and pass
    only a reference through the scheduler, so an activity result or a message of several
    megabytes works. ``UseDevelopmentStorage=true`` is Azurite on this machine. In Azure,
    ``DURABLE_PAYLOAD_STORAGE__blobServiceUri`` names the account's blob endpoint, reached
    with ``DURABLE_PAYLOAD_STORAGE__credential=managedidentity`` and
    ``DURABLE_PAYLOAD_STORAGE__clientId`` (the user-assigned identity; it needs Storage Blob
    Data Contributor on the account); without ``__credential`` your own sign-in is used.
    Set it on every worker of the task hub alike, and only where no Function App serves the
    same task hub: the Functions host runs Python orchestrators that cannot read the
    references.

Settings come from the environment, then from ``local.settings.json`` (``Values``) when it
exists, as Core Tools reads them. Nothing is read at import: a missing setting stops the
command that needs it, with a message naming the setting.

The worker and the client take gRPC messages of any size. A work item carries an
orchestration's whole history, and with gRPC's default 4 MB receive limit a bigger one is
never delivered: the worker reconnects forever on RESOURCE_EXHAUSTED and the run stays
Running. The size limits are the backend's (the scheduler's payload and history limits,
which devhost's backend enforces alike), and a run that reaches one fails naming it.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import grpc
from agent_framework import Workflow
from agent_framework_durabletask import DurableAIAgentWorker, DurableWorkflowClient
from durabletask import history
from durabletask.azuremanaged.client import DurableTaskSchedulerClient
from durabletask.azuremanaged.worker import DurableTaskSchedulerWorker
from durabletask.grpc_options import GrpcChannelOptions
from durabletask.worker import ConcurrencyOptions, WorkItemFilters
from pydantic_core import to_jsonable_python

import telemetry
from workflows.placement import PlacementError, check_pool_name, placements, work_item_filters

if TYPE_CHECKING:
    from azure.core.credentials import TokenCredential
    from durabletask.payload.store import PayloadStore

CONNECTION_SETTING = "DURABLE_TASK_SCHEDULER_CONNECTION_STRING"
TASK_HUB_SETTING = "TASKHUB_NAME"
AUTHENTICATION_MODES = ("None", "ManagedIdentity", "DefaultAzure")
LOCAL_SETTINGS = Path(__file__).resolve().parent / "local.settings.json"
DEFAULT_WORKFLOWS = "workflows:build_workflows"
PAYLOAD_STORAGE_SETTING = "DURABLE_PAYLOAD_STORAGE"
PAYLOAD_SERVICE_URI_SETTING = f"{PAYLOAD_STORAGE_SETTING}__blobServiceUri"
PAYLOAD_CREDENTIAL_SETTING = f"{PAYLOAD_STORAGE_SETTING}__credential"
PAYLOAD_CLIENT_ID_SETTING = f"{PAYLOAD_STORAGE_SETTING}__clientId"
PAYLOAD_CONTAINER = "durabletask-payloads"
# The newest Blob service version Azurite 3.37.0 serves (Azure serves it too); the client
# library would otherwise ask for a newer one, which Azurite refuses.
PAYLOAD_STORAGE_API_VERSION = "2026-06-06"
# durabletask refuses to store a payload over its `max_stored_payload_bytes` (10 MiB by
# default) by raising before the work item is answered, which leaves the run Running; no cap
# here, so the worker's memory is the ceiling.
PAYLOAD_STORE_CAP_BYTES = sys.maxsize
# No gRPC message size limit (-1): the backend's limits decide, and name themselves.
ANY_MESSAGE_SIZE = GrpcChannelOptions(max_receive_message_length=-1, max_send_message_length=-1)
# Work items of each kind (activities, orchestrations, entities) a worker runs at once, per
# processor: the Durable Functions extension's default on Dedicated and Premium plans
# (maxConcurrentActivityFunctions, maxConcurrentOrchestratorFunctions), so a worker takes as
# much work as a Function App instance would.
WORK_ITEMS_PER_PROCESSOR = 10
# How long `client status` waits for a completed run's output to be read.
OUTPUT_READ_SECONDS = 10

logger = logging.getLogger("worker")


class SettingError(RuntimeError):
    """A connection setting is missing or malformed."""


@dataclass(frozen=True)
class PayloadStorage:
    """Where large payloads go: a connection string, or a blob endpoint and an identity."""

    connection_string: str | None = None
    service_uri: str | None = None
    managed_identity: bool = False
    client_id: str | None = None

    def credential(self) -> TokenCredential | None:
        if self.connection_string is not None:
            return None
        from azure.identity import DefaultAzureCredential, ManagedIdentityCredential

        if self.managed_identity:
            return ManagedIdentityCredential(client_id=self.client_id)
        return DefaultAzureCredential(managed_identity_client_id=self.client_id)

    def check(self) -> None:
        """Create the payload container if needed; `SettingError` when the account refuses.

        durabletask uploads a large payload while it answers a work item, and a failed upload
        leaves that work item unanswered (the run stays Running): so a worker whose storage
        is unreachable or refuses its identity stops at start-up instead, naming the setting.
        """
        from azure.core.exceptions import AzureError, ResourceExistsError
        from azure.storage.blob import BlobServiceClient

        setting = (
            PAYLOAD_STORAGE_SETTING
            if self.connection_string is not None
            else PAYLOAD_SERVICE_URI_SETTING
        )
        options: dict[str, Any] = {"api_version": PAYLOAD_STORAGE_API_VERSION, "retry_total": 0}
        try:
            if self.connection_string is not None:
                service = BlobServiceClient.from_connection_string(
                    self.connection_string, **options
                )
            else:
                service = BlobServiceClient(str(self.service_uri), self.credential(), **options)
            with service:
                service.create_container(PAYLOAD_CONTAINER)
        except ResourceExistsError:
            return
        except (AzureError, ValueError) as error:
            raise SettingError(
                f"{setting}: the payload container "
                f"'{PAYLOAD_CONTAINER}' cannot be reached or created: "
                f"{type(error).__name__}: {str(error).splitlines()[0]}"
            ) from None

    def store(self) -> PayloadStore:
        """durabletask's Blob payload store on this account; connects on first use."""
        from durabletask.extensions.azure_blob_payloads import (
            BlobPayloadStore,
            BlobPayloadStoreOptions,
        )

        credential = self.credential()
        return BlobPayloadStore(
            BlobPayloadStoreOptions(
                container_name=PAYLOAD_CONTAINER,
                connection_string=self.connection_string,
                account_url=self.service_uri,
                credential=credential,
                api_version=PAYLOAD_STORAGE_API_VERSION,
                max_stored_payload_bytes=PAYLOAD_STORE_CAP_BYTES,
            )
        )


def parse_payload_storage(settings: Mapping[str, str]) -> PayloadStorage | None:
    """The payload storage the settings name, None when they name none."""
    connection_string = settings.get(PAYLOAD_STORAGE_SETTING, "").strip()
    service_uri = settings.get(PAYLOAD_SERVICE_URI_SETTING, "").strip()
    if connection_string:
        return PayloadStorage(connection_string=connection_string)
    if not service_uri:
        return None
    if not service_uri.lower().startswith("https://"):
        raise SettingError(
            f"{PAYLOAD_SERVICE_URI_SETTING} needs the account's https:// blob endpoint, got "
            f"'{service_uri}' (for Azurite set {PAYLOAD_STORAGE_SETTING} instead)."
        )
    credential = settings.get(PAYLOAD_CREDENTIAL_SETTING, "").strip()
    if credential and credential.lower() != "managedidentity":
        raise SettingError(
            f"{PAYLOAD_CREDENTIAL_SETTING} is '{credential}': use 'managedidentity', or leave it "
            "unset to sign in as yourself (az login)."
        )
    return PayloadStorage(
        service_uri=service_uri,
        managed_identity=bool(credential),
        client_id=settings.get(PAYLOAD_CLIENT_ID_SETTING, "").strip() or None,
    )


@dataclass(frozen=True)
class Connection:
    """Where the durable backend is and how to authenticate to it."""

    endpoint: str
    task_hub: str
    authentication: str
    client_id: str | None = None

    @property
    def secure(self) -> bool:
        return self.endpoint.lower().startswith("https://")


def read_settings(environ: Mapping[str, str], local_settings: Path | None) -> dict[str, str]:
    """The environment, over ``Values`` of ``local_settings`` when that file exists."""
    values: dict[str, str] = {}
    if local_settings is not None and local_settings.is_file():
        document = json.loads(local_settings.read_text(encoding="utf-8"))
        values.update({k: str(v) for k, v in document.get("Values", {}).items()})
    values.update(environ)
    return values


def parse_connection(settings: Mapping[str, str]) -> Connection:
    """Read the connection from the settings; raise `SettingError` naming what is wrong."""
    raw = settings.get(CONNECTION_SETTING, "").strip()
    example = "Endpoint=http://localhost:8080;TaskHub=default;Authentication=None"
    if not raw:
        raise SettingError(f"The setting {CONNECTION_SETTING} is not set (e.g. {example}).")
    parts: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in raw.split(";"))):
        key, separator, value = part.partition("=")
        if not separator:
            raise SettingError(f"{CONNECTION_SETTING}: '{part}' is not a Key=Value pair.")
        parts[key.strip().lower()] = value.strip()

    endpoint = parts.get("endpoint", "")
    if not endpoint.lower().startswith(("http://", "https://")):
        raise SettingError(
            f"{CONNECTION_SETTING} needs Endpoint=http://... (emulator or sidecar) or "
            f"Endpoint=https://... (Durable Task Scheduler), got '{endpoint}'."
        )
    authentication = parts.get("authentication", "")
    if authentication not in AUTHENTICATION_MODES:
        raise SettingError(
            f"{CONNECTION_SETTING} needs Authentication= one of "
            f"{', '.join(AUTHENTICATION_MODES)}, got '{authentication}'."
        )

    in_connection = parts.get("taskhub", "")
    in_setting = settings.get(TASK_HUB_SETTING, "").strip()
    if in_connection and in_setting and in_connection != in_setting:
        raise SettingError(
            f"{CONNECTION_SETTING} names task hub '{in_connection}' but {TASK_HUB_SETTING} is "
            f"'{in_setting}': make them the same, or drop one."
        )
    task_hub = in_setting or in_connection
    if not task_hub:
        raise SettingError(
            f"No task hub: set {TASK_HUB_SETTING} (the Function App's hub, e.g. 'default') or "
            f"add TaskHub=<name> to {CONNECTION_SETTING}."
        )
    return Connection(endpoint, task_hub, authentication, parts.get("clientid") or None)


def credential_for(connection: Connection) -> TokenCredential | None:
    """The Entra ID credential the connection asks for, or None for ``Authentication=None``."""
    if connection.authentication == "None":
        return None
    # Imported on first use: a worker on the emulator never signs in, and azure.identity adds
    # about 0.1 s to every start.
    from azure.identity import DefaultAzureCredential, ManagedIdentityCredential

    if connection.authentication == "ManagedIdentity":
        return ManagedIdentityCredential(client_id=connection.client_id)
    return DefaultAzureCredential(managed_identity_client_id=connection.client_id)


def export_local_settings(environ: MutableMapping[str, str], local_settings: Path | None) -> None:
    """Hand the app the ``Values`` of ``local_settings`` as Core Tools does: as environment
    variables, never over one that is already set (the app reads its own settings there)."""
    for name, value in read_settings({}, local_settings).items():
        environ.setdefault(name, value)


def connection_from_environment() -> Connection:
    return parse_connection(read_settings(os.environ, LOCAL_SETTINGS))


def payload_storage_from_environment() -> PayloadStorage | None:
    return parse_payload_storage(read_settings(os.environ, LOCAL_SETTINGS))


WorkflowFactory = Callable[[], Sequence[Workflow]]


def load_workflow_factory(reference: str) -> WorkflowFactory:
    """Import ``module:function``, the function that builds the workflows to host."""
    module_name, separator, attribute = reference.partition(":")
    if not separator:
        raise SettingError(f"--workflows takes module:function, got '{reference}'.")
    factory: WorkflowFactory = getattr(importlib.import_module(module_name), attribute)
    return factory


def filters_for(workflows: Sequence[Workflow], pool: str | None) -> WorkItemFilters:
    """The work this worker asks for; `SettingError` for a pool no executor is placed on."""
    filters = work_item_filters(workflows, pool)
    if pool is not None and not filters.activities:
        known = sorted({placement.pool for placement in placements(workflows)})
        raise SettingError(
            f"No executor is placed on pool '{pool}' (pools of these workflows: "
            f"{', '.join(known) or 'none'}). Mark one with runs_on('{pool}') in its workflow."
        )
    return filters


def describe_work(workflows: Sequence[Workflow], filters: WorkItemFilters, pool: str | None) -> str:
    if pool is not None:
        return f"pool {pool} ({', '.join(f.name for f in filters.activities)})"
    served = ", ".join(workflow.name for workflow in workflows) or "no workflow (none declared)"
    elsewhere = [f"{p.activity} on pool {p.pool}" for p in placements(workflows)]
    return served + (f" (not {', '.join(elsewhere)})" if elsewhere else "")


def concurrency_options(processors: int | None = None) -> ConcurrencyOptions:
    """A limit for each kind of work item, and a thread for every work item the limits allow.

    agent-framework-durabletask's activities and agent entities are synchronous: each holds
    a thread of durabletask's one pool while it runs, and orchestrations replay on the same
    pool. With durabletask's default pool (processors + 4 threads), long activities take
    every thread and each orchestration step waits behind them. Sized to the sum of the
    limits, the pool always has a thread for an orchestration step.
    """
    per_kind = WORK_ITEMS_PER_PROCESSOR * (processors or os.cpu_count() or 1)
    return ConcurrencyOptions(
        maximum_concurrent_activity_work_items=per_kind,
        maximum_concurrent_orchestration_work_items=per_kind,
        maximum_concurrent_entity_work_items=per_kind,
        maximum_thread_pool_workers=3 * per_kind,
    )


def serve(
    connection: Connection,
    workflow_factory: WorkflowFactory,
    pool: str | None = None,
    payload_storage: PayloadStorage | None = None,
) -> None:
    """Host the workflows (or one pool's executors) until SIGTERM or Ctrl-C.

    A second signal stops at once.
    """
    if payload_storage is not None:
        payload_storage.check()
    scheduler_worker = DurableTaskSchedulerWorker(
        host_address=connection.endpoint,
        taskhub=connection.task_hub,
        token_credential=credential_for(connection),
        secure_channel=connection.secure,
        channel_options=ANY_MESSAGE_SIZE,
        payload_store=None if payload_storage is None else payload_storage.store(),
        concurrency_options=concurrency_options(),
        logger=logging.getLogger("durabletask.worker"),
    )
    worker = DurableAIAgentWorker(scheduler_worker)
    workflows = workflow_factory()
    filters = filters_for(workflows, pool)
    telemetry.configure_from_environment(workflows)
    for workflow in workflows:
        worker.configure_workflow(workflow)
    # Every executor is registered; the filters decide which work items reach this worker.
    scheduler_worker.use_work_item_filters(filters)

    stop_requested = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        if stop_requested.is_set():
            # Work items still running are abandoned; the backend hands them out again
            # once their lock lapses.
            logger.warning(
                "worker %d: second %s, exiting now", os.getpid(), signal.Signals(signum).name
            )
            os._exit(1)
        logger.info(
            "worker %d: %s, finishing the work items in hand (signal again to exit now)",
            os.getpid(),
            signal.Signals(signum).name,
        )
        stop_requested.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    worker.start()
    logger.info(
        "worker %d serving %s from %s, task hub %s",
        os.getpid(),
        describe_work(workflows, filters, pool),
        connection.endpoint,
        connection.task_hub,
    )
    stop_requested.wait()
    worker.stop()
    logger.info("worker %d stopped", os.getpid())


class WorkflowRuns:
    """Start runs, read their status and answer their human requests.

    With ``pools`` (activity name -> pool), a running run's status names the steps it waits
    for and the pool each one needs.
    """

    def __init__(
        self,
        connection: Connection,
        pools: Mapping[str, str] | None = None,
        payload_storage: PayloadStorage | None = None,
    ) -> None:
        self._pools = dict(pools or {})
        self._durable = DurableTaskSchedulerClient(
            host_address=connection.endpoint,
            taskhub=connection.task_hub,
            token_credential=credential_for(connection),
            secure_channel=connection.secure,
            channel_options=ANY_MESSAGE_SIZE,
            payload_store=None if payload_storage is None else payload_storage.store(),
            logger=logging.getLogger("durabletask.client"),
        )
        self._workflows = DurableWorkflowClient(self._durable)

    def start(self, workflow: str, body: Any) -> str:
        instance_id: str = self._workflows.start_workflow(body, workflow_name=workflow)
        return instance_id

    def status(self, instance_id: str) -> dict[str, Any]:
        """Runtime status, output or failure, and pending human requests, as JSON values."""
        state = self._durable.get_orchestration_state(instance_id)
        if state is None:
            return {"instanceId": instance_id, "runtimeStatus": None}
        status: dict[str, Any] = {
            "instanceId": instance_id,
            "name": state.name,
            "runtimeStatus": state.runtime_status.name,
        }
        if status["runtimeStatus"] == "COMPLETED":
            status["output"] = self._workflows.await_workflow_output(
                instance_id, timeout_seconds=OUTPUT_READ_SECONDS
            )
        elif state.failure_details is not None:
            status["failure"] = state.failure_details.message
        if status["runtimeStatus"] in ("PENDING", "RUNNING"):
            status["waitingFor"] = self.waiting_for(instance_id)
        status["pendingHumanInputRequests"] = self._workflows.get_pending_hitl_requests(instance_id)
        jsonable: dict[str, Any] = to_jsonable_python(status, fallback=repr)
        return jsonable

    def waiting_for(self, instance_id: str) -> list[dict[str, Any]]:
        """The activities the run scheduled and has no result for yet, with their pools."""
        scheduled: dict[int, history.TaskScheduledEvent] = {}
        for event in self._durable.get_orchestration_history(instance_id):
            if isinstance(event, history.TaskScheduledEvent):
                scheduled[event.event_id] = event
            elif isinstance(event, (history.TaskCompletedEvent, history.TaskFailedEvent)):
                scheduled.pop(event.task_scheduled_id, None)
        return [
            {"activity": event.name, "pool": self._pools.get(event.name)}
            for event in scheduled.values()
        ]

    def respond(self, instance_id: str, request_id: str, answer: Any) -> None:
        self._workflows.send_hitl_response(instance_id, request_id, answer)


def json_argument(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise argparse.ArgumentTypeError(f"not JSON ({error}): {text}") from error


def pool_argument(text: str) -> str:
    try:
        return check_pool_name(text)
    except PlacementError as error:
        raise argparse.ArgumentTypeError(str(error)) from error


def argument_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python worker.py",
        description="Host the workflows on a standalone Durable Task worker, or drive runs.",
    )
    parser.add_argument(
        "--workflows",
        default=DEFAULT_WORKFLOWS,
        help="module:function that builds the workflows to host (default: %(default)s)",
    )
    parser.add_argument(
        "--pool",
        type=pool_argument,
        help="run only the executors placed on this worker pool (runs_on(NAME)); without it, "
        "run everything except the executors placed on a pool",
    )
    commands = parser.add_subparsers(dest="command")
    client = commands.add_parser("client", help="start a run, read its status, answer it")
    actions = client.add_subparsers(dest="action", required=True)
    start = actions.add_parser("start", help="start a run; prints its instance id")
    start.add_argument("workflow")
    start.add_argument("body", type=json_argument, help="the start message, as JSON")
    status = actions.add_parser("status", help="print a run's status, output and requests")
    status.add_argument("instance_id")
    respond = actions.add_parser("respond", help="answer a pending human request")
    respond.add_argument("instance_id")
    respond.add_argument("request_id")
    respond.add_argument("answer", type=json_argument, help="the answer, as JSON")
    return parser


def placed_pools(workflow_factory: WorkflowFactory) -> dict[str, str]:
    """Activity name -> pool, for every executor the workflows place on a pool."""
    return {placement.activity: placement.pool for placement in placements(workflow_factory())}


def run_client(arguments: argparse.Namespace, runs: WorkflowRuns) -> Any:
    if arguments.action == "start":
        return {"instanceId": runs.start(arguments.workflow, arguments.body)}
    if arguments.action == "status":
        return runs.status(arguments.instance_id)
    runs.respond(arguments.instance_id, arguments.request_id, arguments.answer)
    return {"instanceId": arguments.instance_id, "answered": arguments.request_id}


def main(argv: Sequence[str] | None = None) -> int:
    arguments = argument_parser().parse_args(argv)
    # A client command prints JSON on stdout; the libraries' progress lines would only be noise.
    level = logging.WARNING if arguments.command == "client" else logging.INFO
    logging.basicConfig(level=level, format="%(asctime)s %(name)s %(message)s")
    # The Azure SDK logs every Blob Storage request at INFO (the payload store's).
    logging.getLogger("azure").setLevel(logging.WARNING)
    try:
        connection = connection_from_environment()
        payload_storage = payload_storage_from_environment()
        if arguments.command == "client":
            try:
                pools = (
                    placed_pools(load_workflow_factory(arguments.workflows))
                    if arguments.action == "status"
                    else {}
                )
                runs = WorkflowRuns(connection, pools, payload_storage)
                result = run_client(arguments, runs)
            except grpc.RpcError as error:
                print(
                    f"worker.py: the {arguments.action} request to {connection.endpoint} "
                    f"failed: {error.code().name}: {error.details()} (is the scheduler or "
                    "the DTS emulator running there?)",
                    file=sys.stderr,
                )
                return 1
            print(json.dumps(result, indent=2))
        else:
            export_local_settings(os.environ, LOCAL_SETTINGS)
            workflows = load_workflow_factory(arguments.workflows)
            serve(connection, workflows, arguments.pool, payload_storage)
    except (SettingError, PlacementError, telemetry.TelemetrySettingError) as error:
        print(f"worker.py: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
