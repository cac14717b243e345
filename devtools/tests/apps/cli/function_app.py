# mypy: disable-error-code="untyped-decorator"
"""The smallest durable app: served by `python -m devhost` in the command-line tests."""

import os
import time
from collections.abc import Generator
from typing import Any

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)


@app.route(route="ping", methods=["GET"])
def ping(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("pong")


@app.route(route="hostname", methods=["GET"])
def hostname(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(os.environ.get("WEBSITE_HOSTNAME", "(not set)"))


# Longer than any test waits: a host that waited for this call would never stop.
STUCK_SECONDS = 3600


@app.route(route="slow", methods=["GET"])
def slow(req: func.HttpRequest) -> func.HttpResponse:
    # The tests stop the host once it has printed this: the call is running by then.
    print("slow call started", flush=True)
    time.sleep(STUCK_SECONDS)
    return func.HttpResponse("too late")


@app.orchestration_trigger(context_name="context")
def double(context: df.DurableOrchestrationContext) -> Generator[Any, Any, int]:
    doubled: int = yield context.call_activity("times_two", context.get_input())
    return doubled


@app.orchestration_trigger(context_name="context")
def waits(context: df.DurableOrchestrationContext) -> Generator[Any, Any, Any]:
    decision = yield context.wait_for_external_event("decision")
    return decision


@app.activity_trigger(input_name="number")
def times_two(number: int) -> int:
    return number * 2
