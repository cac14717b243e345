"""A page for developers at `/_devhost/`: find any run, see what happened step by step and
where, act on it, and answer it, with nothing but Python installed.

The page's script calls what any client may call: the durable management API devhost serves
(`/runtime/webhooks/durabletask/...`: status with `showHistory`, terminate, suspend, resume,
restart, purge, raise event, entities) and, for a workflow of an AgentFunctionApp, the app's
own `status` and `respond` routes. The server side adds what only devhost knows: which
workflows the app hosts (from its routes) with their diagrams drawn as SVG (from the project's
`docs/workflows/`, see diagram.py), instance search and paging by any filter, values decoded
from the Agent Framework's checkpoint encoding, and where each work item ran and when
(placements.py), which the page shows beside the history. The waterfall is the run's trace:
the spans devhost and the app made for it, kept by each process (span_log.py), with the
process that made each one.
"""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from .diagram import to_svg
from .history import history_events
from .indexing import FunctionIndex
from .management import ManagementApi, status_body
from .span_log import LOG, of_run
from .upstream import backend_lock, decode_workflow_value, instance_events, pb

DASHBOARD_PATH = "/_devhost"
# One page per workflow module, written by ``devhost generate``: "# `name`", then its diagram.
WORKFLOW_PAGES = Path("docs") / "workflows"
# AgentFunctionApp's route for a workflow's status and the orchestration it runs the workflow as.
STATUS_ROUTE = re.compile(r"workflow/(?P<workflow>[^/{}]+)/status/\{instanceId\}")
ORCHESTRATOR_PREFIX = "dafx-"
PAGE_TITLE = re.compile(r"^# `(?P<workflow>[^`]+)`$", re.MULTILINE)
MERMAID_BLOCK = re.compile(r"^```mermaid\n(?P<source>.*?)\n```$", re.MULTILINE | re.DOTALL)
PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


def diagrams(project: Path) -> dict[str, str]:
    """The Mermaid text of each workflow's page in the project's docs/workflows/, by name."""
    found: dict[str, str] = {}
    for page in sorted((project / WORKFLOW_PAGES).glob("*.md")):
        try:
            text = page.read_text(encoding="utf-8")
        except OSError:
            continue
        title, block = PAGE_TITLE.search(text), MERMAID_BLOCK.search(text)
        if title is not None and block is not None:
            found[title.group("workflow")] = block.group("source")
    return found


def workflows(index: FunctionIndex, project: Path) -> list[dict[str, Any]]:
    """Each workflow the app serves a status route for, with its orchestration and diagram."""
    drawn = diagrams(project)
    found = []
    for route in index.http_routes:
        match = STATUS_ROUTE.fullmatch(route.template)
        if match is None:
            continue
        name = match.group("workflow")
        orchestrator = index.orchestrator(ORCHESTRATOR_PREFIX + name)
        source = drawn.get(name)
        found.append(
            {
                "name": name,
                "orchestrator": orchestrator.name if orchestrator is not None else None,
                "statusPath": "/" + "/".join(filter(None, (index.route_prefix, route.template))),
                "diagram": source,
                "svg": to_svg(source, name) if source else None,
            }
        )
    return sorted(found, key=lambda workflow: str(workflow["name"]))


def readable(value: Any) -> Any:
    """`value` with the Agent Framework's checkpoint encoding decoded, as plain JSON.

    An activity of a workflow returns JSON text; it is read as the JSON it holds.
    """
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            value = json.loads(value)
        except ValueError:
            return value
    if isinstance(value, dict):
        value = {key: readable(item) for key, item in value.items()}
    elif isinstance(value, list):
        value = [readable(item) for item in value]
    return json.loads(json.dumps(decode_workflow_value(value), default=_plain))


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    for method in ("model_dump", "to_dict"):
        converter = getattr(value, method, None)
        if callable(converter):
            try:
                return converter()
            except Exception:
                break
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return repr(value)


def _time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as error:
        raise web.HTTPBadRequest(text=f"'{text}' is not an ISO 8601 time") from error
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _int(text: str | None, default: int, highest: int) -> int:
    try:
        return max(0, min(highest, int(text))) if text else default
    except ValueError as error:
        raise web.HTTPBadRequest(text=f"'{text}' is not a whole number") from error


class Dashboard:
    """Serves the page, the workflows with their drawings, runs, one run, and entities."""

    def __init__(self, index: FunctionIndex, project_dir: Path, management: ManagementApi) -> None:
        self._index = index
        self._project = project_dir
        self._management = management

    @staticmethod
    def serves(path: str) -> bool:
        return path == DASHBOARD_PATH or path.startswith(DASHBOARD_PATH + "/")

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if request.method not in ("GET", "HEAD"):
            return web.Response(status=405)
        page = request.path[len(DASHBOARD_PATH) :]
        if page == "":
            raise web.HTTPFound(
                DASHBOARD_PATH + "/" + (f"?{request.query_string}" if request.query_string else "")
            )
        if page == "/":
            return web.Response(text=PAGE, content_type="text/html")
        if page == "/workflows.json":
            return web.json_response(
                {
                    "workflows": workflows(self._index, self._project),
                    "orchestrators": sorted(f.name for f in self._index.orchestrators.values()),
                    "diagramsFile": str(self._project / WORKFLOW_PAGES),
                }
            )
        if page == "/api/instances":
            return web.json_response(self._instances(request))
        if page.startswith("/api/instances/"):
            found = self._instance(page[len("/api/instances/") :])
            return web.json_response(found, status=200 if found is not None else 404)
        return web.Response(status=404)

    def _states(self) -> list[pb.OrchestrationState]:
        backend = self._management.backend
        query = pb.InstanceQuery(fetchInputsAndOutputs=True)
        states: list[pb.OrchestrationState] = []
        while True:
            request = pb.QueryInstancesRequest(query=query)
            response = backend.QueryInstances(request, _no_abort())
            states.extend(response.orchestrationState)
            token = (
                response.continuationToken.value if response.HasField("continuationToken") else ""
            )
            if not token:
                return states
            query.continuationToken.value = token

    def _instances(self, request: web.Request) -> dict[str, Any]:
        """One page of runs, newest first, after every filter the page offers."""
        wanted = {s.strip() for s in request.query.get("status", "").split(",") if s.strip()}
        name = request.query.get("name", "")
        prefix = request.query.get("prefix", "")
        search = request.query.get("q", "").casefold()
        since, until = _time(request.query.get("from")), _time(request.query.get("to"))
        size = _int(request.query.get("size"), PAGE_SIZE, MAX_PAGE_SIZE) or PAGE_SIZE
        page = _int(request.query.get("page"), 0, 1_000_000)
        bodies = [status_body(state) for state in self._states()]
        names = sorted({str(body["name"]) for body in bodies})
        kept = []
        for body in bodies:
            created = _time(body["createdTime"])
            if wanted and body["runtimeStatus"] not in wanted:
                continue
            if name and body["name"] != name:
                continue
            if prefix and not str(body["instanceId"]).startswith(prefix):
                continue
            if (since and created and created < since) or (until and created and created > until):
                continue
            if search and search not in json.dumps(body).casefold():
                continue
            kept.append(body)
        kept.sort(key=lambda body: (body["createdTime"], body["instanceId"]), reverse=True)
        shown = kept[page * size : (page + 1) * size]
        return {
            "instances": [self._summary(body) for body in shown],
            "total": len(kept),
            "page": page,
            "size": size,
            "names": names,
        }

    def _trace_parent(self, instance_id: str) -> str:
        return _trace_parent_of(self._management.backend, instance_id)

    @staticmethod
    def _summary(body: dict[str, Any]) -> dict[str, Any]:
        return {**body, **{key: readable(body[key]) for key in ("input", "output", "customStatus")}}

    def _instance(self, instance_id: str) -> dict[str, Any] | None:
        """One run: status, decoded values, history, where each step ran, and its family."""
        backend = self._management.backend
        found = backend.GetInstance(
            pb.GetInstanceRequest(instanceId=instance_id, getInputsAndOutputs=True), _no_abort()
        )
        if not found.exists:
            return None
        status = self._summary(status_body(found.orchestrationState))
        events = self._management.history(instance_id)
        history = history_events(events, show_output=True)
        trace_parent = self._trace_parent(instance_id)
        trace_id = trace_parent.split("-")[1] if trace_parent.count("-") == 3 else None
        spans, spans_dropped = LOG.of_trace(trace_id) if trace_id else ([], 0)
        for event in history:
            for key in ("Result", "Input"):
                if key in event:
                    event[key] = readable(event[key])
        parent = next(
            (e.get("ParentInstanceId") for e in history if e["EventType"] == "ExecutionStarted"),
            None,
        )
        children = [
            {"instanceId": e["InstanceId"], "name": e.get("FunctionName"), "event": e["EventType"]}
            for e in history
            if "InstanceId" in e and e["EventType"].startswith("SubOrchestration")
        ]
        entities = sorted({e["TargetInstanceId"] for e in history if e.get("TargetInstanceId")})
        return {
            "status": status,
            "history": history,
            "placements": backend.work_log.of(instance_id),
            "entityPlacements": {entity: backend.work_log.of(entity) for entity in entities},
            "childPlacements": {
                child["instanceId"]: backend.work_log.of(child["instanceId"]) for child in children
            },
            "parent": parent or backend.work_log.parent_of(instance_id),
            # W3C trace id of the run's trace, to find its spans in your exporter.
            "traceId": trace_id,
            "spans": of_run(spans, instance_id),
            "spansDropped": spans_dropped,
            "children": children,
        }


def _trace_parent_of(backend: Any, instance_id: str) -> str:
    """The trace context the instance was started in, from its ExecutionStarted event, which
    is still pending before the instance first runs."""
    with backend_lock(backend):
        events = instance_events(backend, instance_id)
        if events is None:
            return ""
        for event in (*events.history, *events.dispatched, *events.pending):
            if event.HasField("executionStarted"):
                value: str = event.executionStarted.parentTraceContext.traceParent
                return value
    return ""


def _no_abort() -> Any:
    from .backend import InProcessCall

    return InProcessCall()


PAGE = r"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>devhost dashboard</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #1f2328; }
header { background: #24292f; color: #fff; padding: .6em 1.5em; display: flex; gap: 1.5em;
  align-items: baseline; }
header h1 { font-size: 1.15em; margin: 0; }
header a { color: #d0d7de; text-decoration: none; } header a.current { color: #fff;
  border-bottom: 2px solid #fd8c73; }
main { padding: 1em 1.5em; }
h2 { font-size: 1.15em; margin: 1.2em 0 .5em; }
.muted { color: #59636e; } .error { color: #b42318; white-space: pre-wrap; }
.filters { display: flex; flex-wrap: wrap; gap: .6em; align-items: end; margin-bottom: .6em; }
.filters label { display: flex; flex-direction: column; font-size: .85em; color: #59636e; }
.filters input, .filters select { font: inherit; padding: .2em .3em; }
.pager { display: flex; gap: .8em; align-items: center; margin: .5em 0; }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1px solid #d1d9e0; padding: .35em .5em; text-align: left;
  vertical-align: top; }
th { background: #f6f8fa; font-weight: 600; }
td.nowrap { white-space: nowrap; }
td pre, .value { max-height: 10em; max-width: 32em; white-space: pre-wrap;
  overflow-wrap: anywhere; overflow: auto; margin: 0; font-size: 12px; }
pre { background: #f6f8fa; padding: .5em; overflow: auto; max-height: 24em; margin: .3em 0; }
.status { font-weight: 600; } .Running, .Pending, .Suspended { color: #9a6700; }
.Completed { color: #1a7f37; } .Failed, .Terminated, .Canceled { color: #b42318; }
.request { border-left: 4px solid #15803d; padding: .3em .7em; margin: .5em 0;
  background: #f3fbf5; }
.request pre.request-data { max-height: none; max-width: none; }
.request textarea, .raise textarea { width: 100%; min-height: 4em; font-family: monospace; }
.actions { display: flex; flex-wrap: wrap; gap: .5em; margin: .6em 0; }
.actions button, .raise button, .pager button { font: inherit; padding: .25em .8em; }
.values { display: grid; grid-template-columns: repeat(auto-fit, minmax(22em, 1fr));
  gap: 1em; }
.values pre { max-height: 20em; }
.workflows { display: flex; flex-wrap: wrap; gap: 1em; }
.workflow { border: 1px solid #d1d9e0; border-radius: 6px; padding: .6em .9em;
  max-width: 100%; overflow: auto; }
.workflow h3 { margin: .1em 0 .4em; font-size: 1.05em; }
.diagram svg { max-width: 100%; height: auto; }
.waterfall .bar-row { display: grid; grid-template-columns: 34em 1fr; align-items: center;
  font-size: 12px; border-bottom: 1px solid #eef1f4; }
.waterfall .track { position: relative; height: 1.3em; }
.waterfall .bar { position: absolute; top: .2em; height: .9em; border-radius: 3px;
  min-width: 2px; }
.bar.orchestration { background: #8250df; } .bar.activity { background: #1f6feb; }
.bar.entity { background: #c2410c; } .bar.message { background: #57606a; }
.bar.http { background: #1a7f37; } .bar.app { background: #9a6700; }
.bar.open { opacity: .45; } .bar.failed { background: #b42318; }
.span-error { font-size: 12px; }
.reply-text { white-space: pre-wrap; overflow-wrap: anywhere; }
.where { font-size: 12px; color: #424a53; white-space: nowrap; }
.tag { display: inline-block; padding: 0 .4em; border-radius: 3px; background: #eaeef2;
  font-size: 12px; }
</style></head>
<body>
<header><h1>devhost dashboard</h1>
<nav><a href="#/runs" data-view="runs">Runs</a> &nbsp; <a href="#/workflows"
 data-view="workflows">Workflows</a> &nbsp; <a href="#/entities" data-view="entities">Entities</a>
</nav><span class="muted" style="color:#afb8c1">state lives in memory and goes when devhost
stops</span></header>
<main>
<div id="problem" class="error"></div>
<section id="view-runs" hidden>
<form class="filters" id="filters">
<label>Status <select name="status"><option value="">any</option><option>Running</option>
<option>Pending</option><option>Suspended</option><option>Completed</option><option>Failed</option>
<option>Terminated</option><option>Canceled</option></select></label>
<label>Workflow <select name="name"><option value="">any</option></select></label>
<label>Created from <input type="datetime-local" name="from"></label>
<label>Created to <input type="datetime-local" name="to"></label>
<label>Id starts with <input name="prefix" size="14"></label>
<label>Search <input type="search" name="q" size="22" placeholder="id, input, output, ..."></label>
<label>Per page <select name="size"><option>10</option><option>25</option>
<option selected>50</option><option>100</option></select></label>
</form>
<div class="pager"><button type="button" id="previous">Previous</button>
<span id="page-note" class="muted"></span><button type="button" id="next">Next</button></div>
<table><thead><tr><th>Instance</th><th>Orchestration</th><th>Status</th><th>Created</th>
<th>Duration</th><th>Input</th><th>Custom status</th><th>Output</th></tr></thead>
<tbody id="instances"></tbody></table>
</section>
<section id="view-run" hidden></section>
<section id="view-workflows" hidden>
<p id="diagram-note" class="muted"></p><div id="workflows" class="workflows"></div>
</section>
<section id="view-entities" hidden>
<p class="muted">Entities and their state, from the management API's entity query.</p>
<table><thead><tr><th>Entity</th><th>Key</th><th>Last operation</th><th>State</th></tr></thead>
<tbody id="entities"></tbody></table>
</section>
</main>
<script>
"use strict";
const WEBHOOK = "/runtime/webhooks/durabletask";
const IN_PROGRESS = new Set(["Running", "Pending", "Suspended", "ContinuedAsNew"]);
const KEY = new URLSearchParams(location.search).get("code");
const requestCards = new Map();
const replies = new Map();
const actionResults = new Map();
const actionBars = new Map();
let catalog = {workflows: [], orchestrators: []};
let page = 0;
let shownSignature = "";
let runSignature = "";

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value !== undefined && value !== null) node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function json(value) {
  return value === null || value === undefined ? "" : JSON.stringify(value, null, 2);
}

function brief(value) {
  return value === null || value === undefined ? "" : JSON.stringify(value);
}

function call(path, options = {}) {
  const headers = {...(options.headers || {})};
  if (KEY) headers["x-functions-key"] = KEY;
  return fetch(path, {...options, headers});
}

async function getJson(path) {
  const response = await call(path);
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  return response.json();
}

function seconds(from, to) {
  const total = Math.max(0, (Date.parse(to) - Date.parse(from)) / 1000);
  if (total < 1) return `${Math.round(total * 1000)} ms`;
  if (total < 10) return `${total.toFixed(1)} s`;
  const minutes = Math.floor(total / 60);
  return minutes ? `${minutes} min ${Math.round(total % 60)} s` : `${Math.round(total)} s`;
}

function runLink(instanceId) {
  return element("a", {href: `#/run/${encodeURIComponent(instanceId)}`, class: "run-link"},
    element("code", {}, instanceId));
}

function workflowOf(name) {
  return catalog.workflows.find((item) => item.orchestrator === name);
}

async function workflowStatus(instance) {
  const workflow = workflowOf(instance.name);
  if (!workflow || !IN_PROGRESS.has(instance.runtimeStatus)) return null;
  const path = workflow.statusPath.replace("{instanceId}", encodeURIComponent(instance.instanceId));
  const response = await call(path);
  return response.ok ? response.json() : null;
}

function requestCard(instanceId, request, after) {
  const cardKey = request.requestId + "\n" + JSON.stringify(request.requestData);
  let card = requestCards.get(cardKey);
  if (card) return card;
  const answer = element("textarea", {"aria-label": "answer as JSON",
    placeholder: 'The answer as JSON, for example {"approved": true}'});
  const send = element("button", {type: "submit"}, "Send answer");
  const problem = element("div", {class: "error"});
  const form = element("form", {}, answer, send, problem);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    let body;
    try {
      body = JSON.parse(answer.value);
    } catch (error) {
      problem.textContent = `Not sent: the answer is not JSON (${error.message}).`;
      return;
    }
    problem.textContent = "";
    send.disabled = true;
    const url = new URL(request.respondUrl, location.href);
    try {
      const response = await call(url.pathname + url.search, {method: "POST",
        headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)});
      replies.set(instanceId, `${request.requestId}: ${response.status} `
        + `${response.statusText}\n${await response.text()}`);
    } catch (error) {
      replies.set(instanceId, `${request.requestId}: not delivered: ${error}`);
    } finally {
      send.disabled = false;
    }
    await after();
  });
  card = element("div", {class: "request", "data-request-id": request.requestId},
    element("div", {}, element("strong", {}, "Waiting for a person"), " - request ",
      element("code", {}, request.requestId)),
    element("pre", {class: "request-data"}, json(request.requestData)),
    form);
  requestCards.set(cardKey, card);
  return card;
}

function requestsBlock(instanceId, status, after) {
  const holder = element("div", {class: "requests"});
  const reply = replies.get(instanceId);
  if (reply) {
    holder.append(element("div", {class: "reply"}, "Last answer, the respond route replied: ",
      element("pre", {class: "reply-text"}, reply)));
  }
  for (const request of (status && status.pendingHumanInputRequests) || []) {
    holder.append(requestCard(instanceId, request, after));
  }
  return holder;
}

function filterQuery() {
  const form = new FormData(document.getElementById("filters"));
  const query = new URLSearchParams();
  for (const [name, value] of form.entries()) {
    if (!value) continue;
    query.set(name, name === "from" || name === "to" ? new Date(value).toISOString() : value);
  }
  query.set("page", String(page));
  return query;
}

async function refreshRuns() {
  const listing = await getJson(`api/instances?${filterQuery()}`);
  const names = document.querySelector("#filters select[name=name]");
  const known = [...names.options].map((option) => option.value);
  for (const name of listing.names) {
    if (!known.includes(name)) names.append(element("option", {}, name));
  }
  const pages = Math.max(1, Math.ceil(listing.total / listing.size));
  document.getElementById("page-note").textContent =
    `page ${listing.page + 1} of ${pages} (${listing.total} run(s))`;
  document.getElementById("previous").disabled = listing.page === 0;
  document.getElementById("next").disabled = listing.page + 1 >= pages;
  const statuses = await Promise.all(listing.instances.map(workflowStatus));
  const signature = JSON.stringify([listing, statuses, [...replies]]);
  if (signature === shownSignature) return;
  shownSignature = signature;
  const rows = [];
  listing.instances.forEach((instance, position) => {
    const finished = !IN_PROGRESS.has(instance.runtimeStatus);
    const status = statuses[position];
    const output = status && status.output !== undefined && status.output !== null
      ? status.output : instance.output;
    rows.push(element("tr", {"data-instance-id": instance.instanceId},
      element("td", {}, runLink(instance.instanceId)),
      element("td", {}, instance.name),
      element("td", {class: `status ${instance.runtimeStatus}`}, instance.runtimeStatus),
      element("td", {}, instance.createdTime),
      element("td", {}, seconds(instance.createdTime,
        finished ? instance.lastUpdatedTime : new Date().toISOString())),
      element("td", {}, element("pre", {class: "input"}, brief(instance.input))),
      element("td", {}, element("pre", {}, brief(instance.customStatus))),
      element("td", {class: "output"}, element("pre", {}, brief(output)))));
    const block = requestsBlock(instance.instanceId, status, refresh);
    if (block.childElementCount) {
      rows.push(element("tr", {class: "requests-row", "data-instance-id": instance.instanceId},
        element("td", {colspan: "8"}, block)));
    }
  });
  document.getElementById("instances").replaceChildren(...rows);
}

async function act(instanceId, label, method, path, body) {
  const options = {method};
  if (body !== undefined) {
    options.headers = {"Content-Type": "application/json"};
    options.body = body;
  }
  const response = await call(`${WEBHOOK}/instances/${encodeURIComponent(instanceId)}${path}`,
    options);
  const text = await response.text();
  actionResults.set(instanceId, `${label}: ${response.status} ${response.statusText} ${text}`);
  if (label === "Restart" && response.ok) {
    location.hash = `#/run/${encodeURIComponent(JSON.parse(text).id)}`;
  }
  runSignature = "";
  await refresh();
}

function actionBar(instanceId) {
  // Kept across refreshes, so an event being typed survives a change of the run.
  let bar = actionBars.get(instanceId);
  if (bar) {
    bar.querySelector("#action-result").textContent = actionResults.get(instanceId) || "";
    return bar;
  }
  const reason = "?reason=" + encodeURIComponent("from the devhost dashboard");
  const button = (label, method, path) => {
    const node = element("button", {type: "button", "data-action": label.toLowerCase()}, label);
    node.addEventListener("click", () => act(instanceId, label, method, path));
    return node;
  };
  const eventName = element("input", {name: "event-name", placeholder: "event name", size: "18"});
  const eventData = element("textarea", {name: "event-data", placeholder: "event data as JSON"});
  const raise = element("button", {type: "submit"}, "Raise event");
  const raiseForm = element("form", {class: "raise"}, eventName, eventData, raise);
  raiseForm.addEventListener("submit", (event) => {
    event.preventDefault();
    act(instanceId, "Raise event", "POST",
      `/raiseEvent/${encodeURIComponent(eventName.value)}`, eventData.value || "null");
  });
  bar = element("div", {},
    element("div", {class: "actions"},
      button("Terminate", "POST", `/terminate${reason}`),
      button("Suspend", "POST", `/suspend${reason}`),
      button("Resume", "POST", `/resume${reason}`),
      button("Restart", "POST", "/restart"),
      button("Purge", "DELETE", "")),
    element("pre", {id: "action-result", class: "muted"}, actionResults.get(instanceId) || ""),
    element("details", {}, element("summary", {}, "Raise an event"), raiseForm));
  actionBars.set(instanceId, bar);
  return bar;
}

function timeline(run) {
  const started = run.history.length ? Date.parse(run.history[0].Timestamp) : 0;
  const byTask = new Map();
  for (const placement of run.placements) {
    if (placement.kind === "activity") byTask.set(placement.task_id, placement);
  }
  const orchestrations = run.placements.filter((placement) => placement.kind === "orchestrator");
  const rows = run.history.map((event, position) => {
    let where = "";
    if (event.TaskScheduledId !== undefined && byTask.has(event.TaskScheduledId)) {
      where = byTask.get(event.TaskScheduledId).taken_by;
    } else if (event.EventType === "ExecutionStarted" && orchestrations.length) {
      where = orchestrations[0].taken_by;
    } else if (event.EventType === "ExecutionCompleted" && orchestrations.length) {
      where = orchestrations[orchestrations.length - 1].taken_by;
    }
    const name = event.FunctionName || event.Name || "";
    const took = event.ScheduledTime ? seconds(event.ScheduledTime, event.Timestamp) : "";
    const detail = event.Reason ? `${event.Reason}` : json(event.Result ?? event.Input ?? "");
    const target = event.InstanceId ? runLink(event.InstanceId) : null;
    return element("tr", {"data-event": event.EventType},
      element("td", {}, String(position + 1)),
      element("td", {class: "muted nowrap"},
        `+${((Date.parse(event.Timestamp) - started) / 1000).toFixed(3)} s`),
      element("td", {class: `event ${event.EventType.includes("Failed") ? "Failed" : ""}`},
        event.EventType),
      element("td", {}, name, target ? " " : "", target),
      element("td", {class: "nowrap"}, took),
      element("td", {class: "where"}, where),
      element("td", {}, element("pre", {class: "value"}, detail)));
  });
  return element("table", {class: "timeline"},
    element("thead", {}, element("tr", {}, ...["#", "At", "Event", "Function", "Took",
      "Ran on", "Result or error"].map((title) => element("th", {}, title)))),
    element("tbody", {}, ...rows));
}

function spanKind(span) {
  if (span.kind === "PRODUCER") return "message";
  const type = span.attributes["durabletask.type"];
  if (type) return type;
  if (span.attributes["http.request.method"]) return "http";
  return "app";
}

function waterfall(run) {
  const spans = run.spans;
  if (!spans.length) {
    return element("p", {class: "muted", id: "no-spans"}, "No spans kept for this run: its "
      + "trace started before this devhost, or the caller's traceparent asked for no sampling.");
  }
  // Each span under its parent, children in the order they started: the trace's nesting.
  const ids = new Set(spans.map((span) => span.spanId));
  const children = new Map();
  for (const span of spans) {
    const parent = ids.has(span.parentId) ? span.parentId : null;
    if (!children.has(parent)) children.set(parent, []);
    children.get(parent).push(span);
  }
  for (const list of children.values()) list.sort((a, b) => a.start - b.start);
  const ordered = [];
  const visit = (parent, depth) => {
    for (const span of children.get(parent) || []) {
      ordered.push([span, depth]);
      visit(span.spanId, depth + 1);
    }
  };
  visit(null, 0);
  const now = Date.now() / 1000;
  const start = Math.min(...spans.map((span) => span.start));
  const end = Math.max(...spans.map((span) => span.end ?? now));
  const total = Math.max(end - start, 0.001);
  const rows = ordered.map(([span, depth]) => {
    const kind = spanKind(span);
    const failed = span.error !== null;
    const took = span.end === null ? "not ended"
      : `${((span.end - span.start) * 1000).toFixed(1)} ms`;
    const left = ((span.start - start) / total) * 100;
    const width = (((span.end ?? now) - span.start) / total) * 100;
    return element("div", {class: `bar-row${failed ? " failed" : ""}`, "data-kind": kind,
      "data-span-id": span.spanId, "data-parent-id": span.parentId || "",
      "data-name": span.name, "data-process": span.process, "data-depth": String(depth)},
      element("div", {style: `padding-left:${depth * 1.1}em`},
        element("span", {class: "span-name"}, span.name), " ",
        element("span", {class: "where"}, `${span.process}, ${took}`),
        failed ? element("div", {class: "span-error error"}, span.error || "failed") : null),
      element("div", {class: "track"}, element("div", {
        class: `bar ${kind}${failed ? " failed" : ""}${span.end === null ? " open" : ""}`,
        style: `left:${left.toFixed(2)}%;width:${Math.max(width, 0.3).toFixed(2)}%`,
        title: `${span.name} in ${span.process}: ${took}`})));
  });
  const workers = [...new Set([...run.placements, ...Object.values(run.childPlacements).flat()]
    .map((placement) => placement.taken_by).filter((where) => where.startsWith("worker")))]
    .filter((where) => !spans.some((span) => span.process === where));
  return element("div", {class: "waterfall"}, ...rows,
    element("p", {class: "muted"}, `0 to ${(total * 1000).toFixed(1)} ms: the spans devhost `
      + `and the app made for this run in trace ${run.traceId}, each under its parent, with `
      + "the process that made it. A pale bar has not ended; a red one failed."
      + (run.spansDropped ? ` ${run.spansDropped} more spans of this trace were not kept.` : "")
      + (workers.length ? ` Steps run by ${workers.join(", ")} are not here: a worker of `
        + "your own sends its spans to its own exporter unless OTEL_EXPORTER_OTLP_TRACES_"
        + "ENDPOINT points it at devhost (see devhost's start-up message)." : "")));
}

async function showRun(instanceId) {
  const holder = document.getElementById("view-run");
  const response = await call(`api/instances/${encodeURIComponent(instanceId)}`);
  if (response.status === 404) {
    holder.replaceChildren(element("h2", {}, "Run ", element("code", {}, instanceId)),
      element("pre", {class: "muted"}, actionResults.get(instanceId) || ""),
      element("p", {class: "muted"}, "No such instance (it may have been purged). "),
      element("a", {href: "#/runs"}, "All runs"));
    runSignature = "";
    return;
  }
  const run = await response.json();
  const status = await workflowStatus(run.status);
  const signature = JSON.stringify([run, status, [...replies], [...actionResults]]);
  if (signature === runSignature) return;
  runSignature = signature;
  const output = status && status.output !== undefined && status.output !== null
    ? status.output : run.status.output;
  const parent = run.parent ? element("span", {}, " - child of ", runLink(run.parent)) : null;
  const children = run.children.length
    ? element("ul", {class: "children"}, ...run.children.map((child) =>
      element("li", {}, runLink(child.instanceId), ` ${child.name} (${child.event})`)))
    : element("p", {class: "muted"}, "No child orchestrations.");
  holder.replaceChildren(
    element("h2", {}, "Run ", element("code", {id: "run-id"}, run.status.instanceId)),
    element("div", {}, element("span", {class: "tag"}, run.status.name), " ",
      element("span", {class: `status ${run.status.runtimeStatus}`, id: "run-status"},
        run.status.runtimeStatus),
      ` - created ${run.status.createdTime}, last updated ${run.status.lastUpdatedTime}`, parent,
      run.traceId ? element("span", {class: "muted"}, " - trace ",
        element("code", {id: "run-trace"}, run.traceId)) : null),
    actionBar(run.status.instanceId),
    requestsBlock(run.status.instanceId, status, refresh),
    element("div", {class: "values"},
      element("div", {}, element("h3", {}, "Input"), element("pre", {id: "run-input"},
        json(run.status.input))),
      element("div", {}, element("h3", {}, "Output"), element("pre", {id: "run-output"},
        json(output))),
      element("div", {}, element("h3", {}, "Custom status"), element("pre", {id: "run-custom"},
        json(run.status.customStatus)), element("p", {class: "muted"}, "The last value the "
        + "orchestration set; it stays when the run ends (an Agent Framework workflow last "
        + "sets it while running)."))),
    element("h3", {}, "Children"), children,
    element("h3", {}, "History"), timeline(run),
    element("h3", {}, "Waterfall"), waterfall(run));
}

async function showWorkflows() {
  const holder = document.getElementById("workflows");
  document.getElementById("diagram-note").textContent = catalog.workflows.length === 0
    ? "This app serves no workflow routes; its orchestrations: "
      + (catalog.orchestrators.join(", ") || "none") + "."
    : `Drawn by devhost from ${catalog.diagramsFile}.`;
  const cards = catalog.workflows.map((workflow) => {
    const diagram = element("div", {class: "diagram"});
    if (workflow.svg) {
      diagram.innerHTML = workflow.svg;
    } else {
      diagram.append(element("p", {class: "muted"},
        "No diagram: run devhost generate to write its page in docs/workflows/."));
    }
    return element("section", {class: "workflow", "data-workflow": workflow.name},
      element("h3", {}, workflow.name),
      element("div", {class: "muted"}, "orchestration ", workflow.orchestrator || "(unknown)"),
      diagram);
  });
  holder.replaceChildren(...cards);
}

async function showEntities() {
  const entities = await getJson(`${WEBHOOK}/entities/?fetchState=true`);
  document.getElementById("entities").replaceChildren(...entities.map((entity) =>
    element("tr", {"data-entity": `${entity.entityId.name}@${entity.entityId.key}`},
      element("td", {}, entity.entityId.name), element("td", {}, entity.entityId.key),
      element("td", {}, entity.lastOperationTime),
      element("td", {}, element("pre", {}, json(entity.state))))));
}

function currentView() {
  const hash = location.hash || "#/runs";
  if (hash.startsWith("#/run/")) return ["run", decodeURIComponent(hash.slice(6))];
  return [hash.slice(2) || "runs", null];
}

async function refresh() {
  const [view, argument] = currentView();
  try {
    if (view === "run") await showRun(argument);
    else if (view === "entities") await showEntities();
    else if (view === "runs") await refreshRuns();
    document.getElementById("problem").textContent = "";
  } catch (error) {
    document.getElementById("problem").textContent = `Could not refresh: ${error}`;
  }
}

function route() {
  const [view] = currentView();
  for (const section of document.querySelectorAll("main > section")) {
    section.hidden = section.id !== `view-${view}`;
  }
  for (const link of document.querySelectorAll("header a")) {
    link.classList.toggle("current", link.dataset.view === view);
  }
  runSignature = "";
  shownSignature = "";
  if (view === "workflows") showWorkflows();
  refresh();
}

document.getElementById("filters").addEventListener("input", () => {
  page = 0;
  shownSignature = "";
  refresh();
});
document.getElementById("previous").addEventListener("click", () => { page -= 1; refresh(); });
document.getElementById("next").addEventListener("click", () => { page += 1; refresh(); });
window.addEventListener("hashchange", route);

(async () => {
  try {
    catalog = await getJson("workflows.json");
  } catch (error) {
    document.getElementById("problem").textContent = `Could not load the workflows: ${error}`;
  }
  route();
  setInterval(refresh, 1500);
})();
</script></body></html>
"""
