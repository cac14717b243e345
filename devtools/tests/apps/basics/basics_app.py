# mypy: disable-error-code="untyped-decorator"
"""A plain DFApp exercising the durable features devhost must emulate."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Generator
from datetime import timedelta
from typing import Any

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)

COUNTER = "counter"


def _json(payload: Any, status_code: int = 200) -> func.HttpResponse:
    return func.HttpResponse(
        json.dumps(payload), status_code=status_code, mimetype="application/json"
    )


@app.route(route="start/{orchestrator}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def start(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    body = req.get_body()
    payload = json.loads(body) if body else None
    instance_id = await client.start_new(
        req.route_params["orchestrator"], instance_id=req.params.get("id"), client_input=payload
    )
    response: func.HttpResponse = client.create_check_status_response(req, instance_id)
    return response


@app.route(route="status/{instance_id}", methods=["GET"])
@app.durable_client_input(client_name="client")
async def status(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    found = await client.get_status(req.route_params["instance_id"], show_input=True)
    if not found:
        return _json({"found": False}, 404)
    return _json(
        {
            "name": found.name,
            "runtimeStatus": found.runtime_status.value if found.runtime_status else None,
            "customStatus": found.custom_status,
            "input": found.input_,
            "output": found.output,
        }
    )


@app.route(route="raise/{instance_id}/{event}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def raise_event(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    await client.raise_event(
        req.route_params["instance_id"], req.route_params["event"], req.get_json()
    )
    return _json({"raised": True}, 202)


@app.route(route="terminate/{instance_id}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def terminate(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    await client.terminate(req.route_params["instance_id"], req.params.get("reason", "stopped"))
    return _json({"terminated": True}, 202)


@app.route(route="purge/{instance_id}", methods=["DELETE"])
@app.durable_client_input(client_name="client")
async def purge(req: func.HttpRequest, client: df.DurableOrchestrationClient) -> func.HttpResponse:
    result = await client.purge_instance_history(req.route_params["instance_id"])
    return _json({"instancesDeleted": result.instances_deleted})


@app.route(route="counter/{key}/{operation}", methods=["POST"])
@app.durable_client_input(client_name="client")
async def signal_counter(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    amount = req.get_json() if req.get_body() else None
    await client.signal_entity(
        df.EntityId(COUNTER, req.route_params["key"]), req.route_params["operation"], amount
    )
    return _json({"signalled": True}, 202)


@app.route(route="counter/{key}", methods=["GET"])
@app.durable_client_input(client_name="client")
async def read_counter(
    req: func.HttpRequest, client: df.DurableOrchestrationClient
) -> func.HttpResponse:
    state = await client.read_entity_state(df.EntityId(COUNTER, req.route_params["key"]))
    return _json({"exists": state.entity_exists, "state": state.entity_state})


@app.route(route="hello/{name?}", methods=["GET"])
def hello(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(f"Hello, {req.route_params.get('name', 'world')}!")


@app.orchestration_trigger(context_name="context")
def greetings(context: df.DurableOrchestrationContext) -> Generator[Any, Any, list[str]]:
    names = context.get_input() or ["Tokyo"]
    context.set_custom_status({"stage": "greeting", "count": len(names)})
    first = yield context.call_activity("say_hello", names[0])
    rest: list[str] = []
    if len(names) > 1:
        rest = yield context.task_all([context.call_activity("say_hello", n) for n in names[1:]])
    child = yield context.call_sub_orchestrator(
        "shout", first, instance_id=f"{context.instance_id}::shout::0"
    )
    context.set_custom_status({"stage": "done", "count": len(names)})
    return [first, *rest, child]


@app.orchestration_trigger(context_name="context")
def shout(context: df.DurableOrchestrationContext) -> Generator[Any, Any, str]:
    text = context.get_input()
    upper: str = yield context.call_activity("to_upper", text)
    return upper


@app.orchestration_trigger(context_name="context")
def approval(context: df.DurableOrchestrationContext) -> Generator[Any, Any, dict[str, Any]]:
    context.set_custom_status("waiting")
    decision = yield context.wait_for_external_event("decision")
    if isinstance(decision, str):
        decision = json.loads(decision)
    context.set_custom_status("decided")
    return {"approved": bool(decision.get("approved")), "parent": context.parent_instance_id}


@app.orchestration_trigger(context_name="context")
def fails(context: df.DurableOrchestrationContext) -> Generator[Any, Any, str]:
    never_returned: str = yield context.call_activity("explode", "boom")
    return never_returned


@app.orchestration_trigger(context_name="context")
def catches(context: df.DurableOrchestrationContext) -> Generator[Any, Any, str]:
    try:
        yield context.call_activity("explode", "caught")
    except Exception as error:
        return f"recovered from: {error}"
    return "not reached"


@app.orchestration_trigger(context_name="context")
def counts_with_entity(context: df.DurableOrchestrationContext) -> Generator[Any, Any, int]:
    entity = df.EntityId(COUNTER, context.get_input())
    context.signal_entity(entity, "add", 5)
    yield context.call_entity(entity, "add", 2)
    total: int = yield context.call_entity(entity, "get")
    return total


@app.orchestration_trigger(context_name="context")
def sleeps(context: df.DurableOrchestrationContext) -> Generator[Any, Any, str]:
    yield context.create_timer(context.current_utc_datetime + timedelta(seconds=1))
    return "woke up"


@app.orchestration_trigger(context_name="context")
def deadline(context: df.DurableOrchestrationContext) -> Generator[Any, Any, str]:
    seconds: float = context.get_input()
    timer = context.create_timer(context.current_utc_datetime + timedelta(seconds=seconds))
    decision = context.wait_for_external_event("decision")
    winner = yield context.task_any([decision, timer])
    if winner == decision:
        timer.cancel()
        return "decided in time"
    return "timed out"


@app.orchestration_trigger(context_name="context")
def loops(context: df.DurableOrchestrationContext) -> Generator[Any, Any, int]:
    round_number: int = context.get_input() or 0
    if round_number < 3:
        yield context.call_activity("say_hello", str(round_number))
        context.continue_as_new(round_number + 1)
        return round_number
    return round_number


@app.orchestration_trigger(context_name="context")
def retries(context: df.DurableOrchestrationContext) -> Generator[Any, Any, list[str]]:
    """Retries `flaky` beside a plain call, then makes one more call."""
    key, attempts = context.get_input()
    policy = df.RetryOptions(200, max_number_of_attempts=attempts)
    retried = context.call_activity_with_retry("flaky", policy, key)
    results: list[str] = yield context.task_all([retried, context.call_activity("say_hello", key)])
    last: str = yield context.call_activity("say_hello", "afterwards")
    return [*results, last]


@app.orchestration_trigger(context_name="context")
def retries_child(context: df.DurableOrchestrationContext) -> Generator[Any, Any, str]:
    policy = df.RetryOptions(100, max_number_of_attempts=3)
    result: str = yield context.call_sub_orchestrator_with_retry(
        "flaky_child", policy, context.get_input()
    )
    return result


@app.orchestration_trigger(context_name="context")
def flaky_child(context: df.DurableOrchestrationContext) -> Generator[Any, Any, str]:
    result: str = yield context.call_activity("flaky", context.get_input())
    return result


ATTEMPTS: Counter[str] = Counter()


@app.activity_trigger(input_name="key")
def flaky(key: str) -> str:
    """Fails the first two times it is called with a key; the tests read ATTEMPTS."""
    ATTEMPTS[key] += 1
    if ATTEMPTS[key] < 3:
        raise ConnectionError(f"attempt {ATTEMPTS[key]} for {key}")
    return f"{key} after {ATTEMPTS[key]} attempts"


@app.activity_trigger(input_name="name")
def say_hello(name: str) -> str:
    return f"Hello {name}!"


@app.activity_trigger(input_name="text")
async def to_upper(text: str) -> str:
    return text.upper()


@app.activity_trigger(input_name="message")
def explode(message: str) -> str:
    raise ValueError(message)


@app.entity_trigger(context_name="context", entity_name=COUNTER)
def counter(context: df.DurableEntityContext) -> None:
    value: int = context.get_state(lambda: 0)
    if context.operation_name == "add":
        value += int(context.get_input())
        context.set_state(value)
    elif context.operation_name == "reset":
        context.set_state(0)
    context.set_result(value)
