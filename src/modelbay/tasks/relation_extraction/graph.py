"""The knowledge graph of extracted triples: entities deduplicated into nodes, relations as edges, and exports.

Nodes are keyed by the linked entity id when the triple was linked (``entity_id``), else by the
name's normal form (NFKC, case-folded, a leading "the " dropped), so "Apple", "apple" and "Ａｐｐｌｅ"
are one node. Exports: ``json`` (nodes and edges), ``csv`` (one edge a row), ``graphml`` (opens in
Gephi, yEd, Cytoscape) and ``html`` (a self-contained page with an SVG drawing; no script).

>>> g = build_graph([{"subject": "Apple", "relation": "acquire", "object": "Beats"},
...                  {"subject": "apple", "relation": "based in", "object": "Cupertino"}])
>>> sorted(n["name"] for n in graph_json(g)["nodes"])
['Apple', 'Beats', 'Cupertino']
"""

from __future__ import annotations

import csv
import html
import io
import unicodedata
from typing import Any

EXPORT_FORMATS = ("json", "csv", "graphml", "html")


def node_key(name: str) -> str:
    key = " ".join(unicodedata.normalize("NFKC", name).casefold().split())
    return key[4:] if key.startswith("the ") and len(key) > 4 else key


def _add_node(graph, name: str, label: str | None, entity_id: str | None) -> str:
    key = f"entity:{entity_id}" if entity_id else node_key(name)
    if key not in graph:
        graph.add_node(key, name=name, type=label or "", entity_id=entity_id or "", mentions=0)
    node = graph.nodes[key]
    node["mentions"] += 1
    if label and not node["type"]:
        node["type"] = label
    return key


def build_graph(triples: list[dict[str, Any]]):
    """A ``networkx.MultiDiGraph`` of the triples (each keeps its relation and sentence on its edge)."""
    import networkx as nx

    graph = nx.MultiDiGraph()
    for t in triples:
        s = _add_node(graph, t.get("subject_name") or t["subject"], t.get("subject_label"), t.get("subject_id"))
        o = _add_node(graph, t.get("object_name") or t["object"], t.get("object_label"), t.get("object_id"))
        if not graph.has_edge(s, o) or all(d["relation"] != t["relation"] for d in graph.get_edge_data(s, o).values()):
            graph.add_edge(s, o, relation=t["relation"], sentence=t.get("sentence") or "")
    return graph


def graph_json(graph) -> dict[str, Any]:
    nodes = [{"id": key, **data} for key, data in graph.nodes(data=True)]
    edges = [{"source": s, "target": o, **data} for s, o, data in graph.edges(data=True)]
    return {"nodes": nodes, "edges": edges}


def graph_csv(graph) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["subject", "relation", "object", "subject_type", "object_type", "subject_id", "object_id",
                     "sentence"])
    for s, o, data in graph.edges(data=True):
        a, b = graph.nodes[s], graph.nodes[o]
        writer.writerow([a["name"], data["relation"], b["name"], a["type"], b["type"], a["entity_id"], b["entity_id"],
                         data["sentence"]])
    return buffer.getvalue()


def graph_graphml(graph) -> str:
    import networkx as nx

    # GraphML viewers show the "label" attribute; edges get their relation as label too
    shown = graph.copy()
    for _key, data in shown.nodes(data=True):
        data["label"] = data["name"]
    for _s, _o, data in shown.edges(data=True):
        data["label"] = data["relation"]
    return "\n".join(nx.generate_graphml(shown, encoding="utf-8", prettyprint=True)) + "\n"


def graph_html(graph, title: str = "Knowledge graph", width_px: int = 960, height_px: int = 640) -> str:
    """A standalone HTML page drawing the graph as SVG (spring layout, seed 0: the same graph draws the same)."""
    import networkx as nx

    positions = nx.spring_layout(nx.Graph(graph), seed=0) if len(graph) else {}
    margin = 80

    def xy(key):
        x, y = positions[key]
        return margin + (x + 1) / 2 * (width_px - 2 * margin), margin + (y + 1) / 2 * (height_px - 2 * margin)

    parts = []
    for s, o, data in graph.edges(data=True):
        (x1, y1), (x2, y2) = xy(s), xy(o)
        parts.append(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" marker-end="url(#arrow)"/>'
                     f'<text class="rel" x="{(x1 + x2) / 2:.1f}" y="{(y1 + y2) / 2:.1f}">'
                     f'{html.escape(data["relation"])}</text>')
    for key, data in graph.nodes(data=True):
        x, y = xy(key)
        tip = html.escape(f'{data["name"]} {data["type"]} {data["entity_id"]}'.strip())
        parts.append(f'<g><title>{tip}</title><circle cx="{x:.1f}" cy="{y:.1f}" r="7"/>'
                     f'<text x="{x + 10:.1f}" y="{y + 4:.1f}">{html.escape(data["name"])}</text></g>')
    style = ("line{stroke:#999;stroke-width:1.2}circle{fill:#3b7dd8}text{font:13px sans-serif}"
             ".rel{fill:#a33;font-size:11px;text-anchor:middle}")
    return (f'<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{style}</style></head><body><h3>{html.escape(title)}: {graph.number_of_nodes()} entities, "
            f'{graph.number_of_edges()} relations</h3><svg xmlns="http://www.w3.org/2000/svg" width="{width_px}" '
            f'height="{height_px}"><defs><marker id="arrow" viewBox="0 0 10 10" refX="18" refY="5" markerWidth="6" '
            f'markerHeight="6" orient="auto"><path d="M0,0L10,5L0,10z" fill="#999"/></marker></defs>'
            f'{"".join(parts)}</svg></body></html>\n')


def export_graph(graph, fmt: str) -> str:
    """The graph as text in ``fmt`` (json, csv, graphml, html)."""
    import json

    from ...core.errors import BadInput

    if fmt == "json":
        return json.dumps(graph_json(graph), ensure_ascii=False, indent=2) + "\n"
    if fmt == "csv":
        return graph_csv(graph)
    if fmt == "graphml":
        return graph_graphml(graph)
    if fmt == "html":
        return graph_html(graph)
    raise BadInput(f"graph format {fmt!r}: expected one of {', '.join(EXPORT_FORMATS)}")


def write_graph(outputs, path) -> str:
    """Merge the triples of several ``RelationOutput``s (or triple dicts) into one graph and write it to ``path``.

    The format is the file's suffix (``.json``, ``.csv``, ``.graphml``, ``.html``); returns it.

    >>> write_graph(pipeline("relation-extraction")(texts), "kg.graphml")   # doctest: +SKIP
    'graphml'
    """
    from pathlib import Path

    from ...core.errors import BadInput

    path = Path(path)
    fmt = path.suffix.lstrip(".").lower()
    if fmt not in EXPORT_FORMATS:
        raise BadInput(f"{path}: unknown graph format {path.suffix!r}", hint=f"use one of .{', .'.join(EXPORT_FORMATS)}")
    triples = []
    for out in outputs:
        items = out.get("triples", [out]) if isinstance(out, dict) else out.triples
        triples.extend(t if isinstance(t, dict) else t.model_dump() for t in items)
    path.write_text(export_graph(build_graph(triples), fmt), encoding="utf-8")
    return fmt
