"""Serialise the graph for other linked-data tools: deterministic bytes, written atomically."""

from __future__ import annotations

import json
from pathlib import Path

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.compare import to_canonical_graph
from rdflib.namespace import DCTERMS, OWL, RDF, XSD

from . import __version__
from .formats import EXPORT_FORMATS
from .load import LoadedGraph, new_graph, to_pyoxigraph
from .namespace import BASE, COPROD, EXTERNAL, ID, PREFIXES

FORMATS = EXPORT_FORMATS
DATASET_IRI = URIRef(BASE + "dataset")
REPORT_IRI = URIRef(ID + "report/slay-stephens-2013")
DATA_LICENSE = URIRef("https://creativecommons.org/licenses/by-nc-nd/3.0/")


def canonical(graph: Graph) -> Graph:
    """A copy whose blank nodes have stable, content-derived labels.

    Only triples that mention a blank node can change, so only they go through rdflib's
    (slow) canonicalisation.
    """
    result = new_graph()
    with_blanks = Graph()
    for triple in graph:
        if isinstance(triple[0], BNode) or isinstance(triple[2], BNode):
            with_blanks.add(triple)
        else:
            result.add(triple)
    if len(with_blanks):
        for triple in to_canonical_graph(with_blanks):
            result.add(triple)
    return result


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
        if kind == OWL.ObjectProperty:
            context[name] = {"@id": str(term), "@type": "@id"}
        elif kind == OWL.DatatypeProperty:
            context[name] = {"@id": str(term)}
    return context


def _sorted_jsonld(text: str) -> str:
    document = json.loads(text)
    if isinstance(document, dict) and isinstance(document.get("@graph"), list):
        document["@graph"].sort(key=lambda node: json.dumps(node, sort_keys=True))
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def serialise(graph: Graph, fmt: str, ontology: Graph | None = None,
              loaded: LoadedGraph | None = None) -> str:
    """Serialise ``graph`` in one of FORMATS; the same graph always gives the same text.

    TriG puts each source file's triples in a named graph, so it needs ``loaded``.
    Raises ValueError for an unknown format.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if fmt == "trig":
        return _trig(graph, loaded)
    stable = canonical(graph)
    if fmt == "ntriples":
        lines = stable.serialize(format="nt").splitlines()
        return "\n".join(sorted(set(lines) - {""})) + "\n"
    if fmt == "jsonld":
        context = jsonld_context(ontology if ontology is not None else graph)
        return _sorted_jsonld(stable.serialize(format="json-ld", context=context, auto_compact=True))
    return stable.serialize(format=FORMATS[fmt][0])


def file_graph_iri(path: Path, root: Path) -> URIRef:
    return URIRef(BASE + "graph/" + path.relative_to(root).with_suffix("").as_posix())


def _trig(graph: Graph, loaded: LoadedGraph | None) -> str:
    """TriG with one named graph per source file, and one for inferred triples; quads are sorted
    before pyoxigraph writes them, so the same graph gives the same bytes."""
    import pyoxigraph as ox

    if loaded is None:
        raise ValueError("TriG export needs the per-file origins of the triples")
    root = _common_root(loaded.files)
    parts: list[tuple[str, Graph]] = []
    for path in loaded.files:
        part = new_graph()
        for triple in loaded.by_file[path]:
            part.add(triple)
        parts.append((str(file_graph_iri(path, root)), part))
    inferred = new_graph()
    for triple in graph:
        if triple not in loaded.graph:
            inferred.add(triple)
    if len(inferred):
        parts.append((BASE + "graph/inferred", inferred))
    quads = []
    for name, part in parts:
        graph_name = ox.NamedNode(name)
        for s, p, o in canonical(part):
            quads.append(ox.Quad(to_pyoxigraph(s), to_pyoxigraph(p), to_pyoxigraph(o), graph_name))
    quads.sort(key=lambda q: (q.graph_name.value, str(q.subject), str(q.predicate), str(q.object)))
    return ox.serialize(quads, format=ox.RdfFormat.TRIG, prefixes=dict(PREFIXES)).decode("utf-8")


def _common_root(files: list[Path]) -> Path:
    resolved = [path.resolve() for path in files]
    root = resolved[0].parent
    while not all(path.is_relative_to(root) for path in resolved):
        root = root.parent
    return root


def void_description(graph: Graph, files: dict[str, Path], triples: int) -> Graph:
    """A VoID and DCAT description of the dataset and its distributions."""
    void = URIRef(EXTERNAL["void"])
    dcat = URIRef(EXTERNAL["dcat"])
    description = new_graph()
    add = description.add
    add((DATASET_IRI, RDF.type, URIRef(void + "Dataset")))
    add((DATASET_IRI, RDF.type, URIRef(dcat + "Dataset")))
    add((DATASET_IRI, DCTERMS.title, Literal("coprod-kg: the evidence on co-production in mental health", lang="en")))
    add((DATASET_IRI, DCTERMS.description, Literal(
        "An OWL ontology and knowledge graph of Slay & Stephens (2013), Co-production in mental "
        "health: a literature review (nef for Mind): principles, studies, outcomes, findings with "
        "verbatim quotes, codings and citations.", lang="en")))
    add((DATASET_IRI, DCTERMS.license, DATA_LICENSE))
    add((DATASET_IRI, DCTERMS.source, REPORT_IRI))
    add((DATASET_IRI, OWL.versionInfo, Literal(__version__)))
    add((DATASET_IRI, URIRef(void + "triples"), Literal(triples, datatype=XSD.integer)))
    add((DATASET_IRI, URIRef(void + "uriSpace"), Literal(ID)))
    used = {str(p) for p in graph.predicates()} | {str(o) for o in graph.objects(None, RDF.type)}
    for prefix, namespace in sorted(EXTERNAL.items()):
        if prefix in ("sh", "void", "dcat", "vann"):
            continue
        if any(term.startswith(namespace) for term in used):
            add((DATASET_IRI, URIRef(void + "vocabulary"), URIRef(namespace)))
    add((DATASET_IRI, URIRef(void + "vocabulary"), URIRef(COPROD)))
    for name, path in sorted(files.items()):
        distribution = URIRef(f"{BASE}dataset/{name}")
        add((DATASET_IRI, URIRef(dcat + "distribution"), distribution))
        add((distribution, RDF.type, URIRef(dcat + "Distribution")))
        add((distribution, DCTERMS.title, Literal(name)))
        add((distribution, URIRef(dcat + "downloadURL"), Literal(path.name)))
    return description
