"""The same oversize battery on devhost and on worker.py: the same outcome, never a hang.

Each case reaches one of the Durable Task Scheduler's limits (``devhost.backend`` names them,
with their sources) or passes gRPC's default 4 MB message size: a start body and an answer
over the payload limit, an invalid answer that is large but legal, an activity result over
the payload limit, a history of legal payloads far past 4 MB, and a history over the history
events limit (lowered to ``HISTORY_EVENTS`` here, through devhost's setting, so it is reached
in seconds). On both hosts no run is left Running, and every refusal and failure names the
limit: on devhost in its console (AgentFunctionApp's routes answer such a body with an empty
``500``) and in the run's status; on worker.py in the client's error and the run's status.
"""

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import grpc
import pytest
import requests
from devhost.backend import HISTORY_EVENTS_LIMIT_SETTING, PAYLOAD_LIMIT_BYTES, LoopbackBackend

from tests.http_host import embedded_host, standalone_worker
from worker import WorkflowRuns, parse_connection

PROJECT = Path(__file__).resolve().parents[1]
OVERSIZE_WORKFLOWS = "tests.oversize_workflows:build_oversize_workflows"
HISTORY_EVENTS = 200
PAYLOAD_LIMIT = f"{PAYLOAD_LIMIT_BYTES:,} bytes"
HISTORY_LIMIT = f"{HISTORY_EVENTS:,} history events"
RUN_SECONDS = 60
POLL_SECONDS = 0.02
STARTUP_SECONDS = 60
FINISHED = {"completed", "failed", "terminated"}
OVER_THE_PAYLOAD_LIMIT = "x" * PAYLOAD_LIMIT_BYTES
# The first executor's result holds the text it sends twice, pickled and base64-encoded
# (about 2.7 bytes per byte): 400,000 bytes of text make a result of about 1,070,000 bytes.
RESULT_OVER_THE_LIMIT = 400_000
# A hop's input holds 1.34 bytes per byte of text, its result about 4: for 200,000 bytes,
# every payload legal (at most about 802,000 bytes) and six hops about 6.4 MB of history.
HISTORY_PAST_4_MB = {"bytes": 200_000, "hops": 6}
# Hundreds of supersteps, a few history events each.
HISTORY_OVER_THE_EVENTS_LIMIT = {"bytes": 1, "hops": 300}


@dataclass
class Run:
    instance_id: str
    status: str
    failure: str
    # The pending requests' ids, each with its data.
    requests: dict[str, Any]
    output: Any = None
    respond_urls: dict[str, str] = field(default_factory=dict)


class Host(Protocol):
    """Starts, reads and answers runs; what a refusal said is in `refusals`."""

    refusals: list[str]
    started: list[str]

    def start(self, workflow: str, body: Any) -> str | None: ...

    def read(self, instance_id: str) -> Run: ...

    def respond(self, run: Run, request_id: str, answer: Any) -> bool: ...


@dataclass
class Outcome:
    what_happened: str
    names_the_limit: bool


def wait(host: Host, instance_id: str, until: Any) -> Run:
    deadline = time.monotonic() + RUN_SECONDS
    while time.monotonic() < deadline:
        run = host.read(instance_id)
        if until(run):
            return run
        if run.status in FINISHED:
            raise AssertionError(f"run {instance_id} ended {run.status}: {run.failure}")
        time.sleep(POLL_SECONDS)
    raise AssertionError(f"run {instance_id} stayed {run.status} for {RUN_SECONDS}s: a hang")


def finished(host: Host, instance_id: str) -> Run:
    return wait(host, instance_id, lambda run: run.status in FINISHED)


def asked(host: Host, instance_id: str, again: bool = False) -> Run:
    """The run once it asks; with ``again``, once it asks again saying what was wrong."""
    return wait(
        host,
        instance_id,
        lambda run: any(again == ("problem" in data) for data in run.requests.values()),
    )


def outcome_of_a_start(host: Host, body: Any, limit: str) -> Outcome:
    before = len(host.refusals)
    instance_id = host.start("relay", body)
    if instance_id is None:
        return Outcome("refused", limit in "".join(host.refusals[before:]))
    run = finished(host, instance_id)
    return Outcome(run.status, limit in run.failure if run.status == "failed" else True)


def outcome_of_an_answer(host: Host, first_answer: Any) -> Outcome:
    """Answer with ``first_answer``, then validly; what happened to each, and the run."""
    instance_id = host.start("ask", {})
    assert instance_id is not None
    run = asked(host, instance_id)
    (request_id,) = run.requests
    before = len(host.refusals)
    accepted = host.respond(run, request_id, first_answer)
    named = PAYLOAD_LIMIT in "".join(host.refusals[before:]) if not accepted else True
    if accepted:
        run = asked(host, instance_id, again=True)
        (request_id,) = run.requests
    host.respond(run, request_id, {"agreed": True})
    final = finished(host, instance_id)
    first = "accepted and asked again" if accepted else "refused"
    return Outcome(f"{first}, then {final.status} with {final.output}", named)


def battery(host: Host) -> dict[str, Outcome]:
    return {
        "start body over the payload limit": outcome_of_a_start(
            host, {"bytes": 1, "padding": OVER_THE_PAYLOAD_LIMIT}, PAYLOAD_LIMIT
        ),
        "answer over the payload limit": outcome_of_an_answer(
            host, {"agreed": True, "padding": OVER_THE_PAYLOAD_LIMIT}
        ),
        "invalid answer of 0.6 MB": outcome_of_an_answer(host, {"agreed": "y" * 600_000}),
        "activity result over the payload limit": outcome_of_a_start(
            host, {"bytes": RESULT_OVER_THE_LIMIT}, PAYLOAD_LIMIT
        ),
        "history past gRPC's 4 MB default": outcome_of_a_start(
            host, HISTORY_PAST_4_MB, PAYLOAD_LIMIT
        ),
        "history over the history events limit": outcome_of_a_start(
            host, HISTORY_OVER_THE_EVENTS_LIMIT, HISTORY_LIMIT
        ),
    }


EXPECTED = {
    "start body over the payload limit": Outcome("refused", True),
    "answer over the payload limit": Outcome(
        "refused, then completed with [{'agreed': True}]", True
    ),
    "invalid answer of 0.6 MB": Outcome(
        "accepted and asked again, then completed with [{'agreed': True}]", True
    ),
    "activity result over the payload limit": Outcome("failed", True),
    "history past gRPC's 4 MB default": Outcome("completed", True),
    "history over the history events limit": Outcome("failed", True),
}


@dataclass
class Devhost:
    """The oversize workflows on ``python -m devhost``, through AgentFunctionApp's routes."""

    base_url: str
    log: Path
    refusals: list[str] = field(default_factory=list)
    started: list[str] = field(default_factory=list)
    status_urls: dict[str, str] = field(default_factory=dict)

    def _post(self, url: str, value: Any) -> requests.Response:
        headers = {"Content-Type": "application/json"}
        return requests.post(url, data=json.dumps(value), headers=headers, timeout=30)

    def _refused(self, response: requests.Response) -> bool:
        if response.status_code < 400:
            return False
        # The route's own answer is an empty 500; devhost's console names the limit.
        self.refusals.append(response.text + self.log.read_text(errors="replace"))
        return True

    def start(self, workflow: str, body: Any) -> str | None:
        response = self._post(f"{self.base_url}/api/workflow/{workflow}/run", body)
        if self._refused(response):
            return None
        assert response.status_code == 202, response.text
        instance_id: str = response.json()["instanceId"]
        self.status_urls[instance_id] = response.json()["statusQueryGetUri"]
        self.started.append(instance_id)
        return instance_id

    def read(self, instance_id: str) -> Run:
        status = requests.get(self.status_urls[instance_id], timeout=10).json()
        pending = status.get("pendingHumanInputRequests") or []
        return Run(
            instance_id,
            str(status["runtimeStatus"]).lower(),
            json.dumps(status.get("error") or status.get("output") or ""),
            {request["requestId"]: request["requestData"] for request in pending},
            status.get("output"),
            {request["requestId"]: request["respondUrl"] for request in pending},
        )

    def respond(self, run: Run, request_id: str, answer: Any) -> bool:
        response = self._post(run.respond_urls[request_id], answer)
        return not self._refused(response)


@dataclass
class Worker:
    """The oversize workflows on ``python worker.py``, through worker.py's client."""

    runs: WorkflowRuns
    refusals: list[str] = field(default_factory=list)
    started: list[str] = field(default_factory=list)

    def start(self, workflow: str, body: Any) -> str | None:
        try:
            instance_id = self.runs.start(workflow, body)
        except grpc.RpcError as error:
            self.refusals.append(f"{error.code().name}: {error.details()}")
            return None
        self.started.append(instance_id)
        return instance_id

    def read(self, instance_id: str) -> Run:
        status = self.runs.status(instance_id)
        return Run(
            instance_id,
            str(status["runtimeStatus"]).lower(),
            str(status.get("failure") or ""),
            {r["request_id"]: r["data"] for r in status["pendingHumanInputRequests"]},
            status.get("output"),
        )

    def respond(self, run: Run, request_id: str, answer: Any) -> bool:
        try:
            self.runs.respond(run.instance_id, request_id, answer)
        except grpc.RpcError as error:
            self.refusals.append(f"{error.code().name}: {error.details()}")
            return False
        return True


@dataclass
class Battery:
    outcomes: dict[str, Outcome]
    statuses: dict[str, str]


def after_the_battery(host: Host) -> Battery:
    outcomes = battery(host)
    return Battery(outcomes, {i: host.read(i).status for i in host.started})


@pytest.fixture(scope="module")
def on_devhost(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Battery]:
    log_dir = tmp_path_factory.mktemp("devhost")
    settings = {HISTORY_EVENTS_LIMIT_SETTING: str(HISTORY_EVENTS)}
    with embedded_host(log_dir, "tests.oversize_app:app", settings) as host:
        yield after_the_battery(Devhost(host.base_url, log_dir / "embedded-host-1.log"))


@pytest.fixture(scope="module")
def on_worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Battery]:
    backend = LoopbackBackend(history_events=HISTORY_EVENTS)
    log_dir = tmp_path_factory.mktemp("worker")
    with standalone_worker(backend, log_dir, workflows=OVERSIZE_WORKFLOWS) as worker:
        yield after_the_battery(Worker(WorkflowRuns(parse_connection(worker.environment))))


@pytest.fixture(params=["on_devhost", "on_worker"])
def each_host(request: pytest.FixtureRequest) -> Battery:
    battery: Battery = request.getfixturevalue(request.param)
    return battery


def test_no_run_is_left_running(each_host: Battery) -> None:
    assert [s for s in each_host.statuses.values() if s not in FINISHED] == []


def test_every_case_ends_as_expected_and_names_the_limit(each_host: Battery) -> None:
    assert each_host.outcomes == EXPECTED


def test_devhost_and_worker_py_end_every_case_alike(
    on_devhost: Battery, on_worker: Battery
) -> None:
    assert on_devhost.outcomes == on_worker.outcomes
