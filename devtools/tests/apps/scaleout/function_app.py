# mypy: disable-error-code="untyped-decorator"
"""Mixed durable work for the scale-out tests: a chain, a fan-out, a human answer, an entity.

`pipeline` runs three slow steps one after another, four more side by side, waits for the
`approval` event, counts itself on the `tally` entity and returns every step's result.
"""

import time
from collections.abc import Generator
from typing import Any

import azure.durable_functions as df
import azure.functions as func

app = df.DFApp(http_auth_level=func.AuthLevel.ANONYMOUS)
STEP_SECONDS = 0.4


@app.orchestration_trigger(context_name="context")
def pipeline(context: df.DurableOrchestrationContext) -> Generator[Any, Any, dict[str, Any]]:
    run = context.get_input()
    chained = []
    for step in range(3):
        chained.append((yield context.call_activity("slow_step", {"run": run, "step": step})))
    fanned = yield context.task_all(
        [context.call_activity("slow_step", {"run": run, "step": step}) for step in range(3, 7)]
    )
    context.set_custom_status({"waiting_for": "approval"})
    approval = yield context.wait_for_external_event("approval")
    yield context.call_entity(df.EntityId("tally", "runs"), "add", 1)
    return {"steps": chained + fanned, "approval": approval}


@app.activity_trigger(input_name="work")
def slow_step(work: dict[str, Any]) -> str:
    time.sleep(STEP_SECONDS)
    return f"{work['run']}-{work['step']}"


@app.entity_trigger(context_name="context")
def tally(context: df.DurableEntityContext) -> None:
    context.set_state(int(context.get_state(lambda: 0)) + int(context.get_input()))
