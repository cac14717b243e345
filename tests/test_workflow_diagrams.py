"""Workflow pages and requests: shipped current in every bake, drawn from the real graphs.

A project's ``devhost generate`` writes each workflow's page (the Agent Framework's own
Mermaid drawing, annotated) and request file. The template ships its output as Jinja
(``scripts/workflow_diagrams_template.py`` writes it), so every bake must pass the project's
``--check`` straight after generation, and the old command name still works. The
rest checks what the annotations say, on the starters and on small workflows built here for the
shapes the starters do not use (conditional edges, selected fan-out, several lambdas on a line).
"""

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest
from agent_framework import (
    Executor,
    WorkflowBuilder,
    WorkflowContext,
    WorkflowExecutor,
    executor,
    handler,
    response_handler,
)

from tests.conftest import TEMPLATE, bake_copy, run_python
from tests.test_bake import COMBINATIONS

MERMAID_BLOCK = re.compile(r"^```mermaid\n(.*?)\n```$", re.MULTILINE | re.DOTALL)
UPSTREAM_DRAWINGS = """
import json
from agent_framework import WorkflowViz
from workflows import build_workflows

print(json.dumps({w.name: WorkflowViz(w).to_mermaid() for w in build_workflows()}))
"""
NODE_ID = re.compile(r"^\s*(\w+)(?:\[|\(\()", re.MULTILINE)
EDGE_PAIR = re.compile(r"^\s*(\w+) (?:-->|-\. .*? \.->) (\w+);$", re.MULTILINE)
ALL_STARTERS = {"model_provider": "azure_openai"}
TEMPLATE_COMMAND = ".venv/bin/python scripts/workflow_diagrams_template.py"


def mermaid_blocks(project: Path) -> dict[str, str]:
    """Each workflow's diagram from its page in docs/workflows/, by workflow name."""
    found = {}
    for page in (project / "docs" / "workflows").glob("*.md"):
        text = page.read_text()
        (name,) = re.findall(r"^# `([^`]+)`$", text, flags=re.MULTILINE)
        found[name] = MERMAID_BLOCK.findall(text)[0]
    return found


@pytest.fixture(scope="module")
def diagrams_script() -> ModuleType:
    """The ``devhost diagrams`` command's module, to draw workflows built by the tests."""
    from devhost import diagrams

    return diagrams


@pytest.mark.parametrize("combination", list(COMBINATIONS))
def test_a_fresh_bake_has_current_pages_and_requests(
    bake: Callable[..., Path], combination: str
) -> None:
    project = bake(**COMBINATIONS[combination])

    result = run_python(project, "-m", "devhost", "generate", "--check")

    assert result.returncode == 0, f"{result.stderr}In the template: {TEMPLATE_COMMAND}"
    assert (project / "docs" / "workflows.md").is_file()


def test_the_earlier_command_name_still_checks_the_same_files(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    project = bake_copy(tmp_path_factory)
    (project / "http" / "quotes.http").unlink()

    result = run_python(project, "-m", "devhost", "diagrams", "--check")

    assert result.returncode == 1
    assert "http/quotes.http does not match the workflows: run devhost generate" in result.stderr


def test_the_template_files_are_what_the_maintainer_script_writes() -> None:
    result = run_python(TEMPLATE, "scripts/workflow_diagrams_template.py", "--check")

    assert result.returncode == 0, result.stdout + result.stderr


def test_diagrams_keep_every_node_and_edge_the_framework_draws(
    bake: Callable[..., Path],
) -> None:
    project = bake(**ALL_STARTERS)
    upstream = run_python(project, "-c", UPSTREAM_DRAWINGS)
    assert upstream.returncode == 0, upstream.stderr
    drawn = mermaid_blocks(project)

    for name, original in json.loads(upstream.stdout).items():
        annotated = drawn[name]
        assert set(NODE_ID.findall(original)) <= set(NODE_ID.findall(annotated)), name
        assert set(EDGE_PAIR.findall(original)) <= set(EDGE_PAIR.findall(annotated)), name


def test_switch_case_routes_are_labelled_with_their_conditions_in_order(
    bake: Callable[..., Path],
) -> None:
    triage = mermaid_blocks(bake(**ALL_STARTERS))["support_triage"]

    assert (
        'classify_ticket -. "if ticket.category == #quot;billing#quot;" .-> billing_desk;' in triage
    )
    assert (
        'classify_ticket -. "else if ticket.category == #quot;technical#quot;" .-> technical_desk;'
        in triage
    )
    assert 'classify_ticket -. "otherwise" .-> general_desk;' in triage


def test_plain_executors_are_activities_and_agents_are_entities(
    bake: Callable[..., Path],
) -> None:
    review = mermaid_blocks(bake(**ALL_STARTERS))["content_review"]

    assert 'writer["writer<br/>entity: dafx-content_review-writer"];' in review
    assert 'editor["editor<br/>entity: dafx-content_review-editor"];' in review
    assert 'hand_over["hand_over<br/>activity: dafx-content_review-hand_over"];' in review
    assert "class writer,editor entity;" in review


def test_a_human_in_the_loop_step_is_drawn_asking_a_person_at_the_respond_route(
    bake: Callable[..., Path],
) -> None:
    approval = mermaid_blocks(bake(**ALL_STARTERS))["expense_approval"]

    assert "activity: dafx-expense_approval-policy_check<br/>asks a person" in approval
    assert "POST workflow/expense_approval/respond/{instanceId}/{requestId}" in approval
    assert 'policy_check -. "asks (request_info)" .-> policy_check__person;' in approval
    assert "class policy_check asksPerson;" in approval


def test_a_sub_workflow_is_a_child_orchestration_whose_request_surfaces_on_the_trip(
    bake: Callable[..., Path],
) -> None:
    project = bake(**COMBINATIONS["renamed-foundry-on-3.11"])
    trip = mermaid_blocks(project)["travel-desk"]

    assert (
        'subgraph fare_check ["fare_check: child orchestration dafx-travel-desk_fare_check"]'
        in trip
    )
    assert "activity: dafx-travel-desk_fare_check-fare_hold<br/>asks a person" in trip
    assert "a person answers on the travel-desk instance" in trip
    assert "requestId fare_check~n~#lt;id#gt;" in trip
    assert "class fare_check childOrchestration;" in trip


@dataclass
class Claim:
    amount: float


def is_large(claim: Claim) -> bool:
    return claim.amount > 500


async def submit(claim: Claim, ctx: WorkflowContext[Claim]) -> None:
    await ctx.send_message(claim)


async def settle(claim: Claim, ctx: WorkflowContext[None, str]) -> None:
    await ctx.yield_output(f"settled {claim.amount}")


def test_a_conditional_edge_shows_its_named_condition_or_its_lambda(
    diagrams_script: ModuleType,
) -> None:
    start = executor(id="submit")(submit)
    review, pay = executor(id="review")(settle), executor(id="pay")(settle)
    workflow = (
        WorkflowBuilder(name="claims", start_executor=start)
        .add_edge(start, review, condition=is_large)
        .add_edge(start, pay, condition=lambda claim: claim.amount <= 500)
        .build()
    )

    drawn = diagrams_script.annotated_mermaid(workflow)

    assert 'submit -. "if is_large" .-> review;' in drawn
    assert 'submit -. "if claim.amount #lt;= 500" .-> pay;' in drawn


def test_lambdas_on_one_line_are_told_apart(diagrams_script: ModuleType) -> None:
    small, large = (lambda claim: claim.amount < 10), (lambda claim: claim.amount > 99)

    assert diagrams_script.lambda_source(small) == "claim.amount < 10"
    assert diagrams_script.lambda_source(large) == "claim.amount > 99"


def test_a_fan_out_with_a_selection_function_names_it(diagrams_script: ModuleType) -> None:
    def by_amount(claim: Claim, targets: list[str]) -> list[str]:
        return targets[:1] if claim.amount > 500 else targets[1:]

    start = executor(id="submit")(submit)
    review, pay = executor(id="review")(settle), executor(id="pay")(settle)
    workflow = (
        WorkflowBuilder(name="claims", start_executor=start)
        .add_multi_selection_edge_group(start, [review, pay], selection_func=by_amount)
        .build()
    )

    drawn = diagrams_script.annotated_mermaid(workflow)

    assert 'submit -. "when by_amount selects it" .-> review;' in drawn
    assert 'submit -. "when by_amount selects it" .-> pay;' in drawn


class Echo(Executor):
    @handler
    async def echo(self, text: str, ctx: WorkflowContext[None, str]) -> None:
        await ctx.yield_output(text)


def test_a_line_the_script_does_not_know_is_an_error_not_a_guess(
    diagrams_script: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    workflow = WorkflowBuilder(name="echo", start_executor=Echo(id="echo")).build()
    monkeypatch.setattr(
        diagrams_script.WorkflowViz, "to_mermaid", lambda self: "flowchart TD\n  echo ==> echo;"
    )

    with pytest.raises(diagrams_script.DiagramError, match="does not know: '  echo ==> echo;'"):
        diagrams_script.annotated_mermaid(workflow)


class Asker(Executor):
    @handler
    async def ask(self, text: str, ctx: WorkflowContext) -> None:
        await ctx.request_info({"question": text}, dict)

    @response_handler
    async def answered(
        self, request: dict[str, str], answer: dict[str, str], ctx: WorkflowContext[None, str]
    ) -> None:
        await ctx.yield_output(str(answer))


def test_a_sub_workflow_inside_a_sub_workflow_is_framed_twice_with_the_request_path(
    diagrams_script: ModuleType,
) -> None:
    inner = WorkflowBuilder(name="inner", start_executor=Asker(id="ask")).build()
    middle = WorkflowBuilder(
        name="middle", start_executor=WorkflowExecutor(inner, id="deeper")
    ).build()
    outer = WorkflowBuilder(
        name="outer", start_executor=WorkflowExecutor(middle, id="nested")
    ).build()

    drawn = diagrams_script.annotated_mermaid(outer)

    assert 'subgraph nested ["nested: child orchestration dafx-middle"]' in drawn
    assert re.search(r'subgraph \w+ \["deeper: child orchestration dafx-inner"\]', drawn)
    assert "activity: dafx-inner-ask<br/>asks a person" in drawn
    assert "a person answers on the outer instance<br/>requestId nested~n~deeper~n~#lt;id#gt;" in (
        drawn
    )
