"""The Durable Task backend devhost runs on, and the payload limit it enforces.

durabletask's in-memory backend stores orchestrations, activities, timers, events and
entities and hands out work items over gRPC. devhost serves it on loopback only, with
message limits large enough for any history made of payloads the Durable Task Scheduler
accepts, and checks each payload against the scheduler's own limit so that an app which
works here does not fail there.
"""

from __future__ import annotations

import grpc
from durabletask.testing import InMemoryOrchestrationBackend

from .upstream import pb, serve_backend, stored_custom_status, wake_dispatcher

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


class LoopbackBackend(InMemoryOrchestrationBackend):
    """durabletask's in-memory backend on a free loopback port, with two behaviours of DTS."""

    def __init__(self) -> None:
        super().__init__(max_history_size=MAX_HISTORY_EVENTS)

    def start(self) -> str:
        return serve_backend(self, GRPC_OPTIONS, _SERVER_THREADS)

    def CompleteOrchestratorTask(
        self, request: pb.OrchestratorResponse, context: grpc.ServicerContext
    ) -> pb.CompleteTaskResponse:
        # The Durable Task Scheduler keeps an instance's custom status when a work item
        # reports none; the in-memory backend would clear it. Agent Framework workflows set
        # their status only on live (non-replayed) steps and rely on it being kept.
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
