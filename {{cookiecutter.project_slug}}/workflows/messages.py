"""Turn the JSON body a workflow was started with into its start message, or say what's wrong.

The run route hands the start executor the request body as plain JSON. Start executors accept
that dict and build their dataclass here, so a body with a missing or misspelt field fails the
run with a message naming the fields (shown as ``error`` by the status route) instead of a
type-dispatch error from deep inside the framework.
"""

from dataclasses import MISSING, fields
from typing import Any


class BadStartMessageError(ValueError):
    """The body a workflow was started with does not describe its start message."""


def parse_message(message_type: type[Any], body: object) -> Any:
    """Return ``body`` as a ``message_type`` dataclass; raise if its fields do not match."""
    if isinstance(body, message_type):
        return body
    name = message_type.__name__
    if not isinstance(body, dict):
        raise BadStartMessageError(f"{name} must be a JSON object, not {type(body).__name__}.")
    declared = fields(message_type)
    required = [f.name for f in declared if f.default is MISSING and f.default_factory is MISSING]
    missing = [field_name for field_name in required if field_name not in body]
    unknown = sorted(set(body) - {f.name for f in declared})
    problems = []
    if missing:
        problems.append(f"missing {', '.join(missing)}")
    if unknown:
        problems.append(f"unknown {', '.join(unknown)}")
    if problems:
        expected = ", ".join(f.name for f in declared)
        raise BadStartMessageError(f"{name} {'; '.join(problems)} (fields: {expected}).")
    return message_type(**body)
