"""Drive a default dafx-func project over HTTP and print each exchange (stdlib only).

Runs a ticket through triage, then books a trip whose fare check sub-workflow asks a human:
the nested request is read from the outer instance's status and answered there.
"""

import json
import sys
import time
import urllib.error
import urllib.request
from typing import Any

STARTUP_SECONDS = 120
RUN_SECONDS = 60


def call(method: str, url: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    print(f"\n> {method} {url}" + ("" if body is None else f"\n> {json.dumps(body)}"))
    with urllib.request.urlopen(request, timeout=30) as response:
        payload = json.loads(response.read() or b"null")
    print(f"< {response.status}\n{json.dumps(payload, indent=2)}")
    return payload


def wait_for_host(base: str) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=2):
                return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.5)
    sys.exit(f"no host answered at {base}/health within {STARTUP_SECONDS}s")


def poll(url: str, done: Any) -> Any:
    deadline = time.monotonic() + RUN_SECONDS
    while time.monotonic() < deadline:
        with urllib.request.urlopen(url, timeout=30) as response:
            status = json.loads(response.read())
        if done(status):
            return call("GET", url)
        time.sleep(0.3)
    sys.exit(f"{url} did not finish within {RUN_SECONDS}s")


def finished(status: Any) -> bool:
    return status["runtimeStatus"] in {"Completed", "Failed", "Terminated"}


def main(base: str) -> None:
    wait_for_host(base)
    ticket = {"subject": "Refund please", "body": "I was charged twice", "customer_tier": "premium"}
    started = call("POST", f"{base}/workflow/support_triage/run", ticket)
    poll(started["statusQueryGetUri"], finished)

    trip = {"traveller": "ana", "destination": "Lisbon", "nights": 3, "budget": 1000}
    started = call("POST", f"{base}/workflow/trip_booking/run", trip)
    waiting = poll(started["statusQueryGetUri"], lambda s: s.get("pendingHumanInputRequests"))
    request = waiting["pendingHumanInputRequests"][0]
    call("POST", request["respondUrl"], {"confirm": True, "note": "aisle seat"})
    booked = poll(started["statusQueryGetUri"], finished)
    if booked["runtimeStatus"] != "Completed":
        sys.exit("the trip did not complete")
    print(f"\nBooked: {json.dumps(booked['output'][-1])}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:7071/api")
