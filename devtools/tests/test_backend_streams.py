"""Work-item streams in the host process (`LoopbackBackend.connect`), as one instance takes work.

They follow the rules of an instance's gRPC stream: each item is leased to the stream that
got it, and ending the stream gives back what it held, for another stream to take.
"""

from __future__ import annotations

import queue

from devhost.backend import LoopbackBackend, call_in_process
from devhost.upstream import pb

ITEM_SECONDS = 10.0


def start(backend: LoopbackBackend, instance_id: str) -> None:
    call_in_process(
        backend.StartInstance, pb.CreateInstanceRequest(instanceId=instance_id, name="work")
    )


def complete(backend: LoopbackBackend, item: pb.WorkItem) -> None:
    done = pb.CompleteOrchestrationAction(
        orchestrationStatus=pb.ORCHESTRATION_STATUS_COMPLETED  # type: ignore[arg-type]
    )
    response = pb.OrchestratorResponse(
        instanceId=item.orchestratorRequest.instanceId,
        completionToken=item.completionToken,
        actions=[pb.OrchestratorAction(id=-1, completeOrchestration=done)],
    )
    call_in_process(backend.CompleteOrchestratorTask, response)


def status(backend: LoopbackBackend, instance_id: str) -> int:
    response = call_in_process(backend.GetInstance, pb.GetInstanceRequest(instanceId=instance_id))
    return int(response.orchestrationState.orchestrationStatus)


def test_an_in_process_stream_gets_the_work_item_and_its_completion_counts(
    backend: LoopbackBackend,
) -> None:
    received: queue.Queue[pb.WorkItem] = queue.Queue()
    backend.connect("instance 1", received.put)
    start(backend, "one")

    item = received.get(timeout=ITEM_SECONDS)
    complete(backend, item)

    assert item.orchestratorRequest.instanceId == "one"
    assert status(backend, "one") == pb.ORCHESTRATION_STATUS_COMPLETED


def test_ending_an_in_process_stream_gives_back_what_it_held_to_another_stream(
    backend: LoopbackBackend,
) -> None:
    first: queue.Queue[pb.WorkItem] = queue.Queue()
    disconnect = backend.connect("instance 1", first.put)
    start(backend, "held")
    first.get(timeout=ITEM_SECONDS)

    disconnect()
    second: queue.Queue[pb.WorkItem] = queue.Queue()
    backend.connect("instance 2", second.put)
    again = second.get(timeout=ITEM_SECONDS)
    complete(backend, again)

    assert backend.requeued == ["orchestration held"]
    assert again.orchestratorRequest.instanceId == "held"
    assert status(backend, "held") == pb.ORCHESTRATION_STATUS_COMPLETED
