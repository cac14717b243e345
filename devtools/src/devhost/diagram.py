"""Draw a workflow's Mermaid flowchart as SVG on the server, with nothing but Python.

Each page of the project's `docs/workflows/` holds one workflow's Mermaid flowchart, written by
`devhost generate` in a small subset of Mermaid: boxes `id["label"]`, rounded
boxes `id(["label"])`, circles `id((label))`, arrows `a --> b` and dotted arrows with a label
`a -. "label" .-> b`, `subgraph id ["title"]` ... `end`, `classDef` and `class`. This module
reads that subset and lays the graph out in layers from the start (arrows that lead back up,
such as a person's answer, are drawn on the side), so the dashboard shows a drawing rather
than Mermaid text. Lines it does not know are left out.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

_NODE = re.compile(
    r'^(?P<id>[\w-]+)(?:\["(?P<box>.*)"\]|\(\["(?P<round>.*)"\]\)|\(\((?P<circle>.*)\)\));?$'
)
_EDGE = re.compile(
    r'^(?P<source>[\w-]+)\s+(?:(?P<plain>-->)|-\.\s*(?:"(?P<label>[^"]*)"|\w+)?\s*\.->)'
    r"\s+(?P<target>[\w-]+);?$"
)
_SUBGRAPH = re.compile(r'^subgraph\s+(?P<id>[\w-]+)(?:\s*\["(?P<title>.*)"\])?$')
_CLASS_DEF = re.compile(r"^classDef\s+(?P<name>\w+)\s+(?P<style>.+?);?$")
_CLASS = re.compile(r"^class\s+(?P<ids>[\w,-]+)\s+(?P<name>\w+);?$")
_ENTITY = re.compile(r"#(\w+);")

CHAR_WIDTH = 7.0
LINE_HEIGHT = 16.0
PADDING = 12.0
NODE_GAP = 28.0
LAYER_GAP = 56.0
FRAME_PADDING = 14.0
MARGIN = 20.0
BOLD = ' font-weight="600"'


@dataclass
class Node:
    id: str
    lines: list[str]
    shape: str = "box"
    classes: list[str] = field(default_factory=list)
    frame: str | None = None
    x: float = 0.0
    y: float = 0.0

    @property
    def width(self) -> float:
        longest = max((len(line) for line in self.lines), default=1)
        if self.shape == "circle":
            return max(longest * CHAR_WIDTH + PADDING, 44.0)
        return longest * CHAR_WIDTH + 2 * PADDING

    @property
    def height(self) -> float:
        if self.shape == "circle":
            return self.width
        return len(self.lines) * LINE_HEIGHT + PADDING


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    label: str = ""
    dotted: bool = False


@dataclass
class Graph:
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    frames: dict[str, str] = field(default_factory=dict)
    styles: dict[str, dict[str, str]] = field(default_factory=dict)


def _text(label: str) -> list[str]:
    unescaped = _ENTITY.sub(lambda found: html.unescape(f"&{found.group(1)};"), label)
    return [line.strip() for line in re.split(r"<br\s*/?>", unescaped)]


def parse(source: str) -> Graph:
    """The nodes, edges, frames and styles of a flowchart in the subset above."""
    graph = Graph()
    frames: list[str] = []
    for raw in source.splitlines():
        line = raw.strip()
        if not line or line.startswith(("flowchart", "graph", "%%")):
            continue
        if line == "end":
            if frames:
                frames.pop()
            continue
        if found := _SUBGRAPH.match(line):
            graph.frames[found["id"]] = " ".join(_text(found["title"] or found["id"]))
            frames.append(found["id"])
        elif found := _CLASS_DEF.match(line):
            graph.styles[found["name"]] = dict(
                part.split(":", 1) for part in found["style"].split(",") if ":" in part
            )
        elif found := _CLASS.match(line):
            for node_id in found["ids"].split(","):
                if node_id in graph.nodes:
                    graph.nodes[node_id].classes.append(found["name"])
                elif node_id in graph.frames:
                    graph.styles.setdefault(f"frame:{node_id}", {}).update(
                        graph.styles.get(found["name"], {})
                    )
        elif found := _EDGE.match(line):
            dotted = found["plain"] is None
            graph.edges.append(
                Edge(
                    found["source"], found["target"], " ".join(_text(found["label"] or "")), dotted
                )
            )
        elif found := _NODE.match(line):
            shape = "box" if found["box"] is not None else "round" if found["round"] else "circle"
            label = found["box"] if found["box"] is not None else found["round"] or found["circle"]
            graph.nodes[found["id"]] = Node(
                found["id"], _text(label or ""), shape, frame=frames[-1] if frames else None
            )
    return graph


def _layers(graph: Graph) -> dict[str, int]:
    """Each node's layer: the longest path to it from a node nothing leads to."""
    order = list(graph.nodes)
    outgoing: dict[str, list[str]] = {node: [] for node in order}
    for edge in _layout_edges(graph):
        outgoing[edge.source].append(edge.target)
    back: set[tuple[str, str]] = set()
    state: dict[str, int] = {}

    def visit(node: str) -> None:
        state[node] = 1
        for target in outgoing[node]:
            if state.get(target) == 1:
                back.add((node, target))
            elif target not in state:
                visit(target)
        state[node] = 2

    for node in order:
        if node not in state:
            visit(node)
    layer = dict.fromkeys(order, 0)
    for _ in order:
        changed = False
        for source in order:
            for target in outgoing[source]:
                if (source, target) not in back and layer[target] < layer[source] + 1:
                    layer[target] = layer[source] + 1
                    changed = True
        if not changed:
            break
    return layer


def _layout_edges(graph: Graph) -> list[Edge]:
    """The drawn edges between known nodes, plus one from a frame's node to its first child."""
    edges = [e for e in graph.edges if e.source in graph.nodes and e.target in graph.nodes]
    for frame in graph.frames:
        children = [node for node in graph.nodes.values() if node.frame == frame]
        if frame in graph.nodes and children:
            edges.append(Edge(frame, children[0].id))
            # What follows the frame's node is laid out below everything in the frame.
            after = [e.target for e in graph.edges if e.source == frame and e.target in graph.nodes]
            edges += [Edge(child.id, target) for child in children for target in after]
    return edges


def _place(graph: Graph) -> tuple[float, float]:
    layers = _layers(graph)
    rows: dict[int, list[Node]] = {}
    for node in graph.nodes.values():
        rows.setdefault(layers[node.id], []).append(node)
    widths = {
        number: sum(node.width for node in row) + NODE_GAP * (len(row) - 1)
        for number, row in rows.items()
    }
    widest = max(widths.values(), default=0.0)
    y = MARGIN + FRAME_PADDING + LINE_HEIGHT
    for number in sorted(rows):
        row = rows[number]
        x = MARGIN + FRAME_PADDING + (widest - widths[number]) / 2
        tallest = max(node.height for node in row)
        for node in row:
            node.x, node.y = x, y + (tallest - node.height) / 2
            x += node.width + NODE_GAP
        y += tallest + LAYER_GAP
    return widest + 2 * (MARGIN + FRAME_PADDING), y - LAYER_GAP + MARGIN + FRAME_PADDING


def _style(graph: Graph, classes: list[str], defaults: dict[str, str]) -> str:
    style = dict(defaults)
    for name in classes:
        style.update(graph.styles.get(name, {}))
    attributes = {
        "fill": style.get("fill", "#ffffff"),
        "stroke": style.get("stroke", "#57606a"),
        "stroke-width": style.get("stroke-width", "1.5px").removesuffix("px"),
    }
    if "stroke-dasharray" in style:
        attributes["stroke-dasharray"] = style["stroke-dasharray"]
    return " ".join(f'{key}="{html.escape(value)}"' for key, value in attributes.items())


def _node_svg(graph: Graph, node: Node) -> str:
    style = _style(graph, node.classes, {})
    color = "#1f2328"
    for name in node.classes:
        color = graph.styles.get(name, {}).get("color", color)
    if node.shape == "circle":
        radius = node.width / 2
        outline = (
            f'<circle cx="{node.x + radius:.1f}" cy="{node.y + radius:.1f}" r="{radius:.1f}" '
            f"{style}/>"
        )
    else:
        rounding = node.height / 2 if node.shape == "round" else 5
        outline = (
            f'<rect x="{node.x:.1f}" y="{node.y:.1f}" width="{node.width:.1f}" '
            f'height="{node.height:.1f}" rx="{rounding:.1f}" {style}/>'
        )
    top = node.y + (node.height - len(node.lines) * LINE_HEIGHT) / 2 + LINE_HEIGHT * 0.75
    texts = "".join(
        f'<text x="{node.x + node.width / 2:.1f}" y="{top + index * LINE_HEIGHT:.1f}" '
        f'text-anchor="middle" fill="{html.escape(color)}"{BOLD if index == 0 else ""}>'
        f"{html.escape(line)}</text>"
        for index, line in enumerate(node.lines)
    )
    return (
        f'<g class="node" data-id="{html.escape(node.id)}"><title>{html.escape(node.id)}</title>'
        f"{outline}{texts}</g>"
    )


def _edge_svg(graph: Graph, edge: Edge, layers: dict[str, int]) -> str:
    source, target = graph.nodes[edge.source], graph.nodes[edge.target]
    upward = layers[target.id] <= layers[source.id]
    if upward:
        # A step back up (an answer to a question): around the right-hand side.
        start = (source.x + source.width, source.y + source.height / 2)
        end = (target.x + target.width, target.y + target.height / 2 + 6)
        bulge = max(start[0], end[0]) + 60
        path = (
            f"M{start[0]:.1f},{start[1]:.1f} C{bulge:.1f},{start[1]:.1f} "
            f"{bulge:.1f},{end[1]:.1f} {end[0]:.1f},{end[1]:.1f}"
        )
        middle = (bulge - 15, (start[1] + end[1]) / 2)
    else:
        start = (source.x + source.width / 2, source.y + source.height)
        end = (target.x + target.width / 2, target.y)
        bend = (end[1] - start[1]) / 2
        path = (
            f"M{start[0]:.1f},{start[1]:.1f} C{start[0]:.1f},{start[1] + bend:.1f} "
            f"{end[0]:.1f},{end[1] - bend:.1f} {end[0]:.1f},{end[1]:.1f}"
        )
        # Labels sit nearer the target, so those of arrows leaving one node stay apart.
        middle = (start[0] + (end[0] - start[0]) * 0.7, start[1] + (end[1] - start[1]) * 0.6)
    dash = ' stroke-dasharray="5 4"' if edge.dotted else ""
    drawn = (
        f'<g class="edge" data-source="{html.escape(edge.source)}" '
        f'data-target="{html.escape(edge.target)}"><path d="{path}" fill="none" '
        f'stroke="#57606a" stroke-width="1.5"{dash} marker-end="url(#arrow)"/>'
    )
    if edge.label:
        width = len(edge.label) * 6.2 + 8
        drawn += (
            f'<rect x="{middle[0] - width / 2:.1f}" y="{middle[1] - 9:.1f}" width="{width:.1f}" '
            f'height="16" fill="#ffffff" opacity="0.9"/><text class="edge-label" '
            f'x="{middle[0]:.1f}" y="{middle[1] + 3:.1f}" text-anchor="middle" font-size="11" '
            f'fill="#424a53">{html.escape(edge.label)}</text>'
        )
    return drawn + "</g>"


def _frame_svg(graph: Graph, frame: str, title: str) -> str:
    members = [node for node in graph.nodes.values() if node.frame == frame]
    if not members:
        return ""
    left = min(node.x for node in members) - FRAME_PADDING
    top = min(node.y for node in members) - FRAME_PADDING - LINE_HEIGHT
    right = max(node.x + node.width for node in members) + FRAME_PADDING
    bottom = max(node.y + node.height for node in members) + FRAME_PADDING
    style = _style(
        graph, [f"frame:{frame}"], {"fill": "#f6f0ff", "stroke": "#8250df", "stroke-width": "1.5"}
    )
    return (
        f'<g class="frame" data-id="{html.escape(frame)}"><rect x="{left:.1f}" y="{top:.1f}" '
        f'width="{right - left:.1f}" height="{bottom - top:.1f}" rx="8" {style}/>'
        f'<text x="{left + 8:.1f}" y="{top + 13:.1f}" font-size="11" fill="#6639ba">'
        f"{html.escape(title)}</text></g>"
    )


def to_svg(source: str, title: str = "") -> str:
    """An SVG drawing of the flowchart `source` (the subset above)."""
    graph = parse(source)
    if not graph.nodes:
        return ""
    width, height = _place(graph)
    layers = _layers(graph)
    edges = [e for e in graph.edges if e.source in graph.nodes and e.target in graph.nodes]
    right = max(node.x + node.width for node in graph.nodes.values())
    width = max(width, right + 90 + MARGIN)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="workflow-diagram" role="img" '
        f'aria-label="{html.escape(title)}" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'width="{width:.0f}" height="{height:.0f}" font-family="system-ui, sans-serif" '
        f'font-size="12">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'fill="#57606a"/></marker></defs>',
        *(_frame_svg(graph, frame, title) for frame, title in graph.frames.items()),
        *(_edge_svg(graph, edge, layers) for edge in edges),
        *(_node_svg(graph, node) for node in graph.nodes.values()),
        "</svg>",
    ]
    return "".join(parts)
