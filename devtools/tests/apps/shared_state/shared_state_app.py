"""A workflow with a bug that only shows on more than one instance.

`remember` keeps the order in a module-level dictionary and passes on only its key; `recall`
looks the order up there. On one instance both executors run in the same process, so it
works; on Flex Consumption each executor runs as an activity on whichever instance takes it,
and another instance's process has its own, empty, dictionary.
"""

from __future__ import annotations

import os
import uuid

import azure.functions as func
from agent_framework import Workflow, WorkflowBuilder, WorkflowContext, executor
from agent_framework_azurefunctions import AgentFunctionApp

_orders: dict[str, str] = {}


async def remember(order: str, ctx: WorkflowContext[str]) -> None:
    key = uuid.uuid4().hex
    _orders[key] = order
    await ctx.send_message(f"{key}@{os.getpid()}")


async def recall(reference: str, ctx: WorkflowContext[str, str]) -> None:
    key, _, stored_by = reference.partition("@")
    if key not in _orders:
        raise RuntimeError(
            f"'recall' runs in process {os.getpid()}, but 'remember' kept the order in a "
            f"module-level variable of process {stored_by}. Executors run as activities on "
            "whichever instance takes them, and every instance is a process with its own "
            "module state: pass the data in the message (or keep it in durable state)."
        )
    await ctx.yield_output(f"recalled {_orders.pop(key)}")


def build_orders() -> Workflow:
    remember_step = executor(id="remember")(remember)
    recall_step = executor(id="recall")(recall)
    return (
        WorkflowBuilder(name="orders", start_executor=remember_step, output_from=[recall_step])
        .add_edge(remember_step, recall_step)
        .build()
    )


app = AgentFunctionApp(workflows=[build_orders()], http_auth_level=func.AuthLevel.FUNCTION)
