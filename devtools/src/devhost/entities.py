"""Run entity functions with the azure-functions-durable entity engine.

An entity work item from the Durable Task backend is a batch of operation events plus
the entity's serialized state. The `DFApp` entity handle expects the Durable Functions
out-of-process entity context (`self`, `state`, `exists`, `batch`) and answers with
results, the new state and whether the entity still exists.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from google.protobuf import timestamp_pb2, wrappers_pb2

from .orchestrations import failure_details
from .upstream import decode_entity_batch, pb

EntityHandle = Callable[[Any], Any]


@dataclass(frozen=True)
class EntityOperation:
    request_id: str
    operation: str
    encoded_input: str | None
    caller_instance_id: str | None


def split_entity_id(instance_id: str) -> tuple[str, str]:
    """Split a scheduler id `@name@key` into its name and key."""
    _, name, key = instance_id.split("@", 2)
    return name, key


def operations_of(request: pb.EntityRequest) -> list[EntityOperation]:
    operations: list[EntityOperation] = []
    for event in request.operationRequests:
        if event.HasField("entityOperationCalled"):
            called = event.entityOperationCalled
            operations.append(
                EntityOperation(
                    request_id=called.requestId,
                    operation=called.operation,
                    encoded_input=called.input.value if called.HasField("input") else None,
                    caller_instance_id=called.parentInstanceId.value,
                )
            )
        elif event.HasField("entityOperationSignaled"):
            signaled = event.entityOperationSignaled
            operations.append(
                EntityOperation(
                    request_id=signaled.requestId,
                    operation=signaled.operation,
                    encoded_input=signaled.input.value if signaled.HasField("input") else None,
                    caller_instance_id=None,
                )
            )
    return operations


def build_entity_context(
    instance_id: str, state: str | None, operations: list[EntityOperation]
) -> str:
    """Build the JSON batch context the Durable Functions entity engine expects."""
    name, key = split_entity_id(instance_id)
    # The engine decodes an operation input twice (JSON text of the JSON payload).
    batch = [
        {"name": operation.operation, "input": json.dumps(operation.encoded_input or "null")}
        for operation in operations
    ]
    return json.dumps(
        {
            "self": {"name": name, "key": key},
            "state": state,
            "exists": state is not None,
            "batch": batch,
        }
    )


def _now() -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(datetime.now(UTC))
    return stamp


def _operation_result(result: dict[str, Any]) -> pb.OperationResult:
    encoded = result.get("result")
    if result.get("isError"):
        message = json.loads(encoded) if isinstance(encoded, str) else str(encoded)
        failure = pb.OperationResultFailure(
            failureDetails=failure_details("Exception", str(message)),
            startTimeUtc=_now(),
            endTimeUtc=_now(),
        )
        return pb.OperationResult(failure=failure)
    success = pb.OperationResultSuccess(
        result=wrappers_pb2.StringValue(value=encoded if isinstance(encoded, str) else "null"),
        startTimeUtc=_now(),
        endTimeUtc=_now(),
    )
    return pb.OperationResult(success=success)


def _operation_infos(operations: list[EntityOperation]) -> list[pb.OperationInfo]:
    infos: list[pb.OperationInfo] = []
    for operation in operations:
        destination = (
            pb.OrchestrationInstance(instanceId=operation.caller_instance_id)
            if operation.caller_instance_id
            else None
        )
        infos.append(
            pb.OperationInfo(requestId=operation.request_id, responseDestination=destination)
        )
    return infos


def run_entity_batch(handle: EntityHandle, request: pb.EntityRequest) -> pb.EntityBatchResult:
    """Execute one entity batch through the Durable Functions entity engine."""
    operations = operations_of(request)
    state = request.entityState.value if request.HasField("entityState") else None
    context_json = build_entity_context(request.instanceId, state, operations)
    trigger_input = decode_entity_batch(context_json)
    try:
        outcome = json.loads(handle(trigger_input))
    except Exception as error:  # the whole batch failed; the state stays as it was
        failure = pb.OperationResultFailure(
            failureDetails=failure_details(type(error).__name__, str(error))
        )
        return pb.EntityBatchResult(
            results=[pb.OperationResult(failure=failure) for _ in operations],
            entityState=wrappers_pb2.StringValue(value=state) if state is not None else None,
            operationInfos=_operation_infos(operations),
        )
    new_state = outcome.get("entityState") if outcome.get("entityExists") else None
    return pb.EntityBatchResult(
        results=[_operation_result(result) for result in outcome.get("results", [])],
        entityState=wrappers_pb2.StringValue(value=new_state) if new_state is not None else None,
        operationInfos=_operation_infos(operations),
    )
