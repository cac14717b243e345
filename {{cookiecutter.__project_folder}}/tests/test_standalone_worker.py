"""worker.py: two standalone worker processes sharing one durable backend, one of them killed.

The backend is durabletask's in-memory Durable Task server (``durabletask.testing``) as devhost
extends it (``devhost.backend.LoopbackBackend``): on a loopback port, handing work items to the
connected workers in turn and, like the Durable Task Scheduler when a worker's lock lapses,
handing a dead worker's items to another. Each worker is ``python worker.py`` in a process of
its own, as it would run in its own container, and the runs are driven through worker.py's
client. Agents answer from the offline fake model (``tests.conftest:offline_workflows``).
The workers trace to the console (``OTEL_TRACES_EXPORTER=console``), as they would export to
Application Insights; the trace tests read what they printed once they stopped.
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pytest
from agent_framework_durabletask import DurableAIAgentWorker
from devhost.backend import LoopbackBackend
from durabletask.azuremanaged.client import DurableTaskSchedulerClient
from durabletask.azuremanaged.worker import DurableTaskSchedulerWorker
from durabletask.task import ActivityContext, OrchestrationContext, Task
from durabletask.worker import WorkItemFilters
{% if cookiecutter.composition_workflow != "none" %}
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags
{% endif %}

from tests.conftest import offline_workflows
from tests.http_host import free_port, start_pool_worker, stop_processes
{% if cookiecutter.composition_workflow != "none" %}
from tests.run_spans import FARE_CHECK, TRIP, WORKFLOW, ancestors, printed_spans
{% endif %}
from tests.scenarios import NO_EXAMPLE_RUN, SCENARIOS, Scenario, output_matches
from worker import (
    CONNECTION_SETTING,
    TASK_HUB_SETTING,
    Connection,
    SettingError,
    WorkflowRuns,
    concurrency_options,
    credential_for,
    describe_work,
    export_local_settings,
    parse_connection,
    read_settings,
)
from worker import main as worker_command
from workflows.placement import pools
{% if cookiecutter.composition_workflow != "none" %}
from workflows.trip_booking import WORKFLOW_NAME
{% endif %}

PROJECT = Path(__file__).resolve().parents[1]
OFFLINE_WORKFLOWS = "tests.conftest:offline_workflows"
# Two workers and one run of each scenario per batch already show every behaviour here:
# runs shared between processes, a worker dying mid-run, its work handed to the other. Each
# further worker is another process importing the Agent Framework, durabletask and gRPC.
WORKERS = 2
RUNS_PER_SCENARIO = 1
STARTUP_SECONDS = 60
RUN_SECONDS = 30
STOP_SECONDS = 30
POLL_SECONDS = 0.01
FINISHED = {"COMPLETED", "FAILED", "TERMINATED"}
{% if cookiecutter.composition_workflow != "none" %}
# The span of whoever starts the traced run (a front end, another service), in another process.
CALLER = SpanContext(
    trace_id=0x0AF7651916CD43DD8448EB211C80319C,
    span_id=0xB7AD6B7169203331,
    is_remote=True,
    trace_flags=TraceFlags(TraceFlags.SAMPLED),
)
{% endif %}


class RecordingBackend(LoopbackBackend):
    """devhost's backend, noting which worker process each work item went to.

    The subclass only watches the work-item stream (workers name themselves
    ``host:pid:uuid`` in the ``workerid`` header) and changes nothing the workers see.
    """

    def __init__(self) -> None:
        super().__init__()
        self._watch = threading.Lock()
        self.connected: set[int] = set()
        self.handed: dict[int, list[str]] = {}

    def GetWorkItems(self, request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        worker_id = dict(context.invocation_metadata()).get("workerid", "")
        pid = int(str(worker_id).split(":")[1])
        with self._watch:
            self.connected.add(pid)
            self.handed.setdefault(pid, [])
        for item in super().GetWorkItems(request, context):
            with self._watch:
                self.handed[pid].append(work_item_owner(item))
            yield item

    def handed_to(self, pid: int) -> list[str]:
        with self._watch:
            return list(self.handed.get(pid, []))


def work_item_owner(item: Any) -> str:
    """The orchestration or entity id a work item belongs to (child ids start with the parent's)."""
    kind = item.WhichOneof("request")
    if kind == "activityRequest":
        return str(item.activityRequest.orchestrationInstance.instanceId)
    return str(getattr(item, kind).instanceId)


@dataclass
class Run:
    scenario: Scenario
    instance_id: str
    requests: list[str] = field(default_factory=list)
    status: dict[str, Any] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        return self.status.get("runtimeStatus") in FINISHED

    def problems(self) -> list[str]:
        """Everything wrong with this run: not completed, wrong output, anything doubled."""
        label = f"{self.scenario.id} {self.instance_id}"
        if self.status.get("runtimeStatus") != "COMPLETED":
            return [f"{label} is {self.status.get('runtimeStatus')}: {self.status}"]
        found = []
        outputs = self.status["output"]
        if len(outputs) != 1 or not output_matches(outputs[0], self.scenario.expected_output):
            found.append(
                f"{label} output {outputs}, expected one like {self.scenario.expected_output}"
            )
        if len(self.requests) != len(self.scenario.answers):
            found.append(f"{label} asked {self.requests}, expected {len(self.scenario.answers)}")
        return found


@dataclass
class Cluster:
    backend: RecordingBackend
    workers: list[subprocess.Popen[bytes]]
    runs: WorkflowRuns
    environment: dict[str, str]
    logs: Path
    # One `worker.py --pool NAME` per pool the workflows place a step on (usually none).
    pool_workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start_worker(self, name: str) -> subprocess.Popen[bytes]:
        """``python worker.py``: its spans go to ``{name}.spans``, its log to ``{name}.log``."""
        spans_file, log_file = self.logs / f"{name}.spans", self.logs / f"{name}.log"
        with spans_file.open("wb") as spans, log_file.open("wb") as log:
            return subprocess.Popen(
                [sys.executable, "worker.py", "--workflows", OFFLINE_WORKFLOWS],
                cwd=PROJECT,
                env=self.environment,
                stdout=spans,
                stderr=log,
            )

    def wait_until_connected(self, workers: list[subprocess.Popen[bytes]]) -> None:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not {w.pid for w in workers} <= self.backend.connected:
            dead = [w for w in workers if w.poll() is not None]
            if dead or time.monotonic() > deadline:
                logs = "\n".join(p.read_text()[-2000:] for p in self.logs.glob("*.log"))
                raise AssertionError(f"workers did not connect within {STARTUP_SECONDS}s\n{logs}")
            time.sleep(POLL_SECONDS)

    def start_runs(self, scenarios: list[Scenario] = SCENARIOS) -> list[Run]:
        return [
            Run(scenario, self.runs.start(scenario.workflow, scenario.body))
            for scenario in scenarios
            for _ in range(RUNS_PER_SCENARIO)
        ]

    def drive(self, runs: list[Run], seconds: float) -> None:
        """Answer every new human request in turn until each run finishes or time is up."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not all(run.finished for run in runs):
            for run in (run for run in runs if not run.finished):
                run.status = self.runs.status(run.instance_id)
                for request in run.status["pendingHumanInputRequests"]:
                    if request["request_id"] in run.requests:
                        continue
                    run.requests.append(request["request_id"])
                    if len(run.requests) <= len(run.scenario.answers):
                        answer = run.scenario.answers[len(run.requests) - 1]
                        self.runs.respond(run.instance_id, request["request_id"], answer)
            time.sleep(POLL_SECONDS)


def stop(*workers: subprocess.Popen[bytes]) -> list[int]:
    """Signal every worker first, so they finish their stops together; then their exit codes."""
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
    codes = []
    for worker in workers:
        try:
            codes.append(worker.wait(timeout=STOP_SECONDS))
        except subprocess.TimeoutExpired:
            worker.kill()
            codes.append(worker.wait())
    return codes


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    backend = RecordingBackend()
    address = backend.start()
    environment = {
        **os.environ,
        CONNECTION_SETTING: f"Endpoint=http://{address};Authentication=None",
        TASK_HUB_SETTING: "default",
        "OTEL_TRACES_EXPORTER": "console",
    }
    connection = parse_connection(environment)
    running = Cluster(
        backend, [], WorkflowRuns(connection), environment, tmp_path_factory.mktemp("workers")
    )
    try:
        running.workers = [running.start_worker(f"worker{n}") for n in range(WORKERS)]
        running.wait_until_connected(running.workers)
        for pool in pools(offline_workflows()):
            running.pool_workers.append(
                start_pool_worker(pool, f"http://{address}", environment, running.logs, pool)
            )
        yield running
    finally:
        stop(*running.workers)
        stop_processes(*running.pool_workers)
        backend.stop()


def test_two_workers_share_the_runs_of_every_starter(cluster: Cluster) -> None:
    if not SCENARIOS:
        pytest.skip(NO_EXAMPLE_RUN)
    runs = cluster.start_runs()

    cluster.drive(runs, RUN_SECONDS)

    assert [problem for run in runs for problem in run.problems()] == []
    assert all(cluster.backend.handed_to(worker.pid) for worker in cluster.workers)


@dataclass
class AfterAKill:
    paused: list[Run]
    held: list[Run]
    not_held: list[Run]


class RunsLostError(Exception):
    """Runs whose work items were in the killed worker's hands never finished."""


@pytest.fixture(scope="module")
def after_a_kill(cluster: Cluster) -> AfterAKill:
    """One of the two workers killed with SIGKILL while runs are paused and while runs are moving.

    Runs of every starter that asks a person are first brought to their question. Then one
    worker is frozen (SIGSTOP), a batch of runs is started, and once the backend has handed
    the frozen worker a work item it is killed: so it surely dies holding work. The paused runs
    are answered after it died; then a fresh batch is started on the survivor.
    """
    if not SCENARIOS:
        pytest.skip(NO_EXAMPLE_RUN)
    paused = cluster.start_runs([scenario for scenario in SCENARIOS if scenario.answers])
    for run in paused:
        wait_for_request(cluster, run)
    victim = cluster.workers[0]
    before = len(cluster.backend.handed_to(victim.pid))
    os.kill(victim.pid, signal.SIGSTOP)
    moving = cluster.start_runs()
    deadline = time.monotonic() + RUN_SECONDS
    while len(cluster.backend.handed_to(victim.pid)) == before:
        assert time.monotonic() < deadline, "the frozen worker was handed no work item"
        time.sleep(POLL_SECONDS)
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(timeout=STOP_SECONDS)
    in_its_hands = cluster.backend.handed_to(victim.pid)[before:]

    for run in paused:
        cluster.runs.respond(run.instance_id, run.requests[0], run.scenario.answers[0])
    held = [r for r in moving if any(r.instance_id in owner for owner in in_its_hands)]
    not_held = [r for r in moving if r not in held]
    cluster.drive(paused + not_held, RUN_SECONDS)
    # devhost's backend has no lease timeout: it hands a work item out again only when the
    # stream holding it closes (the kernel reports that the moment the process is killed).
    # So a held run that finishes at all proves the redelivery; the bound is only "no hang".
    cluster.drive(held, RUN_SECONDS)
    started_after = cluster.start_runs()
    cluster.drive(started_after, RUN_SECONDS)
    return AfterAKill(paused, held, not_held + started_after)


def test_runs_waiting_for_a_person_when_a_worker_dies_finish_on_the_survivor(
    after_a_kill: AfterAKill,
) -> None:
    if not after_a_kill.paused:
        pytest.skip("no workflow of this project asks a person")
    assert [problem for run in after_a_kill.paused for problem in run.problems()] == []


def test_every_run_the_dead_worker_did_not_hold_completes_once(after_a_kill: AfterAKill) -> None:
    assert [problem for run in after_a_kill.not_held for problem in run.problems()] == []


def test_runs_held_by_the_killed_worker_complete_on_the_survivor(after_a_kill: AfterAKill) -> None:
    assert after_a_kill.held, "the killed worker held no run"
    problems = [problem for run in after_a_kill.held for problem in run.problems()]
    if problems:
        raise RunsLostError("\n".join(problems))


def test_the_client_command_starts_reads_and_answers_a_run(
    cluster: Cluster, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    if not SCENARIOS:
        pytest.skip(NO_EXAMPLE_RUN)
    scenario = max(SCENARIOS, key=lambda s: len(s.answers))
    for setting in (CONNECTION_SETTING, TASK_HUB_SETTING):
        monkeypatch.setenv(setting, cluster.environment[setting])

    def client(*arguments: str) -> Any:
        """``python worker.py client ...``, in this process (the workers prove the script runs)."""
        capsys.readouterr()
        exit_code = worker_command(["client", *arguments])
        printed = capsys.readouterr()
        assert exit_code == 0, printed.err
        return json.loads(printed.out)

    instance_id = client("start", scenario.workflow, json.dumps(scenario.body))["instanceId"]
    run = Run(scenario, instance_id)
    for answer in scenario.answers:
        request = wait_for_request(cluster, run)
        client("respond", instance_id, request["request_id"], json.dumps(answer))
    cluster.drive([run], RUN_SECONDS)
    status = client("status", instance_id)

    assert status["runtimeStatus"] == "COMPLETED"
    assert output_matches(status["output"][0], scenario.expected_output)


def test_a_client_command_that_reaches_no_scheduler_names_the_endpoint(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv(CONNECTION_SETTING, f"Endpoint={endpoint};Authentication=None")
    monkeypatch.setenv(TASK_HUB_SETTING, "default")

    exit_code = worker_command(["client", "status", "any-run"])

    printed = capsys.readouterr()
    assert exit_code == 1
    assert f"the status request to {endpoint} failed: UNAVAILABLE" in printed.err
    assert "Traceback" not in printed.err


def wait_for_request(cluster: Cluster, run: Run) -> dict[str, Any]:
    deadline = time.monotonic() + RUN_SECONDS
    while time.monotonic() < deadline:
        pending = cluster.runs.status(run.instance_id)["pendingHumanInputRequests"]
        fresh = [r for r in pending if r["request_id"] not in run.requests]
        if fresh:
            run.requests.append(fresh[0]["request_id"])
            return dict(fresh[0])
        time.sleep(POLL_SECONDS)
    raise AssertionError(f"{run.instance_id} asked nothing within {RUN_SECONDS}s")


def test_a_worker_of_a_project_with_no_workflow_says_it_serves_none() -> None:
    assert describe_work([], WorkItemFilters(), None) == "no workflow (none declared)"


def test_a_missing_connection_setting_is_named() -> None:
    with pytest.raises(SettingError, match=CONNECTION_SETTING):
        parse_connection({TASK_HUB_SETTING: "default"})


def test_a_missing_task_hub_names_both_places_it_can_come_from() -> None:
    settings = {CONNECTION_SETTING: "Endpoint=http://localhost:8080;Authentication=None"}

    with pytest.raises(SettingError, match=f"{TASK_HUB_SETTING}.*TaskHub="):
        parse_connection(settings)


def test_task_hubs_that_disagree_are_refused() -> None:
    settings = {
        CONNECTION_SETTING: "Endpoint=http://localhost:8080;TaskHub=a;Authentication=None",
        TASK_HUB_SETTING: "b",
    }

    with pytest.raises(SettingError, match="'a' but TASKHUB_NAME is 'b'"):
        parse_connection(settings)


@pytest.mark.parametrize(
    "connection_string",
    [
        "Endpoint=localhost:8080;Authentication=None",
        "Endpoint=http://localhost:8080;Authentication=Key",
        "Endpoint=http://localhost:8080;Authentication",
    ],
)
def test_a_malformed_connection_string_is_refused(connection_string: str) -> None:
    with pytest.raises(SettingError, match=CONNECTION_SETTING):
        parse_connection({CONNECTION_SETTING: connection_string, TASK_HUB_SETTING: "default"})


def test_the_emulator_connection_is_plain_and_anonymous() -> None:
    settings = {
        CONNECTION_SETTING: "Endpoint=http://localhost:8080;TaskHub=default;Authentication=None"
    }

    connection = parse_connection(settings)

    assert connection == Connection("http://localhost:8080", "default", "None")
    assert (connection.secure, credential_for(connection)) == (False, None)


def test_azure_uses_the_managed_identity_named_in_the_connection_string() -> None:
    from azure.identity import ManagedIdentityCredential

    settings = {
        CONNECTION_SETTING: (
            "Endpoint=https://s.westus2.durabletask.io;Authentication=ManagedIdentity;"
            "ClientID=00000000-0000-0000-0000-000000000001"
        ),
        TASK_HUB_SETTING: "default",
    }

    connection = parse_connection(settings)

    assert connection.secure
    assert connection.client_id == "00000000-0000-0000-0000-000000000001"
    assert isinstance(credential_for(connection), ManagedIdentityCredential)


def test_the_environment_overrides_local_settings(tmp_path: Path) -> None:
    local = tmp_path / "local.settings.json"
    local.write_text(json.dumps({"Values": {TASK_HUB_SETTING: "local", "OTHER": "x"}}))

    settings = read_settings({TASK_HUB_SETTING: "env"}, local)

    assert (settings[TASK_HUB_SETTING], settings["OTHER"]) == ("env", "x")


def test_the_app_gets_local_settings_as_environment_variables_without_overriding(
    tmp_path: Path,
) -> None:
    local = tmp_path / "local.settings.json"
    local.write_text(json.dumps({"Values": {"APP_SETTING": "local", "SET_ALREADY": "local"}}))
    environment = {"SET_ALREADY": "env"}

    export_local_settings(environment, local)

    assert environment == {"APP_SETTING": "local", "SET_ALREADY": "env"}


@dataclass
class Stopped:
    pid: int
    exit_code: int
    log: str
    spans: str


@pytest.fixture(scope="module")
def stopped_workers(cluster: Cluster) -> dict[str, Stopped]:
    """Every worker still running, stopped with SIGTERM, by name (the module's last step)."""
    running = {
        f"worker{number}": worker
        for number, worker in enumerate(cluster.workers)
        if worker.poll() is None
    }
    exit_codes = stop(*running.values())
    return {
        name: Stopped(
            worker.pid,
            exit_code,
            (cluster.logs / f"{name}.log").read_text(),
            (cluster.logs / f"{name}.spans").read_text(),
        )
        for (name, worker), exit_code in zip(running.items(), exit_codes, strict=True)
    }
{% if cookiecutter.composition_workflow != "none" %}


@pytest.fixture(scope="module")
def trip_run(cluster: Cluster, request: pytest.FixtureRequest) -> tuple[str, list[dict[str, Any]]]:
    """A trip booking started inside a caller's span and answered; then the workers stopped,
    which has them export what they hold. The run's instance id, and every span they printed."""
    with trace.use_span(NonRecordingSpan(CALLER)):
        run = Run(TRIP, cluster.runs.start(TRIP.workflow, TRIP.body))
    cluster.drive([run], RUN_SECONDS)
    assert run.problems() == []
    stopped: dict[str, Stopped] = request.getfixturevalue("stopped_workers")
    return run.instance_id, [s for w in stopped.values() for s in printed_spans(w.spans)]


def in_callers_trace(spans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The spans of the caller's trace (the workers also printed those of the other runs)."""
    return [s for s in spans if s["context"]["trace_id"] == f"0x{CALLER.trace_id:032x}"]


def test_every_span_of_a_nested_run_with_a_human_answer_names_the_run(
    trip_run: tuple[str, list[dict[str, Any]]],
) -> None:
    instance_id, printed = trip_run
    spans = in_callers_trace(printed)
    durable = [s for s in spans if s["attributes"].get("durabletask.task.instance_id")]
    run = [s for s in spans if s["attributes"].get("dafx.run.instance_id") == instance_id]

    names = {s["name"] for s in durable}
    assert {name for name in names if name.startswith("orchestration:")} == {
        f"orchestration:dafx-{WORKFLOW_NAME}",
        f"orchestration:dafx-{FARE_CHECK}",
    }
    # Activity names are dafx-{workflow}-{executor id}; this starter's ids have no dash.
    assert {
        name.removeprefix("activity:dafx-").rpartition("-")[0]
        for name in names
        if name.startswith("activity:")
    } == {WORKFLOW_NAME, FARE_CHECK}
    # durabletask emits its orchestration spans and the CLIENT spans of its calls after the
    # fact, straight to the exporters, so span processors never see them start: their own
    # attributes name the run. Every span started in the worker carries the run's.
    after_the_fact = [
        s
        for s in durable
        if s["kind"] == "SpanKind.CLIENT" or s["name"].startswith("orchestration:")
    ]
    assert all(
        s["attributes"]["durabletask.task.instance_id"].startswith(instance_id)
        for s in after_the_fact
    )
    started = [s for s in spans if s not in after_the_fact]
    assert {s["name"].split()[0] for s in started} >= {"executor.process", "message.send"}
    assert all(s in run for s in started)
    assert {
        (s["name"].removeprefix("activity:dafx-").rpartition("-")[0], s["attributes"][WORKFLOW])
        for s in started
        if s["name"].startswith("activity:")
    } == {(WORKFLOW_NAME, WORKFLOW_NAME), (FARE_CHECK, FARE_CHECK)}


def test_the_run_is_one_trace_from_its_caller_through_each_orchestration_to_each_executor(
    trip_run: tuple[str, list[dict[str, Any]]],
) -> None:
    instance_id, printed = trip_run
    spans = in_callers_trace(printed)
    naming_the_run = [
        s
        for s in printed
        if s["attributes"].get("dafx.run.instance_id") == instance_id
        or s["attributes"].get("durabletask.task.instance_id", "").startswith(instance_id)
    ]
    by_id = {s["context"]["span_id"]: s for s in spans}
    servers = [s for s in spans if s["kind"] == "SpanKind.SERVER"]
    top = next(s for s in servers if s["name"] == f"orchestration:dafx-{WORKFLOW_NAME}")
    child = next(s for s in servers if s["name"] == f"orchestration:dafx-{FARE_CHECK}")
    activities = [s for s in servers if s["name"].startswith("activity:")]
    executors = [s for s in spans if s["name"].startswith("executor.process ")]

    assert naming_the_run
    assert all(s in spans for s in naming_the_run)
    assert top["parent_id"] == f"0x{CALLER.span_id:016x}"
    assert top["name"] in ancestors(child, by_id)
    assert {s["name"] for s in activities} >= {
        f"activity:dafx-{WORKFLOW_NAME}-plan_trip",
        f"activity:dafx-{FARE_CHECK}-fare_hold",
    }
    for activity in activities:
        owner = child if FARE_CHECK in activity["name"] else top
        assert owner["name"] in ancestors(activity, by_id)
    assert executors
    assert all(by_id[s["parent_id"]] in activities for s in executors)
{% endif %}


def test_every_running_worker_finishes_and_exits_cleanly_on_sigterm(
    stopped_workers: dict[str, Stopped],
) -> None:
    assert stopped_workers, "no worker was left running to stop"
    assert {name: worker.exit_code for name, worker in stopped_workers.items()} == {
        name: 0 for name in stopped_workers
    }
    for worker in stopped_workers.values():
        assert f"worker {worker.pid} stopped" in worker.log


def test_activities_at_their_limit_leave_a_thread_for_every_orchestration_step() -> None:
    options = concurrency_options(processors=1)
    limit = options.maximum_concurrent_activity_work_items
    release, holding_threads = threading.Event(), threading.Semaphore(0)

    def hold(ctx: ActivityContext, _: None) -> None:
        holding_threads.release()
        release.wait()  # set when the test ends, pass or fail

    def long_run(ctx: OrchestrationContext, _: None) -> Iterator[Task[None]]:
        yield ctx.call_activity(hold)

    def short_run(ctx: OrchestrationContext, _: None) -> str:
        return "done"

    backend = LoopbackBackend()
    address = backend.start()
    where: dict[str, Any] = {"host_address": address, "taskhub": "default"}
    where |= {"token_credential": None, "secure_channel": False}
    worker = DurableTaskSchedulerWorker(**where, concurrency_options=options)
    worker.add_orchestrator(long_run)
    worker.add_orchestrator(short_run)
    worker.add_activity(hold)
    # The Agent Framework's wrapper starts and stops it, as worker.py does.
    running = DurableAIAgentWorker(worker)
    running.start()
    client = DurableTaskSchedulerClient(**where)
    try:
        for _ in range(limit):
            client.schedule_new_orchestration(long_run)
        for _ in range(limit):
            assert holding_threads.acquire(timeout=RUN_SECONDS)

        state = client.wait_for_orchestration_completion(
            client.schedule_new_orchestration(short_run), timeout=RUN_SECONDS
        )

        assert state is not None and state.runtime_status.name == "COMPLETED"
    finally:
        release.set()
        running.stop()
        backend.stop()
