"""The workflows this app hosts: every module of this package that declares ``WORKFLOW``.

A workflow module builds a named ``Workflow`` in a function (so tests can run it on fresh
executors) and declares it with :class:`workflows.catalog.DeclaredWorkflow`.
"""

from agent_framework import SupportsChatGetResponse, Workflow

from workflows.catalog import declared_workflows


def build_workflows(chat_client: SupportsChatGetResponse | None = None) -> list[Workflow]:
    """Build every declared workflow; agents use ``chat_client`` or, by default, the app's model."""
    return [
        declared.build(chat_client) if declared.uses_model else declared.build()
        for declared in declared_workflows()
    ]
