"""demo.http sends well-formed requests, and they work when sent in order, as a person would.

The file is parsed the way REST Client reads it (``###`` separates requests, ``# @name``
names one, ``{{name.response.body.$.path}}`` reads an earlier response) and then sent to the
test host. A reference to a field that is not there yet (a pending human request, say) sends
the named status request again until it is, as a person would click it again.
"""

import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.http_host import RUN_SECONDS, Host

DEMO = Path(__file__).resolve().parents[1] / "demo.http"
REQUEST_LINE = re.compile(r"^(GET|POST) (\S+)$")
HEADER = re.compile(r"^([A-Za-z-]+): (.+)$")
REFERENCE = re.compile(r"\{\{(\w+)(?:\.response\.body\.\$\.([\w.\[\]]+))?\}\}")
INDEX = re.compile(r"^(\w+)\[(\d+)\]$")


@dataclass
class DemoRequest:
    title: str
    method: str
    url: str
    name: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""


def parse(text: str) -> tuple[dict[str, str], list[DemoRequest]]:
    """The file's variables and its requests, in order; raise on any malformed line."""
    variables: dict[str, str] = {}
    preamble, *blocks = text.split("###")
    for line in preamble.splitlines():
        if line.startswith("@"):
            name, value = line[1:].split("=", 1)
            variables[name.strip()] = value.strip()
    parsed = []
    for block in blocks:
        title, *lines = block.strip().splitlines()
        name = ""
        while lines and lines[0].startswith("#"):
            name = lines.pop(0).removeprefix("# @name ") if "@name" in lines[0] else name
        match = REQUEST_LINE.match(lines.pop(0)) if lines else None
        assert match, f"request {title!r} has no 'METHOD URL' line"
        request = DemoRequest(title.strip(), match[1], match[2], name)
        while lines and lines[0].strip():
            header = HEADER.match(lines.pop(0))
            assert header, f"request {title!r} has a malformed header line"
            request.headers[header[1]] = header[2]
        request.body = "\n".join(lines).strip()
        parsed.append(request)
    return variables, parsed


def lookup(body: Any, path: str) -> Any:
    for part in path.split("."):
        index = INDEX.match(part)
        key, position = (index[1], int(index[2])) if index else (part, None)
        if not isinstance(body, dict) or key not in body:
            return None
        body = body[key]
        if position is not None:
            body = body[position] if isinstance(body, list) and len(body) > position else None
    return body


def test_every_request_is_well_formed() -> None:
    variables, demo = parse(DEMO.read_text())

    names = {request.name for request in demo if request.name}
    for request in demo:
        for reference, path in REFERENCE.findall(request.url):
            assert reference in (names if path else variables), f"{request.title}: {reference}"
        if request.method == "POST":
            assert request.body, f"{request.title} sends no body"
        if request.headers.get("Content-Type") == "application/json":
            json.loads(request.body)


@pytest.mark.http
def test_every_request_succeeds_when_sent_in_order(host: Host) -> None:
    variables, demo = parse(DEMO.read_text())
    sent: dict[str, DemoRequest] = {}
    answers: dict[str, Any] = {}

    def resolve(match: re.Match[str]) -> str:
        name, path = match[1], match[2]
        if not path:
            return f"{host.base_url}/api" if name == "base" else variables[name]
        deadline = time.monotonic() + RUN_SECONDS
        while (value := lookup(answers[name], path)) is None:
            assert time.monotonic() < deadline, f"{name} never showed {path}"
            time.sleep(0.2)
            answers[name] = send(sent[name])
        return str(value)

    def send(request: DemoRequest) -> Any:
        response = requests.request(
            request.method,
            REFERENCE.sub(resolve, request.url),
            data=request.body.encode() or None,
            headers={**host.headers, **request.headers},
            timeout=30,
        )
        assert response.status_code < 300, (
            f"{request.title}: {response.status_code} {response.text}"
        )
        return response.json()

    for request in demo:
        if "needs the model" in request.title and not (
            host.offline_model or os.environ.get("DAFX_REAL_MODEL")
        ):
            continue
        answer = send(request)
        if request.name:
            sent[request.name], answers[request.name] = request, answer
