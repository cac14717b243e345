"""The oversize workflows (``tests/oversize_workflows.py``) as a Function App, for devhost."""

import azure.functions as func
from agent_framework_azurefunctions import AgentFunctionApp

from tests.oversize_workflows import build_oversize_workflows

app = AgentFunctionApp(
    workflows=build_oversize_workflows(), http_auth_level=func.AuthLevel.ANONYMOUS
)
