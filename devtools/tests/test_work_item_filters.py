"""Work item filters: each worker gets only the work it names, as on the Durable Task Scheduler.

A worker that sends filters with its work-item stream takes only the orchestrations,
activities and entities they name; work no connected worker takes waits, and goes to the
first worker that connects with a filter taking it. devhost's own dispatcher sends filters
when the app's settings disable activities (``AzureWebJobs.<name>.Disabled``), leaving those
to other workers, such as a worker pool's ``python worker.py --pool NAME``.
"""

from __future__ import annotations

import queue
import time
from typing import Any

import pytest

from devhost.backend import LoopbackBackend, call_in_process
from devhost.indexing import FunctionIndex, IndexedFunction
from devhost.upstream import pb
from devhost.work_items import disabled_activities, work_item_filters

ITEM_SECONDS = 10.0
POLL_SECONDS = 0.01


def filters(
    orchestrations: tuple[str, ...] = (), activities: tuple[str, ...] = ()
) -> pb.WorkItemFilters:
    return pb.WorkItemFilters(
        orchestrations=[pb.OrchestrationFilter(name=name) for name in orchestrations],
        activities=[pb.ActivityFilter(name=name) for name in activities],
    )


def start(backend: LoopbackBackend, instance_id: str, name: str) -> None:
    call_in_process(
        backend.StartInstance, pb.CreateInstanceRequest(instanceId=instance_id, name=name)
    )


def schedule_activity(backend: LoopbackBackend, item: pb.WorkItem, activity: str) -> None:
    """Answer an orchestrator work item by scheduling one activity."""
    response = pb.OrchestratorResponse(
        instanceId=item.orchestratorRequest.instanceId,
        completionToken=item.completionToken,
        actions=[pb.OrchestratorAction(id=1, scheduleTask=pb.ScheduleTaskAction(name=activity))],
    )
    call_in_process(backend.CompleteOrchestratorTask, response)


def complete_activity(backend: LoopbackBackend, item: pb.WorkItem) -> None:
    request = item.activityRequest
    response = pb.ActivityResponse(
        instanceId=request.orchestrationInstance.instanceId,
        taskId=request.taskId,
        completionToken=item.completionToken,
    )
    call_in_process(backend.CompleteActivityTask, response)


def wait_until_waiting(backend: LoopbackBackend, count: int) -> list[str]:
    deadline = time.monotonic() + ITEM_SECONDS
    while len(waiting := backend.waiting_work()) < count:
        assert time.monotonic() < deadline, f"waiting: {waiting}"
        time.sleep(POLL_SECONDS)
    return waiting


def test_each_worker_gets_only_the_orchestrations_its_filters_name(
    backend: LoopbackBackend,
) -> None:
    flows: queue.Queue[pb.WorkItem] = queue.Queue()
    others: queue.Queue[pb.WorkItem] = queue.Queue()
    backend.connect("flows", flows.put, filters(orchestrations=("flow",)))
    backend.connect("others", others.put, filters(orchestrations=("other",)))

    for number in range(4):
        start(backend, f"flow-{number}", "flow")
        start(backend, f"other-{number}", "other")
    got = [flows.get(timeout=ITEM_SECONDS) for _ in range(4)]
    got_other = [others.get(timeout=ITEM_SECONDS) for _ in range(4)]

    assert sorted(item.orchestratorRequest.instanceId for item in got) == [
        f"flow-{n}" for n in range(4)
    ]
    assert sorted(item.orchestratorRequest.instanceId for item in got_other) == [
        f"other-{n}" for n in range(4)
    ]


def test_an_activity_goes_only_to_the_worker_whose_filters_name_it(
    backend: LoopbackBackend,
) -> None:
    host: queue.Queue[pb.WorkItem] = queue.Queue()
    pool: queue.Queue[pb.WorkItem] = queue.Queue()
    backend.connect("host", host.put, filters(orchestrations=("flow",), activities=("light",)))
    backend.connect("pool", pool.put, filters(activities=("heavy",)))
    start(backend, "run", "flow")

    schedule_activity(backend, host.get(timeout=ITEM_SECONDS), "heavy")
    heavy = pool.get(timeout=ITEM_SECONDS)

    assert heavy.activityRequest.name == "heavy"
    assert host.empty()


def test_work_no_connected_worker_takes_waits_for_the_first_that_does(
    backend: LoopbackBackend,
) -> None:
    host: queue.Queue[pb.WorkItem] = queue.Queue()
    backend.connect("host", host.put, filters(orchestrations=("flow",)))
    start(backend, "run", "flow")
    schedule_activity(backend, host.get(timeout=ITEM_SECONDS), "heavy")

    waiting = wait_until_waiting(backend, 1)
    pool: queue.Queue[pb.WorkItem] = queue.Queue()
    backend.connect("pool", pool.put, filters(activities=("heavy",)))
    heavy = pool.get(timeout=ITEM_SECONDS)
    complete_activity(backend, heavy)

    assert waiting == ["activity 'heavy' of run"]
    assert backend.waiting_work() == []
    # The activity's result wakes the orchestration on the host.
    assert host.get(timeout=ITEM_SECONDS).orchestratorRequest.instanceId == "run"


def test_a_lost_pool_workers_activity_goes_to_the_next_worker_of_its_pool(
    backend: LoopbackBackend,
) -> None:
    host: queue.Queue[pb.WorkItem] = queue.Queue()
    backend.connect("host", host.put, filters(orchestrations=("flow",)))
    first: queue.Queue[pb.WorkItem] = queue.Queue()
    disconnect_first = backend.connect("pool 1", first.put, filters(activities=("heavy",)))
    start(backend, "run", "flow")
    schedule_activity(backend, host.get(timeout=ITEM_SECONDS), "heavy")
    first.get(timeout=ITEM_SECONDS)

    disconnect_first()
    waiting = wait_until_waiting(backend, 1)
    second: queue.Queue[pb.WorkItem] = queue.Queue()
    backend.connect("pool 2", second.put, filters(activities=("heavy",)))
    again = second.get(timeout=ITEM_SECONDS)

    assert waiting == ["activity 'heavy' of run"]
    assert again.activityRequest.name == "heavy"
    assert host.empty()


def test_a_worker_without_filters_takes_every_kind_of_work(backend: LoopbackBackend) -> None:
    anything: queue.Queue[pb.WorkItem] = queue.Queue()
    backend.connect("general", anything.put)
    start(backend, "run", "flow")

    schedule_activity(backend, anything.get(timeout=ITEM_SECONDS), "heavy")

    assert anything.get(timeout=ITEM_SECONDS).activityRequest.name == "heavy"


def indexed(name: str, trigger: dict[str, Any]) -> IndexedFunction:
    return IndexedFunction(name, trigger, [trigger], lambda: None)


def app_index() -> FunctionIndex:
    index = FunctionIndex(route_prefix="api")
    index.orchestrators["flow"] = indexed("flow", {"type": "orchestrationTrigger"})
    index.activities["light"] = indexed("light", {"type": "activityTrigger"})
    index.activities["heavy"] = indexed("heavy", {"type": "activityTrigger"})
    index.entities["counter"] = indexed("counter", {"type": "entityTrigger"})
    return index


def test_an_app_without_disabled_activities_sends_no_filters() -> None:
    assert work_item_filters(app_index(), {}) is None


def test_a_disabled_activity_is_left_out_of_the_apps_filters() -> None:
    environ = {"AzureWebJobs.heavy.Disabled": "true"}

    sent = work_item_filters(app_index(), environ)

    assert sent is not None
    assert [f.name for f in sent.orchestrations] == ["flow"]
    assert [f.name for f in sent.activities] == ["light"]
    assert [f.name for f in sent.entities] == ["counter"]
    assert disabled_activities(app_index(), environ) == ["heavy"]


@pytest.mark.parametrize("value", ["false", "0", ""])
def test_a_disabled_setting_that_is_not_true_disables_nothing(value: str) -> None:
    assert work_item_filters(app_index(), {"AzureWebJobs.heavy.Disabled": value}) is None


def test_a_durabletask_worker_is_named_by_its_process_id() -> None:
    from devhost.backend import stream_name

    assert stream_name({"workerid": "host-1:4242:0f1e"}) == "worker pid 4242"
    assert stream_name({"devhost-instance": "instance 2 (pid 7)"}) == "instance 2 (pid 7)"
    assert stream_name({}) == "worker"
