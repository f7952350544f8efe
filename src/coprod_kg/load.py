"""Read the project's Turtle files into rdflib graphs, strictly.

pyoxigraph parses each file, because it rejects invalid Turtle that rdflib lets through and its
errors carry the line and column; the triples are then copied into an rdflib graph for reasoning
and validation. Beyond syntax the loader refuses two things rdflib would accept quietly: a literal
whose lexical form does not fit its datatype, and an ``owl:imports`` (nothing is fetched, ever).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import OWL, XSD

from .namespace import BASE, PREFIXES
from .project import InputError, Project

XSD_STRING = str(XSD.string)
RDF_LANGSTRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"


@dataclass
class LoadedGraph:
    """An rdflib graph and, for each subject, the file that described it."""

    graph: Graph
    origins: dict = field(default_factory=dict)
    by_file: dict[Path, list[tuple]] = field(default_factory=dict)

    @property
    def files(self) -> list[Path]:
        return list(self.by_file)

    def origin(self, node) -> Path | None:
        return self.origins.get(node)

    def part(self, paths: Iterable[Path]) -> Graph:
        """The triples of some of the loaded files, as a graph of their own."""
        wanted = {Path(path).resolve() for path in paths}
        graph = new_graph()
        for path, triples in self.by_file.items():
            if path.resolve() in wanted:
                for triple in triples:
                    graph.add(triple)
        return graph


def new_graph() -> Graph:
    graph = Graph(bind_namespaces="core")
    for prefix, iri in PREFIXES.items():
        graph.bind(prefix, iri, override=True, replace=True)
    return graph


def to_rdflib(term):
    """Convert a pyoxigraph term to the equal rdflib term."""
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if isinstance(term, ox.Literal):
        datatype = term.datatype.value
        if term.language:
            return Literal(term.value, lang=term.language)
        if datatype == XSD_STRING:
            return Literal(term.value)
        # normalize=False keeps the lexical form as written (rdflib would turn P15M into P1Y3M).
        return Literal(term.value, datatype=URIRef(datatype), normalize=False)
    raise TypeError(f"unsupported term {term!r}")


def to_pyoxigraph(term):
    """Convert an rdflib term to the equal pyoxigraph term."""
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype is not None:
            return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
        return ox.Literal(str(term))
    return ox.BlankNode(str(term))


def _line_of(text: str, *needles: str) -> int | None:
    """The first line outside comments that holds one of the needles (for error messages)."""
    for number, line in enumerate(text.splitlines(), start=1):
        if line.lstrip().startswith("#"):
            continue
        if any(needle in line for needle in needles):
            return number
    return None


def parse_file(path: Path, base_iri: str = BASE) -> list[tuple]:
    """Parse one Turtle file into rdflib triples.

    Raises InputError naming the file, line and column for a syntax error, an undefined prefix,
    an ill-typed literal or an owl:imports.
    """
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise InputError(path, f"cannot read file: {error.strerror or error}") from None
    try:
        quads = list(ox.parse(raw, format=ox.RdfFormat.TURTLE, base_iri=base_iri,
                              rename_blank_nodes=True))
    except SyntaxError as error:
        message = str(error.msg if hasattr(error, "msg") else error)
        message = re.sub(r"^Parser error at line \d+ between columns \d+ and \d+: ", "", message)
        message = re.sub(r" \(.*line \d+\)$", "", message)
        raise InputError(path, f"Turtle syntax error: {message}", error.lineno,
                         error.offset) from None
    except UnicodeDecodeError as error:
        raise InputError(path, f"not UTF-8 text: {error.reason}") from None
    text = raw.decode("utf-8", errors="replace")
    triples = []
    for quad in quads:
        triple = (to_rdflib(quad.subject), to_rdflib(quad.predicate), to_rdflib(quad.object))
        subject, predicate, obj = triple
        if predicate == OWL.imports:
            raise InputError(path, f"owl:imports <{obj}> is refused: coprod-kg never fetches "
                             "remote or local imports; put the axioms in the project's files",
                             _line_of(text, "owl:imports", str(OWL.imports) + ">"))
        if isinstance(obj, Literal) and obj.datatype is not None and obj.ill_typed:
            short = obj.datatype.n3(new_graph().namespace_manager)
            raise InputError(path, f'literal "{obj}" is not a valid {short} (on {subject.n3()} '
                             f'{predicate.n3()})', _line_of(text, f'"{obj}"'))
        triples.append(triple)
    return triples


def load(paths: Iterable[Path]) -> LoadedGraph:
    """Load Turtle files into one graph, remembering which file described each subject.

    Raises InputError for the first file that cannot be used.
    """
    loaded = LoadedGraph(new_graph())
    for path in paths:
        path = Path(path)
        triples = parse_file(path)
        loaded.by_file[path] = triples
        for triple in triples:
            loaded.graph.add(triple)
            loaded.origins.setdefault(triple[0], path)
    return loaded


def load_project(project: Project) -> LoadedGraph:
    """Load the ontology and every data file of a project."""
    return load(project.input_files())
