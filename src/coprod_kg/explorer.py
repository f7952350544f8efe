"""The explorer: one self-contained HTML page (no network, no CDN) over the evidence paths, the
gap map, every answered question and every study's profile.

Data travels as JSON inside a <script type="application/json"> element with <, > and & escaped,
and the page's script puts data on screen only through textContent and attributes, never as
HTML, so a label such as <img src=x onerror=...> shows as text.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import networkx as nx

from .atomic import write_atomic

COLUMN_OF = {"principle": 0, "need": 1, "component": 1, "none": 1, "outcome": 2}


def _support(graph: nx.DiGraph) -> dict:
    """The argument behind each principle → need/component link: status, rationale, quotes."""
    return {f"{s}|{t}": {"status": d["status"], "rationale": d.get("rationale", ""),
                         "quotes": d.get("quotes") or [{"text": d.get("support", ""),
                                                        "line": d.get("line")}]}
            for s, t, d in graph.edges(data=True) if d["kind"] == "supports"}


def _questions(answers: list) -> list[dict]:
    from .tables import display_rows

    questions = []
    for answer in answers:
        query = answer.query
        headers, cells = display_rows(answer.result)
        questions.append({
            "name": query.name, "title": query.title, "question": query.question,
            "section": query.section,
            "params": {k: str(v).split(":")[-1] for k, v in answer.params.items()},
            "columns": headers, "rows": cells})
    return questions


def explorer_data(graph: nx.DiGraph, rolled: nx.DiGraph, gap: dict, answers: list) -> dict:
    """Everything the page shows, as plain JSON-ready values."""
    nodes = [{"id": n, "kind": d["kind"], "label": str(d.get("label", n)),
              "column": COLUMN_OF[d["kind"]], "order": d.get("order", 0),
              "studies": d.get("studies", 0), "members": d.get("members", [])}
             for n, d in sorted(rolled.nodes(data=True))]
    edges = [{"source": s, "target": t, "kind": d["kind"], "studies": int(d.get("studies", 0)),
              "status": d.get("status", "")} for s, t, d in sorted(rolled.edges(data=True))]
    return {"nodes": nodes, "edges": edges, "support": _support(graph), "gap": gap,
            "questions": _questions(answers), "report": "report.html"}


def embed_json(data) -> str:
    """JSON that cannot close its <script> element or open a comment."""
    text = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return (text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def render_page(data: dict) -> str:
    template = resources.files("coprod_kg").joinpath("assets/explorer.html").read_text("utf-8")
    return template.replace("__COPROD_DATA__", embed_json(data))


def write_explorer(path: Path, graph: nx.DiGraph, rolled: nx.DiGraph, gap: dict,
                   answers: list) -> Path:
    return write_atomic(path, render_page(explorer_data(graph, rolled, gap, answers)))
