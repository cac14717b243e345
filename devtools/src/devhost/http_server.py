"""Serve the app's HTTP triggers and the durable management API on one aiohttp server.

The server runs on the host loop; user functions run apart from it (see invocation.py), so
the management API and `/admin/host/status` answer while user code is busy or stuck.
"""

from __future__ import annotations

import hmac
import json
import logging
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import azure.functions as func
from aiohttp import web
from opentelemetry import context as otel_context

from . import __version__, answers, otlp
from .dashboard import Dashboard
from .indexing import FunctionIndex, HttpRoute
from .invocation import InvocationLog, UserCode
from .management import INVOCATION_SEGMENT, WEBHOOK_PATH, ManagementApi
from .tracing import http_span, record_http_status

HOST_STATUS_PATH = "/admin/host/status"
KEY_HEADER = "x-functions-key"
KEY_PARAMETER = "code"
# Auth levels of HTTP triggers that take a key on the Functions host.
KEYED_AUTH_LEVELS = {"function", "admin"}
# The Functions host's limit on an HTTP request body.
MAX_REQUEST_BYTES = 100 * 1024 * 1024

logger = logging.getLogger("devhost")


def _build_request(
    request: web.Request, body: bytes, route_params: dict[str, str]
) -> func.HttpRequest:
    return func.HttpRequest(
        method=request.method,
        url=str(request.url),
        headers=dict(request.headers),
        params={key: request.query[key] for key in request.query},
        route_params=route_params,
        body=body,
    )


def _to_aiohttp(result: Any) -> web.Response:
    """Turn a function's return value into an HTTP response, as the host does."""
    if isinstance(result, func.HttpResponse):
        headers = {key: value for key, value in result.headers.items()}
        if not any(key.lower() == "content-type" for key in headers) and result.mimetype:
            headers["Content-Type"] = f"{result.mimetype}; charset={result.charset}"
        return web.Response(body=result.get_body(), status=result.status_code, headers=headers)
    if result is None:
        return web.Response(status=204)
    if isinstance(result, (bytes, bytearray)):
        return web.Response(body=bytes(result), status=200)
    if isinstance(result, str):
        return web.Response(text=result, status=200, content_type="text/plain")
    return web.Response(text=json.dumps(result), status=200, content_type="application/json")


def _too_large_export() -> web.Response:
    return web.Response(
        status=413,
        text=f"An OTLP export to devhost is at most {otlp.MAX_EXPORT_BYTES} bytes: "
        "send fewer spans per export (OTEL_BSP_MAX_EXPORT_BATCH_SIZE).",
    )


class HttpServer:
    """Routes each request to a function (or the management API) and calls it."""

    def __init__(
        self,
        index: FunctionIndex,
        management: ManagementApi,
        user_code: UserCode,
        log: InvocationLog,
        project_dir: Path,
        key: str | None = None,
    ) -> None:
        self._index = index
        # Set once every instance is connected: until then the app's routes answer 503.
        self.ready = False
        self._key = key
        self._management = management
        self._user_code = user_code
        self._log = log
        self._rpc_origin = ""
        self._dashboard = Dashboard(index, project_dir, management)
        # AgentFunctionApp's status route of each workflow that has a respond route, for the
        # check before an answer (answers.py).
        self._answer_check = answers.check_enabled()
        self._status_routes = {
            workflow: status
            for route in index.http_routes
            if (workflow := answers.respond_workflow(route.template)) is not None
            for status in index.http_routes
            if status.template == answers.status_template(workflow) and status.accepts("GET")
        }

    def set_rpc_origin(self, origin: str) -> None:
        """Where the durable client reaches the management API (loopback, known once bound)."""
        self._rpc_origin = origin

    def application(self) -> web.Application:
        app = web.Application(client_max_size=MAX_REQUEST_BYTES)
        app.router.add_route("*", "/{path:.*}", self._handle)
        return app

    def _has_key(self, request: web.Request) -> bool:
        """Whether the request may act: no key is set (loopback), or it carries the key."""
        if self._key is None:
            return True
        given = request.headers.get(KEY_HEADER) or request.query.get(KEY_PARAMETER) or ""
        return hmac.compare_digest(given.encode(), self._key.encode())

    def _is_own_invocation(self, subpath: str) -> bool:
        """A management call of a function's durable client, naming its running invocation."""
        segment, _, rest = subpath.partition("/")
        token = rest.partition("/")[0]
        return segment == INVOCATION_SEGMENT and self._management.invocations.get(token) is not None

    @staticmethod
    def _key_required() -> web.Response:
        return web.Response(
            status=401,
            text=f"This devhost is reachable from other machines: send the key it printed at "
            f"start-up as ?{KEY_PARAMETER}= or the {KEY_HEADER} header.",
        )

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        if path.lower() == HOST_STATUS_PATH:
            state = "Running" if self.ready else "Initialized"
            return web.json_response({"state": state, "version": f"devhost {__version__}"})
        if self._dashboard.serves(path):
            if not self._has_key(request):
                return self._key_required()
            return await self._dashboard.handle(request)
        if path == otlp.TRACES_PATH and not self._index.match(path):
            if not self._has_key(request):
                return self._key_required()
            return await self._otlp_traces(request)
        if path.lower().startswith(WEBHOOK_PATH + "/"):
            subpath = path[len(WEBHOOK_PATH) + 1 :]
            if not (self._has_key(request) or self._is_own_invocation(subpath)):
                return self._key_required()
            return await self._management.handle(request, subpath)
        matches = self._index.match(path.rstrip("/") or "/")
        if not matches:
            return self._not_found(path)
        for route, route_params in matches:
            if route.accepts(request.method):
                if not self.ready:
                    return web.Response(
                        status=503, text="Function host is not running: instances are starting."
                    )
                level = str(route.function.trigger.get("authLevel", "function")).lower()
                if level.rpartition(".")[2] in KEYED_AUTH_LEVELS and not self._has_key(request):
                    return self._key_required()
                return await self._invoke(route, route_params, request)
        return web.Response(status=405)

    @staticmethod
    async def _otlp_traces(request: web.Request) -> web.Response:
        """OTLP/HTTP's trace export: the spans go to the dashboard's waterfall (otlp.py)."""
        if request.method != "POST":
            return web.Response(status=405, headers={"Allow": "POST"})
        if (request.content_length or 0) > otlp.MAX_EXPORT_BYTES:
            return _too_large_export()
        body = bytearray()
        async for chunk in request.content.iter_any():
            body += chunk
            if len(body) > otlp.MAX_EXPORT_BYTES:
                return _too_large_export()
        try:
            export = otlp.parse(bytes(body), request.content_type)
        except otlp.BadExport as error:
            return web.Response(status=400, text=str(error))
        data, content_type = otlp.http_response(otlp.keep(export), request.content_type)
        return web.Response(body=data, content_type=content_type)

    def _not_found(self, path: str) -> web.Response:
        """404; for a respond route with no request id, what to post to instead."""
        if path.endswith("/") and any(
            answers.respond_workflow(route.template) for route, _ in self._index.match(path + "-")
        ):
            return web.json_response(
                {
                    "error": "The request id is missing. Answer at the respondUrl of a request "
                    "in the run's pendingHumanInputRequests (GET its status)."
                },
                status=404,
            )
        return web.Response(status=404)

    def _binding_values(
        self,
        route: HttpRoute,
        request: web.Request,
        body: bytes,
        params: dict[str, str],
        invocation: str,
    ) -> dict[str, Any]:
        return self._bound(route, request, _build_request(request, body, params), invocation)

    def _bound(
        self, route: HttpRoute, request: web.Request, trigger: func.HttpRequest, invocation: str
    ) -> dict[str, Any]:
        values: dict[str, Any] = {str(route.function.trigger["name"]): trigger}
        origin = f"{request.scheme}://{request.host}"
        for binding in route.function.bindings:
            if binding.get("type") == "durableClient":
                values[str(binding["name"])] = self._management.client_binding(
                    origin, self._rpc_origin, invocation
                )
        return values

    async def _invoke(
        self, route: HttpRoute, params: dict[str, str], request: web.Request
    ) -> web.StreamResponse:
        started = time.perf_counter()
        function = route.function
        body = await request.read()
        template = "/".join(part for part in (self._index.route_prefix, route.template) if part)
        with http_span(
            request.method, request.path, f"/{template}", function.name, request.headers
        ) as span:
            # The function's durable client names this invocation in its management calls.
            invocation = self._management.invocations.add(otel_context.get_current())
            try:
                refused = await self._unusable_answer(route, params, request, invocation)
                if refused is not None:
                    response = refused
                else:
                    values = self._binding_values(route, request, body, params, invocation)
                    what = f"HTTP {request.method} {request.path_qs} ({function.name})"
                    result = await self._user_code.call(
                        function.user_function, values, function.name, what
                    )
                    response = _to_aiohttp(result)
            except Exception:
                logger.exception("Function '%s' raised", function.name)
                response = web.Response(status=500)
            finally:
                self._management.invocations.discard(invocation)
            record_http_status(span, response.status)
        self._log.http(request.method, request.path_qs, function.name, response.status, started)
        return response

    async def _unusable_answer(
        self, route: HttpRoute, params: dict[str, str], request: web.Request, invocation: str
    ) -> web.Response | None:
        """devhost's refusal of an answer the respond route would acknowledge and drop."""
        workflow = answers.respond_workflow(route.template)
        status_route = self._status_routes.get(workflow) if workflow else None
        if not self._answer_check or status_route is None:
            return None
        instance_id, request_id = params.get("instanceId", ""), params.get("requestId", "")
        if not instance_id or not request_id:
            return None
        # The workflow's own status route lists what the run waits for, as a caller sees it.
        path = "/".join(
            part
            for part in (self._index.route_prefix, answers.status_template(workflow or ""))
            if part
        ).replace("{instanceId}", quote(instance_id, safe=""))
        trigger = func.HttpRequest(
            method="GET",
            url=f"{request.scheme}://{request.host}/{path}",
            headers=dict(request.headers),
            params={},
            route_params={"instanceId": instance_id},
            body=b"",
        )
        function = status_route.function
        values = self._bound(status_route, request, trigger, invocation)
        what = f"HTTP GET /{path} ({function.name}, before an answer)"
        try:
            read = await self._user_code.call(function.user_function, values, function.name, what)
        except Exception:
            logger.exception("The status route raised; the answer goes to the route unchecked")
            return None
        status = answers.status_body(read)
        if status is None:
            # No such run of this workflow: the respond route says so itself.
            return None
        refusal = answers.refusal(status, instance_id, request_id)
        if refusal is None and answers.answer_in_flight(
            self._management.backend, instance_id, request_id
        ):
            refusal = answers.in_flight_refusal(instance_id, request_id)
        if refusal is None:
            return None
        logger.warning(
            "Refused an answer to request '%s' of run %s (%d): %s The Functions host has no "
            "such check (%s=off turns it off).",
            request_id,
            instance_id,
            refusal.status,
            refusal.body["error"],
            answers.CHECK_VARIABLE,
        )
        return refusal.response()
