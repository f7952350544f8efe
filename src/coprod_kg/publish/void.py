"""A VoID and DCAT description of the exports: one dataset per graph, one distribution per file.

Every count and size is read from the file it describes, so the description cannot disagree with
the files beside it.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, OWL, RDF, XSD

from .. import __version__
from ..load import new_graph
from ..namespace import BASE, COPROD, EXTERNAL, ID

VOID = EXTERNAL["void"]
DCAT = EXTERNAL["dcat"]
DATASET_IRI = URIRef(BASE + "dataset")
REPORT_IRI = URIRef(ID + "report/slay-stephens-2013")
ONTOLOGY_LICENSE = URIRef("https://creativecommons.org/licenses/by/4.0/")
DATA_LICENSE = URIRef("https://creativecommons.org/licenses/by-nc-nd/3.0/")
IANA = "https://www.iana.org/assignments/media-types/"
# suffix: (media type, pyoxigraph format)
MEDIA = {
    ".ttl": ("text/turtle", ox.RdfFormat.TURTLE),
    ".nt": ("application/n-triples", ox.RdfFormat.N_TRIPLES),
    ".jsonld": ("application/ld+json", ox.RdfFormat.JSON_LD),
    ".trig": ("application/trig", ox.RdfFormat.TRIG),
    ".rdf": ("application/rdf+xml", ox.RdfFormat.RDF_XML),
}
# Which graph a file holds, from its name: the asserted graph, the reasoned one, or the TBox.
GRAPHS = {
    "asserted": ("coprod-kg: asserted graph", "The ontology and the data as written: principles, "
                 "studies, outcomes, findings with verbatim quotes, codings and citations."),
    "inferred": ("coprod-kg: reasoned graph", "The asserted graph with its OWL 2 RL closure "
                 "(owlrl), without owlrl's bookkeeping triples."),
    "ontology": ("coprod-kg ontology", "The TBox alone: classes and properties."),
}


def graph_of(name: str) -> str:
    """Which graph a file holds, from its name (``coprod-kg-inferred.ttl`` -> ``inferred``)."""
    if "-inferred" in name:
        return "inferred"
    if "ontology" in name:
        return "ontology"
    return "asserted"


# Formats that hold no named graph: every triple they hold lands in a store's default graph.
TRIPLES_ONLY = (".ttl", ".rdf")


def count_triples(path: Path) -> int:
    """The number of distinct triples in an RDF file, as pyoxigraph reads it.

    An N-Triples file is counted by its distinct lines: the exports and the cached closure are
    written by pyoxigraph's N-Triples writer, one triple a line and one form for each triple, so
    two lines are two triples. Other formats are parsed.
    """
    fmt = MEDIA[path.suffix][1]
    if path.suffix == ".nt":
        return len({line for line in path.read_bytes().split(b"\n")
                    if line.strip() and not line.lstrip().startswith(b"#")})
    if path.suffix in TRIPLES_ONLY:
        # A store keeps each triple once, so its size is the count, without a Python object
        # per triple.
        store = ox.Store()
        store.bulk_load(path=str(path), format=fmt, base_iri=BASE)
        return len(store)
    quads = ox.parse(path=str(path), format=fmt, base_iri=BASE)
    return len({(q.subject, q.predicate, q.object) for q in quads})


# The formats in the order they are quickest to read: a graph is counted from the first present.
QUICKEST = (".nt", ".ttl", ".trig", ".rdf", ".jsonld")


def _counted(files: list[Path]) -> dict[str, Path]:
    """For each graph the files hold, the one file its triples are counted from."""
    chosen: dict[str, Path] = {}
    for path in sorted((p for p in files if p.suffix in MEDIA),
                       key=lambda p: (QUICKEST.index(p.suffix), p.name)):
        chosen.setdefault(graph_of(path.name), path)
    return chosen


def describe(files: list[Path], graph: Graph, version: str = __version__,
             issued: dt.date | None = None, base_url: str | None = None) -> Graph:
    """Describe ``files`` (RDF exports) as distributions of one dataset per graph.

    ``graph`` is the asserted graph, read for the vocabularies it uses. ``base_url`` is where the
    files will be downloadable (an IRI ending in /); by default the release folder under BASE.
    """
    base_url = base_url or f"{BASE}release/{version}/"
    out = new_graph()
    add = out.add
    void, dcat = (lambda local: URIRef(VOID + local)), (lambda local: URIRef(DCAT + local))
    add((DATASET_IRI, RDF.type, void("Dataset")))
    add((DATASET_IRI, RDF.type, dcat("Dataset")))
    add((DATASET_IRI, DCTERMS.title, Literal(
        "coprod-kg: the evidence on co-production in mental health", lang="en")))
    add((DATASET_IRI, DCTERMS.description, Literal(
        "An OWL ontology and knowledge graph of Slay & Stephens (2013), Co-production in mental "
        "health: a literature review (nef for Mind): principles, studies, outcomes, findings with "
        "verbatim quotes, codings and citations.", lang="en")))
    add((DATASET_IRI, DCTERMS.license, DATA_LICENSE))
    add((DATASET_IRI, DCTERMS.source, REPORT_IRI))
    add((DATASET_IRI, OWL.versionInfo, Literal(version)))
    add((DATASET_IRI, void("uriSpace"), Literal(ID)))
    if issued is not None:
        add((DATASET_IRI, DCTERMS.issued, Literal(issued.isoformat(), datatype=XSD.date)))
        add((DATASET_IRI, DCTERMS.modified, Literal(issued.isoformat(), datatype=XSD.date)))
    used = {str(p) for p in graph.predicates()} | {str(o) for o in graph.objects(None, RDF.type)}
    for prefix, namespace in sorted(EXTERNAL.items()):
        if prefix in ("sh", "void", "dcat"):
            continue
        if any(term.startswith(namespace) for term in used):
            add((DATASET_IRI, void("vocabulary"), URIRef(namespace)))
    add((DATASET_IRI, void("vocabulary"), URIRef(COPROD)))
    counts = {kind: count_triples(path) for kind, path in _counted(files).items()}
    for path in sorted(files, key=lambda p: p.name):
        if path.suffix not in MEDIA:
            continue
        kind = graph_of(path.name)
        dataset = URIRef(f"{BASE}dataset/{kind}")
        title, description = GRAPHS[kind]
        if (dataset, RDF.type, void("Dataset")) not in out:
            add((DATASET_IRI, void("subset"), dataset))
            add((dataset, RDF.type, void("Dataset")))
            add((dataset, RDF.type, dcat("Dataset")))
            add((dataset, DCTERMS.title, Literal(title, lang="en")))
            add((dataset, DCTERMS.description, Literal(description, lang="en")))
            add((dataset, DCTERMS.license, ONTOLOGY_LICENSE if kind == "ontology" else DATA_LICENSE))
            add((dataset, OWL.versionInfo, Literal(version)))
        # All distributions of one dataset hold the same graph, so they agree on the count: it is
        # read once per graph, from the file quickest to parse (tests count every file).
        triples = counts[kind]
        add((dataset, void("triples"), Literal(triples, datatype=XSD.integer)))
        media, _ = MEDIA[path.suffix]
        distribution = URIRef(f"{BASE}dataset/{kind}/{path.name}")
        add((dataset, dcat("distribution"), distribution))
        add((distribution, RDF.type, dcat("Distribution")))
        add((distribution, DCTERMS.title, Literal(path.name)))
        add((distribution, dcat("downloadURL"), URIRef(base_url + path.name)))
        add((distribution, dcat("mediaType"), URIRef(IANA + media)))
        add((distribution, dcat("byteSize"), Literal(path.stat().st_size,
                                                      datatype=XSD.nonNegativeInteger)))
        add((distribution, void("triples"), Literal(triples, datatype=XSD.integer)))
        add((distribution, DCTERMS.license, ONTOLOGY_LICENSE if kind == "ontology" else DATA_LICENSE))
        if issued is not None:
            add((distribution, DCTERMS.issued, Literal(issued.isoformat(), datatype=XSD.date)))
            add((distribution, DCTERMS.modified, Literal(issued.isoformat(), datatype=XSD.date)))
    return out
