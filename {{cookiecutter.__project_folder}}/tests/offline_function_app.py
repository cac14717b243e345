"""``function_app.app`` with its agents answered by the offline fake model.

The HTTP tests serve this module on the embedded host, so the agent workflow runs end to end
over HTTP without model credentials. Only the chat client differs from function_app.py.
"""

import azure.functions as func
from agent_framework_azurefunctions import AgentFunctionApp

import telemetry
from tests.fake_chat_client import FakeChatClient
from workflows import build_workflows

workflows = build_workflows(chat_client=FakeChatClient())
telemetry.configure_from_environment(workflows)
app = AgentFunctionApp(
    workflows=workflows,
    http_auth_level=func.AuthLevel.{{ cookiecutter.http_auth_level.upper() }},
)
