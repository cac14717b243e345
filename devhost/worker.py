"""Pull work items from the Durable Task backend and run the app's durable functions."""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast

import durabletask.internal.orchestrator_service_pb2 as pb
import durabletask.internal.orchestrator_service_pb2_grpc as stubs
import grpc
from azure.functions import meta
from azure.functions.durable_functions import ActivityTriggerConverter
from google.protobuf import wrappers_pb2

from .entities import run_entity_batch, split_entity_id
from .indexing import FunctionIndex, IndexedFunction
from .invocation import InvocationLog, call_async, call_sync
from .orchestrations import OrchestratorHandle, failure_details, run_orchestrator

logger = logging.getLogger("devhost")


class DurableWorker:
    """Runs orchestrators, activities and entities for one indexed app."""

    def __init__(
        self,
        index: FunctionIndex,
        backend_address: str,
        loop: asyncio.AbstractEventLoop,
        log: InvocationLog,
        max_concurrency: int = 16,
    ) -> None:
        self._index = index
        self._loop = loop
        self._log = log
        self._channel = grpc.insecure_channel(backend_address)
        self._stub = stubs.TaskHubSidecarServiceStub(self._channel)  # type: ignore[no-untyped-call]
        self._pool = ThreadPoolExecutor(max_concurrency, thread_name_prefix="devhost-durable")
        self._stream: Any = None
        self._stopping = threading.Event()
        self._thread = threading.Thread(
            target=self._receive, name="devhost-work-items", daemon=True
        )
        self._parents: dict[str, str] = {}
        self._retry_ids: dict[str, frozenset[int]] = {}
        self._instances_lock = threading.Lock()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._stream is not None:
            self._stream.cancel()
        self._thread.join(timeout=5)
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._channel.close()

    def _receive(self) -> None:
        while not self._stopping.is_set():
            try:
                self._stream = self._stub.GetWorkItems(pb.GetWorkItemsRequest())
                for item in self._stream:
                    self._pool.submit(self._dispatch, item)
                time.sleep(0.5)
            except grpc.RpcError as error:
                if self._stopping.is_set() or error.code() == grpc.StatusCode.CANCELLED:
                    return
                logger.warning("Lost the work-item stream (%s); reconnecting", error.code())
                time.sleep(0.5)

    def _dispatch(self, item: pb.WorkItem) -> None:
        try:
            if item.HasField("orchestratorRequest"):
                self._run_orchestrator(item.orchestratorRequest, item.completionToken)
            elif item.HasField("activityRequest"):
                self._run_activity(item.activityRequest, item.completionToken)
            elif item.HasField("entityRequestV2"):
                self._run_entity(item.entityRequestV2, item.completionToken)
        except Exception:  # keep the loop alive; the backend re-dispatches abandoned items
            logger.exception("devhost failed to process a work item")

    def _orchestration_name(self, request: pb.OrchestratorRequest) -> str:
        for event in (*request.pastEvents, *request.newEvents):
            if event.HasField("executionStarted"):
                return str(event.executionStarted.name)
        return ""

    def _run_orchestrator(self, request: pb.OrchestratorRequest, token: str) -> None:
        name = self._orchestration_name(request)
        function = self._index.orchestrator(name)
        started = time.perf_counter()
        if function is None:
            message = (
                f"The function '{name}' doesn't exist, is disabled, "
                "or is not an orchestrator function."
            )
            failure = failure_details("FunctionNotFound", message)
            complete = pb.CompleteOrchestrationAction(
                orchestrationStatus=pb.ORCHESTRATION_STATUS_FAILED, failureDetails=failure
            )
            actions = [pb.OrchestratorAction(id=-1, completeOrchestration=complete)]
            custom_status = None
            outcome_status = "Failed"
        else:
            with self._instances_lock:
                parent = self._parents.get(request.instanceId)
                retry_ids = self._retry_ids.pop(request.instanceId, frozenset())
            # DFApp registers every orchestrator through `Orchestrator.create`.
            handle = cast(OrchestratorHandle, function.user_function)
            outcome = run_orchestrator(handle, request, parent, retry_ids)
            if outcome.retry_ids:
                with self._instances_lock:
                    self._retry_ids[request.instanceId] = outcome.retry_ids
            actions = outcome.actions
            custom_status = outcome.custom_status
            outcome_status = outcome.status
            self._remember_children(request.instanceId, actions)
        self._log.durable(
            "Orchestrator",
            function.name if function else name,
            request.instanceId,
            outcome_status,
            started,
        )
        self._stub.CompleteOrchestratorTask(
            pb.OrchestratorResponse(
                instanceId=request.instanceId,
                actions=actions,
                customStatus=None
                if custom_status is None
                else wrappers_pb2.StringValue(value=custom_status),
                completionToken=token,
            )
        )

    def _remember_children(self, instance_id: str, actions: list[pb.OrchestratorAction]) -> None:
        with self._instances_lock:
            for action in actions:
                if action.HasField("createSubOrchestration"):
                    self._parents[action.createSubOrchestration.instanceId] = instance_id

    def _run_activity(self, request: pb.ActivityRequest, token: str) -> None:
        instance_id = request.orchestrationInstance.instanceId
        function = self._index.activity(request.name)
        started = time.perf_counter()
        response = pb.ActivityResponse(
            instanceId=instance_id, taskId=request.taskId, completionToken=token
        )
        try:
            if function is None:
                raise LookupError(
                    f"The function '{request.name}' doesn't exist or is not an activity."
                )
            encoded = request.input.value if request.HasField("input") else "null"
            result = self._call(function, meta.Datum(type="json", value=encoded))
            output = ActivityTriggerConverter.encode(result, expected_type=None).value
            response.result.CopyFrom(wrappers_pb2.StringValue(value=output))
            status = "Succeeded"
        except Exception as error:  # the orchestrator sees the activity as failed
            details = failure_details(type(error).__name__, str(error), traceback.format_exc())
            response.failureDetails.CopyFrom(details)
            status = "Failed"
            logger.error("Activity '%s' failed", request.name, exc_info=True)
        self._log.durable("Activity", request.name, instance_id, status, started)
        self._stub.CompleteActivityTask(response)

    def _call(self, function: IndexedFunction, trigger_data: meta.Datum) -> Any:
        value = ActivityTriggerConverter.decode(trigger_data, trigger_metadata=None)
        arguments = {str(function.trigger["name"]): value}
        return self._run_user_code(function.user_function, arguments, function.name)

    def _run_user_code(
        self, user_function: Callable[..., Any], arguments: dict[str, Any], name: str
    ) -> Any:
        if inspect.iscoroutinefunction(user_function):
            # The Python worker awaits async functions on its one event loop.
            coroutine = call_async(user_function, arguments, name)
            return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()
        return call_sync(user_function, arguments, name)

    def _run_entity(self, request: pb.EntityRequest, token: str) -> None:
        entity_name, _ = split_entity_id(request.instanceId)
        function = self._index.entity(entity_name)
        started = time.perf_counter()
        if function is None:
            result = pb.EntityBatchResult(
                results=[
                    pb.OperationResult(
                        failure=pb.OperationResultFailure(
                            failureDetails=failure_details(
                                "FunctionNotFound", f"No entity function named '{entity_name}'."
                            )
                        )
                    )
                    for _ in request.operationRequests
                ],
                entityState=request.entityState if request.HasField("entityState") else None,
            )
            status = "Failed"
        else:
            result = run_entity_batch(function.user_function, request)
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
        self._stub.CompleteEntityTask(result)
