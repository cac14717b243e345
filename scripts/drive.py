"""Drive a default dafx-func project over HTTP and print each exchange (stdlib only).

Runs a ticket through triage, then books a trip whose fare check sub-workflow asks a human:
the nested request is read from the outer instance's status and answered there.

    python scripts/drive.py BASE_URL HOST_PID HOST_LOG

It drives only the host it was given: if that process exits before answering (its port
taken, an import error), it stops, non-zero, pointing at the host's log.
"""

import json
import os
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


def is_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_for_host(base: str, pid: int, log: str) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if not is_running(pid):
            sys.exit(f"the development host (pid {pid}) exited before it answered; see {log}")
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=2):
                pass
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.5)
            continue
        if is_running(pid):
            return
    sys.exit(f"the development host did not answer {base}/health in {STARTUP_SECONDS}s; see {log}")


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


def main(base: str, pid: int, log: str) -> None:
    wait_for_host(base, pid, log)
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
    if len(sys.argv) != 4:
        sys.exit("usage: python scripts/drive.py BASE_URL HOST_PID HOST_LOG")
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3])
