# mypy: disable-error-code="untyped-decorator"
"""A DFApp that pushes a host: big payloads, slow async activities, blocking functions."""

import asyncio
import time
from collections.abc import Generator
from typing import Any

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)


@app.route(route="block/{seconds}", methods=["GET"])
async def block(req: func.HttpRequest) -> func.HttpResponse:
    """Blocks the event loop it runs on, as a careless `requests` call in `async def` would."""
    time.sleep(float(req.route_params["seconds"]))
    return func.HttpResponse("unblocked")


@app.route(route="slow/{seconds}", methods=["GET"])
def slow(req: func.HttpRequest) -> func.HttpResponse:
    time.sleep(float(req.route_params["seconds"]))
    return func.HttpResponse("done")


@app.orchestration_trigger(context_name="context")
def sized(context: df.DurableOrchestrationContext) -> Generator[Any, Any, list[int]]:
    """Asks `make_text` for texts of the given sizes, all at once; returns their lengths."""
    sizes: list[int] = context.get_input()
    texts = yield context.task_all([context.call_activity("make_text", size) for size in sizes])
    return [len(text) for text in texts]


@app.orchestration_trigger(context_name="context")
def echo_length(context: df.DurableOrchestrationContext) -> Generator[Any, Any, int]:
    text: str = context.get_input()
    length: int = yield context.call_activity("measure", text)
    return length


@app.orchestration_trigger(context_name="context")
def sends_big_input(context: df.DurableOrchestrationContext) -> Generator[Any, Any, int]:
    size: int = context.get_input()
    length: int = yield context.call_activity("measure", "x" * size)
    return length


@app.orchestration_trigger(context_name="context")
def returns_big_output(context: df.DurableOrchestrationContext) -> str:
    size: int = context.get_input()
    return "x" * size


@app.orchestration_trigger(context_name="context")
def naps(context: df.DurableOrchestrationContext) -> Generator[Any, Any, int]:
    """Runs `count` async activities that each sleep `seconds`, all at once."""
    count, seconds = context.get_input()
    results = yield context.task_all([context.call_activity("nap", seconds) for _ in range(count)])
    return len(results)


@app.orchestration_trigger(context_name="context")
def waits(context: df.DurableOrchestrationContext) -> Generator[Any, Any, Any]:
    decision = yield context.wait_for_external_event("decision")
    return decision


@app.orchestration_trigger(context_name="context")
def parent_of_waiter(context: df.DurableOrchestrationContext) -> Generator[Any, Any, Any]:
    child_id = f"{context.instance_id}-child"
    decision = yield context.call_sub_orchestrator("waits", None, instance_id=child_id)
    return decision


@app.activity_trigger(input_name="size")
def make_text(size: int) -> str:
    return "x" * size


@app.activity_trigger(input_name="text")
def measure(text: str) -> int:
    return len(text)


@app.activity_trigger(input_name="seconds")
async def nap(seconds: float) -> float:
    await asyncio.sleep(seconds)
    return seconds
