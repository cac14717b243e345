"""Azure Functions entry point: hosts every workflow from ``workflows`` on one durable app.

AgentFunctionApp registers, per workflow, an orchestration ``dafx-{name}`` (sub-workflows
included), an activity per plain executor, an entity per agent executor, and the HTTP routes
``workflow/{name}/run``, ``workflow/{name}/status/{instanceId}`` and
``workflow/{name}/respond/{instanceId}/{requestId}``.
"""

import azure.functions as func
from agent_framework_azurefunctions import AgentFunctionApp

import telemetry
from workflows import build_workflows

workflows = build_workflows()
if telemetry.configure_from_environment(workflows) is not None:
    telemetry.name_runs_of_function_invocations(workflows)
app = AgentFunctionApp(
    workflows=workflows,
    http_auth_level=func.AuthLevel.{{ cookiecutter.http_auth_level.upper() }},
)
