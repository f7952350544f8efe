"""Principle → need or well-being component → outcome → study paths, as a networkx graph.

The graph is read from the reasoned store. Each edge carries what supports it: the principle
mapping's status and quote, the outcome's classification, and the findings (with quotes) by which
a study evidences an outcome.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx

from .query import QueryError
from .tables import compact

PREFIXES_SPARQL = """
PREFIX coprod: <https://w3id.org/coprod-kg/ontology#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX oa: <http://www.w3.org/ns/oa#>
PREFIX qudt: <http://qudt.org/schema/qudt/>
"""

MAPPINGS = PREFIXES_SPARQL + """
SELECT ?principle ?principleLabel ?order ?via ?viaLabel ?viaKind ?status ?rationale
       ?quote ?quoteLine WHERE {
  ?mapping coprod:mapsPrinciple ?principle ; coprod:status/skos:prefLabel ?status ;
           coprod:rationale ?rationale ; coprod:hasQuote ?q .
  ?q oa:exact ?quote ; coprod:sourceLine ?quoteLine .
  { ?mapping coprod:mappedNeed ?via . BIND("need" AS ?viaKind) }
  UNION { ?mapping coprod:mappedComponent ?via . BIND("component" AS ?viaKind) }
  ?principle skos:altLabel ?principleLabel ; skos:notation ?order .
  ?via skos:prefLabel ?viaLabel .
}
"""

COVERS = PREFIXES_SPARQL + """
SELECT DISTINCT ?via ?outcome ?outcomeLabel ?status ?rationale ?quote WHERE {
  ?any coprod:supports ?via .
  ?via coprod:covers ?outcome .
  ?outcome a coprod:Outcome ; skos:prefLabel ?outcomeLabel ; coprod:status/skos:prefLabel ?status .
  OPTIONAL { ?outcome coprod:rationale ?rationale }
  OPTIONAL { SELECT ?outcome (MIN(?t) AS ?quote) WHERE { ?outcome coprod:hasQuote/oa:exact ?t } GROUP BY ?outcome }
}
"""

FINDINGS = PREFIXES_SPARQL + """
SELECT ?finding ?findingLabel ?outcome ?study ?studyLabel ?value ?unit ?quote ?quoteLine WHERE {
  ?finding coprod:outcome ?outcome ; coprod:aboutStudy ?study ; rdfs:label ?findingLabel ;
           coprod:hasQuote ?q .
  ?q oa:exact ?quote ; coprod:sourceLine ?quoteLine .
  ?study rdfs:label ?title .
  OPTIONAL { ?study skos:altLabel ?short }
  BIND (COALESCE(?short, ?title) AS ?studyLabel)
  OPTIONAL { ?finding qudt:numericValue ?value }
  OPTIONAL { ?finding qudt:unit ?unit }
}
"""

BROADER = PREFIXES_SPARQL + """
SELECT ?narrow ?broad WHERE {
  ?narrow a coprod:Outcome ; skos:broaderTransitive ?broad . ?broad a coprod:Outcome .
  FILTER (?narrow != ?broad)
}
"""


def _select(store, text):
    from .query import _value

    solutions = store.query(text)
    names = [v.value for v in solutions.variables]
    return [{n: _value(s[n]) for n in names} for s in solutions]


def _with_quotes(rows: list[dict], key: tuple[str, ...]) -> list[dict]:
    """One row per key, carrying all its quotes in report order; ``quote`` and ``quoteLine`` are
    the earliest."""
    grouped: dict[tuple, dict] = {}
    for row in rows:
        k = tuple(row[name] for name in key)
        entry = grouped.setdefault(k, {**row, "quotes": []})
        pair = {"text": row["quote"], "line": row["quoteLine"]}
        if pair not in entry["quotes"]:
            entry["quotes"].append(pair)
    for entry in grouped.values():
        entry["quotes"].sort(key=lambda q: (q["line"], q["text"]))
        entry["quote"], entry["quoteLine"] = entry["quotes"][0]["text"], entry["quotes"][0]["line"]
    return [grouped[k] for k in sorted(grouped, key=str)]


@dataclass
class Step:
    """One edge of a path and what supports it."""

    source: str
    target: str
    status: str
    support: str
    line: int | None = None
    studies: int = 0


@dataclass
class PathRow:
    principle: str
    via: str
    outcome: str
    studies: list[dict] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)


def build_graph(store) -> nx.DiGraph:
    """The principle → need/component → outcome → study graph of the reasoned store."""
    graph = nx.DiGraph()
    for row in _with_quotes(_select(store, MAPPINGS), ("principle", "via")):
        principle, via = compact(row["principle"]), compact(row["via"])
        graph.add_node(principle, kind="principle", label=row["principleLabel"],
                       order=int(row["order"]))
        graph.add_node(via, kind=row["viaKind"], label=row["viaLabel"])
        graph.add_edge(principle, via, kind="supports", status=row["status"],
                       support=row["quote"], line=row["quoteLine"], rationale=row["rationale"])
    for row in _select(store, COVERS):
        via, outcome = compact(row["via"]), compact(row["outcome"])
        if via not in graph:
            continue
        graph.add_node(outcome, kind="outcome", label=row["outcomeLabel"])
        support = row["quote"] or row["rationale"] or ""
        graph.add_edge(via, outcome, kind="covers", status=row["status"], support=support,
                       line=None)
    for row in _with_quotes(_select(store, FINDINGS), ("finding", "outcome", "study")):
        outcome, study = compact(row["outcome"]), compact(row["study"])
        if outcome not in graph:
            continue
        graph.add_node(study, kind="study", label=row["studyLabel"])
        if not graph.has_edge(outcome, study):
            graph.add_edge(outcome, study, kind="evidenced-by", findings=[])
        graph.edges[outcome, study]["findings"].append({
            "finding": compact(row["finding"]), "label": row["findingLabel"],
            "value": None if row["value"] is None else compact(row["value"]),
            "unit": compact(row["unit"]) if row["unit"] else None,
            "quote": row["quote"], "line": row["quoteLine"], "quotes": row["quotes"]})
    for outcome, study, data in graph.edges(data=True):
        if data["kind"] == "evidenced-by":
            data["findings"].sort(key=lambda f: f["finding"])
    broader = {}
    for row in _select(store, BROADER):
        broader.setdefault(compact(row["narrow"]), set()).add(compact(row["broad"]))
    graph.graph["broader"] = broader
    _count_studies(graph)
    return graph


def _count_studies(graph: nx.DiGraph) -> None:
    """Annotate every edge with the number of distinct studies behind it."""
    for source, target, data in graph.edges(data=True):
        kind = data["kind"]
        if kind == "evidenced-by":
            data["studies"] = 1
        elif kind == "covers":
            data["studies"] = len(studies_of(graph, target))
        else:
            data["studies"] = len({s for o in graph.successors(target) for s in studies_of(graph, o)})


def studies_of(graph: nx.DiGraph, outcome: str) -> list[str]:
    return sorted(n for n in graph.successors(outcome) if graph.nodes[n]["kind"] == "study")


def _resolve(graph: nx.DiGraph, kind: str, name: str) -> str:
    prefix = {"principle": "principle", "outcome": "outcome"}[kind]
    slug = name.split(":", 1)[-1].rsplit("/", 1)[-1] if name.startswith(("http", prefix + ":")) else name
    node = f"{prefix}:{slug}"
    if node in graph and graph.nodes[node]["kind"] == kind:
        return node
    choices = sorted(n.split(":", 1)[1] for n, d in graph.nodes(data=True) if d["kind"] == kind)
    raise QueryError(f"unknown {kind} {name!r}; choose one of: {', '.join(choices)}")


def paths(graph: nx.DiGraph, principle: str | None = None, outcome: str | None = None) -> list[PathRow]:
    """Every principle → via → outcome path with its studies, optionally from one principle
    and/or to one outcome. Raises QueryError for an unknown name, listing the valid ones."""
    start = [_resolve(graph, "principle", principle)] if principle else sorted(
        n for n, d in graph.nodes(data=True) if d["kind"] == "principle")
    end = _resolve(graph, "outcome", outcome) if outcome else None
    rows = []
    for p in start:
        for via in sorted(graph.successors(p)):
            for o in sorted(graph.successors(via)):
                if end and o != end:
                    continue
                studies = studies_of(graph, o)
                if not studies:
                    continue
                first, second = graph.edges[p, via], graph.edges[via, o]
                rows.append(PathRow(
                    principle=p, via=via, outcome=o,
                    studies=[{"study": s, "label": graph.nodes[s]["label"],
                              "findings": graph.edges[o, s]["findings"]} for s in studies],
                    steps=[Step(p, via, first["status"], first["support"], first["line"], first["studies"]),
                           Step(via, o, second["status"], second["support"], None, second["studies"])]))
    return rows


def strongest(graph: nx.DiGraph, count: int = 10) -> list[PathRow]:
    """The paths backed by the most independent studies."""
    ranked = sorted(paths(graph), key=lambda r: (-len(r.studies), r.principle, r.via, r.outcome))
    return ranked[:count]


def rolled_up(graph: nx.DiGraph) -> nx.DiGraph:
    """The path graph with each outcome replaced by its broadest ancestor that the same need or
    component still covers, so a picture has a dozen outcomes rather than seventy."""
    broader = graph.graph.get("broader", {})
    result = nx.DiGraph()
    for node, data in graph.nodes(data=True):
        if data["kind"] in ("principle", "need", "component", "study"):
            result.add_node(node, **data)
    for p, via, data in graph.edges(data=True):
        if data["kind"] == "supports":
            result.add_edge(p, via, **{k: v for k, v in data.items() if k != "studies"})
    evidence: dict[tuple, set] = {}
    members: dict[str, set] = {}
    for via, outcome, data in graph.edges(data=True):
        if data["kind"] != "covers":
            continue
        covered_ancestors = [a for a in broader.get(outcome, ()) if graph.has_edge(via, a)]
        top = outcome
        for candidate in sorted(covered_ancestors):
            if not any(graph.has_edge(via, b) for b in broader.get(candidate, ())):
                top = candidate
                break
        result.add_node(top, **graph.nodes[top])
        members.setdefault(top, set()).add(outcome)
        for study in studies_of(graph, outcome):
            evidence.setdefault((via, top), set()).add(study)
            evidence.setdefault((top, study), set()).add(study)
    for (source, target), studies in evidence.items():
        kind = "evidenced-by" if result.nodes[target]["kind"] == "study" else "covers"
        result.add_edge(source, target, kind=kind, studies=len(studies))
    for p, via, data in result.edges(data=True):
        if data["kind"] == "supports":
            data["studies"] = len({s for o in result.successors(via)
                                   for s in result.successors(o)})
    for node in [n for n, d in result.nodes(data=True) if d["kind"] == "outcome"
                 and not any(True for _ in result.successors(n))]:
        result.remove_node(node)
    result.graph["members"] = {top: sorted(outs) for top, outs in members.items() if top in result}
    return result


def export_graph(graph: nx.DiGraph) -> nx.DiGraph:
    """A copy with only scalar attributes, as GraphML and GEXF need."""
    flat = nx.DiGraph()
    for node, data in graph.nodes(data=True):
        flat.add_node(node, kind=data["kind"], label=str(data.get("label", node)))
    for source, target, data in graph.edges(data=True):
        attributes = {"kind": data["kind"], "studies": int(data.get("studies", 0))}
        if "status" in data:
            attributes["status"] = str(data["status"])
        if "findings" in data:
            attributes["findings"] = " ".join(f["finding"] for f in data["findings"])
        flat.add_edge(source, target, **attributes)
    return flat


def path_table(rows: list[PathRow]):
    """Paths as a Result the table renderer can show: one row per path and study."""
    from pathlib import Path

    from .query import Query, Result

    columns = ["principle", "via", "viaStatus", "outcome", "studiesOnPath", "study",
               "finding", "line", "quote"]
    table = []
    for row in rows:
        for study in row.studies:
            for finding in study["findings"]:
                table.append({"principle": row.principle, "via": row.via,
                              "viaStatus": row.steps[0].status, "outcome": row.outcome,
                              "studiesOnPath": len(row.studies), "study": study["study"],
                              "finding": finding["finding"], "line": finding["line"],
                              "quote": finding["quote"]})
    query = Query(Path("paths"), "", {"title": "Principle to outcome paths"})
    return Result(query, columns, table)


def path_json(rows: list[PathRow]) -> list[dict]:
    return [{"principle": r.principle, "via": r.via, "outcome": r.outcome,
             "studyCount": len(r.studies),
             "steps": [step.__dict__ for step in r.steps], "studies": r.studies} for r in rows]
