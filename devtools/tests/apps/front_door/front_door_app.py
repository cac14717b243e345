# mypy: disable-error-code="untyped-decorator"
"""What the host's front door does around the app: start-up, keys, threads for routes.

`GATE_FILE`: each instance process waits at import until this file exists, so a test sees
the front door while instances are still starting. `RELEASE_FILE`: the `hold` activity
records its start in `HELD_DIR` and waits until this file exists.
"""

import multiprocessing
import os
import time
import uuid
from collections.abc import Generator
from pathlib import Path
from typing import Any

import azure.durable_functions as df
import azure.functions as func

WAIT_SECONDS = 60.0


def wait_for(path: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not Path(path).exists() and time.monotonic() < deadline:
        time.sleep(0.02)


if multiprocessing.parent_process() is not None and os.environ.get("GATE_FILE"):
    wait_for(os.environ["GATE_FILE"])

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)


@app.route(route="ping", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def ping(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("pong")


@app.route(route="keyed", methods=["GET"])
def keyed(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("opened")


@app.route(route="hold/{count:int}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def hold_many(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    count = int(req.route_params["count"])
    for _ in range(count):
        await client.start_new("holds", None, None)
    return func.HttpResponse(str(count), status_code=202)


@app.orchestration_trigger(context_name="context")
def holds(context: df.DurableOrchestrationContext) -> Generator[Any, Any, str]:
    result: str = yield context.call_activity("hold", None)
    return result


@app.activity_trigger(input_name="nothing")
def hold(nothing: Any) -> str:
    Path(os.environ["HELD_DIR"], uuid.uuid4().hex).touch()
    wait_for(os.environ["RELEASE_FILE"])
    return "released"
