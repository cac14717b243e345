"""Measure the largest start body and answer each starter takes, and the growth behind it.

Bakes a project (an agent starter included, answered by the offline fake model), then, in a
child process in the bake, runs every scenario of its ``tests/scenarios.py`` on the standalone
worker over devhost's backend (which enforces the Durable Task Scheduler's 1 MiB payload
limit): a free-text field of the start body (or the text itself), and of the first answer,
is padded, and a binary search finds the largest body that still completes. Prints
one row per starter: the ceiling in bytes of JSON, and the payload limit divided by it (the
growth factor: how many bytes of durable payload one byte of the body costs at its worst).

    /work/main/.venv/bin/python scripts/payload_ceilings.py
"""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parents[1]
PROJECT_FOLDER = "agent_workflows"

MEASURE = r'''
import json, sys
from typing import Any
from agent_framework_durabletask import DurableWorkflowClient
from devhost.backend import PAYLOAD_LIMIT_BYTES
from tests.conftest import hosted_durably, offline_workflows
from tests.scenarios import SCENARIOS
from tests.test_durable_end_to_end import wait_for_request

PRECISION = 1024
# Fields a person or a caller fills with free text; the first one present is grown.
FREE_TEXT = ("body", "description", "item", "comment", "note", "traveller", "employee")


def padded(value: Any, size: int) -> Any:
    """``value`` with its longest text grown so its JSON is ``size`` bytes (None: no text)."""
    if isinstance(value, str):
        return value + "x" * max(0, size - len(json.dumps(value)))
    texts = [k for k, v in value.items() if isinstance(v, str)] if isinstance(value, dict) else []
    if not texts:
        return None
    key = next((k for k in FREE_TEXT if k in texts), max(texts, key=lambda k: len(value[k])))
    grown = dict(value)
    grown[key] = value[key] + "x" * max(0, size - len(json.dumps(value)))
    return grown


def completes(client: DurableWorkflowClient, scenario: Any, body: Any, answers: list[Any]) -> bool:
    instance_id = client.start_workflow(body, workflow_name=scenario.workflow)
    try:
        for answer in answers:
            request = wait_for_request(client, instance_id)
            client.send_hitl_response(instance_id, request["request_id"], answer)
        client.await_workflow_output(instance_id, timeout_seconds=120)
    except Exception:
        return False
    return True


def ceiling(fits: Any) -> int | None:
    low, high = 64, PAYLOAD_LIMIT_BYTES
    if not fits(low):
        return None
    while high - low > PRECISION:
        middle = (low + high) // 2
        low, high = (middle, high) if fits(middle) else (low, middle)
    return low


with hosted_durably(offline_workflows()) as grpc_client:
    client = DurableWorkflowClient(grpc_client)
    rows = []
    for scenario in SCENARIOS:
        answers = list(scenario.answers)
        def start_fits(size: int) -> bool:
            body = padded(scenario.body, size)
            return body is not None and completes(client, scenario, body, answers)
        row = {"scenario": scenario.id, "workflow": scenario.workflow, "start": ceiling(start_fits)}
        if answers:
            def answer_fits(size: int) -> bool:
                answer = padded(answers[0], size)
                return answer is not None and completes(
                    client, scenario, scenario.body, [answer, *answers[1:]]
                )
            row["answer"] = ceiling(answer_fits)
        rows.append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)
    print(json.dumps({"limit": PAYLOAD_LIMIT_BYTES, "rows": rows}))
'''


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="ceilings-") as output:
        command = [sys.executable, "-m", "cookiecutter", str(TEMPLATE), "--no-input"]
        command += ["-o", output, "model_provider=azure_openai"]
        subprocess.run(command, check=True, capture_output=True)
        bake = Path(output) / PROJECT_FOLDER
        # devhost from this checkout, as the template's own tests import it.
        environment = {**os.environ, "PYTHONPATH": str(TEMPLATE / "devtools" / "src")}
        measured = subprocess.run(
            [sys.executable, "-c", MEASURE],
            cwd=bake,
            env=environment,
            check=True,
            capture_output=True,
            text=True,
        )
    result = json.loads(measured.stdout.strip().splitlines()[-1])
    limit = result["limit"]
    print(f"{'scenario':<48} {'start body':>12} {'growth':>7} {'answer':>10} {'growth':>7}")
    for row in result["rows"]:
        cells = []
        for key in ("start", "answer"):
            value = row.get(key)
            if value is None:
                cells += ["-" if key not in row else "n/a", ""]
            else:
                cells += [f"{value:,}", f"{limit / value:.1f}x"]
        print(f"{row['scenario']:<48} {cells[0]:>12} {cells[1]:>7} {cells[2]:>10} {cells[3]:>7}")


if __name__ == "__main__":
    main()
