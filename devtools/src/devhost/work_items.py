"""Take work items from the Durable Task backend and hand each to the code that runs it.

An instance process takes its work over gRPC: the work-item stream and the completions run
on its loop over grpc.aio, so waiting on the backend holds no thread. The host's own
dispatcher (one instance) shares the process with the backend and takes the same work
in-process (`LoopbackBackend.connect`), with no serializing or loopback round trip per work
item. Orchestrator replays and entity batches (synchronous engine code) run on a small pool
of their own; activities run as user code does.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol, cast

import grpc

from .activities import ActivityRunner
from .backend import GRPC_OPTIONS, INSTANCE_METADATA_KEY, LoopbackBackend, call_in_process
from .entities import run_entity_batch, split_entity_id
from .indexing import FunctionIndex, IndexedFunction
from .invocation import InvocationLog, UserCode
from .orchestrations import (
    OrchestrationTranslator,
    failure_details,
    not_found,
    orchestration_name,
)
from .tracing import entity_spans, orchestration_context, record_failure, stamp_actions
from .upstream import OrchestratorHandle, pb, stubs

logger = logging.getLogger("devhost")
_ENGINE_THREADS = 8
_RECONNECT_SECONDS = 0.5


def is_disabled(function: IndexedFunction, environ: Mapping[str, str]) -> bool:
    """Whether the app setting ``AzureWebJobs.<name>.Disabled`` disables the function."""
    value = environ.get(f"AzureWebJobs.{function.name}.Disabled", "")
    return value.strip().lower() in ("true", "1")


def _distinct(functions: Mapping[str, IndexedFunction]) -> list[IndexedFunction]:
    """Each function once (the index keys a function under each of its names)."""
    return list({id(function): function for function in functions.values()}.values())


def work_item_filters(
    index: FunctionIndex, environ: Mapping[str, str]
) -> pb.WorkItemFilters | None:
    """The work item filters of an app whose settings disable activities, else None.

    A Functions host with work item filtering on sends the scheduler the orchestrations,
    activities and entities it hosts, leaving out disabled activities (Durable Functions
    extension 3.18.0 and later): their work waits for another worker, such as a worker
    pool's ``python worker.py --pool NAME``. With no activity disabled, devhost sends no
    filters and takes every work item, as before.
    """
    activities = _distinct(index.activities)
    if not any(is_disabled(function, environ) for function in activities):
        return None
    filters = pb.WorkItemFilters()
    for function in _distinct(index.orchestrators):
        for name in {function.name, function.trigger.get("orchestration") or function.name}:
            filters.orchestrations.append(pb.OrchestrationFilter(name=name))
    for function in activities:
        if is_disabled(function, environ):
            continue
        for name in {function.name, function.trigger.get("activity") or function.name}:
            filters.activities.append(pb.ActivityFilter(name=name))
    for function in _distinct(index.entities):
        name = str(function.trigger.get("entityName") or function.name)
        filters.entities.append(pb.EntityFilter(name=name.lower()))
    return filters


def disabled_activities(index: FunctionIndex, environ: Mapping[str, str]) -> list[str]:
    """The activities the app's settings disable, sorted."""
    return sorted(
        function.name for function in _distinct(index.activities) if is_disabled(function, environ)
    )


class _Completions(Protocol):
    """Where a dispatcher sends the answer to each work item."""

    async def orchestrator(self, response: pb.OrchestratorResponse) -> None: ...

    async def activity(self, response: pb.ActivityResponse) -> None: ...

    async def entity(self, result: pb.EntityBatchResult) -> None: ...


class _GrpcCompletions:
    def __init__(self, stub: stubs.TaskHubSidecarServiceStub) -> None:
        self._stub = stub

    async def orchestrator(self, response: pb.OrchestratorResponse) -> None:
        await self._stub.CompleteOrchestratorTask(response)

    async def activity(self, response: pb.ActivityResponse) -> None:
        await self._stub.CompleteActivityTask(response)

    async def entity(self, result: pb.EntityBatchResult) -> None:
        await self._stub.CompleteEntityTask(result)


class _InProcessCompletions:
    """Completions called on the backend directly (each is a short critical section)."""

    def __init__(self, backend: LoopbackBackend) -> None:
        self._backend = backend

    async def orchestrator(self, response: pb.OrchestratorResponse) -> None:
        call_in_process(self._backend.CompleteOrchestratorTask, response)

    async def activity(self, response: pb.ActivityResponse) -> None:
        call_in_process(self._backend.CompleteActivityTask, response)

    async def entity(self, result: pb.EntityBatchResult) -> None:
        call_in_process(self._backend.CompleteEntityTask, result)


class WorkItemDispatcher:
    """Runs the orchestrators, activities and entities of one indexed app.

    `backend` is the backend's gRPC address, or the backend itself when it lives in this
    process.
    """

    def __init__(
        self,
        index: FunctionIndex,
        backend: str | LoopbackBackend,
        user_code: UserCode,
        log: InvocationLog,
        instance: str = "instance 1",
    ) -> None:
        self._index = index
        self._instance = instance
        self._backend = backend
        self._log = log
        self._engine_pool = ThreadPoolExecutor(_ENGINE_THREADS, thread_name_prefix="devhost-engine")
        self._translator = OrchestrationTranslator()
        self._activities = ActivityRunner(index, user_code, log)
        self._in_flight: set[asyncio.Task[None]] = set()
        self._channel: grpc.aio.Channel | None = None
        # Ends the in-process stream; the loop must not get work items after it closes.
        self._disconnect: Callable[[], None] = lambda: None
        self._closed = False
        # Read once, as the Functions host reads its settings at start-up.
        self._filters = work_item_filters(index, os.environ)

    async def run(self) -> None:
        """Receive work items until cancelled."""
        if isinstance(self._backend, LoopbackBackend):
            await self._run_in_process(self._backend)
        else:
            await self._run_over_grpc(self._backend)

    async def _run_in_process(self, backend: LoopbackBackend) -> None:
        loop = asyncio.get_running_loop()
        completions = _InProcessCompletions(backend)

        def deliver(item: pb.WorkItem) -> None:
            loop.call_soon_threadsafe(self._start, completions, item)

        self._disconnect = backend.connect(self._instance, deliver, self._filters)
        try:
            await loop.create_future()
        finally:
            self._disconnect()

    async def _run_over_grpc(self, address: str) -> None:
        """Receive work items over gRPC, reconnecting if the stream breaks."""
        self._channel = grpc.aio.insecure_channel(address, options=GRPC_OPTIONS)
        stub = stubs.TaskHubSidecarServiceStub(self._channel)  # type: ignore[no-untyped-call]
        completions = _GrpcCompletions(stub)
        while True:
            try:
                request = pb.GetWorkItemsRequest()
                if self._filters is not None:
                    request.workItemFilters.CopyFrom(self._filters)
                stream = stub.GetWorkItems(
                    request, metadata=((INSTANCE_METADATA_KEY, self._instance),)
                )
                async for item in stream:
                    self._start(completions, item)
            except grpc.aio.AioRpcError as error:
                if error.code() == grpc.StatusCode.CANCELLED:
                    return
                logger.warning(
                    "Lost the work-item stream (%s: %s); reconnecting",
                    error.code().name,
                    error.details(),
                )
            await asyncio.sleep(_RECONNECT_SECONDS)

    def _start(self, completions: _Completions, item: pb.WorkItem) -> None:
        if self._closed:  # handed over just before the stream ended; the backend requeued it
            return
        task = asyncio.create_task(self._dispatch(completions, item))
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)

    async def close(self) -> None:
        """Drop work in progress (the backend is going away with it) and the channel."""
        self._closed = True
        self._disconnect()
        for task in list(self._in_flight):
            task.cancel()
        if self._channel is not None:
            await self._channel.close(grace=None)
        self._engine_pool.shutdown(wait=False, cancel_futures=True)

    async def _dispatch(self, completions: _Completions, item: pb.WorkItem) -> None:
        loop = asyncio.get_running_loop()
        token = item.completionToken
        try:
            if item.HasField("orchestratorRequest"):
                request = item.orchestratorRequest
                response = await loop.run_in_executor(
                    self._engine_pool, self._orchestrate, request, token
                )
                await completions.orchestrator(response)
            elif item.HasField("activityRequest"):
                await completions.activity(await self._activities.run(item.activityRequest, token))
            elif item.HasField("entityRequestV2"):
                result = await loop.run_in_executor(
                    self._engine_pool, self._run_entity, item.entityRequestV2, token
                )
                await completions.entity(result)
        except asyncio.CancelledError:
            raise
        except Exception:  # keep receiving; the backend re-dispatches abandoned items
            logger.exception("devhost failed to process a work item")

    def _orchestrate(self, request: pb.OrchestratorRequest, token: str) -> pb.OrchestratorResponse:
        name = orchestration_name(request)
        function = self._index.orchestrator(name)
        started = time.perf_counter()
        if function is None:
            outcome = not_found(name)
        else:
            # DFApp registers every orchestrator through `Orchestrator.create`.
            outcome = self._translator.run(
                cast(OrchestratorHandle, function.user_function), request
            )
        self._log.durable(
            "Orchestrator",
            function.name if function else name,
            request.instanceId,
            outcome.status,
            started,
        )
        stamp_actions(outcome.actions, orchestration_context(request))
        response = pb.OrchestratorResponse(
            instanceId=request.instanceId, actions=outcome.actions, completionToken=token
        )
        if outcome.custom_status is not None:
            response.customStatus.value = outcome.custom_status
        return response

    def _run_entity(self, request: pb.EntityRequest, token: str) -> pb.EntityBatchResult:
        entity_name, _ = split_entity_id(request.instanceId)
        function = self._index.entity(entity_name)
        started = time.perf_counter()
        if function is None:
            failure = pb.OperationResultFailure(
                failureDetails=failure_details(
                    "FunctionNotFound", f"No entity function named '{entity_name}'."
                )
            )
            result = pb.EntityBatchResult(
                results=[pb.OperationResult(failure=failure) for _ in request.operationRequests],
                entityState=request.entityState if request.HasField("entityState") else None,
            )
            status = "Failed"
        else:
            with entity_spans(request, entity_name) as spans:
                result = run_entity_batch(function.user_function, request)
                for span, outcome in zip(spans, result.results, strict=False):
                    if outcome.HasField("failure"):
                        record_failure(span, outcome.failure.failureDetails.errorMessage)
            failed = any(item.HasField("failure") for item in result.results)
            status = "Failed" if failed else "Succeeded"
        result.completionToken = token
        self._log.durable(
            "Entity",
            function.name if function else entity_name,
            request.instanceId,
            status,
            started,
        )
        return result
