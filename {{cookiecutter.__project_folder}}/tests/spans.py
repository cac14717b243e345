"""Reading the spans processes printed with ``OTEL_TRACES_EXPORTER=console``, for trace tests."""

import json
from typing import Any


def printed_spans(text: str) -> list[dict[str, Any]]:
    """The spans among the JSON documents the console exporters printed (each starts a line;
    devhost's log lines between them start with a timestamp)."""
    decoder = json.JSONDecoder()
    documents, position = [], 0
    while (start := text.find("{", position)) >= 0:
        if start > 0 and text[start - 1] != "\n":
            position = start + 1
            continue
        document, position = decoder.raw_decode(text, start)
        documents.append(document)
    return [d for d in documents if isinstance(d, dict) and "context" in d and "kind" in d]


def ancestors(span: dict[str, Any], by_id: dict[str, dict[str, Any]]) -> list[str]:
    """The names of the span's parent, its parent's parent, ... as far as they were printed."""
    names = []
    while span.get("parent_id") in by_id:
        span = by_id[span["parent_id"]]
        names.append(span["name"])
    return names
