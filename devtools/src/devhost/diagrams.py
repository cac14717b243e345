"""Draw a hosted workflow as a Mermaid diagram, from the real workflow object.

``devhost generate`` (generate.py) writes one page per workflow with this drawing. The graph
is the one the workflow's declaration builds, as ``function_app.py`` builds it (building reads
no settings), drawn by the Agent Framework's own ``WorkflowViz``. This module only annotates
that drawing with what the framework's diagram does not say:

- how AgentFunctionApp runs each executor on the Durable Task Scheduler, decided by the
  library's own ``plan_workflow_registration`` (agents are entities, ``WorkflowExecutor``
  nodes child orchestrations, every other executor an activity), with its durable name;
- where a person is asked (an activity executor with a ``@response_handler``; a child
  orchestration whose sub-workflow asks surfaces the request on the top-level instance);
- the routing condition on each switch-case or conditional edge, as written in the code.
"""

import ast
import inspect
import linecache
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from agent_framework import (
    FanOutEdgeGroup,
    SingleEdgeGroup,
    SwitchCaseEdgeGroup,
    SwitchCaseEdgeGroupDefault,
    Workflow,
    WorkflowExecutor,
    WorkflowViz,
)
from agent_framework_durabletask import (
    AgentSessionId,
    plan_workflow_registration,
    workflow_orchestrator_name,
)

# The naming helpers AgentFunctionApp itself registers activities and entities with; the
# package exports only the orchestration one, so these come from the module it uses.
from agent_framework_durabletask._workflows.naming import (
    SUBWORKFLOW_REQUEST_SEPARATOR,
    workflow_executor_activity_name,
    workflow_scoped_executor_id,
)

ACTIVITY = "activity"
ENTITY = "entity"
CHILD_ORCHESTRATION = "child orchestration"
CLASS_OF_KIND = {ACTIVITY: "activity", ENTITY: "entity", CHILD_ORCHESTRATION: "childOrchestration"}
CLASS_DEFINITIONS = {
    "activity": "fill:#e7f0fd,stroke:#1f6feb,color:#0b1f3a",
    "entity": "fill:#fdf0e1,stroke:#c2410c,color:#3b1a06",
    "childOrchestration": "fill:#f5f0fe,stroke:#7c3aed,color:#24103f",
    "asksPerson": "stroke-width:3px,stroke-dasharray:6 3",
    "person": "fill:#e9f8ee,stroke:#15803d,color:#0b2e17",
}

# The lines WorkflowViz.to_mermaid() writes (agent-framework-core 1.26). Anything else is an
# error, so a framework upgrade that changes the drawing is noticed rather than mis-annotated.
NODE_LINE = re.compile(r'^(?P<indent>\s*)(?P<id>\w+)\["(?P<label>[^"]*)"\];$')
FAN_IN_LINE = re.compile(r"^\s*(?P<id>\w+)\(\(fan-in\)\)$")
EDGE_LINE = re.compile(
    r"^(?P<indent>\s*)(?P<source>\w+) (?P<arrow>-->|-\. conditional \.->) (?P<target>\w+);$"
)
SUBGRAPH_LINE = re.compile(r"^(?P<indent>\s*)subgraph (?P<id>\w+)$")
END_LINE = re.compile(r"^\s*end$")
START_SUFFIX = " (Start)"

MERMAID_ESCAPES = {"#": "#35;", '"': "#quot;", "<": "#lt;", ">": "#gt;"}


class DiagramError(Exception):
    """The framework's drawing is not what this script knows how to annotate."""


@dataclass(frozen=True)
class DurableStep:
    """How AgentFunctionApp runs one executor durably."""

    executor_id: str
    kind: str
    durable_name: str
    asks_person: bool
    nested_requests: bool


@dataclass
class Scope:
    """One workflow of the drawing: the top level, or a sub-workflow's subgraph."""

    workflow: Workflow
    top_level: Workflow
    request_hops: tuple[str, ...]
    steps: dict[str, DurableStep]
    sub_workflow_nodes: Iterator[WorkflowExecutor]
    executor_of_node: dict[str, str] = field(default_factory=dict)


def escape(text: str) -> str:
    """Text that Mermaid shows as written inside a quoted label."""
    return "".join(MERMAID_ESCAPES.get(character, character) for character in text)


def asks_a_person(workflow: Workflow) -> bool:
    """Whether any executor of ``workflow``, or of a sub-workflow in it, asks a person."""
    return any(
        step.asks_person or step.nested_requests for step in durable_steps(workflow).values()
    )


def durable_steps(workflow: Workflow) -> dict[str, DurableStep]:
    """Each executor of ``workflow`` as AgentFunctionApp registers it, in the workflow's order.

    Only activities report human requests to the durable hosts (agent entities do not), so an
    activity is a human-in-the-loop point exactly when it has a response handler: an executor
    can only call ``request_info`` with one to receive the answer.
    """
    plan = plan_workflow_registration(workflow)
    steps: dict[str, DurableStep] = {}
    for agent in plan.agent_executors:
        entity = AgentSessionId.to_entity_name(workflow_scoped_executor_id(workflow.name, agent.id))
        steps[agent.id] = DurableStep(agent.id, ENTITY, entity, False, False)
    for node in plan.subworkflow_executors:
        steps[node.id] = DurableStep(
            node.id,
            CHILD_ORCHESTRATION,
            workflow_orchestrator_name(node.workflow.name),
            False,
            asks_a_person(node.workflow),
        )
    for executor in plan.activity_executors:
        steps[executor.id] = DurableStep(
            executor.id,
            ACTIVITY,
            workflow_executor_activity_name(workflow.name, executor.id),
            bool(executor.is_request_response_capable),
            False,
        )
    return {executor_id: steps[executor_id] for executor_id in workflow.executors}


def lambda_source(condition: Callable[..., Any]) -> str | None:
    """The body of a lambda as written in its module, or None when it cannot be found."""
    code = getattr(condition, "__code__", None)
    filename = inspect.getsourcefile(condition) if code is not None else None
    if code is None or filename is None:
        return None
    source = "".join(linecache.getlines(filename))
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    lambdas = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Lambda) and node.lineno == code.co_firstlineno
    ]
    if len(lambdas) > 1:
        # Several lambdas start on that line: the code's own positions say which one it is.
        columns = [
            column
            for line, _, column, _ in code.co_positions()
            if line == code.co_firstlineno and column is not None
        ]
        lambdas = [
            node
            for node in lambdas
            if node.body.lineno == code.co_firstlineno
            and columns
            and node.body.col_offset <= max(columns) < (node.body.end_col_offset or 0)
        ]
    if len(lambdas) != 1:
        return None
    segment = ast.get_source_segment(source, lambdas[0].body)
    return " ".join(segment.split()) if segment else None


def describe_condition(condition: Callable[..., Any] | None, name: str | None) -> str:
    """A routing condition as the code states it: a lambda's body, or the function's name."""
    if condition is not None and getattr(condition, "__name__", None) == "<lambda>":
        source = lambda_source(condition)
        if source:
            return source
    if name and name != "<lambda>":
        return name
    return "a condition"


def edge_conditions(workflow: Workflow) -> dict[tuple[str, str], str]:
    """The routing condition of every conditional edge of ``workflow``, by (source, target)."""
    conditions: dict[tuple[str, str], list[str]] = {}
    for group in workflow.edge_groups:
        if isinstance(group, SwitchCaseEdgeGroup):
            source = group.source_executor_ids[0]
            for index, case in enumerate(group.cases):
                if isinstance(case, SwitchCaseEdgeGroupDefault):
                    text = "otherwise"
                else:
                    prefix = "if" if index == 0 else "else if"
                    text = f"{prefix} {describe_condition(case.condition, case.condition_name)}"
                conditions.setdefault((source, case.target_id), []).append(text)
        elif isinstance(group, FanOutEdgeGroup) and group.selection_func is not None:
            chooser = describe_condition(group.selection_func, group.selection_func_name)
            for edge in group.edges:
                conditions.setdefault((edge.source_id, edge.target_id), []).append(
                    f"when {chooser} selects it"
                )
        elif isinstance(group, SingleEdgeGroup):
            for edge in group.edges:
                if edge.has_condition:
                    # The callable itself is private to Edge; WorkflowViz reads it the same way.
                    condition = getattr(edge, "_condition", None)
                    text = describe_condition(condition, edge.condition_name)
                    conditions.setdefault((edge.source_id, edge.target_id), []).append(f"if {text}")
    return {pair: " or ".join(texts) for pair, texts in conditions.items()}


def respond_route(workflow_name: str) -> str:
    return f"workflow/{workflow_name}/respond/{{instanceId}}/{{requestId}}"


def person_label(scope: Scope) -> str:
    if not scope.request_hops:
        return f"a person answers<br/>POST {escape(respond_route(scope.top_level.name))}"
    hops = "".join(
        f"{hop}{SUBWORKFLOW_REQUEST_SEPARATOR}n{SUBWORKFLOW_REQUEST_SEPARATOR}"
        for hop in scope.request_hops
    )
    return (
        f"a person answers on the {escape(scope.top_level.name)} instance<br/>"
        f"requestId {escape(hops)}#lt;id#gt;"
    )


def step_label(label: str, step: DurableStep) -> str:
    lines = [escape(label), f"{step.kind}: {escape(step.durable_name)}"]
    if step.asks_person:
        lines.append("asks a person")
    if step.nested_requests:
        lines.append("its requests surface on the top-level instance")
    return "<br/>".join(lines)


def annotated_mermaid(workflow: Workflow) -> str:
    """``WorkflowViz(workflow).to_mermaid()`` with the durable facts written onto it."""
    drawing = WorkflowViz(workflow).to_mermaid().splitlines()
    if not drawing or drawing[0] != "flowchart TD":
        raise DiagramError(f"WorkflowViz drew {drawing[:1]!r}, not a 'flowchart TD'")
    scopes = [new_scope(workflow, workflow, ())]
    classes: dict[str, list[str]] = {name: [] for name in CLASS_DEFINITIONS}
    used_ids = {match["id"] for line in drawing if (match := NODE_LINE.match(line))}
    lines = [drawing[0]]
    for line in drawing[1:]:
        scope = scopes[-1]
        if node := NODE_LINE.match(line):
            executor_id = executor_for_label(scope.workflow, node["label"])
            step = scope.steps[executor_id]
            scope.executor_of_node[node["id"]] = executor_id
            lines.append(f'{node["indent"]}{node["id"]}["{step_label(node["label"], step)}"];')
            classes[CLASS_OF_KIND[step.kind]].append(node["id"])
            if step.asks_person:
                classes["asksPerson"].append(node["id"])
                person = unused_id(f"{node['id']}__person", used_ids)
                classes["person"].append(person)
                lines += [
                    f'{node["indent"]}{person}(["{person_label(scope)}"]);',
                    f'{node["indent"]}{node["id"]} -. "asks (request_info)" .-> {person};',
                    f'{node["indent"]}{person} -. "answer" .-> {node["id"]};',
                ]
        elif edge := EDGE_LINE.match(line):
            source = scope.executor_of_node.get(edge["source"], edge["source"])
            target = scope.executor_of_node.get(edge["target"], edge["target"])
            condition = edge_conditions(scope.workflow).get((source, target))
            if condition is None:
                lines.append(line)
            else:
                lines.append(
                    f'{edge["indent"]}{edge["source"]} -. "{escape(condition)}" .-> '
                    f"{edge['target']};"
                )
        elif subgraph := SUBGRAPH_LINE.match(line):
            sub_workflow = next(scope.sub_workflow_nodes, None)
            if sub_workflow is None:
                raise DiagramError(f"WorkflowViz drew a subgraph {subgraph['id']!r} too many")
            title = (
                f"{escape(sub_workflow.id)}: {CHILD_ORCHESTRATION} "
                f"{escape(workflow_orchestrator_name(sub_workflow.workflow.name))}"
            )
            lines.append(f'{subgraph["indent"]}subgraph {subgraph["id"]} ["{title}"]')
            classes["childOrchestration"].append(subgraph["id"])
            hops = (*scope.request_hops, sub_workflow.id)
            scopes.append(new_scope(sub_workflow.workflow, workflow, hops))
        elif END_LINE.match(line):
            scopes.pop()
            lines.append(line)
        elif FAN_IN_LINE.match(line):
            lines.append(line)
        else:
            raise DiagramError(f"WorkflowViz drew a line this script does not know: {line!r}")
    for name, definition in CLASS_DEFINITIONS.items():
        if classes[name]:
            lines.append(f"  classDef {name} {definition};")
            lines.append(f"  class {','.join(dict.fromkeys(classes[name]))} {name};")
    return "\n".join(lines)


def new_scope(workflow: Workflow, top_level: Workflow, hops: tuple[str, ...]) -> Scope:
    nodes = (node for node in workflow.executors.values() if isinstance(node, WorkflowExecutor))
    return Scope(workflow, top_level, hops, durable_steps(workflow), nodes)


def executor_for_label(workflow: Workflow, label: str) -> str:
    start = workflow.start_executor_id
    executor_id = start if label == f"{start}{START_SUFFIX}" else label
    if executor_id not in workflow.executors:
        raise DiagramError(f"WorkflowViz drew a node {label!r} that {workflow.name} does not have")
    return executor_id


def unused_id(candidate: str, used: set[str]) -> str:
    chosen, suffix = candidate, 2
    while chosen in used:
        chosen, suffix = f"{candidate}_{suffix}", suffix + 1
    used.add(chosen)
    return chosen


def mermaid_block(workflow: Workflow) -> list[str]:
    return ["```mermaid", annotated_mermaid(workflow), "```"]


def step_table(workflow: Workflow) -> list[str]:
    rows = [
        f"Orchestration `{workflow_orchestrator_name(workflow.name)}`:",
        "",
        "| Executor | Runs as | Durable name | Human in the loop |",
        "|---|---|---|---|",
    ]
    for step in durable_steps(workflow).values():
        start = " (start)" if step.executor_id == workflow.start_executor_id else ""
        if step.asks_person:
            person = "asks a person"
        elif step.nested_requests:
            person = "its sub-workflow asks; answer on the top-level instance"
        else:
            person = ""
        rows.append(
            f"| `{step.executor_id}`{start} | {step.kind} | `{step.durable_name}` | {person} |"
        )
    return rows


LEGEND_ROWS = (
    (
        "blue box, `activity`",
        "a plain executor: each message it handles is one activity call, "
        "`dafx-{workflow}-{executor}`",
    ),
    (
        "orange box, `entity`",
        "an agent executor: a durable entity `dafx-{workflow}-{executor}` that keeps the "
        "agent's conversation for the run",
    ),
    (
        "purple frame, `child orchestration`",
        "a `WorkflowExecutor`: its sub-workflow runs as the orchestration "
        "`dafx-{sub-workflow}`, drawn inside the frame",
    ),
    (
        "dashed thick border, `asks a person`",
        "a human-in-the-loop point: the executor calls `request_info` and the run waits for "
        "the answer (the green node says where it is given)",
    ),
    (
        "dotted arrow with a condition",
        "routing: the cases of a switch-case group in order (`if`, `else if`, `otherwise`), "
        "or a conditional edge",
    ),
    ("`fan-in` circle", "the target receives the messages of all its sources as one list"),
    ("`(Start)`", "the executor that receives the body of `POST workflow/{name}/run`"),
)
PLURALS = {
    ACTIVITY: "activities",
    ENTITY: "entities",
    CHILD_ORCHESTRATION: "child orchestrations",
}


def summary(workflow: Workflow) -> str:
    """How many steps of each kind the workflow runs durably, and whether it asks a person."""
    counts: dict[str, int] = {}
    for step in durable_steps(workflow).values():
        counts[step.kind] = counts.get(step.kind, 0) + 1
    steps = ", ".join(
        f"{count} {kind if count == 1 else PLURALS[kind]}" for kind, count in counts.items()
    )
    person = "; a person is asked" if asks_a_person(workflow) else ""
    return f"Runs as {steps}{person}."
