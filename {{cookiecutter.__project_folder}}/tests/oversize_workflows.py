"""Workflows that reach each size limit on purpose, for ``tests/test_oversize.py``.

``relay`` starts from ``{"bytes": n, "hops": h}``: it makes a text of ``n`` bytes and passes
it from superstep to superstep ``h`` times, so its history grows by about ``5.3 * n`` bytes
and a few events per hop: each message between executors is pickled and base64-encoded
(1.34 bytes per byte), and is in the history as the next activity's input and, more than
once, in the result of the activity that sent it (about 4 bytes per byte). ``ask`` asks a person
one yes-or-no question. Both are served by ``tests/oversize_app.py`` (devhost) and by
``python worker.py --workflows tests.oversize_workflows:build_oversize_workflows``.
"""

from dataclasses import dataclass
from typing import Any

from agent_framework import (
    Executor,
    Workflow,
    WorkflowBuilder,
    WorkflowContext,
    handler,
    response_handler,
)
from pydantic import Field

from workflows.human_input import ask, read_answer
from workflows.messages import InboundMessage, parse_start_message

# Supersteps a relay may take: far more than any test's hops, so the history limit is what
# stops a long relay, not MAF's iteration limit.
MAX_HOPS = 10_000


class Size(InboundMessage):
    bytes: int = Field(ge=0)
    hops: int = Field(ge=0, default=0)


class Agreement(InboundMessage):
    agreed: bool


@dataclass
class Parcel:
    text: str
    hops_left: int


class Produce(Executor):
    @handler
    async def produce(self, body: object, ctx: WorkflowContext[Parcel]) -> None:
        size = parse_start_message(Size, body)
        await ctx.send_message(Parcel("x" * size.bytes, size.hops))


class Relay(Executor):
    @handler
    async def relay(self, parcel: Parcel, ctx: WorkflowContext[Parcel, dict[str, int]]) -> None:
        if parcel.hops_left == 0:
            await ctx.yield_output({"bytes": len(parcel.text)})
        else:
            await ctx.send_message(Parcel(parcel.text, parcel.hops_left - 1))


class Ask(Executor):
    @handler
    async def start(self, body: object, ctx: WorkflowContext[None, dict[str, bool]]) -> None:
        await ask(ctx, {"question": "Agreed?"}, Agreement)

    @response_handler
    async def on_answer(
        self, request: dict[str, Any], answer: object, ctx: WorkflowContext[None, dict[str, bool]]
    ) -> None:
        agreement = await read_answer(ctx, request, answer, Agreement)
        if agreement is not None:
            await ctx.yield_output({"agreed": agreement.agreed})


def build_relay_workflow() -> Workflow:
    produce, relay = Produce(id="produce"), Relay(id="relay")
    return (
        WorkflowBuilder(
            name="relay", start_executor=produce, output_from=[relay], max_iterations=MAX_HOPS
        )
        .add_edge(produce, relay)
        .add_edge(relay, relay)
        .build()
    )


def build_ask_workflow() -> Workflow:
    asker = Ask(id="ask")
    return WorkflowBuilder(name="ask", start_executor=asker, output_from=[asker]).build()


def build_oversize_workflows() -> list[Workflow]:
    return [build_relay_workflow(), build_ask_workflow()]
