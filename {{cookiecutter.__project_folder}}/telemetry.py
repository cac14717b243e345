"""Traces, metrics and logs of every run, exported the standard way: off unless asked for.

`configure_from_environment()` is called once at start-up by ``function_app.py`` and
``worker.py``. It reads the environment and turns telemetry on in one of three ways:

``APPLICATIONINSIGHTS_CONNECTION_STRING`` set (the Function App in Azure)
    azure-monitor-opentelemetry exports to Application Insights, signing in with Entra ID as
    the managed identity named by ``APPLICATIONINSIGHTS_AUTHENTICATION_STRING``
    (``ClientId=<id>;Authorization=AAD``), never with the connection string's key.
``OTEL_TRACES_EXPORTER=console|otlp``, or ``OTEL_EXPORTER_OTLP_ENDPOINT`` /
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` set (locally)
    The Agent Framework's `configure_otel_providers` sets up the OpenTelemetry SDK from the
    standard ``OTEL_*`` variables: spans, metrics and logs to the console, or to a collector.
Telemetry already configured in this process
    The Functions Python worker configures Azure Monitor itself, before it imports
    ``function_app.py``, when ``PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY`` is true. Then
    nothing is configured twice: the processors below join the worker's providers.

Whichever way, the Agent Framework's instrumentation is turned on (workflow, executor and model
call spans), `RunAttributes` stamps each span with its run's workflow name and top-level
instance id, and `RunMetrics` turns the spans into the run metrics named in `METRICS`. On the
Functions host, `name_runs_of_function_invocations` tells `RunAttributes` each invocation's run.
Otherwise nothing happens. Importing this module imports no exporter and no SDK.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, NamedTuple

import upstream

if TYPE_CHECKING:
    from agent_framework import Workflow
    from opentelemetry.context import Context
    from opentelemetry.metrics import MeterProvider
    from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

AZURE_MONITOR_SETTING = "APPLICATIONINSIGHTS_CONNECTION_STRING"
AZURE_MONITOR_AUTHENTICATION_SETTING = "APPLICATIONINSIGHTS_AUTHENTICATION_STRING"
OTEL_EXPORTER_SETTINGS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
SERVICE_NAME_SETTING = "OTEL_SERVICE_NAME"
EXPORTERS = ("console", "otlp")
DEFAULT_OTLP_ENDPOINT = "http://localhost:4317"
# service.name when OTEL_SERVICE_NAME is not set: the project, not the Agent Framework's default.
SERVICE_NAME = "{{ cookiecutter.project_slug }}"

# The semantic conventions' resource attribute for the process id, set on local exports.
PROCESS_PID_ATTRIBUTE = "process.pid"
WORKFLOW_NAME_ATTRIBUTE = "dafx.workflow.name"
RUN_INSTANCE_ATTRIBUTE = "dafx.run.instance_id"
EXECUTOR_ID_ATTRIBUTE = "dafx.executor.id"
# durabletask's own span attributes (durabletask.internal.tracing).
DURABLE_TYPE_ATTRIBUTE = "durabletask.type"
DURABLE_NAME_ATTRIBUTE = "durabletask.task.name"
DURABLE_INSTANCE_ATTRIBUTE = "durabletask.task.instance_id"
# devhost names the orchestration that called an entity operation (an entity's own instance
# id, ``@name@key``, names no run).
ENTITY_CALLER_ATTRIBUTE = "devhost.entity.caller_instance_id"

METER_NAME = "dafx"
# name: (kind, unit, description). Names are stable: dashboards and alerts query them.
METRICS = {
    "dafx.workflow.runs": ("counter", "{run}", "Workflow runs (and sub-workflow runs) ended."),
    "dafx.workflow.failures": ("counter", "{run}", "Workflow runs that ended failed."),
    "dafx.workflow.duration": ("histogram", "s", "Time from a run's start to its end."),
    "dafx.executor.invocations": ("counter", "{invocation}", "Executor invocations ended."),
    "dafx.executor.failures": ("counter", "{invocation}", "Executor invocations that raised."),
    "dafx.executor.duration": ("histogram", "s", "Time an executor invocation took."),
    "dafx.executor.message_wait": (
        "histogram",
        "s",
        "Time from the last message a predecessor sent to an executor until it started.",
    ),
}
# Seconds: from a quick step to an hour-long run.
DURATION_BUCKETS = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
    600.0, 1800.0, 3600.0,
)  # fmt: skip
# How many runs' message times RunMetrics remembers for the wait metric.
REMEMBERED_RUNS = 1_000

logger = logging.getLogger(__name__)

# The run (top-level instance id, workflow) of the Functions invocation running in this context,
# set by `FunctionInvocationRuns` before each invocation; None outside one.
invocation_run: ContextVar[tuple[str, str] | None] = ContextVar("dafx_invocation_run", default=None)


class AgentFrameworkNames(NamedTuple):
    """The span names and attributes the Agent Framework's instrumentation uses, read from its
    own ``OtelAttr``, so that they are the installed release's whatever it calls them."""

    workflow_run_span: str
    workflow_name: str
    executor_span: str
    executor_id: str
    message_send_span: str
    operation: str
    agent_name: str
    invoke_agent: str

    def is_workflow_run(self, span_name: str) -> bool:
        """True for a workflow run's span: ``<name>`` or ``<name> <workflow>``."""
        return span_name == self.workflow_run_span or span_name.startswith(
            f"{self.workflow_run_span} "
        )

    def is_executor(self, span_name: str) -> bool:
        """True for an executor invocation's span, ``<name> <executor id>``."""
        return span_name == self.executor_span or span_name.startswith(f"{self.executor_span} ")


def agent_framework_names() -> AgentFrameworkNames:
    """The installed Agent Framework's span names and attributes."""
    from agent_framework.observability import OtelAttr

    return AgentFrameworkNames(
        workflow_run_span=OtelAttr.WORKFLOW_RUN_SPAN.value,
        workflow_name=OtelAttr.WORKFLOW_NAME.value,
        executor_span=OtelAttr.EXECUTOR_PROCESS_SPAN.value,
        executor_id=OtelAttr.EXECUTOR_ID.value,
        message_send_span=OtelAttr.MESSAGE_SEND_SPAN.value,
        operation=OtelAttr.OPERATION.value,
        agent_name=OtelAttr.AGENT_NAME.value,
        invoke_agent=OtelAttr.AGENT_INVOKE_OPERATION.value,
    )


class TelemetrySettingError(RuntimeError):
    """A telemetry setting asks for something this app cannot do."""


def requested_exporter(environ: Mapping[str, str]) -> str | None:
    """``azure_monitor``, ``console`` or ``otlp`` as the environment asks; None for off."""
    if environ.get(AZURE_MONITOR_SETTING, "").strip():
        return "azure_monitor"
    exporter = environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter == "none":
        return None
    if exporter:
        if exporter not in EXPORTERS:
            raise TelemetrySettingError(
                f"OTEL_TRACES_EXPORTER={exporter} is not supported here: use one of "
                f"{', '.join(EXPORTERS)}, or none."
            )
        return exporter
    if any(environ.get(name, "").strip() for name in OTEL_EXPORTER_SETTINGS):
        return "otlp"
    return None


def service_name(environ: Mapping[str, str]) -> str:
    """``OTEL_SERVICE_NAME`` when set, else the project's name."""
    return environ.get(SERVICE_NAME_SETTING, "").strip() or SERVICE_NAME


def managed_identity_client_id(environ: Mapping[str, str]) -> str | None:
    """The ``ClientId`` of ``APPLICATIONINSIGHTS_AUTHENTICATION_STRING``, if it names one."""
    for part in environ.get(AZURE_MONITOR_AUTHENTICATION_SETTING, "").split(";"):
        key, _, value = part.partition("=")
        if key.strip().lower() == "clientid" and value.strip():
            return value.strip()
    return None


def hosted_workflows(workflows: Iterable[Workflow]) -> list[Workflow]:
    """The workflows and every sub-workflow they host."""
    from agent_framework_durabletask import collect_hosted_workflows

    return [hosted for top in workflows for hosted in collect_hosted_workflows(top)]


def activity_workflows(workflows: Iterable[Workflow]) -> dict[str, str]:
    """The workflow each durable activity and agent entity name belongs to, sub-workflows
    included; entity names are case-folded, as entity ids hold them."""
    from agent_framework_durabletask import AgentSessionId, plan_workflow_registration

    owners: dict[str, str] = {}
    for workflow in hosted_workflows(workflows):
        plan = plan_workflow_registration(workflow)
        for executor in plan.activity_executors:
            activity = upstream.workflow_executor_activity_name(workflow.name, executor.id)
            owners[activity] = workflow.name
        for agent in plan.agent_executors:
            scoped = upstream.workflow_scoped_executor_id(workflow.name, agent.id)
            owners[AgentSessionId.to_entity_name(scoped).casefold()] = workflow.name
    return owners


def predecessors(workflows: Iterable[Workflow]) -> dict[tuple[str, str], frozenset[str]]:
    """(workflow, executor) -> the executors with an edge to it."""
    sources: dict[tuple[str, str], set[str]] = {}
    for workflow in hosted_workflows(workflows):
        for group in workflow.edge_groups:
            for target in group.target_executor_ids:
                sources.setdefault((workflow.name, target), set()).update(group.source_executor_ids)
    return {key: frozenset(value) for key, value in sources.items()}


def run_attributes(workflows: Iterable[Workflow] = ()) -> SpanProcessor:
    """A span processor that stamps every span of a run with its workflow and run id.

    durabletask names the instance on each orchestration, activity and timer span it starts;
    the run is the top-level instance (a sub-workflow's instance id starts with its parent's,
    then ``::``), the workflow is the orchestration's, or the activity's owner among
    ``workflows``. An entity span names the entity, not a run: its run is the calling
    orchestration's when the host names it (devhost does), its workflow the agent's owner.
    An in-process run's workflow run span names its workflow but has no instance id.
    Every span started under a stamped span in this process inherits both.
    """
    from agent_framework_durabletask import workflow_name_from_orchestrator
    from opentelemetry import trace
    from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor

    owners = activity_workflows(workflows)
    af = agent_framework_names()

    class RunAttributes(SpanProcessor):
        def on_start(self, span: Span, parent_context: Context | None = None) -> None:
            parent = trace.get_current_span(parent_context)
            inherited = parent.attributes if isinstance(parent, ReadableSpan) else None
            if inherited and (
                WORKFLOW_NAME_ATTRIBUTE in inherited or RUN_INSTANCE_ATTRIBUTE in inherited
            ):
                for key in (WORKFLOW_NAME_ATTRIBUTE, RUN_INSTANCE_ATTRIBUTE):
                    if key in inherited:
                        span.set_attribute(key, str(inherited[key]))
                return
            own = span.attributes or {}
            if af.is_workflow_run(span.name) and af.workflow_name in own:
                span.set_attribute(WORKFLOW_NAME_ATTRIBUTE, str(own[af.workflow_name]))
                return
            if DURABLE_TYPE_ATTRIBUTE not in own and (running := invocation_run.get()):
                span.set_attribute(RUN_INSTANCE_ATTRIBUTE, running[0])
                span.set_attribute(WORKFLOW_NAME_ATTRIBUTE, running[1])
                return
            kind = own.get(DURABLE_TYPE_ATTRIBUTE)
            task_name = str(own.get(DURABLE_NAME_ATTRIBUTE, ""))
            if kind == "entity":
                instance_id = own.get(ENTITY_CALLER_ATTRIBUTE)
                task_name = task_name.casefold()
            else:
                instance_id = own.get(DURABLE_INSTANCE_ATTRIBUTE)
            if instance_id is None:
                return
            span.set_attribute(RUN_INSTANCE_ATTRIBUTE, str(instance_id).partition("::")[0])
            if kind == "orchestration":
                workflow = workflow_name_from_orchestrator(task_name)
            else:
                workflow = owners.get(task_name)
            if workflow is not None:
                span.set_attribute(WORKFLOW_NAME_ATTRIBUTE, workflow)

    return RunAttributes()


def run_metrics(
    workflows: Iterable[Workflow] = (), meter_provider: MeterProvider | None = None
) -> SpanProcessor:
    """A span processor that records the metrics of `METRICS` from the spans of each run.

    Add it after `run_attributes`, whose attributes it reads. Executors: the Agent Framework's
    ``executor.process`` spans, and its ``invoke_agent`` spans where no executor span encloses
    them (the durable hosts run agents as entities, outside any executor span). Workflows:
    the Agent Framework's workflow run span of an in-process run, and each orchestration
    span the host makes in this process (devhost, ``worker.py``). A message's wait is measured
    from the end of the last ``message.send`` (or agent reply) of one of the executor's
    predecessors in the same run, when both happened in this process. Metrics carry
    ``dafx.workflow.name``, ``dafx.executor.id`` and ``dafx.run.instance_id`` where known.
    """
    from agent_framework_durabletask import workflow_name_from_orchestrator
    from opentelemetry import metrics, trace
    from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor
    from opentelemetry.trace import StatusCode

    meter = (meter_provider or metrics.get_meter_provider()).get_meter(METER_NAME)
    instruments: dict[str, Any] = {}
    for name, (kind, unit, description) in METRICS.items():
        if kind == "counter":
            instruments[name] = meter.create_counter(name, unit=unit, description=description)
        else:
            instruments[name] = meter.create_histogram(
                name,
                unit=unit,
                description=description,
                explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
            )
    sources_of = predecessors(workflows)
    af = agent_framework_names()

    def executor_of(span: ReadableSpan, parent: object) -> str | None:
        """The executor a span is an invocation of, or None."""
        own = span.attributes or {}
        if af.is_executor(span.name) and af.executor_id in own:
            return str(own[af.executor_id])
        if own.get(af.operation) == af.invoke_agent and af.agent_name in own:
            if isinstance(parent, ReadableSpan) and executor_of(parent, None) is not None:
                return None
            return str(own[af.agent_name])
        return None

    def run_key(span: ReadableSpan) -> str:
        own = span.attributes or {}
        if RUN_INSTANCE_ATTRIBUTE in own:
            return str(own[RUN_INSTANCE_ATTRIBUTE])
        return format(span.context.trace_id, "032x") if span.context else ""

    def labels(span: ReadableSpan, executor: str | None = None) -> dict[str, str]:
        own = span.attributes or {}
        found = {
            key: str(own[key])
            for key in (WORKFLOW_NAME_ATTRIBUTE, RUN_INSTANCE_ATTRIBUTE)
            if key in own
        }
        if executor is not None:
            found[EXECUTOR_ID_ATTRIBUTE] = executor
        return found

    def seconds(span: ReadableSpan) -> float:
        return ((span.end_time or 0) - (span.start_time or 0)) / 1e9

    class RunMetrics(SpanProcessor):
        def __init__(self) -> None:
            self._lock = threading.Lock()
            # span id -> executor id of the executor spans and agent spans now open.
            self._open: dict[int, str] = {}
            # run -> executor -> end time (ns) of the last message it sent, latest runs last.
            self._sent: OrderedDict[str, dict[str, int]] = OrderedDict()

        def on_start(self, span: Span, parent_context: Context | None = None) -> None:
            parent = trace.get_current_span(parent_context)
            executor = executor_of(span, parent)
            if executor is None or span.context is None:
                return
            with self._lock:
                self._open[span.context.span_id] = executor
            workflow = (span.attributes or {}).get(WORKFLOW_NAME_ATTRIBUTE)
            sources = sources_of.get((str(workflow), executor)) if workflow else None
            run = run_key(span)
            with self._lock:
                sent = [
                    ended
                    for source, ended in self._sent.get(run, {}).items()
                    if sources is None or source in sources
                ]
            start = span.start_time or 0
            earlier = [ended for ended in sent if ended <= start]
            if earlier:
                wait = (start - max(earlier)) / 1e9
                instruments["dafx.executor.message_wait"].record(wait, labels(span, executor))

        def on_end(self, span: ReadableSpan) -> None:
            own = span.attributes or {}
            failed = span.status.status_code == StatusCode.ERROR
            if span.name == af.message_send_span and span.parent is not None:
                with self._lock:
                    source = self._open.get(span.parent.span_id)
                if source is not None:
                    self._remember_send(run_key(span), source, span.end_time or 0)
                return
            executor = None
            if span.context is not None:
                with self._lock:
                    executor = self._open.pop(span.context.span_id, None)
            if executor is not None:
                attributes = labels(span, executor)
                instruments["dafx.executor.invocations"].add(1, attributes)
                instruments["dafx.executor.duration"].record(seconds(span), attributes)
                if failed:
                    instruments["dafx.executor.failures"].add(1, attributes)
                if own.get(af.operation) == af.invoke_agent:
                    self._remember_send(run_key(span), executor, span.end_time or 0)
                return
            workflow = None
            if af.is_workflow_run(span.name):
                workflow = own.get(af.workflow_name)
            elif own.get(DURABLE_TYPE_ATTRIBUTE) == "orchestration":
                workflow = workflow_name_from_orchestrator(str(own.get(DURABLE_NAME_ATTRIBUTE)))
            if workflow is None:
                return
            attributes = labels(span)
            attributes[WORKFLOW_NAME_ATTRIBUTE] = str(workflow)
            if DURABLE_INSTANCE_ATTRIBUTE in own and RUN_INSTANCE_ATTRIBUTE not in attributes:
                run = str(own[DURABLE_INSTANCE_ATTRIBUTE]).partition("::")[0]
                attributes[RUN_INSTANCE_ATTRIBUTE] = run
            instruments["dafx.workflow.runs"].add(1, attributes)
            instruments["dafx.workflow.duration"].record(seconds(span), attributes)
            if failed:
                instruments["dafx.workflow.failures"].add(1, attributes)

        def _remember_send(self, run: str, source: str, ended: int) -> None:
            with self._lock:
                self._sent.setdefault(run, {})[source] = ended
                self._sent.move_to_end(run)
                while len(self._sent) > REMEMBERED_RUNS:
                    self._sent.popitem(last=False)

    return RunMetrics()


def function_invocation_run(
    function_name: str, arguments: Mapping[str, object], owners: Mapping[str, str]
) -> tuple[str, str] | None:
    """The run (top-level instance id, workflow) a Functions invocation works for, or None.

    ``owners`` is `activity_workflows`. An executor's activity input names the top-level
    instance (see `upstream.activity_input_instance_id`). An agent entity's key is the
    instance id of the orchestration that called it (its session key), a sub-workflow's
    holding its parent's before ``::``; the worker hands the entity its batch as JSON, which
    azure-functions-durable's ``DurableEntityContext.from_json`` reads.
    """
    from azure.durable_functions.models import DurableEntityContext

    workflow = owners.get(function_name, owners.get(function_name.casefold()))
    if workflow is None:
        return None
    for value in arguments.values():
        body = getattr(value, "body", None)
        if isinstance(body, str):
            try:
                key = DurableEntityContext.from_json(body)[0].entity_key
            except (KeyError, TypeError, ValueError):
                continue
            return key.partition("::")[0], workflow
        data = _json_object(value)
        instance_id = upstream.activity_input_instance_id(data) if data else None
        if instance_id is not None:
            return instance_id, workflow
    return None


def _json_object(value: object) -> dict[str, Any] | None:
    """``value`` as a JSON object: itself if a dict, parsed if a string holding one."""
    if isinstance(value, dict):
        return value
    if not isinstance(value, str) or not value.lstrip().startswith("{"):
        return None
    try:
        parsed = json.loads(value)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def name_runs_of_function_invocations(workflows: Iterable[Workflow]) -> bool:
    """Register a Python worker extension that names each invocation's run on its spans.

    In Azure the Functions host makes the durable spans, so nothing in the Python worker names
    the run. Before each invocation, the worker calls the application extension's
    ``pre_invocation_app_level`` hook with the invocation context and arguments, in the thread
    that then runs the function. The hook sets `invocation_run` from the arguments (see
    `function_invocation_run`), which `run_attributes` stamps on every span the invocation
    starts, and so on its metric points. It also continues the host's trace from the
    invocation's ``traceparent`` when the worker has not. Worker extensions run on Python
    3.11 and 3.12; the Python 3.13 worker no longer calls them. Returns False when telemetry
    is off (no SDK tracer provider) or the hooks are registered already.
    """
    if not already_configured() or _registered_hooks:
        return False
    from azure.functions import AppExtensionBase
    from opentelemetry import context as otel_context
    from opentelemetry import trace
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    owners = activity_workflows(workflows)
    propagator = TraceContextTextMapPropagator()

    class FunctionInvocationRuns(AppExtensionBase):
        @classmethod
        def pre_invocation_app_level(
            cls,
            logger: logging.Logger,
            context: Any,
            func_args: dict[str, object] | None = None,
            *args: Any,
            **kwargs: Any,
        ) -> None:
            name = str(getattr(context, "function_name", ""))
            invocation_run.set(function_invocation_run(name, func_args or {}, owners))
            trace_context = getattr(context, "trace_context", None)
            carrier = {
                "traceparent": str(getattr(trace_context, "trace_parent", "") or ""),
                "tracestate": str(getattr(trace_context, "trace_state", "") or ""),
            }
            host = trace.get_current_span(propagator.extract(carrier)).get_span_context()
            # What the worker does when it configured OpenTelemetry itself: the invocation's
            # spans become children of the host's span.
            if host.is_valid and trace.get_current_span().get_span_context() != host:
                otel_context.attach(propagator.extract(carrier))

        @classmethod
        def post_invocation_app_level(
            cls,
            logger: logging.Logger,
            context: Any,
            func_args: dict[str, object] | None = None,
            func_ret: object | None = None,
            *args: Any,
            **kwargs: Any,
        ) -> None:
            invocation_run.set(None)

    _registered_hooks.append(FunctionInvocationRuns)
    return True


# The worker extension `name_runs_of_function_invocations` registered, so that a second call
# registers none.
_registered_hooks: list[type] = []


def already_configured() -> bool:
    """True when this process has an OpenTelemetry SDK tracer provider already."""
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider

    return isinstance(trace.get_tracer_provider(), TracerProvider)


# The providers this module has added its processors to, so that a second call adds none.
_joined: list[object] = []


def join_configured_providers(workflows: Iterable[Workflow]) -> bool:
    """Add the run processors to this process's SDK providers; False if already added."""
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider

    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider) or any(p is provider for p in _joined):
        return False
    workflows = list(workflows)
    provider.add_span_processor(run_attributes(workflows))
    provider.add_span_processor(run_metrics(workflows))
    _joined.append(provider)
    return True


def export_logs_from_root_logger() -> None:
    """Send the records of every logger, once each, to the configured logger provider.

    The Agent Framework's set-up attaches its handler to the root logger or, in newer releases,
    to its own ``agent_framework`` logger only. A handler there as well as on the root logger
    would export each of its records twice, so it moves to the root logger.
    """
    from opentelemetry._logs import get_logger_provider
    from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler

    provider = get_logger_provider()
    if not isinstance(provider, LoggerProvider):
        return
    root = logging.getLogger()
    framework = logging.getLogger("agent_framework")
    for handler in [h for h in framework.handlers if isinstance(h, LoggingHandler)]:
        framework.removeHandler(handler)
    if not any(isinstance(handler, LoggingHandler) for handler in root.handlers):
        root.addHandler(LoggingHandler(logger_provider=provider))


def configure_from_environment(
    workflows: Iterable[Workflow] = (), environ: Mapping[str, str] | None = None
) -> str | None:
    """Turn telemetry on as the environment asks; return the exporter used, None when off.

    ``workflows`` are the workflows this process hosts, so activity spans name theirs.
    When telemetry is configured already (the Functions Python worker does it first), the
    run processors join it and nothing is configured twice; a second call changes nothing.
    """
    environ = os.environ if environ is None else environ
    exporter = requested_exporter(environ)
    if exporter is None:
        return None
    from agent_framework.observability import configure_otel_providers, enable_instrumentation

    workflows = list(workflows)
    if already_configured():
        if join_configured_providers(workflows):
            logger.info(
                "OpenTelemetry was configured before this app (by the Functions Python worker "
                "when PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY is true): the run attributes "
                "and metrics join it."
            )
        enable_instrumentation()
        return exporter

    if exporter == "azure_monitor":
        from azure.identity import ManagedIdentityCredential
        from azure.monitor.opentelemetry import configure_azure_monitor
        from opentelemetry.sdk.resources import Resource

        configure_azure_monitor(
            connection_string=environ[AZURE_MONITOR_SETTING],
            credential=ManagedIdentityCredential(client_id=managed_identity_client_id(environ)),
            resource=Resource.create({"service.name": service_name(environ)}),
        )
    else:
        has_endpoint = any(environ.get(name, "").strip() for name in OTEL_EXPORTER_SETTINGS)
        configure_otel_providers(
            service_name=service_name(environ),
            # Names the process in a trace viewer, devhost's dashboard included.
            resource_attributes={PROCESS_PID_ATTRIBUTE: os.getpid()},
            enable_console_exporters=exporter == "console",
            # OTLP's default collector address, which the SDK's exporters assume too.
            otlp_endpoint=None if exporter != "otlp" or has_endpoint else DEFAULT_OTLP_ENDPOINT,
        )
        export_logs_from_root_logger()
    join_configured_providers(workflows)
    enable_instrumentation()
    return exporter
