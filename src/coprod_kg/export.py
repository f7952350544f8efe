"""Serialise the graph for other linked-data tools: deterministic bytes, written atomically."""

from __future__ import annotations

import json
from pathlib import Path

from rdflib import BNode, Dataset, Graph, Literal, URIRef
from rdflib.compare import to_canonical_graph
from rdflib.namespace import DCTERMS, OWL, RDF, XSD

from . import __version__
from .load import LoadedGraph, new_graph
from .namespace import BASE, COPROD, EXTERNAL, ID, PREFIXES

FORMATS = {
    "turtle": ("turtle", ".ttl"),
    "ntriples": ("nt", ".nt"),
    "jsonld": ("json-ld", ".jsonld"),
    "trig": ("trig", ".trig"),
    "rdfxml": ("xml", ".rdf"),
}
DATASET_IRI = URIRef(BASE + "dataset")
REPORT_IRI = URIRef(ID + "report/slay-stephens-2013")
DATA_LICENSE = URIRef("https://creativecommons.org/licenses/by-nc-nd/3.0/")


def canonical(graph: Graph) -> Graph:
    """A copy whose blank nodes have stable, content-derived labels."""
    result = new_graph()
    for triple in to_canonical_graph(graph):
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
    if loaded is None:
        raise ValueError("TriG export needs the per-file origins of the triples")
    root = _common_root(loaded.files)
    dataset = Dataset()
    for prefix, iri in PREFIXES.items():
        dataset.bind(prefix, iri, override=True)
    inferred = new_graph()
    for triple in graph:
        if triple not in loaded.graph:
            inferred.add(triple)
    for path in loaded.files:
        part = new_graph()
        for triple in loaded.by_file[path]:
            part.add(triple)
        named = dataset.graph(file_graph_iri(path, root))
        for triple in canonical(part):
            named.add(triple)
    if len(inferred):
        named = dataset.graph(URIRef(BASE + "graph/inferred"))
        for triple in canonical(inferred):
            named.add(triple)
    lines = dataset.serialize(format="nquads").splitlines()
    # N-Quads sorted is deterministic; re-read it so the TriG writer sees a stable order.
    stable = Dataset()
    for prefix, iri in PREFIXES.items():
        stable.bind(prefix, iri, override=True)
    stable.parse(data="\n".join(sorted(set(lines) - {""})), format="nquads")
    return stable.serialize(format="trig")


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
