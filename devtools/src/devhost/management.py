"""The Durable Functions HTTP management API, served over the in-memory Durable Task backend.

azure-functions-durable's client (the `durableClient` binding) and the URLs returned by
`create_check_status_response` call `/runtime/webhooks/durabletask/...`. Each request is
mapped onto a Durable Task call against the backend, which lives in the same process: the
servicer methods are called directly on the host loop (each is a short critical section of
the in-memory store), so the API keeps answering while user code is busy and a status read
costs no gRPC round trip.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any, cast
from urllib.parse import quote

import grpc
from aiohttp import web
from azure.durable_functions.models import OrchestrationRuntimeStatus
from durabletask.client import OrchestrationStatus
from google.protobuf import timestamp_pb2, wrappers_pb2
from opentelemetry.context import Context

from .backend import (
    BackendCallError,
    InProcessCall,
    LoopbackBackend,
    call_in_process,
    payload_problem,
)
from .history import history_events
from .indexing import FunctionIndex
from .orchestrations import timestamp_from_text
from .settings import ProjectSettings
from .tracing import (
    INSTANCE_ATTRIBUTE,
    NAME_ATTRIBUTE,
    TARGET_INSTANCE_ATTRIBUTE,
    TYPE_ATTRIBUTE,
    InvocationContexts,
    create_orchestration_span,
    from_headers,
    producer_span,
    to_proto,
    traced_request_id,
)
from .upstream import pb

logger = logging.getLogger("devhost")

WEBHOOK_PATH = "/runtime/webhooks/durabletask"
INSTANCE_PLACEHOLDER = "INSTANCEID"
CONTINUATION_HEADER = "x-ms-continuation-token"
# devhost's own path segment: `<segment>/<token>/` before a management route names the HTTP
# invocation whose durable client calls it (see `client_binding`); it is stripped here.
INVOCATION_SEGMENT = "_devhost_invocation"
# Where `handle` leaves the caller's trace context on the request, for the handlers.
_CALLER_CONTEXT = web.RequestKey("devhost.caller_context", Context)
_WAIT_POLL_SECONDS = 0.05
# The Durable Functions rules for an orchestration instance id.
MAX_INSTANCE_ID_LENGTH = 256
_INVALID_ID_CHARACTERS = re.compile(r"[/\\#?\x00-\x1f\x7f-\x9f]")
JSON_MEDIA_TYPE = "application/json"


def _same_name(durable_task: str, durable_functions: str) -> bool:
    return durable_task.replace("_", "").casefold() == durable_functions.casefold()


# Durable Task statuses by their Durable Functions names. Canceled exists only in the
# protocol and the Durable Functions enum, not in durabletask's public enum.
RUNTIME_STATUS: dict[int, OrchestrationRuntimeStatus] = {
    status.value: runtime
    for status in OrchestrationStatus
    for runtime in OrchestrationRuntimeStatus
    if _same_name(status.name, runtime.name)
}
RUNTIME_STATUS[pb.ORCHESTRATION_STATUS_CANCELED] = OrchestrationRuntimeStatus.Canceled
_STATUS_BY_NAME = {runtime.value.casefold(): value for value, runtime in RUNTIME_STATUS.items()}
_TERMINAL = {
    OrchestrationStatus.COMPLETED.value,
    OrchestrationStatus.FAILED.value,
    OrchestrationStatus.TERMINATED.value,
    pb.ORCHESTRATION_STATUS_CANCELED,
}
# Pollers keep polling (202 with Location) while an instance is in one of these.
_IN_PROGRESS = {
    OrchestrationStatus.RUNNING.value,
    OrchestrationStatus.PENDING.value,
    OrchestrationStatus.CONTINUED_AS_NEW.value,
    OrchestrationStatus.SUSPENDED.value,
}

Handler = Callable[[web.Request, dict[str, str]], Awaitable[web.StreamResponse]]


class BadRequestError(Exception):
    """The request cannot be served as sent (400)."""


def encode_start_payload(body: str) -> str | None:
    """JSON text of an HTTP payload as the Functions host hands it to the durable engine.

    The Python client sends `json.dumps(df_dumps(value))`: a JSON string whose content is
    the JSON of the value. The host passes that inner JSON on, so it is unwrapped once; a
    plain JSON body (curl) is taken as is. A body that is not JSON is refused.
    """
    if not body.strip():
        return None
    token = _parse_json(body)
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
    _parse_json(body)
    return body


def instance_id_problem(instance_id: str) -> str | None:
    """Why the Functions host refuses `instance_id` for a new orchestration; None if it takes it."""
    if len(instance_id) > MAX_INSTANCE_ID_LENGTH:
        return f"Instance ID lengths must not exceed {MAX_INSTANCE_ID_LENGTH} characters."
    if instance_id.startswith("@"):
        return "Orchestration instance ids must not start with @."
    if _INVALID_ID_CHARACTERS.search(instance_id):
        return "Instance ID must not contain /, \\, #, ?, or control characters."
    return None


def _is_json(request: web.Request) -> bool:
    return request.content_type.casefold() == JSON_MEDIA_TYPE


def _parse_json(body: str) -> Any:
    try:
        return json.loads(body)
    except ValueError as error:
        raise BadRequestError(f"The request body is not valid JSON: {error}") from error


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


def runtime_status_name(state: pb.OrchestrationState) -> str:
    runtime = RUNTIME_STATUS.get(state.orchestrationStatus)
    return runtime.value if runtime is not None else "Unknown"


def status_body(state: pb.OrchestrationState, show_input: bool = True) -> dict[str, Any]:
    """The status JSON of the Durable Functions HTTP API for one instance."""
    output = _decode(state.output.value) if state.HasField("output") else None
    if state.orchestrationStatus == OrchestrationStatus.FAILED.value and state.HasField(
        "failureDetails"
    ):
        output = f"Orchestrator function '{state.name}' failed: {state.failureDetails.errorMessage}"
    return {
        "name": state.name,
        "instanceId": state.instanceId,
        "runtimeStatus": runtime_status_name(state),
        "input": _decode(state.input.value) if show_input and state.HasField("input") else None,
        "customStatus": _decode(state.customStatus.value)
        if state.HasField("customStatus")
        else None,
        "output": output,
        "createdTime": _iso(state.createdTimestamp),
        "lastUpdatedTime": _iso(state.lastUpdatedTimestamp),
    }


def _json(payload: Any, status: int, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        text=json.dumps(payload), status=status, content_type="application/json", headers=headers
    )


def _error(message: str, status: int) -> web.Response:
    return _json({"Message": message, "ExceptionMessage": message}, status)


def _too_large(problem: str) -> web.Response:
    """413 naming the payload limit, and the same line on the console: callers such as
    azure-functions-durable's `raise_event` keep only the status code of a refusal."""
    logger.warning("Refused a payload over the limit (413): %s", problem)
    return _error(problem, 413)


def _flag(request: web.Request, name: str, default: bool) -> bool:
    value = request.query.get(name)
    return default if value is None else value.strip().lower() == "true"


def _statuses(text: str) -> list[int]:
    values: list[int] = []
    for name in text.split(","):
        value = _STATUS_BY_NAME.get(name.strip().casefold())
        if value is None:
            known = ", ".join(runtime.value for runtime in RUNTIME_STATUS.values())
            raise BadRequestError(f"Unknown runtimeStatus '{name.strip()}'; use one of {known}.")
        values.append(value)
    return values


def _timestamp(request: web.Request, name: str) -> timestamp_pb2.Timestamp | None:
    text = request.query.get(name)
    if text is None:
        return None
    try:
        return timestamp_from_text(text)
    except ValueError as error:
        raise BadRequestError(f"{name} '{text}' is not an ISO 8601 time.") from error


def _number(request: web.Request, name: str) -> float | None:
    text = request.query.get(name)
    if text is None:
        return None
    try:
        return float(text)
    except ValueError as error:
        raise BadRequestError(f"{name} '{text}' is not a number.") from error


def _origin(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}"


class ManagementApi:
    """Serves the durable management endpoints for one task hub, over the host's backend."""

    def __init__(
        self,
        index: FunctionIndex,
        backend: LoopbackBackend,
        settings: ProjectSettings,
        key: str | None = None,
    ) -> None:
        self._index = index
        # Reachable from other machines, the URLs handed out carry the key, as the Functions
        # host's carry its system key.
        self._key = key
        self.invocations = InvocationContexts()
        self._backend = backend
        self.task_hub = settings.task_hub
        self.connection_name = settings.connection_name
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
            (
                "DELETE",
                re.compile(r"entities/(?P<name>[^/]+)/(?P<key>[^/]+)"),
                self._signal_entity,
            ),
            ("GET", re.compile(r"entities/?(?P<name>[^/]+)?/?"), self._list_entities),
            ("POST", re.compile(r"instances/(?P<id>[^/]+)/rewind"), self._rewind),
        ]

    @property
    def backend(self) -> LoopbackBackend:
        return self._backend

    async def unfinished(self) -> list[str]:
        """Instances not yet in a final state, as `name (instance id)`."""
        query = pb.InstanceQuery(runtimeStatus=sorted(_IN_PROGRESS))
        response = call_in_process(
            self._backend.QueryInstances, pb.QueryInstancesRequest(query=query)
        )
        return [f"{state.name} ({state.instanceId})" for state in response.orchestrationState]

    # -- binding ---------------------------------------------------------------------

    def _query(self) -> str:
        query = f"taskHub={quote(self.task_hub)}&connection={quote(self.connection_name)}"
        return query if self._key is None else f"{query}&code={quote(self._key)}"

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
        """The links for one instance; the id is URL-encoded in URLs, as the host does."""
        return {
            key: instance_id
            if key == "id"
            else value.replace(INSTANCE_PLACEHOLDER, quote(instance_id, safe=""))
            for key, value in self.management_urls(origin).items()
        }

    def client_binding(self, origin: str, rpc_origin: str, invocation: str = "") -> str:
        """The `durableClient` binding value the Functions host gives a function.

        The client makes every call at ``rpcBaseUrl``; with `invocation` (a token of
        `invocations`) that path names the invocation, so the calls join its trace.
        """
        rpc_base = f"{rpc_origin}{WEBHOOK_PATH}/"
        if invocation:
            rpc_base += f"{INVOCATION_SEGMENT}/{invocation}/"
        base = f"{origin}{WEBHOOK_PATH}"
        query = self._query()
        create = f"{base}/orchestrators/{{functionName}}[/{{instanceId}}]"
        return json.dumps(
            {
                "taskHubName": self.task_hub,
                "creationUrls": {
                    "createNewInstancePostUri": f"{create}?{query}",
                    "createAndWaitOnNewInstancePostUri": (
                        f"{create}?timeout={{timeoutInSeconds}}"
                        f"&pollingInterval={{intervalInSeconds}}&{query}"
                    ),
                },
                "managementUrls": self.management_urls(origin),
                "baseUrl": base,
                "requiredQueryStringParameters": query,
                "rpcBaseUrl": rpc_base,
                "httpBaseUrl": "",
                "maxGrpcMessageSizeInBytes": 0,
                "grpcHttpClientTimeout": "00:01:40",
            }
        )

    # -- dispatch --------------------------------------------------------------------

    async def handle(self, request: web.Request, subpath: str) -> web.StreamResponse:
        segment, _, rest = subpath.partition("/")
        parent = from_headers(request.headers)
        if segment == INVOCATION_SEGMENT:
            token, _, subpath = rest.partition("/")
            parent = self.invocations.get(token)
        if parent is not None:
            request[_CALLER_CONTEXT] = parent
        allowed = False
        for method, pattern, handler in self._routes:
            found = pattern.fullmatch(subpath)
            if found is None:
                continue
            allowed = True
            if method == request.method:
                params = {key: value for key, value in found.groupdict().items() if value}
                try:
                    return await handler(request, params)
                except BadRequestError as error:
                    return _error(str(error), 400)
        if allowed:
            return _json({"Message": "Method not allowed"}, 405)
        return _json({"Message": f"Not supported by devhost: {request.method} {subpath}"}, 404)

    async def _state(self, instance_id: str) -> pb.OrchestrationState | None:
        request = pb.GetInstanceRequest(instanceId=instance_id, getInputsAndOutputs=True)
        response = call_in_process(self._backend.GetInstance, request)
        return response.orchestrationState if response.exists else None

    def history(self, instance_id: str) -> list[pb.HistoryEvent]:
        """The instance's Durable Task history, oldest event first ([] once purged)."""
        stream = self._backend.StreamInstanceHistory(
            pb.StreamInstanceHistoryRequest(instanceId=instance_id),
            cast(grpc.ServicerContext, InProcessCall()),
        )
        try:
            return [event for chunk in stream for event in chunk.events]
        except BackendCallError:
            return []

    def _status_url(self, request: web.Request, instance_id: str) -> str:
        return self.check_status_payload(_origin(request), instance_id)["statusQueryGetUri"]

    # -- orchestrations --------------------------------------------------------------

    async def _start(self, request: web.Request, params: dict[str, str]) -> web.StreamResponse:
        function = self._index.orchestrator(params["name"])
        if function is None:
            message = (
                f"The function '{params['name']}' doesn't exist, is disabled, "
                "or is not an orchestrator function."
            )
            return _error(message, 400)
        instance_id = params.get("id") or uuid.uuid4().hex
        id_problem = instance_id_problem(instance_id)
        if id_problem is not None:
            return _error(id_problem, 400)
        encoded = encode_start_payload(await request.text())
        problem = payload_problem("The orchestration input", encoded)
        if problem is not None:
            return _too_large(problem)
        timeout = _number(request, "timeout")
        caller = request.get(_CALLER_CONTEXT)
        with create_orchestration_span(function.name, instance_id, caller) as trace_context:
            create = pb.CreateInstanceRequest(
                instanceId=instance_id,
                name=function.name,
                input=None if encoded is None else wrappers_pb2.StringValue(value=encoded),
                orchestrationIdReusePolicy=pb.OrchestrationIdReusePolicy(
                    replaceableStatus=sorted(_TERMINAL)
                ),
                parentTraceContext=trace_context,
            )
            try:
                call_in_process(self._backend.StartInstance, create)
            except BackendCallError as error:
                if error.code == grpc.StatusCode.ALREADY_EXISTS:
                    message = (
                        f"An orchestration with instance ID '{instance_id}' is already running."
                    )
                    return _error(message, 409)
                raise
        if timeout is not None:
            return await self._wait_for_completion(request, instance_id, timeout)
        payload = self.check_status_payload(_origin(request), instance_id)
        headers = {"Location": payload["statusQueryGetUri"], "Retry-After": "10"}
        return _json(payload, 202, headers)

    async def _wait_for_completion(
        self, request: web.Request, instance_id: str, timeout: float
    ) -> web.StreamResponse:
        """createAndWait: the outcome if the instance ends within `timeout` seconds.

        Completed gives 200 with the output; Failed 500, Terminated or Canceled 200, each
        with the status; still running at the deadline gives the usual 202 with links.
        """
        deadline = time.monotonic() + timeout
        while True:
            state = await self._state(instance_id)
            if state is not None and state.orchestrationStatus in _TERMINAL:
                body = status_body(state)
                if state.orchestrationStatus == OrchestrationStatus.COMPLETED.value:
                    return _json(body["output"], 200)
                failed = state.orchestrationStatus == OrchestrationStatus.FAILED.value
                return _json(body, 500 if failed else 200)
            if time.monotonic() >= deadline:
                payload = self.check_status_payload(_origin(request), instance_id)
                headers = {"Location": payload["statusQueryGetUri"], "Retry-After": "10"}
                return _json(payload, 202, headers)
            await asyncio.sleep(_WAIT_POLL_SECONDS)

    async def _status(self, request: web.Request, params: dict[str, str]) -> web.StreamResponse:
        state = await self._state(params["id"])
        if state is None:
            return _json(None, 404)
        body = status_body(state, show_input=_flag(request, "showInput", True))
        if _flag(request, "showHistory", False):
            show_output = _flag(request, "showHistoryOutput", False)
            body["historyEvents"] = history_events(self.history(state.instanceId), show_output)
        if state.orchestrationStatus in _IN_PROGRESS:
            location = self._status_url(request, state.instanceId)
            return _json(body, 202, {"Location": location, "Retry-After": "10"})
        failed = state.orchestrationStatus == OrchestrationStatus.FAILED.value
        if failed and _flag(request, "returnInternalServerErrorOnFailure", False):
            return _json(body, 500)
        return _json(body, 200)

    async def _list(self, request: web.Request, params: dict[str, str]) -> web.StreamResponse:
        query = pb.InstanceQuery(fetchInputsAndOutputs=True)
        show_input = _flag(request, "showInput", False)
        statuses = request.query.get("runtimeStatus")
        if statuses:
            query.runtimeStatus.extend(_statuses(statuses))
        created_from = _timestamp(request, "createdTimeFrom")
        if created_from is not None:
            query.createdTimeFrom.CopyFrom(created_from)
        created_to = _timestamp(request, "createdTimeTo")
        if created_to is not None:
            query.createdTimeTo.CopyFrom(created_to)
        if "instanceIdPrefix" in request.query:
            query.instanceIdPrefix.value = request.query["instanceIdPrefix"]
        top = _number(request, "top")
        if top is not None:
            query.maxInstanceCount = int(top)
        continuation = request.headers.get(CONTINUATION_HEADER)
        if continuation:
            query.continuationToken.value = continuation
        response = call_in_process(
            self._backend.QueryInstances, pb.QueryInstancesRequest(query=query)
        )
        states = [status_body(state, show_input) for state in response.orchestrationState]
        headers = {}
        if response.HasField("continuationToken") and response.continuationToken.value:
            headers[CONTINUATION_HEADER] = response.continuationToken.value
        return _json(states, 200, headers)

    async def _raise(self, request: web.Request, params: dict[str, str]) -> web.StreamResponse:
        state = await self._state(params["id"])
        if state is None:
            return _json(f"No instance with ID '{params['id']}' found.", 404)
        if state.orchestrationStatus in _TERMINAL:
            return _json(f"Instance '{params['id']}' is gone: it completed or failed.", 410)
        if not _is_json(request):
            return _error("Only application/json request content is supported", 400)
        try:
            encoded = encode_event_payload(await request.text())
        except BadRequestError:
            return _error("Invalid JSON content", 400)
        problem = payload_problem(f"The data of event '{params['event']}'", encoded)
        if problem is not None:
            return _too_large(problem)
        raise_request = pb.RaiseEventRequest(
            instanceId=params["id"],
            name=params["event"],
            input=None if encoded is None else wrappers_pb2.StringValue(value=encoded),
        )
        with self._event_span(request, params["id"], params["event"]):
            call_in_process(self._backend.RaiseEvent, raise_request)
        return web.Response(status=202)

    def _event_span(
        self, request: web.Request, instance_id: str, event: str
    ) -> AbstractContextManager[pb.TraceContext | None]:
        """The span of sending an event, in the trace of the instance that receives it.

        Its parent is the instance's orchestration span, so an answer to a human request
        is part of the run's trace; the caller's span (the respond route's) is linked.
        """
        caller = request.get(_CALLER_CONTEXT)
        spans = self._backend.spans
        target = spans.context(instance_id) if spans is not None else None
        attributes = {
            TYPE_ATTRIBUTE: "event",
            NAME_ATTRIBUTE: event,
            INSTANCE_ATTRIBUTE: instance_id,
            TARGET_INSTANCE_ATTRIBUTE: instance_id,
        }
        name = f"orchestration_event:{event}"
        if target is None:
            return producer_span(name, attributes, caller)
        return producer_span(name, attributes, target, link=caller)

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
        call_in_process(self._backend.TerminateInstance, terminate)
        return web.Response(status=202)

    async def _suspend(self, request: web.Request, params: dict[str, str]) -> web.StreamResponse:
        return await self._pause_or_resume(request, params["id"], suspend=True)

    async def _resume(self, request: web.Request, params: dict[str, str]) -> web.StreamResponse:
        return await self._pause_or_resume(request, params["id"], suspend=False)

    async def _pause_or_resume(
        self, request: web.Request, instance_id: str, suspend: bool
    ) -> web.StreamResponse:
        state = await self._state(instance_id)
        if state is None:
            return _json(f"No instance with ID '{instance_id}' found.", 404)
        if state.orchestrationStatus in _TERMINAL:
            return web.Response(status=410)
        reason = wrappers_pb2.StringValue(value=request.query.get("reason", ""))
        if suspend:
            call_in_process(
                self._backend.SuspendInstance,
                pb.SuspendRequest(instanceId=instance_id, reason=reason),
            )
        else:
            call_in_process(
                self._backend.ResumeInstance,
                pb.ResumeRequest(instanceId=instance_id, reason=reason),
            )
        return web.Response(status=202)

    async def _restart(self, request: web.Request, params: dict[str, str]) -> web.StreamResponse:
        """Start the instance's orchestrator again with its original input.

        As on the Functions host, a running instance can be restarted under a new id (the
        default); restarting it under its own id is refused while it runs.
        """
        state = await self._state(params["id"])
        if state is None:
            return _json(f"No instance with ID '{params['id']}' found.", 404)
        new_id = _flag(request, "restartWithNewInstanceId", True)
        if state.orchestrationStatus in _TERMINAL:
            restart = pb.RestartInstanceRequest(
                instanceId=params["id"], restartWithNewInstanceId=new_id
            )
            restarted = call_in_process(self._backend.RestartInstance, restart).instanceId
        elif new_id:
            restarted = uuid.uuid4().hex
            call_in_process(
                self._backend.StartInstance,
                pb.CreateInstanceRequest(
                    instanceId=restarted,
                    name=state.name,
                    input=state.input if state.HasField("input") else None,
                ),
            )
        else:
            message = f"An orchestration with instance ID '{params['id']}' is already running."
            return _error(message, 409)
        payload = self.check_status_payload(_origin(request), restarted)
        return _json(payload, 202, {"Location": payload["statusQueryGetUri"]})

    async def _purge(self, request: web.Request, params: dict[str, str]) -> web.StreamResponse:
        response = call_in_process(
            self._backend.PurgeInstances, pb.PurgeInstancesRequest(instanceId=params["id"])
        )
        if response.deletedInstanceCount == 0:
            return _json({"instancesDeleted": 0}, 404)
        return _json({"instancesDeleted": response.deletedInstanceCount}, 200)

    async def _purge_many(self, request: web.Request, params: dict[str, str]) -> web.StreamResponse:
        created_from = _timestamp(request, "createdTimeFrom")
        if created_from is None:
            raise BadRequestError("Purging many instances needs createdTimeFrom.")
        purge_filter = pb.PurgeInstanceFilter(createdTimeFrom=created_from)
        created_to = _timestamp(request, "createdTimeTo")
        if created_to is not None:
            purge_filter.createdTimeTo.CopyFrom(created_to)
        statuses = request.query.get("runtimeStatus")
        if statuses:
            purge_filter.runtimeStatus.extend(_statuses(statuses))
        purge = pb.PurgeInstancesRequest(purgeInstanceFilter=purge_filter)
        response = call_in_process(self._backend.PurgeInstances, purge)
        status = 200 if response.deletedInstanceCount else 404
        return _json({"instancesDeleted": response.deletedInstanceCount}, status)

    async def _rewind(self, request: web.Request, params: dict[str, str]) -> web.StreamResponse:
        message = (
            "devhost does not rewind instances (the Durable Task Scheduler's rewind is not "
            "emulated): restart the instance instead (POST .../restart)."
        )
        return _error(message, 501)

    # -- entities --------------------------------------------------------------------

    async def _list_entities(
        self, request: web.Request, params: dict[str, str]
    ) -> web.StreamResponse:
        """Entities with their state, as the HTTP API's entity query lists them."""
        prefix = f"@{params['name'].lower()}@" if params.get("name") else "@"
        query = pb.EntityQuery(
            includeState=_flag(request, "fetchState", False), includeTransient=True
        )
        query.instanceIdStartsWith.value = prefix
        top = _number(request, "top")
        if top is not None:
            query.pageSize.value = int(top)
        continuation = request.headers.get(CONTINUATION_HEADER)
        if continuation:
            query.continuationToken.value = continuation
        response = call_in_process(
            self._backend.QueryEntities, pb.QueryEntitiesRequest(query=query)
        )
        entities = []
        for entity in response.entities:
            _, name, key = entity.instanceId.split("@", 2)
            item: dict[str, Any] = {
                "entityId": {"name": name, "key": key},
                "lastOperationTime": _iso(entity.lastModifiedTime),
            }
            if entity.HasField("serializedState"):
                item["state"] = _decode(entity.serializedState.value)
            entities.append(item)
        headers = {}
        if response.HasField("continuationToken") and response.continuationToken.value:
            headers[CONTINUATION_HEADER] = response.continuationToken.value
        return _json(entities, 200, headers)

    @staticmethod
    def _entity_id(params: dict[str, str]) -> str:
        return f"@{params['name'].lower()}@{params['key']}"

    async def _read_entity(
        self, request: web.Request, params: dict[str, str]
    ) -> web.StreamResponse:
        get = pb.GetEntityRequest(instanceId=self._entity_id(params), includeState=True)
        response = call_in_process(self._backend.GetEntity, get)
        if not response.exists or not response.entity.HasField("serializedState"):
            return _json(None, 404)
        return web.Response(
            text=response.entity.serializedState.value, status=200, content_type="application/json"
        )

    async def _signal_entity(
        self, request: web.Request, params: dict[str, str]
    ) -> web.StreamResponse:
        operation = "delete" if request.method == "DELETE" else request.query.get("op", "")
        text = await request.text()
        if not text:
            encoded = None
        elif _is_json(request):
            try:
                encoded = encode_start_payload(text)
            except BadRequestError as error:
                return _error(f"Could not parse JSON content: {error}", 400)
        else:
            # As on the Functions host, a body of another type is the operation's string input.
            encoded = json.dumps(text)
        problem = payload_problem(f"The input of entity operation '{operation}'", encoded)
        if problem is not None:
            return _too_large(problem)
        caller_context = request.get(_CALLER_CONTEXT)
        caller = None if caller_context is None else to_proto(caller_context)
        signal = pb.SignalEntityRequest(
            instanceId=self._entity_id(params),
            name=operation,
            input=None if encoded is None else wrappers_pb2.StringValue(value=encoded),
            requestId=traced_request_id(str(uuid.uuid4()), caller),
        )
        call_in_process(self._backend.SignalEntity, signal)
        return web.Response(status=202)
