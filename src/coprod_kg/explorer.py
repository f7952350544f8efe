"""The explorer: one self-contained HTML page (no network, no CDN) over the path graph, the gap
map, every answered question and every study's profile.

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
from .tables import compact

COLUMN_OF = {"principle": 0, "need": 1, "component": 1, "outcome": 2, "study": 3}


def _evidence(graph: nx.DiGraph, outcomes: list[str]) -> list[dict]:
    by_study: dict[str, dict] = {}
    for outcome in outcomes:
        for study in graph.successors(outcome):
            if graph.nodes[study]["kind"] != "study":
                continue
            entry = by_study.setdefault(study, {"study": study, "label": graph.nodes[study]["label"],
                                                "findings": []})
            for finding in graph.edges[outcome, study]["findings"]:
                if finding not in entry["findings"]:
                    entry["findings"].append({**finding, "outcome": graph.nodes[outcome]["label"]})
    return [by_study[s] for s in sorted(by_study)]


def explorer_data(graph: nx.DiGraph, rolled: nx.DiGraph, gap: dict, answers: list) -> dict:
    """Everything the page shows, as plain JSON-ready values."""
    members = rolled.graph.get("members", {})
    nodes = [{"id": n, "kind": d["kind"], "label": str(d.get("label", n)),
              "column": COLUMN_OF[d["kind"]], "order": d.get("order", 0)}
             for n, d in sorted(rolled.nodes(data=True))]
    edges = [{"source": s, "target": t, "kind": d["kind"], "studies": int(d.get("studies", 0)),
              "status": d.get("status", "")} for s, t, d in sorted(rolled.edges(data=True))]
    evidence = {o: _evidence(graph, members.get(o, [o]))
                for o, d in rolled.nodes(data=True) if d["kind"] == "outcome"}
    support = {f"{s}|{t}": {"status": d["status"], "quote": d.get("support", ""),
                            "line": d.get("line")}
               for s, t, d in graph.edges(data=True) if d["kind"] == "supports"}
    questions = []
    for answer in answers:
        query = answer.query
        questions.append({
            "name": query.name, "title": query.title, "question": query.question,
            "section": query.section, "params": {k: str(v) for k, v in answer.params.items()},
            "columns": answer.result.columns,
            "rows": [[compact(row[c]) for c in answer.result.columns] for row in answer.result.rows]})
    return {"nodes": nodes, "edges": edges, "evidence": evidence, "support": support,
            "gap": gap, "questions": questions}


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
