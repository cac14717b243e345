"""``function_app.app`` with its agents calling a model server on loopback.

The model settings name the server (``tests.fake_chat_client.FakeModelServer``); the real
provider client talks to it, signing in with a fixed token instead of an Entra ID login.
Only the credential differs from function_app.py.
"""

import azure.functions as func
from agent_framework_azurefunctions import AgentFunctionApp

from model_client import LazyChatClient, create_model_client
from tests.fake_chat_client import StaticTokenCredential
from workflows import build_workflows

workflows = build_workflows(
    chat_client=LazyChatClient(lambda: create_model_client(credential=StaticTokenCredential()))
)
app = AgentFunctionApp(
    workflows=workflows,
    http_auth_level=func.AuthLevel.{{ cookiecutter.http_auth_level.upper() }},
)
