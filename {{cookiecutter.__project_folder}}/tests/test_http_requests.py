"""The request files in http/ send each workflow's declared examples, and they work in order.

``devhost generate`` writes ``http/<module>.http`` from the examples a workflow module
declares. These tests read each file the way REST Client reads it (``###`` separates
requests, ``# @name`` names one, ``{{name.response.body.$.path}}`` reads an earlier
response), check it against the declarations themselves, then send it to the test host. A
reference to a field that is not there yet (a pending human request, say) sends the named
status request again until it is, as a person would click it again.
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
from workflows.catalog import DeclaredWorkflow, declared_by_module

REQUESTS = Path(__file__).resolve().parents[1] / "http"
DECLARED = declared_by_module()
REQUEST_LINE = re.compile(r"^(GET|POST) (\S+)$")
HEADER = re.compile(r"^([A-Za-z-]+): (.+)$")
REFERENCE = re.compile(r"\{\{(\w+)(?:\.response\.body\.\$\.([\w.\[\]]+))?\}\}")
INDEX = re.compile(r"^(\w+)\[(\d+)\]$")
# REST Client reads a request's name up to the first character that is not a word character.
REQUEST_NAME = re.compile(r"^\w+$")


@dataclass
class HttpRequest:
    title: str
    method: str
    url: str
    name: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""

    def sent_body(self) -> Any:
        """The body as the workflow receives it: JSON parsed, text as it is."""
        if self.headers.get("Content-Type") == "application/json":
            return json.loads(self.body)
        return self.body


def parse(text: str) -> tuple[dict[str, str], list[HttpRequest]]:
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
            comment = lines.pop(0)
            name = comment.removeprefix("# @name ") if comment.startswith("# @name ") else name
        match = REQUEST_LINE.match(lines.pop(0)) if lines else None
        assert match, f"request {title!r} has no 'METHOD URL' line"
        request = HttpRequest(title.strip(), match[1], match[2], name)
        while lines and lines[0].strip():
            header = HEADER.match(lines.pop(0))
            assert header, f"request {title!r} has a malformed header line"
            request.headers[header[1]] = header[2]
        request.body = "\n".join(lines).strip()
        parsed.append(request)
    return variables, parsed


def requests_of(module: str) -> tuple[dict[str, str], list[HttpRequest]]:
    path = REQUESTS / f"{module}.http"
    assert path.is_file(), f"http/{module}.http is missing: run devhost generate"
    return parse(path.read_text(encoding="utf-8"))


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


def test_every_request_file_belongs_to_a_declared_workflow() -> None:
    files = {path.stem for path in REQUESTS.glob("*.http")}

    assert files == set(DECLARED), "run devhost generate"


@pytest.mark.parametrize(("module", "declared"), DECLARED.items(), ids=list(DECLARED))
def test_the_requests_start_each_declared_example_and_give_its_answers(
    module: str, declared: DeclaredWorkflow
) -> None:
    _, sent = requests_of(module)
    starts = [r for r in sent if r.method == "POST" and r.url.endswith(f"/{declared.name}/run")]
    answers = [r for r in sent if r.method == "POST" and "respondUrl" in r.url]

    assert [r.sent_body() for r in starts] == [e.body for e in declared.examples]
    assert [r.sent_body() for r in answers] == [a for e in declared.examples for a in e.answers]


@pytest.mark.parametrize("module", list(DECLARED))
def test_every_request_is_well_formed(module: str) -> None:
    variables, sent = requests_of(module)

    names = [request.name for request in sent if request.name]
    assert len(names) == len(set(names)), f"a request name is used twice: {names}"
    for request in sent:
        if request.name:
            assert REQUEST_NAME.match(request.name), f"{request.title}: {request.name!r}"
        for reference, path in REFERENCE.findall(request.url):
            assert reference in (names if path else variables), f"{request.title}: {reference}"
        if request.method == "POST":
            assert request.body, f"{request.title} sends no body"
        if request.headers.get("Content-Type") == "application/json":
            json.loads(request.body)


@pytest.mark.http
@pytest.mark.parametrize("module", list(DECLARED))
def test_every_request_succeeds_when_sent_in_order(host: Host, module: str) -> None:
    variables, in_order = requests_of(module)
    sent: dict[str, HttpRequest] = {}
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

    def send(request: HttpRequest) -> Any:
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

    for request in in_order:
        if "needs the model" in request.title and not (
            host.offline_model or os.environ.get("DAFX_REAL_MODEL")
        ):
            continue
        answer = send(request)
        if request.name:
            sent[request.name], answers[request.name] = request, answer
