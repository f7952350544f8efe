"""What the server shows about one IRI: its description as triples, and the facts of its page."""

from __future__ import annotations

from dataclasses import dataclass, field

import pyoxigraph as ox

from ..namespace import BASE, COPROD, ONTOLOGY_IRI, PREFIXES

LABELS = ("http://www.w3.org/2000/01/rdf-schema#label",
          "http://www.w3.org/2004/02/skos/core#prefLabel",
          "http://www.w3.org/2004/02/skos/core#altLabel")
_BY_LENGTH = sorted(PREFIXES.items(), key=lambda item: -len(item[1]))

FINDINGS = """
SELECT ?node ?finding ?label WHERE {
  { ?finding a coprod:Finding ; ?via ?node . } UNION { ?node a coprod:Finding . BIND (?node AS ?finding) }
  OPTIONAL { ?finding rdfs:label ?label }
} ORDER BY ?finding"""

QUOTES = """
SELECT ?subject ?quote ?text ?line ?section ?sectionLabel WHERE {
  ?subject coprod:hasQuote ?quote . ?quote oa:exact ?text .
  OPTIONAL { ?quote coprod:sourceLine ?line }
  OPTIONAL { ?quote coprod:inSection ?section . OPTIONAL { ?section rdfs:label ?sectionLabel } }
} ORDER BY ?line ?quote"""


def local_path(iri: str) -> str | None:
    """The server path of an IRI under the project's base, or None for an outside IRI."""
    if iri.startswith(ONTOLOGY_IRI):
        return "/ontology" + iri[len(ONTOLOGY_IRI):]
    if iri.startswith(BASE):
        return "/" + iri[len(BASE):]
    return None


def short(iri: str) -> str:
    """prefix:local where a known prefix fits."""
    for prefix, namespace in _BY_LENGTH:
        if iri.startswith(namespace) and len(iri) > len(namespace):
            return f"{prefix}:{iri[len(namespace):]}"
    return iri


def description(store: ox.Store, node: ox.NamedNode) -> list[ox.Triple]:
    """The node's concise bounded description (its triples, following blank nodes) and the
    triples that point at it, in a stable order."""
    seen, triples, todo = set(), [], [node]
    while todo:
        subject = todo.pop()
        if subject in seen:
            continue
        seen.add(subject)
        for quad in store.quads_for_pattern(subject, None, None):
            triples.append(quad.triple)
            if isinstance(quad.object, ox.BlankNode):
                todo.append(quad.object)
    triples += [quad.triple for quad in store.quads_for_pattern(None, None, node)]
    return sorted(set(triples), key=str)


def ontology_description(store: ox.Store) -> list[ox.Triple]:
    """Every triple about the ontology and its terms (the TBox as reasoned)."""
    subjects = {quad.subject for quad in store.quads_for_pattern(None, None, None)
                if isinstance(quad.subject, ox.NamedNode)
                and (quad.subject.value == ONTOLOGY_IRI or quad.subject.value.startswith(COPROD))}
    triples = set()
    for subject in subjects:
        triples.update(description(store, subject))
    return sorted(triples, key=str)


@dataclass
class Link:
    """A term as the page shows it: text, and where it links (None for a literal)."""

    text: str
    href: str | None = None
    note: str = ""


@dataclass
class Page:
    iri: str
    title: str
    labels: list[Link] = field(default_factory=list)
    types: list[Link] = field(default_factory=list)
    facts: list[tuple[Link, Link]] = field(default_factory=list)
    incoming: list[tuple[Link, Link]] = field(default_factory=list)
    quotes: list[dict] = field(default_factory=list)
    findings: list[dict] = field(default_factory=list)


def _label(store: ox.Store, term) -> str | None:
    for predicate in LABELS:
        for quad in store.quads_for_pattern(term, ox.NamedNode(predicate), None):
            return quad.object.value
    return None


def _link(store: ox.Store, term) -> Link:
    if isinstance(term, ox.Literal):
        note = f"@{term.language}" if term.language else (
            "" if term.datatype.value.endswith("#string") else short(term.datatype.value))
        return Link(term.value, None, note)
    if isinstance(term, ox.BlankNode):
        return Link("(a blank node)")
    label = _label(store, term)
    text = label or short(term.value)
    href = local_path(term.value) or term.value
    return Link(text, href, short(term.value) if label else "")


def _quotes(store: ox.Store, subject: ox.NamedNode) -> list[dict]:
    found = store.query(QUOTES, prefixes=PREFIXES, substitutions={ox.Variable("subject"): subject})
    return [{"text": s["text"].value, "line": s["line"].value if s["line"] else None,
             "href": local_path(s["quote"].value),
             "section": s["sectionLabel"].value if s["sectionLabel"] else (
                 short(s["section"].value) if s["section"] else ""),
             "section_href": local_path(s["section"].value) if s["section"] else None}
            for s in found]


def page(store: ox.Store, node: ox.NamedNode) -> Page | None:
    """Everything the node's HTML page shows, or None when the graph says nothing about it."""
    outgoing = [q.triple for q in store.quads_for_pattern(node, None, None)]
    incoming = [q.triple for q in store.quads_for_pattern(None, None, node)]
    if not outgoing and not incoming:
        return None
    rdf_type = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
    result = Page(node.value, _label(store, node) or short(node.value))
    for triple in sorted(outgoing, key=str):
        if triple.predicate.value in LABELS:
            result.labels.append(_link(store, triple.object))
        elif triple.predicate.value == rdf_type:
            result.types.append(_link(store, triple.object))
        else:
            result.facts.append((_link(store, triple.predicate), _link(store, triple.object)))
    result.incoming = [(_link(store, t.subject), _link(store, t.predicate))
                       for t in sorted(incoming, key=str)]
    result.quotes = _quotes(store, node)
    seen = {}
    for s in store.query(FINDINGS, prefixes=PREFIXES, substitutions={ox.Variable("node"): node}):
        iri = s["finding"].value
        if iri in seen:
            continue
        seen[iri] = {"href": local_path(iri), "label": s["label"].value if s["label"] else short(iri),
                     "quotes": _quotes(store, s["finding"])}
    result.findings = list(seen.values())
    return result


def ontology_terms(store: ox.Store) -> list[dict]:
    """The ontology's classes and properties with their labels and definitions, by name."""
    found = store.query("""
        SELECT ?term (SAMPLE(?l) AS ?label) (SAMPLE(?d) AS ?definition) WHERE {
          ?term rdfs:label ?l . OPTIONAL { ?term skos:definition ?d }
          FILTER (STRSTARTS(STR(?term), STR(coprod:)))
        } GROUP BY ?term ORDER BY ?term""", prefixes=PREFIXES)
    return [{"id": s["term"].value[len(COPROD):], "label": s["label"].value,
             "definition": s["definition"].value if s["definition"] else ""} for s in found]
