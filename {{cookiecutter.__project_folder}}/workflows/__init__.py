"""The workflows this app hosts, one module each.

To add a workflow, write a module with a ``build_..._workflow()`` function returning a named
``Workflow`` and list it in :func:`build_workflows`. Builders are functions rather than
module-level objects so tests can run each workflow on fresh executors.
"""

{% if cookiecutter.model_provider != "none" %}
from agent_framework import SupportsChatGetResponse, Workflow
{% else %}
from agent_framework import Workflow
{% endif %}

{% if cookiecutter.__hosted_agent_workflow != "none" %}
from workflows.content_review import build_content_review_workflow
{% endif %}
{% if cookiecutter.batch_workflow != "none" %}
from workflows.document_batch import build_document_batch_workflow
{% endif %}
{% if cookiecutter.approval_workflow != "none" %}
from workflows.expense_approval import build_expense_approval_workflow
{% endif %}
{% if cookiecutter.fanout_workflow != "none" %}
from workflows.quotes import build_quotes_workflow
{% endif %}
{% if cookiecutter.triage_workflow != "none" %}
from workflows.triage import build_triage_workflow
{% endif %}
{% if cookiecutter.composition_workflow != "none" %}
from workflows.trip_booking import build_trip_booking_workflow
{% endif %}


{% if cookiecutter.model_provider != "none" %}
def build_workflows(chat_client: SupportsChatGetResponse | None = None) -> list[Workflow]:
    """Build every hosted workflow; agents use ``chat_client`` or, by default, the app's model."""
{% else %}
def build_workflows() -> list[Workflow]:
{% endif %}
    return [
{% if cookiecutter.triage_workflow != "none" %}
        build_triage_workflow(),
{% endif %}
{% if cookiecutter.fanout_workflow != "none" %}
        build_quotes_workflow(),
{% endif %}
{% if cookiecutter.approval_workflow != "none" %}
        build_expense_approval_workflow(),
{% endif %}
{% if cookiecutter.composition_workflow != "none" %}
        build_trip_booking_workflow(),
{% endif %}
{% if cookiecutter.__hosted_agent_workflow != "none" %}
        build_content_review_workflow(chat_client),
{% endif %}
{% if cookiecutter.batch_workflow != "none" %}
        build_document_batch_workflow(),
{% endif %}
    ]
