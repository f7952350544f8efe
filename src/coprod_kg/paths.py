"""Two kinds of path from a principle of co-production to an outcome, as a networkx graph.

* The **argument** is the report's theory: principle → psychological need or well-being
  component → outcome. Each link carries its status: ``stated`` where the report says it,
  ``curated`` where a curator inferred it (with the rationale).
* The **evidence** is a reviewed study *coded with the principle* (a ``coprod:PrincipleCoding``)
  that reports a finding on the outcome, or on a narrower one, with the finding, its figure and
  its quote.

The evidence is the default everywhere: a study is listed under a principle only when it is coded
with it, and edge widths count those studies only. Outcomes that no need or component covers
(prevention, the economic outcomes) are still reachable as evidenced outcomes with no stated
mechanism.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

import networkx as nx

from .query import QueryError
from .tables import compact

VIEWS = ("evidence", "argument")
NO_MECHANISM = "no stated mechanism"
NO_MECHANISM_NODE = "mechanism:none"

PREFIXES_SPARQL = """
PREFIX coprod: <https://w3id.org/coprod-kg/ontology#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX oa: <http://www.w3.org/ns/oa#>
PREFIX qudt: <http://qudt.org/schema/qudt/>
"""

PRINCIPLES = PREFIXES_SPARQL + """
SELECT ?principle ?label ?order WHERE {
  ?principle a coprod:Principle ; skos:altLabel ?label ; skos:notation ?order .
}
"""

MAPPINGS = PREFIXES_SPARQL + """
SELECT ?principle ?via ?viaLabel ?viaKind ?status ?rationale ?quote ?quoteLine WHERE {
  ?mapping coprod:mapsPrinciple ?principle ; coprod:status/skos:prefLabel ?status ;
           coprod:rationale ?rationale ; coprod:hasQuote ?q .
  ?q oa:exact ?quote ; coprod:sourceLine ?quoteLine .
  { ?mapping coprod:mappedNeed ?via . BIND("need" AS ?viaKind) }
  UNION { ?mapping coprod:mappedComponent ?via . BIND("component" AS ?viaKind) }
  ?via skos:prefLabel ?viaLabel .
}
"""

OUTCOMES = PREFIXES_SPARQL + """
SELECT ?outcome ?label ?status ?rationale ?quote ?top WHERE {
  ?outcome a coprod:Outcome ; skos:prefLabel ?label ; coprod:status/skos:prefLabel ?status .
  OPTIONAL { ?outcome coprod:rationale ?rationale }
  OPTIONAL { SELECT ?outcome (MIN(?t) AS ?quote) WHERE { ?outcome coprod:hasQuote/oa:exact ?t }
             GROUP BY ?outcome }
  OPTIONAL { ?outcome skos:broaderTransitive ?top . ?top skos:topConceptOf ?scheme }
}
"""

COVERS = PREFIXES_SPARQL + """
SELECT DISTINCT ?via ?outcome WHERE { ?via coprod:covers ?outcome . ?outcome a coprod:Outcome . }
"""

# Per-placement statements (coprod:OutcomePlacement), where the data has them: the status of one
# outcome's place under one need, component or theme.
PLACEMENTS = PREFIXES_SPARQL + """
SELECT ?outcome ?via ?status WHERE {
  ?placement a coprod:OutcomePlacement ; coprod:placesOutcome ?outcome ; coprod:placedIn ?via ;
             coprod:status/skos:prefLabel ?status .
}
"""

CODINGS = PREFIXES_SPARQL + """
SELECT ?study ?principle ?status WHERE {
  ?coding a coprod:PrincipleCoding ; coprod:codedStudy ?study ; coprod:codedPrinciple ?principle ;
          coprod:status/skos:prefLabel ?status .
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
    """One link of the argument and what supports it."""

    source: str
    target: str
    status: str
    support: str
    line: int | None = None
    studies: int = 0


@dataclass
class PathRow:
    """One principle → outcome path.

    ``via`` is the need or component of the argument (None where no mapping reaches the outcome);
    ``steps`` are the argument's links with their status; ``studies`` are the studies coded with
    the principle that report a finding on the outcome, with those findings.
    """

    principle: str
    via: str | None
    outcome: str
    studies: list[dict] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)

    @property
    def mechanism(self) -> str:
        return self.via or NO_MECHANISM


# ---------------------------------------------------------------- the graph

def build_graph(store) -> nx.DiGraph:
    """The path graph of the reasoned store.

    Nodes: principles, needs and components, every outcome, every study. Edges: ``supports``
    (principle → need/component, the argument), ``covers`` (need/component → outcome, the
    argument), ``evidenced-by`` (outcome → study, with the findings). The principle codings are
    kept as ``graph.graph["coded"]``: study → principles.
    """
    graph = nx.DiGraph()
    for row in _select(store, PRINCIPLES):
        graph.add_node(compact(row["principle"]), kind="principle", label=row["label"],
                       order=int(row["order"]))
    for row in _with_quotes(_select(store, MAPPINGS), ("principle", "via")):
        principle, via = compact(row["principle"]), compact(row["via"])
        graph.add_node(via, kind=row["viaKind"], label=row["viaLabel"])
        graph.add_edge(principle, via, kind="supports", status=row["status"],
                       support=row["quote"], line=row["quoteLine"], rationale=row["rationale"],
                       quotes=row["quotes"])
    broader: dict[str, set] = {}
    for row in _select(store, BROADER):
        broader.setdefault(compact(row["narrow"]), set()).add(compact(row["broad"]))
    outcomes = {}
    for row in _select(store, OUTCOMES):
        node = compact(row["outcome"])
        entry = outcomes.setdefault(node, {**row, "tops": set()})
        if row["top"]:
            entry["tops"].add(compact(row["top"]))
    for node, row in sorted(outcomes.items()):
        top = min(row["tops"]) if row["tops"] else node
        graph.add_node(node, kind="outcome", label=row["label"], status=row["status"],
                       rationale=row["rationale"] or "", quote=row["quote"] or "", top=top)
    placements = {(compact(r["outcome"]), compact(r["via"])): r["status"]
                  for r in _select(store, PLACEMENTS)}
    for row in _select(store, COVERS):
        via, outcome = compact(row["via"]), compact(row["outcome"])
        if via not in graph or outcome not in graph:
            continue
        data = graph.nodes[outcome]
        graph.add_edge(via, outcome, kind="covers",
                       status=_placement_status(outcome, via, placements, broader, data["status"]),
                       support=data["quote"] or data["rationale"], line=None)
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
    for _, _, data in graph.edges(data=True):
        if data["kind"] == "evidenced-by":
            data["findings"].sort(key=lambda f: f["finding"])
    coded: dict[str, dict[str, str]] = {}
    for row in _select(store, CODINGS):
        coded.setdefault(compact(row["study"]), {})[compact(row["principle"])] = row["status"]
    graph.graph["broader"] = broader
    graph.graph["coded"] = coded
    _count_studies(graph)
    return graph


def _placement_status(outcome, via, placements, broader, fallback) -> str:
    """The status of an outcome's place under a need or component: its own OutcomePlacement,
    else that of the broader outcome it inherits the place from, else the outcome's status."""
    if (outcome, via) in placements:
        return placements[outcome, via]
    inherited = sorted(placements[b, via] for b in broader.get(outcome, ()) if (b, via) in placements)
    if inherited:
        return "curated" if "curated" in inherited else inherited[0]
    return fallback


def narrower_or_self(graph: nx.DiGraph, outcome: str) -> list[str]:
    """The outcome and every outcome under it."""
    broader = graph.graph.get("broader", {})
    return sorted({outcome} | {n for n, up in broader.items() if outcome in up})


def coded_with(graph: nx.DiGraph, study: str, principle: str) -> bool:
    return principle in graph.graph.get("coded", {}).get(study, {})


def studies_of(graph: nx.DiGraph, outcome: str, principle: str | None = None) -> list[str]:
    """The studies with a finding on exactly this outcome; with a principle, only those coded
    with it."""
    return sorted(n for n in graph.successors(outcome) if graph.nodes[n]["kind"] == "study"
                  and (principle is None or coded_with(graph, n, principle)))


def _count_studies(graph: nx.DiGraph) -> None:
    """Annotate every edge with the number of distinct studies that evidence it: studies coded
    with the principle (for ``supports``), or with a principle that supports the need or
    component (for ``covers``)."""
    for source, target, data in graph.edges(data=True):
        kind = data["kind"]
        if kind == "evidenced-by":
            data["studies"] = 1
        elif kind == "covers":
            principles = [p for p in graph.predecessors(source)]
            data["studies"] = len({s for p in principles for s in studies_of(graph, target, p)})
        else:
            data["studies"] = len({s for o in graph.successors(target)
                                   for s in studies_of(graph, o, source)})


def outcomes_without_mechanism(graph: nx.DiGraph) -> list[str]:
    """Outcomes that no principle reaches through a need or component in the argument."""
    return sorted(n for n, d in graph.nodes(data=True) if d["kind"] == "outcome"
                  and not any(graph.edges[v, n]["kind"] == "covers" for v in graph.predecessors(n)))


# ---------------------------------------------------------------- names

def resolve(graph: nx.DiGraph, kind: str, name: str) -> str:
    """The node of a principle or outcome given by slug, prefixed name, IRI or label.

    Raises QueryError with a "did you mean" suggestion and the valid choices.
    """
    slug = name.strip()
    if slug.startswith("http"):
        slug = slug.rstrip("/").rsplit("/", 1)[-1]
    elif slug.startswith(kind + ":"):
        slug = slug.split(":", 1)[1]
    node = f"{kind}:{slug}"
    if node in graph and graph.nodes[node]["kind"] == kind:
        return node
    by_label = {str(d.get("label", "")).lower(): n for n, d in graph.nodes(data=True)
                if d["kind"] == kind}
    if slug.lower() in by_label:
        return by_label[slug.lower()]
    choices = sorted(n.split(":", 1)[1] for n, d in graph.nodes(data=True) if d["kind"] == kind)
    close = difflib.get_close_matches(slug.lower(), choices, n=3, cutoff=0.5)
    hint = f"did you mean {' or '.join(close)}? " if close else ""
    raise QueryError(f"unknown {kind} {name!r}; {hint}choose one of: {', '.join(choices)}")


# ---------------------------------------------------------------- paths

def _argument_steps(graph: nx.DiGraph, principle: str, via: str, outcome: str) -> list[Step]:
    first, second = graph.edges[principle, via], graph.edges[via, outcome]
    return [Step(principle, via, first["status"], first["support"], first["line"], first["studies"]),
            Step(via, outcome, second["status"], second["support"], None, second["studies"])]


def _evidence(graph: nx.DiGraph, principle: str, outcome: str) -> list[dict]:
    return [{"study": s, "label": graph.nodes[s]["label"],
             "coding": graph.graph["coded"][s][principle],
             "findings": graph.edges[outcome, s]["findings"]}
            for s in studies_of(graph, outcome, principle)]


def paths(graph: nx.DiGraph, principle: str | None = None, outcome: str | None = None,
          view: str = "evidence") -> list[PathRow]:
    """The principle → outcome paths, optionally from one principle and/or to one outcome (and
    the outcomes under it).

    ``view="evidence"`` (the default): one row per principle, outcome and argument route (or
    none) where at least one study coded with the principle reports a finding on the outcome.
    ``view="argument"``: one row per principle → need/component → outcome link of the report's
    theory, whether or not a coded study evidences it.
    Raises QueryError for an unknown name or view.
    """
    if view not in VIEWS:
        raise QueryError(f"unknown view {view!r}; choose one of: {', '.join(VIEWS)}")
    start = [resolve(graph, "principle", principle)] if principle else sorted(
        n for n, d in graph.nodes(data=True) if d["kind"] == "principle")
    ends = set(narrower_or_self(graph, resolve(graph, "outcome", outcome))) if outcome else None
    rows = []
    for p in start:
        if view == "argument":
            for via in sorted(graph.successors(p)):
                for o in sorted(graph.successors(via)):
                    if ends is None or o in ends:
                        rows.append(PathRow(p, via, o, _evidence(graph, p, o),
                                            _argument_steps(graph, p, via, o)))
            continue
        outcomes = sorted(n for n, d in graph.nodes(data=True) if d["kind"] == "outcome"
                          and (ends is None or n in ends))
        for o in outcomes:
            evidence = _evidence(graph, p, o)
            if not evidence:
                continue
            routes = [v for v in sorted(graph.successors(p)) if graph.has_edge(v, o)]
            for via in routes or [None]:
                steps = _argument_steps(graph, p, via, o) if via else []
                rows.append(PathRow(p, via, o, evidence, steps))
    return rows


def strongest(graph: nx.DiGraph, count: int = 10, view: str = "evidence") -> list[PathRow]:
    """The paths backed by the most studies coded with their principle."""
    if count < 1:
        raise QueryError(f"--strongest needs a positive number, not {count}")
    ranked = sorted(paths(graph, view=view),
                    key=lambda r: (-len(r.studies), r.principle, r.via or "~", r.outcome))
    return ranked[:count]


# ---------------------------------------------------------------- the picture's graph

def rolled_up(graph: nx.DiGraph) -> nx.DiGraph:
    """A picture-sized evidence graph: principles, needs and components, and outcome groups (each
    outcome's broadest ancestor). Edges count studies coded with the principle:

    * ``supports``: principle → need/component (argument status kept);
    * ``covers``: need/component → outcome group;
    * ``direct``: principle → the "no stated mechanism" node → outcome group, bundling the
      evidence that no mapping of the principle reaches.

    Each outcome group node carries ``studies`` (the coded studies behind it) and ``members``.
    """
    result = nx.DiGraph()
    for node, data in graph.nodes(data=True):
        if data["kind"] in ("principle", "need", "component"):
            result.add_node(node, **data)
    support: dict[tuple, set] = {}
    members: dict[str, set] = {}
    for p in [n for n, d in graph.nodes(data=True) if d["kind"] == "principle"]:
        for o in [n for n, d in graph.nodes(data=True) if d["kind"] == "outcome"]:
            studies = set(studies_of(graph, o, p))
            if not studies:
                continue
            top = graph.nodes[o]["top"]
            members.setdefault(top, set()).add(o)
            routes = [v for v in graph.successors(p) if graph.has_edge(v, o)]
            for via in routes:
                support.setdefault((p, via), set()).update(studies)
                support.setdefault((via, top), set()).update(studies)
            if not routes:
                support.setdefault((p, NO_MECHANISM_NODE), set()).update(studies)
                support.setdefault((NO_MECHANISM_NODE, top), set()).update(studies)
            support.setdefault((top, None), set()).update(studies)
    if any(NO_MECHANISM_NODE in key for key in support):
        result.add_node(NO_MECHANISM_NODE, kind="none", label=NO_MECHANISM)
    for top in members:
        result.add_node(top, **{**graph.nodes[top], "members": sorted(members[top]),
                                "studies": len(support[top, None])})
    for (source, target), studies in sorted(support.items(), key=str):
        if target is None:
            continue
        kinds = result.nodes[source]["kind"], result.nodes[target]["kind"]
        if "none" in kinds:
            result.add_edge(source, target, kind="direct", studies=len(studies), status="")
        elif kinds[0] == "principle":
            data = graph.edges[source, target]
            result.add_edge(source, target, kind="supports", status=data["status"],
                            support=data["support"], line=data["line"], studies=len(studies))
        else:
            statuses = {graph.edges[source, o]["status"] for o in members[target]
                        if graph.has_edge(source, o)}
            result.add_edge(source, target, kind="covers", studies=len(studies),
                            status="stated" if statuses == {"stated"} else "curated")
    for p, via in list(graph.edges()):
        if graph.edges[p, via]["kind"] == "supports" and not result.has_edge(p, via):
            data = graph.edges[p, via]
            result.add_edge(p, via, kind="supports", status=data["status"],
                            support=data["support"], line=data["line"], studies=0)
    result.graph["members"] = {top: sorted(outs) for top, outs in members.items()}
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
    for study, principles in sorted(graph.graph.get("coded", {}).items()):
        for principle, status in sorted(principles.items()):
            if principle in flat and study in flat:
                flat.add_edge(principle, study, kind="coded-with", studies=1, status=status)
    return flat


# ---------------------------------------------------------------- tables

def _label(graph: nx.DiGraph, node: str | None) -> str:
    if node is None:
        return NO_MECHANISM
    return str(graph.nodes[node].get("label", node)) if node in graph else node


def _figure(finding: dict) -> str:
    from .tables import figure

    return figure(finding["value"], finding["unit"])


def path_table(graph: nx.DiGraph, rows: list[PathRow], view: str = "evidence"):
    """Paths as a Result the table renderer can show.

    Evidence: one row per path and finding, with the figure and every quote of the finding.
    Argument: one row per path, with the status of each link and the number of coded studies.
    """
    from pathlib import Path

    from .query import Query, Result

    table = []
    if view == "argument":
        columns = ["principle", "principleIri", "via", "viaIri", "principleToVia", "outcome",
                   "outcomeIri", "viaToOutcome", "codedStudies"]
        for row in rows:
            table.append({"principle": _label(graph, row.principle), "principleIri": row.principle,
                          "via": _label(graph, row.via), "viaIri": row.via,
                          "principleToVia": row.steps[0].status, "outcome": _label(graph, row.outcome),
                          "outcomeIri": row.outcome, "viaToOutcome": row.steps[1].status,
                          "codedStudies": len(row.studies)})
        title = "The argument: principle to need or component to outcome"
    else:
        columns = ["principle", "principleIri", "mechanism", "viaIri", "outcome",
                   "outcomeIri", "study", "studyIri", "finding", "findingIri", "figure", "line",
                   "quote"]
        for row in rows:
            mechanism = (f"{_label(graph, row.via)} ({' / '.join(s.status for s in row.steps)})"
                         if row.steps else NO_MECHANISM)
            for study in row.studies:
                for finding in study["findings"]:
                    table.append({
                        "principle": _label(graph, row.principle), "principleIri": row.principle,
                        "mechanism": mechanism, "viaIri": row.via or "",
                        "outcome": _label(graph, row.outcome),
                        "outcomeIri": row.outcome, "study": study["label"],
                        "studyIri": study["study"], "finding": finding["label"],
                        "findingIri": finding["finding"], "figure": _figure(finding),
                        "line": ", ".join(str(q["line"]) for q in finding["quotes"]),
                        "quote": " … ".join(q["text"] for q in finding["quotes"])})
        title = "The evidence: studies coded with the principle that report the outcome"
    query = Query(Path("paths"), "", {"title": title})
    return Result(query, columns, table)


def path_summary(graph: nx.DiGraph, rows: list[PathRow], view: str = "evidence") -> list[str]:
    """One plain line per path."""
    lines = []
    for row in rows:
        studies = ", ".join(s["study"].split(":", 1)[1] for s in row.studies)
        count = f"{len(row.studies)} stud{'y' if len(row.studies) == 1 else 'ies'}"
        if row.steps:
            route = (f"{row.principle} -> {row.via} ({row.steps[0].status}) -> {row.outcome} "
                     f"({row.steps[1].status})")
        else:
            route = f"{row.principle} -> {row.outcome} ({NO_MECHANISM})"
        who = "coded with the principle" if view == "evidence" else "coded with the principle evidence it"
        lines.append(f"{route}: {count} {who}" + (f" ({studies})" if studies else ""))
    return lines


def path_json(rows: list[PathRow], view: str = "evidence") -> dict:
    return {"view": view, "paths": [
        {"principle": r.principle, "via": r.via, "mechanism": r.mechanism, "outcome": r.outcome,
         "studyCount": len(r.studies), "steps": [step.__dict__ for step in r.steps],
         "studies": r.studies} for r in rows]}
