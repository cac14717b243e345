"""Drive a default dafx-func project over HTTP and print each exchange (stdlib only).

Runs a ticket through triage, then books a trip whose fare check sub-workflow asks a human:
the nested request is read from the outer instance's status and answered there. Then, when
Azurite runs (devhost starts it), uploads sample documents and analyses them in a batch.

    python scripts/drive.py BASE_URL HOST_PID HOST_LOG [PROJECT_DIR]

It drives only the host it was given: if that process exits before answering (its port
taken, an import error), it stops, non-zero, pointing at the host's log.
"""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from typing import Any

STARTUP_SECONDS = 120
RUN_SECONDS = 60
AZURITE_BLOB = ("127.0.0.1", 10000)
SAMPLE_DOCUMENTS = 200


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


def azurite_is_running() -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(AZURITE_BLOB) == 0


def analyse_documents(base: str, project: str) -> None:
    """Upload sample documents to Azurite and analyse them with the document batch."""
    if not azurite_is_running():
        print(
            "\nSkipped the document batch: Azurite is not running (it needs Node.js and npm;"
            " devhost starts it once they are installed)."
        )
        return
    upload = [sys.executable, "scripts/sample_documents.py", "--count", str(SAMPLE_DOCUMENTS)]
    print(f"\n$ {' '.join(upload[1:])}")
    subprocess.run(upload, cwd=project, check=True, timeout=RUN_SECONDS)
    batch = {"container": "documents", "prefix": "samples/", "chunk_size": 50}
    started = call("POST", f"{base}/workflow/document_batch/run", batch)
    analysed = poll(started["statusQueryGetUri"], finished)
    if analysed["runtimeStatus"] != "Completed":
        sys.exit("the document batch did not complete")
    print(f"\nAnalysed: {json.dumps(analysed['output'][-1])}")


if __name__ == "__main__":
    if len(sys.argv) not in (4, 5):
        sys.exit("usage: python scripts/drive.py BASE_URL HOST_PID HOST_LOG [PROJECT_DIR]")
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3])
    if len(sys.argv) == 5:
        analyse_documents(sys.argv[1], sys.argv[4])
