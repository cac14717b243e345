"""Which instance or worker process took each work item, and when it gave back the result.

The backend hands every orchestrator episode, activity and entity batch to one connected
stream (the host's own dispatcher, an `--instances` process, a worker of your own) and gets a
completion back. The dashboard shows these records as where each step ran and as the run's
waterfall: the spans devhost makes for the same work (`orchestration:`, `activity:`,
`entity:`) start and end with them. Records are kept in memory, for the most recent runs.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass
from typing import Any

from .upstream import pb

# Runs whose records are kept; the oldest are dropped first.
KEPT_RUNS = 2000


@dataclass
class Placement:
    """One work item: what it was, who took it, when it went out and came back (epoch s)."""

    kind: str
    name: str
    task_id: int | None
    taken_by: str
    handed_out: float
    completed: float | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def describe(item: pb.WorkItem) -> tuple[str, str, str, int | None]:
    """(kind, instance id, name, task id) of a work item."""
    if item.HasField("orchestratorRequest"):
        request = item.orchestratorRequest
        started = [
            event.executionStarted.name
            for event in [*request.pastEvents, *request.newEvents]
            if event.HasField("executionStarted")
        ]
        return "orchestrator", request.instanceId, started[0] if started else "", None
    if item.HasField("activityRequest"):
        activity = item.activityRequest
        instance = activity.orchestrationInstance.instanceId
        return "activity", instance, activity.name, activity.taskId
    entity = item.entityRequestV2
    operations = ",".join(
        operation.entityOperationCalled.operation or operation.entityOperationSignaled.operation
        for operation in entity.operationRequests
    )
    return "entity", entity.instanceId, operations, None


class WorkLog:
    """Placements by instance id (an orchestration's, or an entity's `@name@key`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs: OrderedDict[str, list[Placement]] = OrderedDict()
        self._open: dict[tuple[str, str, str], Placement] = {}
        self._parents: dict[str, str] = {}

    def handed_out(self, item: pb.WorkItem, key: tuple[str, str, str], taken_by: str) -> None:
        kind, instance_id, name, task_id = describe(item)
        placement = Placement(kind, name, task_id, taken_by, time.time())
        with self._lock:
            self._runs.setdefault(instance_id, []).append(placement)
            self._runs.move_to_end(instance_id)
            while len(self._runs) > KEPT_RUNS:
                self._runs.popitem(last=False)
            self._open[key] = placement

    def completed(self, key: tuple[str, str, str]) -> None:
        with self._lock:
            placement = self._open.pop(key, None)
            if placement is not None:
                placement.completed = time.time()

    def children_started(self, parent: str, actions: list[pb.OrchestratorAction]) -> None:
        """Note the parent of each child orchestration among an episode's actions."""
        with self._lock:
            for action in actions:
                if action.HasField("createSubOrchestration"):
                    self._parents[action.createSubOrchestration.instanceId] = parent

    def parent_of(self, instance_id: str) -> str | None:
        with self._lock:
            return self._parents.get(instance_id)

    def of(self, instance_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return [placement.to_json() for placement in self._runs.get(instance_id, [])]
