"""The Durable Functions HTTP management API, served over the in-memory Durable Task backend.

azure-functions-durable's client (the `durableClient` binding) and the URLs returned by
`create_check_status_response` call `/runtime/webhooks/durabletask/...`. Each request is
mapped onto a Durable Task gRPC call against the backend.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import quote

import durabletask.internal.orchestrator_service_pb2 as pb
import durabletask.internal.orchestrator_service_pb2_grpc as stubs
import grpc
from aiohttp import web
from google.protobuf import timestamp_pb2, wrappers_pb2

from .indexing import FunctionIndex
from .orchestrations import timestamp_from_text

WEBHOOK_PATH = "/runtime/webhooks/durabletask"
INSTANCE_PLACEHOLDER = "INSTANCEID"

RUNTIME_STATUS_NAMES = {
    pb.ORCHESTRATION_STATUS_RUNNING: "Running",
    pb.ORCHESTRATION_STATUS_COMPLETED: "Completed",
    pb.ORCHESTRATION_STATUS_CONTINUED_AS_NEW: "ContinuedAsNew",
    pb.ORCHESTRATION_STATUS_FAILED: "Failed",
    pb.ORCHESTRATION_STATUS_CANCELED: "Canceled",
    pb.ORCHESTRATION_STATUS_TERMINATED: "Terminated",
    pb.ORCHESTRATION_STATUS_PENDING: "Pending",
    pb.ORCHESTRATION_STATUS_SUSPENDED: "Suspended",
}
_STATUS_BY_NAME = {name.casefold(): value for value, name in RUNTIME_STATUS_NAMES.items()}
_TERMINAL = {
    pb.ORCHESTRATION_STATUS_COMPLETED,
    pb.ORCHESTRATION_STATUS_FAILED,
    pb.ORCHESTRATION_STATUS_TERMINATED,
    pb.ORCHESTRATION_STATUS_CANCELED,
}
_IN_PROGRESS = {
    pb.ORCHESTRATION_STATUS_RUNNING,
    pb.ORCHESTRATION_STATUS_PENDING,
    pb.ORCHESTRATION_STATUS_CONTINUED_AS_NEW,
}

T = TypeVar("T")
Handler = Callable[[web.Request, dict[str, str]], Awaitable[web.StreamResponse]]


def encode_start_payload(body: str) -> str | None:
    """JSON text of an HTTP payload as the Functions host hands it to the durable engine.

    The Python client sends `json.dumps(df_dumps(value))`: a JSON string whose content is
    the JSON of the value. The host passes that inner JSON on, so it is unwrapped once;
    a plain JSON body (curl) is taken as is; non-JSON text becomes a JSON string.
    """
    if not body.strip():
        return None
    try:
        token = json.loads(body)
    except ValueError:
        return json.dumps(body)
    if isinstance(token, str):
        try:
            json.loads(token)
        except ValueError:
            return body
        return token
    return body


def encode_event_payload(body: str) -> str | None:
    """JSON text of a raised event: the body as sent, as the Functions host keeps it."""
    if not body.strip():
        return None
    try:
        json.loads(body)
    except ValueError:
        return json.dumps(body)
    return body


def _decode(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _iso(stamp: timestamp_pb2.Timestamp) -> str:
    moment: datetime = stamp.ToDatetime(tzinfo=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def status_body(state: pb.OrchestrationState, show_input: bool = True) -> dict[str, Any]:
    """The status JSON of the Durable Functions HTTP API for one instance."""
    output = _decode(state.output.value) if state.HasField("output") else None
    if state.orchestrationStatus == pb.ORCHESTRATION_STATUS_FAILED and state.HasField(
        "failureDetails"
    ):
        output = f"Orchestrator function '{state.name}' failed: {state.failureDetails.errorMessage}"
    body: dict[str, Any] = {
        "name": state.name,
        "instanceId": state.instanceId,
        "runtimeStatus": RUNTIME_STATUS_NAMES.get(state.orchestrationStatus, "Unknown"),
        "input": _decode(state.input.value) if show_input and state.HasField("input") else None,
        "customStatus": _decode(state.customStatus.value)
        if state.HasField("customStatus")
        else None,
        "output": output,
        "createdTime": _iso(state.createdTimestamp),
        "lastUpdatedTime": _iso(state.lastUpdatedTimestamp),
    }
    return body


def _json(payload: Any, status: int, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        text=json.dumps(payload), status=status, content_type="application/json", headers=headers
    )


def _flag(request: web.Request, name: str, default: bool) -> bool:
    value = request.query.get(name)
    return default if value is None else value.strip().lower() == "true"


class ManagementApi:
    """Serves the durable management endpoints for one task hub."""

    def __init__(
        self, index: FunctionIndex, backend_address: str, task_hub: str, connection_name: str
    ) -> None:
        self._index = index
        self._channel = grpc.insecure_channel(backend_address)
        self._stub = stubs.TaskHubSidecarServiceStub(self._channel)  # type: ignore[no-untyped-call]
        self.task_hub = task_hub
        self.connection_name = connection_name
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = [
            ("POST", re.compile(r"orchestrators/(?P<name>[^/]+)(?:/(?P<id>[^/]+))?"), self._start),
            ("GET", re.compile(r"instances/?"), self._list),
            ("DELETE", re.compile(r"instances/?"), self._purge_many),
            ("GET", re.compile(r"instances/(?P<id>[^/]+)"), self._status),
            ("DELETE", re.compile(r"instances/(?P<id>[^/]+)"), self._purge),
            (
                "POST",
                re.compile(r"instances/(?P<id>[^/]+)/raiseEvent/(?P<event>[^/]+)"),
                self._raise,
            ),
            ("POST", re.compile(r"instances/(?P<id>[^/]+)/terminate"), self._terminate),
            ("POST", re.compile(r"instances/(?P<id>[^/]+)/suspend"), self._suspend),
            ("POST", re.compile(r"instances/(?P<id>[^/]+)/resume"), self._resume),
            ("POST", re.compile(r"instances/(?P<id>[^/]+)/restart"), self._restart),
            ("GET", re.compile(r"entities/(?P<name>[^/]+)/(?P<key>[^/]+)"), self._read_entity),
            ("POST", re.compile(r"entities/(?P<name>[^/]+)/(?P<key>[^/]+)"), self._signal_entity),
        ]

    def close(self) -> None:
        self._channel.close()

    # -- binding ---------------------------------------------------------------------

    def _query(self) -> str:
        return f"taskHub={quote(self.task_hub)}&connection={quote(self.connection_name)}"

    def management_urls(self, origin: str) -> dict[str, str]:
        instance = f"{origin}{WEBHOOK_PATH}/instances/{INSTANCE_PLACEHOLDER}"
        query = self._query()
        return {
            "id": INSTANCE_PLACEHOLDER,
            "purgeHistoryDeleteUri": f"{instance}?{query}",
            "restartPostUri": f"{instance}/restart?{query}",
            "resumePostUri": f"{instance}/resume?reason={{text}}&{query}",
            "rewindPostUri": f"{instance}/rewind?reason={{text}}&{query}",
            "sendEventPostUri": f"{instance}/raiseEvent/{{eventName}}?{query}",
            "statusQueryGetUri": f"{instance}?{query}",
            "suspendPostUri": f"{instance}/suspend?reason={{text}}&{query}",
            "terminatePostUri": f"{instance}/terminate?reason={{text}}&{query}",
        }

    def check_status_payload(self, origin: str, instance_id: str) -> dict[str, str]:
        return {
            key: value.replace(INSTANCE_PLACEHOLDER, instance_id)
            for key, value in self.management_urls(origin).items()
        }

    def client_binding(self, origin: str, rpc_origin: str) -> str:
        """The `durableClient` binding value the Functions host gives a function."""
        base = f"{origin}{WEBHOOK_PATH}"
        query = self._query()
        create = f"{base}/orchestrators/{{functionName}}[/{{instanceId}}]"
        return json.dumps(
            {
                "taskHubName": self.task_hub,
                "creationUrls": {
                    "createNewInstancePostUri": f"{create}?{query}",
                    "createAndWaitOnNewInstancePostUri": (
                        f"{base}/orchestrators/{{functionName}}[/{{instanceId}}]"
                        f"?timeout={{timeoutInSeconds}}&pollingInterval={{intervalInSeconds}}&{query}"
                    ),
                },
                "managementUrls": self.management_urls(origin),
                "baseUrl": base,
                "requiredQueryStringParameters": query,
                "rpcBaseUrl": f"{rpc_origin}{WEBHOOK_PATH}/",
                "httpBaseUrl": "",
                "maxGrpcMessageSizeInBytes": 0,
                "grpcHttpClientTimeout": "00:01:40",
            }
        )

    # -- dispatch --------------------------------------------------------------------

    async def handle(self, request: web.Request, subpath: str) -> web.StreamResponse:
        allowed = False
        for method, pattern, handler in self._routes:
            found = pattern.fullmatch(subpath)
            if found is None:
                continue
            allowed = True
            if method == request.method:
                params = {key: value for key, value in found.groupdict().items() if value}
                return await handler(request, params)
        if allowed:
            return _json({"Message": "Method not allowed"}, 405)
        return _json({"Message": f"Not supported by devhost: {request.method} {subpath}"}, 404)

    async def _call(self, method: Callable[[Any], T], message: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(None, method, message)

    async def _state(self, instance_id: str) -> pb.OrchestrationState | None:
        request = pb.GetInstanceRequest(instanceId=instance_id, getInputsAndOutputs=True)
        response = await self._call(self._stub.GetInstance, request)
        return response.orchestrationState if response.exists else None

    # -- orchestrations --------------------------------------------------------------

    async def _start(self, request: web.Request, params: dict[str, str]) -> web.StreamResponse:
        function = self._index.orchestrator(params["name"])
        if function is None:
            message = (
                f"The function '{params['name']}' doesn't exist, is disabled, "
                "or is not an orchestrator function."
            )
            return _json({"Message": message, "ExceptionMessage": message}, 400)
        instance_id = params.get("id") or uuid.uuid4().hex
        encoded = encode_start_payload(await request.text())
        replaceable = [
            pb.OrchestrationStatus.Value(status)
            for status in (
                "ORCHESTRATION_STATUS_COMPLETED",
                "ORCHESTRATION_STATUS_FAILED",
                "ORCHESTRATION_STATUS_TERMINATED",
                "ORCHESTRATION_STATUS_CANCELED",
            )
        ]
        create = pb.CreateInstanceRequest(
            instanceId=instance_id,
            name=function.name,
            input=None if encoded is None else wrappers_pb2.StringValue(value=encoded),
            orchestrationIdReusePolicy=pb.OrchestrationIdReusePolicy(replaceableStatus=replaceable),
        )
        try:
            await self._call(self._stub.StartInstance, create)
        except grpc.RpcError as error:
            if error.code() == grpc.StatusCode.ALREADY_EXISTS:
                message = f"An orchestration with instance ID '{instance_id}' is already running."
                return _json({"Message": message, "ExceptionMessage": message}, 409)
            raise
        payload = self.check_status_payload(_origin(request), instance_id)
        headers = {"Location": payload["statusQueryGetUri"], "Retry-After": "10"}
        return _json(payload, 202, headers)

    async def _status(self, request: web.Request, params: dict[str, str]) -> web.StreamResponse:
        state = await self._state(params["id"])
        if state is None:
            return _json(None, 404)
        body = status_body(state, show_input=_flag(request, "showInput", True))
        if state.orchestrationStatus in _IN_PROGRESS:
            location = self.check_status_payload(_origin(request), state.instanceId)[
                "statusQueryGetUri"
            ]
            return _json(body, 202, {"Location": location, "Retry-After": "10"})
        failed = state.orchestrationStatus == pb.ORCHESTRATION_STATUS_FAILED
        if failed and _flag(request, "returnInternalServerErrorOnFailure", False):
            return _json(body, 500)
        return _json(body, 200)

    async def _list(self, request: web.Request, params: dict[str, str]) -> web.StreamResponse:
        query = pb.InstanceQuery(fetchInputsAndOutputs=_flag(request, "showInput", False))
        statuses = request.query.get("runtimeStatus")
        if statuses:
            query.runtimeStatus.extend(
                _STATUS_BY_NAME[name.strip().casefold()] for name in statuses.split(",")
            )
        if "createdTimeFrom" in request.query:
            query.createdTimeFrom.CopyFrom(timestamp_from_text(request.query["createdTimeFrom"]))
        if "createdTimeTo" in request.query:
            query.createdTimeTo.CopyFrom(timestamp_from_text(request.query["createdTimeTo"]))
        if "instanceIdPrefix" in request.query:
            query.instanceIdPrefix.value = request.query["instanceIdPrefix"]
        states: list[dict[str, Any]] = []
        continuation: str | None = None
        while True:
            if continuation:
                query.continuationToken.value = continuation
            response = await self._call(
                self._stub.QueryInstances, pb.QueryInstancesRequest(query=query)
            )
            states.extend(
                status_body(state, query.fetchInputsAndOutputs)
                for state in response.orchestrationState
            )
            continuation = (
                response.continuationToken.value if response.HasField("continuationToken") else None
            )
            if not continuation:
                return _json(states, 200)

    async def _raise(self, request: web.Request, params: dict[str, str]) -> web.StreamResponse:
        state = await self._state(params["id"])
        if state is None:
            return _json(f"No instance with ID '{params['id']}' found.", 404)
        if state.orchestrationStatus in _TERMINAL:
            return _json(f"Instance '{params['id']}' is gone: it completed or failed.", 410)
        encoded = encode_event_payload(await request.text())
        raise_request = pb.RaiseEventRequest(
            instanceId=params["id"],
            name=params["event"],
            input=None if encoded is None else wrappers_pb2.StringValue(value=encoded),
        )
        await self._call(self._stub.RaiseEvent, raise_request)
        return web.Response(status=202)

    async def _terminate(self, request: web.Request, params: dict[str, str]) -> web.StreamResponse:
        state = await self._state(params["id"])
        if state is None:
            return _json(f"No instance with ID '{params['id']}' found.", 404)
        if state.orchestrationStatus in _TERMINAL:
            return web.Response(status=410)
        reason = request.query.get("reason", "")
        terminate = pb.TerminateRequest(
            instanceId=params["id"], output=wrappers_pb2.StringValue(value=json.dumps(reason))
        )
        await self._call(self._stub.TerminateInstance, terminate)
        return web.Response(status=202)

    async def _suspend(self, request: web.Request, params: dict[str, str]) -> web.StreamResponse:
        return await self._pause_or_resume(
            request, params["id"], self._stub.SuspendInstance, pb.SuspendRequest
        )

    async def _resume(self, request: web.Request, params: dict[str, str]) -> web.StreamResponse:
        return await self._pause_or_resume(
            request, params["id"], self._stub.ResumeInstance, pb.ResumeRequest
        )

    async def _pause_or_resume(
        self, request: web.Request, instance_id: str, rpc: Any, message: Any
    ) -> web.StreamResponse:
        state = await self._state(instance_id)
        if state is None:
            return _json(f"No instance with ID '{instance_id}' found.", 404)
        if state.orchestrationStatus in _TERMINAL:
            return web.Response(status=410)
        reason = wrappers_pb2.StringValue(value=request.query.get("reason", ""))
        await self._call(rpc, message(instanceId=instance_id, reason=reason))
        return web.Response(status=202)

    async def _restart(self, request: web.Request, params: dict[str, str]) -> web.StreamResponse:
        state = await self._state(params["id"])
        if state is None:
            return _json(f"No instance with ID '{params['id']}' found.", 404)
        if state.orchestrationStatus not in _TERMINAL:
            return _json(f"Instance '{params['id']}' is still running.", 410)
        restart = pb.RestartInstanceRequest(
            instanceId=params["id"],
            restartWithNewInstanceId=_flag(request, "restartWithNewInstanceId", True),
        )
        response = await self._call(self._stub.RestartInstance, restart)
        return _json(self.check_status_payload(_origin(request), response.instanceId), 202)

    async def _purge(self, request: web.Request, params: dict[str, str]) -> web.StreamResponse:
        response = await self._call(
            self._stub.PurgeInstances, pb.PurgeInstancesRequest(instanceId=params["id"])
        )
        if response.deletedInstanceCount == 0:
            return _json({"instancesDeleted": 0}, 404)
        return _json({"instancesDeleted": response.deletedInstanceCount}, 200)

    async def _purge_many(self, request: web.Request, params: dict[str, str]) -> web.StreamResponse:
        purge_filter = pb.PurgeInstanceFilter()
        if "createdTimeFrom" in request.query:
            purge_filter.createdTimeFrom.CopyFrom(
                timestamp_from_text(request.query["createdTimeFrom"])
            )
        if "createdTimeTo" in request.query:
            purge_filter.createdTimeTo.CopyFrom(timestamp_from_text(request.query["createdTimeTo"]))
        statuses = request.query.get("runtimeStatus")
        if statuses:
            purge_filter.runtimeStatus.extend(
                _STATUS_BY_NAME[name.strip().casefold()] for name in statuses.split(",")
            )
        purge = pb.PurgeInstancesRequest(purgeInstanceFilter=purge_filter)
        response = await self._call(self._stub.PurgeInstances, purge)
        status = 200 if response.deletedInstanceCount else 404
        return _json({"instancesDeleted": response.deletedInstanceCount}, status)

    # -- entities --------------------------------------------------------------------

    @staticmethod
    def _entity_id(params: dict[str, str]) -> str:
        return f"@{params['name'].lower()}@{params['key']}"

    async def _read_entity(
        self, request: web.Request, params: dict[str, str]
    ) -> web.StreamResponse:
        get = pb.GetEntityRequest(instanceId=self._entity_id(params), includeState=True)
        response = await self._call(self._stub.GetEntity, get)
        if not response.exists or not response.entity.HasField("serializedState"):
            return _json(None, 404)
        return web.Response(
            text=response.entity.serializedState.value, status=200, content_type="application/json"
        )

    async def _signal_entity(
        self, request: web.Request, params: dict[str, str]
    ) -> web.StreamResponse:
        operation = request.query.get("op", "")
        encoded = encode_start_payload(await request.text())
        signal = pb.SignalEntityRequest(
            instanceId=self._entity_id(params),
            name=operation,
            input=None if encoded is None else wrappers_pb2.StringValue(value=encoded),
            requestId=str(uuid.uuid4()),
        )
        await self._call(self._stub.SignalEntity, signal)
        return web.Response(status=202)


def _origin(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}"
