"""Render Mermaid diagrams with the npm ``mermaid`` package in headless Chromium.

Nothing here parses Mermaid itself: each diagram goes to ``mermaid.render`` in a real browser,
which either draws an SVG or throws the error GitHub would show. ``scripts/diagram_tools.sh``
installs both (Debian's ``chromium``, npm ``mermaid`` into a cache outside the repository).
"""

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

MERMAID_VERSION = "12.3.0"
INSTALL_HINT = "bash scripts/diagram_tools.sh"
RESULTS = re.compile(r'<pre id="results"[^>]*>(.*?)</pre>', re.DOTALL)
BROWSER_SECONDS = 120

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><script src="{script}"></script></head>
<body style="margin:0;background:#ffffff">
<div id="diagrams"></div>
<script type="application/json" id="sources">{sources}</script>
<pre id="results" style="display:none">pending</pre>
<script>
mermaid.initialize({{startOnLoad: false, securityLevel: "strict"}});
(async () => {{
  const sources = JSON.parse(document.getElementById("sources").textContent);
  const results = [];
  for (const [index, source] of sources.entries()) {{
    const holder = document.createElement("div");
    document.getElementById("diagrams").appendChild(holder);
    try {{
      const {{svg}} = await mermaid.render("diagram" + index, source);
      holder.innerHTML = svg;
      const drawn = holder.querySelector("svg");
      const texts = (selector) => [...drawn.querySelectorAll(selector)].map(
        (element) => element.textContent.trim());
      results.push({{
        ok: true,
        nodes: texts("g.node"),
        edgeLabels: texts("g.edgeLabel").filter((text) => text),
        clusters: texts("g.cluster-label, g.cluster .cluster-label"),
        edges: drawn.querySelectorAll("path.flowchart-link").length,
      }});
    }} catch (error) {{
      results.push({{ok: false, error: String((error && error.message) || error)}});
    }}
  }}
  document.getElementById("results").textContent = JSON.stringify(results);
}})();
</script></body></html>
"""


def mermaid_dir() -> Path:
    default = Path.home() / ".cache" / "dafx-func" / f"mermaid-{MERMAID_VERSION}"
    return Path(os.environ.get("DAFX_MERMAID_DIR", default))


def mermaid_script() -> Path:
    return mermaid_dir() / "node_modules" / "mermaid" / "dist" / "mermaid.min.js"


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def missing_tools() -> str | None:
    """What is missing to render diagrams, with how to get it; None when all is there."""
    missing = []
    if chromium() is None:
        missing.append("Chromium (apt-get install -y chromium)")
    if not mermaid_script().is_file():
        missing.append(
            f"npm mermaid {MERMAID_VERSION} at {mermaid_dir()} "
            f"(npm install --prefix {mermaid_dir()} mermaid@{MERMAID_VERSION})"
        )
    if not missing:
        return None
    return f"missing {' and '.join(missing)}; {INSTALL_HINT} installs both"


def write_page(diagrams: list[str], page: Path) -> None:
    sources = json.dumps(diagrams).replace("</", "<\\/")
    page.write_text(
        PAGE.format(script=mermaid_script().as_uri(), sources=sources), encoding="utf-8"
    )


def browser(*arguments: str) -> subprocess.CompletedProcess[str]:
    executable = chromium()
    assert executable is not None, missing_tools()
    return subprocess.run(
        [
            executable,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--allow-file-access-from-files",
            "--virtual-time-budget=30000",
            *arguments,
        ],
        capture_output=True,
        text=True,
        timeout=BROWSER_SECONDS,
        check=False,
    )


def render(diagrams: list[str], workdir: Path) -> list[dict[str, Any]]:
    """Each diagram rendered by Mermaid: what it drew, or the error it raised."""
    page = workdir / "diagrams.html"
    write_page(diagrams, page)
    result = browser("--dump-dom", page.as_uri())
    found = RESULTS.search(result.stdout)
    assert found, f"Chromium printed no results (exit {result.returncode}): {result.stderr[-2000:]}"
    text = html.unescape(found.group(1))
    assert text != "pending", f"Mermaid did not finish within the browser's time budget: {text}"
    results: list[dict[str, Any]] = json.loads(text)
    return results


def screenshot(diagram: str, workdir: Path, size: tuple[int, int] = (1100, 1300)) -> Path:
    """A PNG of one rendered diagram, as a person would see it."""
    page = workdir / "screenshot.html"
    write_page([diagram], page)
    picture = workdir / "diagram.png"
    result = browser(f"--window-size={size[0]},{size[1]}", f"--screenshot={picture}", page.as_uri())
    assert picture.is_file(), f"Chromium took no screenshot: {result.stderr[-2000:]}"
    return picture
