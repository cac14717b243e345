"""Traces of every run, exported the standard way: off unless the environment asks for it.

`configure_from_environment()` is called once at start-up by ``function_app.py`` and
``worker.py``. It reads the environment and turns telemetry on in one of two ways:

``APPLICATIONINSIGHTS_CONNECTION_STRING`` set (the Function App in Azure)
    azure-monitor-opentelemetry exports to Application Insights, signing in with Entra ID as
    the managed identity named by ``APPLICATIONINSIGHTS_AUTHENTICATION_STRING``
    (``ClientId=<id>;Authorization=AAD``), never with the connection string's key.
``OTEL_TRACES_EXPORTER=console|otlp``, or ``OTEL_EXPORTER_OTLP_ENDPOINT`` /
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` set (locally)
    The Agent Framework's `configure_otel_providers` sets up the OpenTelemetry SDK from the
    standard ``OTEL_*`` variables: spans to the console, or to an OTLP collector.

Either way the Agent Framework's instrumentation is turned on (workflow, executor and model
call spans) and `RunAttributes` stamps each span with its run's workflow name and top-level
instance id. Otherwise nothing happens. Importing this module imports no exporter and no SDK.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agent_framework import Workflow
    from opentelemetry.context import Context
    from opentelemetry.sdk.trace import Span, SpanProcessor

AZURE_MONITOR_SETTING = "APPLICATIONINSIGHTS_CONNECTION_STRING"
AZURE_MONITOR_AUTHENTICATION_SETTING = "APPLICATIONINSIGHTS_AUTHENTICATION_STRING"
OTEL_EXPORTER_SETTINGS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
EXPORTERS = ("console", "otlp")
DEFAULT_OTLP_ENDPOINT = "http://localhost:4317"

WORKFLOW_NAME_ATTRIBUTE = "dafx.workflow.name"
RUN_INSTANCE_ATTRIBUTE = "dafx.run.instance_id"
# durabletask's own span attributes (durabletask.internal.tracing).
DURABLE_TYPE_ATTRIBUTE = "durabletask.type"
DURABLE_NAME_ATTRIBUTE = "durabletask.task.name"
DURABLE_INSTANCE_ATTRIBUTE = "durabletask.task.instance_id"
# devhost names the orchestration that called an entity operation (an entity's own instance
# id, ``@name@key``, names no run).
ENTITY_CALLER_ATTRIBUTE = "devhost.entity.caller_instance_id"


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


def managed_identity_client_id(environ: Mapping[str, str]) -> str | None:
    """The ``ClientId`` of ``APPLICATIONINSIGHTS_AUTHENTICATION_STRING``, if it names one."""
    for part in environ.get(AZURE_MONITOR_AUTHENTICATION_SETTING, "").split(";"):
        key, _, value = part.partition("=")
        if key.strip().lower() == "clientid" and value.strip():
            return value.strip()
    return None


def activity_workflows(workflows: Iterable[Workflow]) -> dict[str, str]:
    """The workflow each durable activity and agent entity name belongs to, sub-workflows
    included; entity names are case-folded, as entity ids hold them."""
    from agent_framework_durabletask import (
        AgentSessionId,
        collect_hosted_workflows,
        plan_workflow_registration,
    )
    from agent_framework_durabletask._workflows.naming import (
        workflow_executor_activity_name,
        workflow_scoped_executor_id,
    )

    owners: dict[str, str] = {}
    for top_level in workflows:
        for workflow in collect_hosted_workflows(top_level):
            plan = plan_workflow_registration(workflow)
            for executor in plan.activity_executors:
                owners[workflow_executor_activity_name(workflow.name, executor.id)] = workflow.name
            for agent in plan.agent_executors:
                scoped = workflow_scoped_executor_id(workflow.name, agent.id)
                owners[AgentSessionId.to_entity_name(scoped).casefold()] = workflow.name
    return owners


def run_attributes(workflows: Iterable[Workflow] = ()) -> SpanProcessor:
    """A span processor that stamps every span of a run with its workflow and run id.

    durabletask names the instance on each orchestration, activity and timer span it starts;
    the run is the top-level instance (a sub-workflow's instance id starts with its parent's,
    then ``::``), the workflow is the orchestration's, or the activity's owner among
    ``workflows``. An entity span names the entity, not a run: its run is the calling
    orchestration's when the host names it (devhost does), its workflow the agent's owner.
    Every span started under a stamped span in this process inherits both.
    """
    from agent_framework_durabletask import workflow_name_from_orchestrator
    from opentelemetry import trace
    from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor

    owners = activity_workflows(workflows)

    class RunAttributes(SpanProcessor):
        def on_start(self, span: Span, parent_context: Context | None = None) -> None:
            parent = trace.get_current_span(parent_context)
            inherited = parent.attributes if isinstance(parent, ReadableSpan) else None
            if inherited and RUN_INSTANCE_ATTRIBUTE in inherited:
                for key in (WORKFLOW_NAME_ATTRIBUTE, RUN_INSTANCE_ATTRIBUTE):
                    if key in inherited:
                        span.set_attribute(key, str(inherited[key]))
                return
            own = span.attributes or {}
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


def configure_from_environment(
    workflows: Iterable[Workflow] = (), environ: Mapping[str, str] | None = None
) -> str | None:
    """Turn telemetry on as the environment asks; return the exporter used, None when off.

    ``workflows`` are the workflows this process hosts, so activity spans name theirs.
    """
    environ = os.environ if environ is None else environ
    exporter = requested_exporter(environ)
    if exporter is None:
        return None
    from agent_framework.observability import configure_otel_providers, enable_instrumentation

    if exporter == "azure_monitor":
        from azure.identity import ManagedIdentityCredential
        from azure.monitor.opentelemetry import configure_azure_monitor

        configure_azure_monitor(
            connection_string=environ[AZURE_MONITOR_SETTING],
            credential=ManagedIdentityCredential(client_id=managed_identity_client_id(environ)),
            span_processors=[run_attributes(workflows)],
        )
        enable_instrumentation()
        return exporter

    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider

    has_endpoint = any(environ.get(name, "").strip() for name in OTEL_EXPORTER_SETTINGS)
    configure_otel_providers(
        enable_console_exporters=exporter == "console",
        # OTLP's default collector address, which the SDK's exporters assume too.
        otlp_endpoint=None if exporter != "otlp" or has_endpoint else DEFAULT_OTLP_ENDPOINT,
    )
    provider = trace.get_tracer_provider()
    if isinstance(provider, TracerProvider):
        provider.add_span_processor(run_attributes(workflows))
    return exporter
