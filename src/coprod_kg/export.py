"""Serialise the graph for other linked-data tools: deterministic bytes, lexical forms as written.

pyoxigraph writes every format (rdflib's JSON-LD and RDF/XML writers order output by Python hash
order, and rdflib rewrites some lexical forms). Blank nodes get content-derived labels, and
triples are sorted before writing, so the same graph gives the same bytes in any process.
JSON-LD is pyoxigraph's expanded form compacted by PyLD with an inline context.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyoxigraph as ox
from rdflib import BNode, Graph, URIRef
from rdflib.compare import _TripleCanonicalizer
from rdflib.namespace import OWL, RDF

from .formats import EXPORT_FORMATS
from .load import LoadedGraph, new_graph, to_pyoxigraph
from .namespace import BASE, COPROD, PREFIXES

FORMATS = EXPORT_FORMATS
INFERRED_GRAPH = BASE + "graph/inferred"
OX_FORMATS = {"turtle": ox.RdfFormat.TURTLE, "ntriples": ox.RdfFormat.N_TRIPLES,
              "jsonld": ox.RdfFormat.JSON_LD, "trig": ox.RdfFormat.TRIG,
              "rdfxml": ox.RdfFormat.RDF_XML}
# XML 1.0 cannot carry these code points at all, not even as character references.
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
# An RDF/XML property element is a QName, so the property IRI must end in an XML NCName.
XML_LOCAL_NAME = re.compile("[A-Za-z_\u00c0-\ufffd][\\w.\\-\u00b7\u00c0-\ufffd]*$")


def blank_node_labels(graph: Graph) -> dict:
    """Map each blank node of ``graph`` to a label derived from the triples around it.

    Uses rdflib's canonicalisation (colour refinement, then its tie-breaking search), applied
    only to the triples that mention a blank node. rdflib offers the labels only through
    ``to_canonical_graph``, which loses which node got which label; TriG needs that mapping, so
    this calls the steps of ``_TripleCanonicalizer.canonical_triples`` itself (rdflib 7; the
    export tests fail if a change in rdflib breaks it).
    """
    with_blanks = Graph()
    for triple in graph:
        if isinstance(triple[0], BNode) or isinstance(triple[2], BNode):
            with_blanks.add(triple)
    if not len(with_blanks):
        return {}
    canon = _TripleCanonicalizer(with_blanks)
    coloring = canon._refine(canon._initial_color(), canon._initial_color())
    if not canon._discrete(coloring):
        coloring = canon._traces(coloring)
    return {color.nodes[0]: BNode("cb" + color.hash_color()) for color in coloring}


def _relabel(triple, labels: dict):
    return tuple(labels.get(term, term) if isinstance(term, BNode) else term for term in triple)


def canonical(graph: Graph) -> Graph:
    """A copy whose blank nodes have stable, content-derived labels."""
    labels = blank_node_labels(graph)
    result = new_graph()
    for triple in graph:
        result.add(_relabel(triple, labels))
    return result


def _sort_key(term) -> tuple:
    return (type(term).__name__, str(term))


def _ox_triples(graph: Graph, labels: dict | None = None) -> list:
    labels = blank_node_labels(graph) if labels is None else labels
    triples = sorted((_relabel(t, labels) for t in graph),
                     key=lambda t: tuple(_sort_key(term) for term in t))
    return [ox.Triple(*(to_pyoxigraph(term) for term in triple)) for triple in triples]


def jsonld_context(ontology: Graph) -> dict:
    """A JSON-LD context that turns coprod: properties into plain keys (``aboutStudy``)."""
    context: dict = {prefix: iri for prefix, iri in PREFIXES.items()}
    context.update({"label": str(PREFIXES["rdfs"]) + "label",
                    "prefLabel": {"@id": PREFIXES["skos"] + "prefLabel", "@container": "@language"},
                    "exact": PREFIXES["oa"] + "exact"})
    for term, kind in sorted(ontology.subject_objects(RDF.type)):
        if not isinstance(term, URIRef) or not str(term).startswith(COPROD):
            continue
        name = str(term)[len(COPROD):]
        if name in PREFIXES:
            # A term named like an instance prefix (coprod:outcome, outcome:) would stop that
            # prefix compacting IRIs; the property keeps its coprod: form instead.
            continue
        if kind == OWL.ObjectProperty:
            context[name] = {"@id": str(term), "@type": "@id"}
        elif kind in (OWL.DatatypeProperty, OWL.AnnotationProperty):
            context[name] = {"@id": str(term)}
    return dict(sorted(context.items()))


def _refuse_remote(url, options=None):
    raise ValueError(f"JSON-LD processing tried to load {url}; coprod-kg never fetches contexts")


def _jsonld(triples: list, context: dict) -> str:
    from pyld import jsonld

    expanded = json.loads(ox.serialize(triples, format=ox.RdfFormat.JSON_LD))
    compacted = jsonld.compact(expanded, {"@context": context},
                               {"documentLoader": _refuse_remote, "processingMode": "json-ld-1.1"})
    graph = compacted.get("@graph")
    if isinstance(graph, list):
        graph.sort(key=lambda node: (str(node.get("@id", "")), json.dumps(node, sort_keys=True)))
    return json.dumps(compacted, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _rdfxml(triples: list) -> str:
    for triple in triples:
        if not XML_LOCAL_NAME.search(triple.predicate.value):
            raise ValueError(
                f"RDF/XML cannot write the property {triple.predicate}: an RDF/XML property "
                "must end in an XML name (a letter or _ then letters, digits, ., - or _). Export "
                "as Turtle, N-Triples, TriG or JSON-LD instead.")
        for term in triple:
            found = NOT_XML.search(term.value)
            if found:
                raise ValueError(
                    f"RDF/XML cannot carry the character U+{ord(found.group()):04X} found in "
                    f"{term} (in the triple about {triple.subject}); XML 1.0 has no way to "
                    "write it. Export as Turtle, N-Triples, TriG or JSON-LD instead, or remove it.")
    text = ox.serialize(triples, format=ox.RdfFormat.RDF_XML, prefixes=dict(PREFIXES)).decode()
    # The writer emits carriage returns raw, and XML parsers read those as line feeds.
    return text.replace("\r", "&#13;") + ("" if text.endswith("\n") else "\n")


def serialise(graph: Graph, fmt: str, ontology: Graph | None = None,
              loaded: LoadedGraph | None = None) -> str:
    """Serialise ``graph`` in one of FORMATS; the same graph always gives the same text.

    TriG puts each source file's triples in a named graph, so it needs ``loaded``; ``graph`` must
    then be ``loaded.graph`` or a closure computed from it (blank nodes are matched by identity).
    Raises ValueError for an unknown format, or for text RDF/XML cannot carry.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if fmt == "trig":
        return _trig(graph, loaded)
    triples = _ox_triples(graph)
    if fmt == "ntriples":
        from .cache import ntriples_lines

        lines = ntriples_lines(ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES).decode())
        return "\n".join(sorted(set(lines))) + "\n"
    if fmt == "jsonld":
        return _jsonld(triples, jsonld_context(ontology if ontology is not None else graph))
    if fmt == "rdfxml":
        return _rdfxml(triples)
    text = ox.serialize(triples, format=OX_FORMATS[fmt], prefixes=dict(PREFIXES)).decode()
    return text if text.endswith("\n") else text + "\n"


def file_graph_iri(path: Path, root: Path) -> URIRef:
    return URIRef(BASE + "graph/" + path.resolve().relative_to(root).with_suffix("").as_posix())


def _trig(graph: Graph, loaded: LoadedGraph | None) -> str:
    """TriG with one named graph per source file, and one for inferred triples.

    Each triple of ``graph`` goes in the graph of every file that states it, or else in the
    inferred graph, so the union of the named graphs is ``graph`` itself.
    """
    if loaded is None:
        raise ValueError("TriG export needs the per-file origins of the triples")
    labels = blank_node_labels(graph)
    root = _common_root(loaded.files)
    quads = []
    stated = set()
    for path in loaded.files:
        name = ox.NamedNode(str(file_graph_iri(path, root)))
        for triple in set(loaded.by_file[path]):
            if triple not in graph:
                continue
            stated.add(triple)
            quads.append(ox.Quad(*(to_pyoxigraph(t) for t in _relabel(triple, labels)), name))
    inferred = ox.NamedNode(INFERRED_GRAPH)
    for triple in graph:
        if triple not in stated:
            quads.append(ox.Quad(*(to_pyoxigraph(t) for t in _relabel(triple, labels)), inferred))
    quads.sort(key=lambda q: (q.graph_name.value, str(q.subject), str(q.predicate), str(q.object)))
    text = ox.serialize(quads, format=ox.RdfFormat.TRIG, prefixes=dict(PREFIXES)).decode("utf-8")
    return text if text.endswith("\n") else text + "\n"


def _common_root(files: list[Path]) -> Path:
    resolved = [path.resolve() for path in files]
    root = resolved[0].parent
    while not all(path.is_relative_to(root) for path in resolved):
        root = root.parent
    return root


def void_description(graph: Graph, files: dict[str, Path], triples: int | None = None) -> Graph:
    """A VoID and DCAT description of written export files (counts and sizes read from them).

    ``triples`` is accepted for old callers and ignored: each file is counted.
    """
    from .publish.void import describe

    return describe(list(files.values()), graph)
