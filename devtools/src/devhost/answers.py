"""devhost's check before AgentFunctionApp's respond route: no answer acknowledged and dropped.

AgentFunctionApp's ``workflow/{name}/respond/{instanceId}/{requestId}`` route raises the answer
as an event on a running instance of its workflow whatever the request id, and answers
``200``. The run only takes an event named after a request it waits for, so an answer to any
other id (unknown, mistyped, from an earlier question, sent twice) is acknowledged and lost.
For a run that has ended the route answers ``500`` with an empty body.

devhost asks the app's own status route first (it lists the pending requests, nested ones
with their qualified ids) and refuses, naming what to do, when the answer cannot be used:

- ``409`` when the run has ended: it waits for no answer.
- ``404`` when the run does not wait for that request id, with the pending requests (id and
  ``respondUrl``) to answer instead.
- ``409`` when an answer to that request has reached the run and the run has not taken it
  yet (a second answer would be dropped); read the status, then answer again if asked.

Otherwise the route runs as on the Functions host. The check has a race the route cannot
close: an answer that arrives while the run is taking the previous one may still be dropped.
The Functions host makes no such check (a generated project's ``docs/known-limitations.md``
says what it does); ``DEVHOST_ANSWER_CHECK=off`` serves the route as it does.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from .upstream import backend_lock, bare_request_id, instance_events, instance_ids, pb

CHECK_VARIABLE = "DEVHOST_ANSWER_CHECK"
RESPOND_TEMPLATE = re.compile(
    r"workflow/(?P<workflow>[^/{}]+)/respond/\{instanceId\}/\{requestId\}"
)
ENDED = frozenset({"Completed", "Failed", "Terminated", "Canceled"})
# A sub-workflow's instance id starts with its parent's, then this.
CHILD_SEPARATOR = "::"


def check_enabled() -> bool:
    return os.environ.get(CHECK_VARIABLE, "").strip().lower() not in ("off", "0", "false", "no")


def respond_workflow(template: str) -> str | None:
    """The workflow whose respond route `template` is, if it is one."""
    found = RESPOND_TEMPLATE.fullmatch(template)
    return found.group("workflow") if found else None


def status_template(workflow: str) -> str:
    return f"workflow/{workflow}/status/{{instanceId}}"


@dataclass(frozen=True)
class Refusal:
    status: int
    body: dict[str, Any]

    def response(self) -> web.Response:
        return web.json_response(self.body, status=self.status)


def refusal(status: dict[str, Any], instance_id: str, request_id: str) -> Refusal | None:
    """Why an answer to `request_id` cannot be used, from the run's status route body."""
    runtime = str(status.get("runtimeStatus"))
    if runtime in ENDED:
        return Refusal(
            409,
            {
                "error": f"Run {instance_id} has ended ({runtime}): it waits for no answer.",
                "runtimeStatus": runtime,
            },
        )
    pending = [
        {"requestId": item.get("requestId"), "respondUrl": item.get("respondUrl")}
        for item in status.get("pendingHumanInputRequests") or []
        if isinstance(item, dict)
    ]
    if any(item["requestId"] == request_id for item in pending):
        return None
    if pending:
        ids = ", ".join(f"'{item['requestId']}'" for item in pending)
        advice = f"Answer {ids} instead, at its respondUrl."
    else:
        advice = "It waits for no answer now: read its status, and answer what it lists."
    return Refusal(
        404,
        {
            "error": f"Run {instance_id} does not wait for request '{request_id}'. {advice}",
            "runtimeStatus": runtime,
            "pendingHumanInputRequests": pending,
        },
    )


def answer_in_flight(backend: Any, instance_id: str, request_id: str) -> bool:
    """Whether an answer to `request_id` has reached the run (or the sub-workflow that asked
    it) and has not been taken yet: it is still among the instance's new events."""
    name = bare_request_id(request_id).casefold()
    with backend_lock(backend):
        family = [
            candidate
            for candidate in instance_ids(backend)
            if candidate == instance_id or candidate.startswith(instance_id + CHILD_SEPARATOR)
        ]
        for member in family:
            events = instance_events(backend, member)
            if events is None:
                continue
            for event in (*events.dispatched, *events.pending):
                if _raised(event) == name:
                    return True
    return False


def in_flight_refusal(instance_id: str, request_id: str) -> Refusal:
    return Refusal(
        409,
        {
            "error": f"An answer to request '{request_id}' has reached run {instance_id} and "
            "the run has not taken it yet; another would be dropped. Read the status: answer "
            "again only if the request is asked again.",
        },
    )


def _raised(event: pb.HistoryEvent) -> str | None:
    if event.HasField("eventRaised"):
        return str(event.eventRaised.name).casefold()
    return None


def status_body(response: Any) -> dict[str, Any] | None:
    """The JSON body of a 200 from the status route, else None."""
    if getattr(response, "status_code", None) != 200:
        return None
    try:
        body = json.loads(response.get_body())
    except (ValueError, AttributeError):
        return None
    return body if isinstance(body, dict) else None
