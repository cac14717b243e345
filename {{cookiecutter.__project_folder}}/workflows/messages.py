"""What people send the workflows, declared as pydantic models and validated as data.

Two kinds of message come from outside: the body a run is started with, and a human's answer
to a pending request. Both are :class:`InboundMessage` models: strict JSON types (``"3"`` is
not a number, ``"true"`` is not a boolean), no unknown fields, and domain rules (positive
amounts, non-empty names) as field constraints. Messages the workflows pass between their
own executors are ordinary dataclasses: only our code creates them.

The run and respond routes belong to AgentFunctionApp and accept any JSON, so start
executors and response handlers take ``object`` and validate it here; a bad message is
described with every bad field, what it expects and what it got.
"""

import json
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError

NonEmptyText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]

PREVIEW_CHARACTERS = 60
CONSTRAINT_WORDS = (
    ("exclusiveMinimum", "greater than {}"),
    ("minimum", "at least {}"),
    ("maximum", "at most {}"),
    ("minLength", "at least {} characters"),
)


class InboundMessage(BaseModel):
    """A message from outside the app: strict JSON types, no unknown fields."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


Inbound = TypeVar("Inbound", bound=InboundMessage)


class BadStartMessageError(ValueError):
    """The body a workflow was started with does not describe its start message."""


def preview(value: object) -> str:
    """``value`` as the JSON the caller sent, shortened for an error message."""
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    if len(text) > PREVIEW_CHARACTERS:
        return text[: PREVIEW_CHARACTERS - 3] + "..."
    return text


def describe_field(schema: dict[str, Any], required: bool) -> str:
    """One field of a JSON schema in words, e.g. ``"number, greater than 0, required"``."""
    if "type" in schema:
        kind = str(schema["type"])
    else:
        kind = " or ".join(str(option.get("type", "value")) for option in schema.get("anyOf", []))
    words = [kind or "value"]
    for key, text in CONSTRAINT_WORDS:
        if key == "minLength" and schema.get(key) == 1:
            words.append("non-empty")
        elif key in schema:
            words.append(text.format(schema[key]))
    if "enum" in schema:
        words.append("one of " + ", ".join(json.dumps(option) for option in schema["enum"]))
    words.append("required" if required else "optional")
    return ", ".join(words)


def expected_fields(model: type[InboundMessage]) -> dict[str, str]:
    """What ``model`` expects, field by field, in words a caller can act on."""
    schema = model.model_json_schema()
    required = set(schema.get("required", []))
    return {
        name: describe_field(field_schema, name in required)
        for name, field_schema in schema["properties"].items()
    }


def describe_problems(model: type[InboundMessage], error: ValidationError) -> str:
    """Every bad field in ``error``, with what it expects and the value received."""
    problems = []
    for problem in error.errors():
        field = ".".join(str(part) for part in problem["loc"])
        if not field and problem["type"] == "value_error":
            # A rule about the message as a whole (fields that exclude each other, say).
            problems.append(str(problem["ctx"]["error"]))
        elif not field:
            problems.append(f"the message must be a JSON object, got {preview(problem['input'])}")
        elif problem["type"] == "missing":
            problems.append(f"{field} is missing")
        elif problem["type"] == "extra_forbidden":
            problems.append(f"{field} is not a field of {model.__name__}")
        else:
            problems.append(f"{field}: {problem['msg']}, got {preview(problem['input'])}")
    return "; ".join(problems)


def parse_start_message(model: type[Inbound], body: object) -> Inbound:
    """Return the run's ``body`` as a ``model``, or fail the run naming every bad field."""
    try:
        return model.model_validate(body)
    except ValidationError as error:
        fields = ", ".join(f"{name} ({words})" for name, words in expected_fields(model).items())
        raise BadStartMessageError(
            f"The body is not a valid {model.__name__}: {describe_problems(model, error)}. "
            f"Expected a JSON object with {fields}."
        ) from None
