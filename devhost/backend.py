"""The Durable Task backend devhost runs on, and the payload limit it enforces.

durabletask's in-memory backend stores orchestrations, activities, timers, events and
entities and hands out work items over gRPC. devhost serves it on loopback only, with
message limits large enough for any history made of payloads the Durable Task Scheduler
accepts, and checks each payload against the scheduler's own limit so that an app which
works here does not fail there.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import grpc
from durabletask.testing import InMemoryOrchestrationBackend

from .upstream import pb, requeue_activity, serve_backend, stored_custom_status, wake_dispatcher

logger = logging.getLogger("devhost")

# The Durable Task Scheduler refuses a single payload (input, output, event data) above
# 1 MiB; its large-payload support, which moves bigger ones to Blob Storage, is not
# available to Python Functions apps.
PAYLOAD_LIMIT_BYTES = 1024 * 1024
# A work item carries a whole history; gRPC's default 4 MB would stall an instance whose
# history outgrows it. 256 MiB leaves room for hundreds of maximum-size payloads.
GRPC_MESSAGE_LIMIT_BYTES = 256 * 1024 * 1024
GRPC_OPTIONS = [
    ("grpc.max_send_message_length", GRPC_MESSAGE_LIMIT_BYTES),
    ("grpc.max_receive_message_length", GRPC_MESSAGE_LIMIT_BYTES),
]
# gRPC metadata key an instance sends with its work-item stream to name itself in the logs.
INSTANCE_METADATA_KEY = "devhost-instance"
# History events per instance; the in-memory backend's default is 10,000.
MAX_HISTORY_EVENTS = 100_000
_SERVER_THREADS = 32


class PayloadTooLargeError(Exception):
    """A payload is bigger than the Durable Task Scheduler accepts."""


def check_payload(what: str, encoded: str | None) -> None:
    """Raise `PayloadTooLargeError` naming the limit when `encoded` is over it."""
    if encoded is None:
        return
    size = len(encoded.encode("utf-8"))
    if size > PAYLOAD_LIMIT_BYTES:
        raise PayloadTooLargeError(
            f"{what} is {size:,} bytes; the Durable Task Scheduler accepts at most "
            f"{PAYLOAD_LIMIT_BYTES:,} bytes (1 MiB) per payload. Pass a reference "
            "(a blob URL or an id) instead of the data."
        )


def payload_problem(what: str, encoded: str | None) -> str | None:
    """The message `check_payload` would raise, or None when the payload fits."""
    try:
        check_payload(what, encoded)
    except PayloadTooLargeError as error:
        return str(error)
    return None


def work_item_kind(item: pb.WorkItem) -> str:
    if item.HasField("orchestratorRequest"):
        return "orchestrator"
    if item.HasField("activityRequest"):
        return "activity"
    return "entity"


def lease_key(item: pb.WorkItem) -> tuple[str, str, str]:
    """What identifies a streamed work item and the completion that answers it."""
    if item.HasField("orchestratorRequest"):
        return ("orchestrator", item.orchestratorRequest.instanceId, item.completionToken)
    if item.HasField("activityRequest"):
        request = item.activityRequest
        return ("activity", request.orchestrationInstance.instanceId, str(request.taskId))
    return ("entity", item.entityRequestV2.instanceId, item.completionToken)


def describe_work_item(item: pb.WorkItem) -> str:
    if item.HasField("orchestratorRequest"):
        return f"orchestration {item.orchestratorRequest.instanceId}"
    if item.HasField("activityRequest"):
        request = item.activityRequest
        return f"activity '{request.name}' of {request.orchestrationInstance.instanceId}"
    return f"entity {item.entityRequestV2.instanceId}"


@dataclass
class _Stream:
    """One instance's work-item stream: what waits to be sent and what it holds unanswered."""

    name: str
    outbox: queue.Queue[pb.WorkItem] = field(default_factory=queue.Queue)
    leases: dict[tuple[str, str, str], pb.WorkItem] = field(default_factory=dict)
    open: bool = True


class _AlwaysActive:
    """The call context the pump hands the in-memory backend's own work-item loop."""

    def __init__(self, stopped: threading.Event) -> None:
        self._stopped = stopped

    def is_active(self) -> bool:
        return not self._stopped.is_set()


class LoopbackBackend(InMemoryOrchestrationBackend):
    """durabletask's in-memory backend on a free loopback port, with three behaviours of DTS.

    Besides keeping custom status (below), it hands work out as the scheduler does to
    several workers: one pump takes each item from the in-memory queues and gives it to the
    connected instances in turn (one rotation per kind, so consecutive activities land on
    different instances), and it remembers which instance holds which item until that item
    is completed. When an instance's stream ends (the process died), everything it held goes
    back to the queue for another instance, as when a worker's lock lapses on the scheduler,
    and a late completion of such an item is ignored, so nothing runs to completion twice.
    """

    def __init__(self) -> None:
        super().__init__(max_history_size=MAX_HISTORY_EVENTS)
        self._streams: list[_Stream] = []
        self._streams_changed = threading.Condition()
        self._turns: dict[str, itertools.count[int]] = {}
        self._pump_stopped = threading.Event()
        self._pump: threading.Thread | None = None
        self.requeued: list[str] = []

    def start(self) -> str:
        address = serve_backend(self, GRPC_OPTIONS, _SERVER_THREADS)
        self._pump_stopped.clear()
        self._pump = threading.Thread(target=self._distribute, name="devhost-pump", daemon=True)
        self._pump.start()
        return address

    def stop_handing_out(self) -> None:
        """Hand out no more work and requeue nothing: the host is stopping."""
        self._pump_stopped.set()
        with self._streams_changed:
            self._streams_changed.notify_all()

    def stop(self, grace: float | None = None) -> None:
        self.stop_handing_out()
        super().stop(grace)

    def connected_instances(self) -> list[str]:
        with self._streams_changed:
            return [stream.name for stream in self._streams if stream.open]

    def _distribute(self) -> None:
        """Take work items from the in-memory queues and hand each to one instance."""
        context = _AlwaysActive(self._pump_stopped)
        while not self._pump_stopped.is_set():
            with self._streams_changed:
                while not self._pump_stopped.is_set() and not self._streams:
                    self._streams_changed.wait(timeout=0.1)
            if self._pump_stopped.is_set():
                return
            # The base loop yields work as it appears and stops when the context does.
            for item in super().GetWorkItems(pb.GetWorkItemsRequest(), context):
                self._hand_out(item)
                with self._streams_changed:
                    if not self._streams:
                        break

    def _hand_out(self, item: pb.WorkItem) -> None:
        with self._streams_changed:
            if self._streams:
                turn = next(self._turns.setdefault(work_item_kind(item), itertools.count()))
                stream = self._streams[turn % len(self._streams)]
                stream.leases[lease_key(item)] = item
                stream.outbox.put(item)
                return
        self._requeue([item])

    def GetWorkItems(
        self, request: pb.GetWorkItemsRequest, context: grpc.ServicerContext
    ) -> Iterator[pb.WorkItem]:
        metadata = dict(context.invocation_metadata() or ())
        stream = _Stream(name=str(metadata.get(INSTANCE_METADATA_KEY, "worker")))
        context.add_callback(lambda: self._drop(stream))
        with self._streams_changed:
            self._streams.append(stream)
            self._streams_changed.notify_all()
        try:
            while context.is_active() and not self._pump_stopped.is_set():
                try:
                    yield stream.outbox.get(timeout=0.1)
                except queue.Empty:
                    continue
        finally:
            self._drop(stream)

    def _drop(self, stream: _Stream) -> None:
        """The stream ended: every item it held and did not complete goes back to the queue."""
        with self._streams_changed:
            if not stream.open:
                return
            stream.open = False
            self._streams.remove(stream)
            held = list(stream.leases.values())
            stream.leases.clear()
            self._streams_changed.notify_all()
        if held and not self._pump_stopped.is_set():
            logger.warning(
                "%s lost its work-item stream; %d unfinished work item(s) go back to the queue: %s",
                stream.name,
                len(held),
                ", ".join(describe_work_item(item) for item in held),
            )
            self._requeue(held)

    def _requeue(self, items: list[pb.WorkItem]) -> None:
        for item in items:
            self.requeued.append(describe_work_item(item))
            if item.HasField("orchestratorRequest"):
                self.AbandonTaskOrchestratorWorkItem(
                    pb.AbandonOrchestrationTaskRequest(completionToken=item.completionToken),
                    None,
                )
            elif item.HasField("activityRequest"):
                requeue_activity(self, item.activityRequest, item.completionToken)
            else:
                self.AbandonTaskEntityWorkItem(
                    pb.AbandonEntityTaskRequest(completionToken=item.completionToken),
                    None,
                )

    def _release(self, key: tuple[str, str, str]) -> bool:
        """Whether a completion answers an item some instance still holds (and free it)."""
        with self._streams_changed:
            for stream in self._streams:
                if stream.leases.pop(key, None) is not None:
                    return True
        logger.warning(
            "Ignored a completion for %s %s: its work item had gone back to the queue", *key[:2]
        )
        return False

    def CompleteActivityTask(
        self, request: pb.ActivityResponse, context: grpc.ServicerContext
    ) -> pb.CompleteTaskResponse:
        if not self._release(("activity", request.instanceId, str(request.taskId))):
            return pb.CompleteTaskResponse()
        return super().CompleteActivityTask(request, context)

    def CompleteEntityTask(
        self, request: pb.EntityBatchResult, context: grpc.ServicerContext
    ) -> pb.CompleteTaskResponse:
        entity_id = self._leased_entity(request.completionToken)
        if entity_id is None or not self._release(("entity", entity_id, request.completionToken)):
            return pb.CompleteTaskResponse()
        return super().CompleteEntityTask(request, context)

    def _leased_entity(self, completion_token: str) -> str | None:
        with self._streams_changed:
            for stream in self._streams:
                for kind, instance_id, token in stream.leases:
                    if kind == "entity" and token == completion_token:
                        return instance_id
        logger.warning("Ignored an entity completion whose work item had gone back to the queue")
        return None

    def CompleteOrchestratorTask(
        self, request: pb.OrchestratorResponse, context: grpc.ServicerContext
    ) -> pb.CompleteTaskResponse:
        # The Durable Task Scheduler keeps an instance's custom status when a work item
        # reports none; the in-memory backend would clear it. Agent Framework workflows set
        # their status only on live (non-replayed) steps and rely on it being kept.
        if not self._release(("orchestrator", request.instanceId, request.completionToken)):
            return pb.CompleteTaskResponse()
        if not request.HasField("customStatus"):
            kept = stored_custom_status(self, request.instanceId)
            if kept:
                request.customStatus.value = kept
        try:
            return super().CompleteOrchestratorTask(request, context)
        finally:
            # Results that arrived while the orchestrator ran are waiting: dispatch them now,
            # not after the backend's 0.1 s poll (the fan-out stall).
            wake_dispatcher(self)
