"""A page for developers at `/_devhost/`: the workflows with their diagrams, and every run.

The page reads nothing private. Its script calls the durable management API that devhost
serves (`/runtime/webhooks/durabletask/instances`) for the instances and, for a workflow of
an AgentFunctionApp, the app's own `workflow/{name}/status` and `respond` routes for pending
human requests and answers. The server side only says which workflows the app hosts (from its
routes), hands out the Mermaid text of the project's `docs/workflows.md` (written by
`scripts/workflow_diagrams.py`), and serves a Mermaid bundle when one is on this machine.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from aiohttp import web

from .indexing import FunctionIndex

DASHBOARD_PATH = "/_devhost"
WORKFLOWS_DOC = Path("docs") / "workflows.md"
# Where a Mermaid bundle may be: a path in this variable, or `npm install mermaid` run in the
# project. Nothing is downloaded: without one the page shows each diagram's Mermaid text.
MERMAID_VARIABLE = "DEVHOST_MERMAID_JS"
PROJECT_MERMAID = Path("node_modules") / "mermaid" / "dist" / "mermaid.min.js"
# AgentFunctionApp's route for a workflow's status and the orchestration it runs the workflow as.
STATUS_ROUTE = re.compile(r"workflow/(?P<workflow>[^/{}]+)/status/\{instanceId\}")
ORCHESTRATOR_PREFIX = "dafx-"
DOC_SECTION = re.compile(r"^## `(?P<workflow>[^`]+)`$", re.MULTILINE)
MERMAID_BLOCK = re.compile(r"^```mermaid\n(?P<source>.*?)\n```$", re.MULTILINE | re.DOTALL)


def diagrams(project: Path) -> dict[str, str]:
    """The Mermaid text of each workflow in the project's docs/workflows.md, by workflow name."""
    try:
        text = (project / WORKFLOWS_DOC).read_text(encoding="utf-8")
    except OSError:
        return {}
    parts = DOC_SECTION.split(text)[1:]
    found: dict[str, str] = {}
    for workflow, section in zip(parts[::2], parts[1::2], strict=True):
        block = MERMAID_BLOCK.search(section)
        if block is not None:
            found[workflow] = block.group("source")
    return found


def mermaid_bundle(project: Path) -> Path | None:
    """A Mermaid bundle on this machine, if there is one."""
    configured = os.environ.get(MERMAID_VARIABLE)
    for candidate in (Path(configured) if configured else None, project / PROJECT_MERMAID):
        if candidate is not None and candidate.is_file():
            return candidate
    return None


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
        found.append(
            {
                "name": name,
                "orchestrator": orchestrator.name if orchestrator is not None else None,
                "statusPath": "/" + "/".join(filter(None, (index.route_prefix, route.template))),
                "diagram": drawn.get(name),
            }
        )
    return sorted(found, key=lambda workflow: str(workflow["name"]))


class Dashboard:
    """Serves the page, the list of workflows and, when present, the Mermaid bundle."""

    def __init__(self, index: FunctionIndex, project_dir: Path) -> None:
        self._index = index
        self._project = project_dir

    @staticmethod
    def serves(path: str) -> bool:
        return path == DASHBOARD_PATH or path.startswith(DASHBOARD_PATH + "/")

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if request.method not in ("GET", "HEAD"):
            return web.Response(status=405)
        page = request.path[len(DASHBOARD_PATH) :]
        project = self._project
        if page == "":
            raise web.HTTPFound(DASHBOARD_PATH + "/")
        if page == "/":
            return web.Response(text=PAGE, content_type="text/html")
        if page == "/workflows.json":
            bundle = mermaid_bundle(project)
            return web.json_response(
                {
                    "workflows": workflows(self._index, project),
                    "orchestrators": sorted(f.name for f in self._index.orchestrators.values()),
                    "diagramsFile": str(project / WORKFLOWS_DOC),
                    "mermaid": bundle is not None,
                }
            )
        if page == "/mermaid.js":
            bundle = mermaid_bundle(project)
            if bundle is None:
                return web.Response(status=404, text=f"No Mermaid bundle; see {MERMAID_VARIABLE}.")
            return web.FileResponse(bundle, headers={"Content-Type": "text/javascript"})
        return web.Response(status=404)


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>devhost dashboard</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #1f2328; }
h1 { font-size: 1.4em; margin: 0 0 .2em; } h2 { font-size: 1.15em; margin-top: 1.5em; }
.muted { color: #59636e; } .error { color: #b42318; white-space: pre-wrap; }
.workflows { display: flex; flex-wrap: wrap; gap: 1em; }
.workflow { border: 1px solid #d1d9e0; border-radius: 6px; padding: .6em .9em; max-width: 46em; }
.workflow h3 { margin: .1em 0 .4em; font-size: 1.05em; }
.diagram svg { max-width: 100%; height: auto; }
pre { background: #f6f8fa; padding: .5em; overflow: auto; max-height: 24em; margin: .3em 0; }
table { border-collapse: collapse; width: 100%; }
th, td { border-bottom: 1px solid #d1d9e0; padding: .35em .5em; text-align: left;
  vertical-align: top; }
td pre { max-height: 10em; max-width: 36em; white-space: pre-wrap; overflow-wrap: anywhere; }
.status { font-weight: 600; } .Running, .Pending { color: #9a6700; }
.Completed { color: #1a7f37; } .Failed, .Terminated, .Canceled { color: #b42318; }
.request { border-left: 4px solid #15803d; padding: .3em .7em; margin: .5em 0;
  background: #f3fbf5; }
.request pre.request-data { max-height: none; max-width: none; }
.request textarea { width: 100%; min-height: 4em; font-family: monospace; }
.reply { margin-top: .3em; }
</style></head>
<body>
<h1>devhost dashboard</h1>
<p class="muted">Runs come from the durable management API, pending requests from each
workflow's <code>status</code> route, answers go to its <code>respond</code> route.
Refreshed every 1.5 s. State lives in memory and goes when devhost stops.</p>
<div id="problem" class="error"></div>
<h2>Workflows</h2>
<p id="diagram-note" class="muted"></p>
<div id="workflows" class="workflows"></div>
<h2>Instances</h2>
<p id="instance-note" class="muted"></p>
<table><thead><tr><th>Orchestration</th><th>Instance</th><th>Status</th><th>Created</th>
<th>Last updated</th><th>Duration</th><th>Custom status</th><th>Output</th></tr></thead>
<tbody id="instances"></tbody></table>
<script>
"use strict";
const MANAGEMENT = "/runtime/webhooks/durabletask/instances";
const PAGE_SIZE = 100;
const MAX_INSTANCES = 500;
const IN_PROGRESS = new Set(["Running", "Pending", "Suspended", "ContinuedAsNew"]);
const requestCards = new Map();
const replies = new Map();
const finishedStatuses = new Map();
let catalog = {workflows: [], orchestrators: []};
let shownSignature = "";

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  for (const child of children) {
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function json(value) {
  return value === null || value === undefined ? "" : JSON.stringify(value, null, 2);
}

function seconds(from, to) {
  const total = Math.max(0, Math.round((Date.parse(to) - Date.parse(from)) / 1000));
  const minutes = Math.floor(total / 60);
  return minutes ? `${minutes} min ${total % 60} s` : `${total} s`;
}

async function loadScript(source) {
  await new Promise((resolve, reject) => {
    const script = element("script", {src: source});
    script.onload = resolve;
    script.onerror = reject;
    document.head.append(script);
  });
}

async function showWorkflows() {
  catalog = await (await fetch("workflows.json")).json();
  const holder = document.getElementById("workflows");
  if (catalog.mermaid) {
    await loadScript("mermaid.js");
    window.mermaid.initialize({startOnLoad: false, securityLevel: "strict"});
  }
  document.getElementById("diagram-note").textContent = catalog.workflows.length === 0
    ? "This app serves no workflow routes; its orchestrations: "
      + (catalog.orchestrators.join(", ") || "none") + "."
    : catalog.mermaid
      ? `Diagrams from ${catalog.diagramsFile}.`
      : `Diagrams from ${catalog.diagramsFile}, shown as Mermaid text: no Mermaid bundle on `
        + "this machine (set DEVHOST_MERMAID_JS to a mermaid.min.js, or npm install mermaid "
        + "in the project, to draw them). GitHub draws the same text in docs/workflows.md.";
  for (const [position, workflow] of catalog.workflows.entries()) {
    const diagram = element("div", {class: "diagram"});
    const card = element("section", {class: "workflow", "data-workflow": workflow.name},
      element("h3", {}, workflow.name),
      element("div", {class: "muted"}, "orchestration ", workflow.orchestrator || "(unknown)"),
      diagram);
    holder.append(card);
    if (!workflow.diagram) {
      diagram.append(element("p", {class: "muted"},
        "No diagram: run python scripts/workflow_diagrams.py to write docs/workflows.md."));
    } else if (catalog.mermaid) {
      try {
        const drawn = await window.mermaid.render(`diagram${position}`, workflow.diagram);
        diagram.innerHTML = drawn.svg;
      } catch (error) {
        diagram.append(element("p", {class: "error"}, `Mermaid could not draw it: ${error}`),
          element("pre", {}, workflow.diagram));
      }
    } else {
      diagram.append(element("pre", {class: "mermaid-source"}, workflow.diagram));
    }
  }
}

async function listInstances() {
  const instances = [];
  let continuation = null;
  do {
    const headers = continuation ? {"x-ms-continuation-token": continuation} : {};
    const response = await fetch(`${MANAGEMENT}?top=${PAGE_SIZE}`, {headers});
    if (!response.ok) throw new Error(`${MANAGEMENT}: ${response.status} ${await response.text()}`);
    instances.push(...await response.json());
    continuation = response.headers.get("x-ms-continuation-token");
  } while (continuation && instances.length < MAX_INSTANCES);
  document.getElementById("instance-note").textContent = continuation
    ? `Showing the first ${instances.length} instances (the page reads at most `
      + `${MAX_INSTANCES}); more exist.`
    : `${instances.length} instance(s).`;
  return instances.sort((a, b) => b.createdTime.localeCompare(a.createdTime)
    || a.instanceId.localeCompare(b.instanceId));
}

async function workflowStatus(instance) {
  const workflow = catalog.workflows.find((item) => item.orchestrator === instance.name);
  if (!workflow) return null;
  if (finishedStatuses.has(instance.instanceId)) return finishedStatuses.get(instance.instanceId);
  const path = workflow.statusPath.replace("{instanceId}", encodeURIComponent(instance.instanceId));
  const response = await fetch(path);
  if (!response.ok) return null;
  const status = await response.json();
  // A finished run's status no longer changes: asked once, not on every refresh.
  if (!IN_PROGRESS.has(status.runtimeStatus)) finishedStatuses.set(instance.instanceId, status);
  return status;
}

function requestCard(instance, request) {
  let card = requestCards.get(request.requestId);
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
      const response = await fetch(url.pathname + url.search, {method: "POST",
        headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)});
      replies.set(instance.instanceId, `${request.requestId}: ${response.status} `
        + `${response.statusText}\\n${await response.text()}`);
    } catch (error) {
      replies.set(instance.instanceId, `${request.requestId}: not delivered: ${error}`);
    } finally {
      send.disabled = false;
    }
    await refresh();
  });
  card = element("div", {class: "request", "data-request-id": request.requestId},
    element("div", {}, element("strong", {}, "Waiting for a person"), " - request ",
      element("code", {}, request.requestId)),
    element("pre", {class: "request-data"}, json(request.requestData)),
    form);
  requestCards.set(request.requestId, card);
  return card;
}

function instanceRows(instance, status) {
  const finished = !IN_PROGRESS.has(instance.runtimeStatus);
  const requests = (status && status.pendingHumanInputRequests) || [];
  // The workflow's status route decodes the output the management API shows encoded.
  const output = status ? status.output : instance.output;
  const row = element("tr", {"data-instance-id": instance.instanceId},
    element("td", {}, instance.name),
    element("td", {}, element("code", {}, instance.instanceId)),
    element("td", {class: `status ${instance.runtimeStatus}`}, instance.runtimeStatus),
    element("td", {}, instance.createdTime),
    element("td", {}, instance.lastUpdatedTime),
    finished
      ? element("td", {}, seconds(instance.createdTime, instance.lastUpdatedTime))
      : element("td", {"data-running-since": instance.createdTime}),
    element("td", {}, element("pre", {}, json(instance.customStatus))),
    element("td", {class: "output"}, element("pre", {}, json(output))));
  const rows = [row];
  const reply = replies.get(instance.instanceId);
  if (requests.length || reply) {
    const cell = element("td", {colspan: "8"});
    if (reply) {
      cell.append(element("div", {class: "reply"}, "Last answer, the respond route replied: ",
        element("pre", {class: "reply-text"}, reply)));
    }
    for (const request of requests) cell.append(requestCard(instance, request));
    rows.push(element("tr", {class: "requests", "data-instance-id": instance.instanceId}, cell));
  }
  return rows;
}

async function refresh() {
  try {
    const instances = await listInstances();
    const statuses = await Promise.all(instances.map(workflowStatus));
    const live = new Set(statuses.flatMap((status) =>
      ((status && status.pendingHumanInputRequests) || []).map((request) => request.requestId)));
    for (const id of [...requestCards.keys()]) if (!live.has(id)) requestCards.delete(id);
    // Rebuilt only when something changed, so an answer being typed keeps its focus.
    const signature = JSON.stringify([instances, statuses, [...replies]]);
    if (signature !== shownSignature) {
      shownSignature = signature;
      const rows = instances.flatMap((instance, position) =>
        instanceRows(instance, statuses[position]));
      document.getElementById("instances").replaceChildren(...rows);
    }
    const now = new Date().toISOString();
    for (const cell of document.querySelectorAll("td[data-running-since]")) {
      cell.textContent = seconds(cell.dataset.runningSince, now);
    }
    document.getElementById("problem").textContent = "";
  } catch (error) {
    document.getElementById("problem").textContent = `Could not refresh: ${error}`;
  }
}

(async () => {
  try {
    await showWorkflows();
  } catch (error) {
    document.getElementById("problem").textContent = `Could not load the workflows: ${error}`;
  }
  await refresh();
  setInterval(refresh, 1500);
})();
</script></body></html>
"""
