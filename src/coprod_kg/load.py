"""Read the project's Turtle files into rdflib graphs, strictly.

pyoxigraph parses each file, because it rejects invalid Turtle that rdflib lets through and its
errors carry the line and column; the triples are then copied into an rdflib graph for reasoning
and validation. Beyond syntax the loader refuses two things rdflib would accept quietly: a literal
whose lexical form does not fit its datatype, and an ``owl:imports`` (nothing is fetched, ever).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import OWL, XSD

from .namespace import BASE, PREFIXES

XSD_STRING = str(XSD.string)
RDF_LANGSTRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"


class InputError(Exception):
    """A project or user file that cannot be used, with where and why."""

    def __init__(self, path: Path | str, message: str, line: int | None = None,
                 column: int | None = None):
        self.path = Path(path)
        self.line = line
        self.column = column
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        where = str(self.path)
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class Project:
    """Where a coprod-kg checkout keeps its ontology, shapes, data and queries."""

    root: Path

    @property
    def ontology_files(self) -> list[Path]:
        return [self.root / "ontology" / "coprod.ttl"]

    @property
    def shapes_file(self) -> Path:
        return self.root / "ontology" / "shapes.ttl"

    @property
    def data_files(self) -> list[Path]:
        return sorted((self.root / "data").rglob("*.ttl"))

    @property
    def scheme_files(self) -> list[Path]:
        """Files a single study file needs beside it to be validated on its own."""
        data = self.root / "data"
        return [data / "schemes.ttl", data / "outcomes.ttl", data / "report.ttl"]

    @property
    def queries_dir(self) -> Path:
        return self.root / "queries"

    @property
    def build_dir(self) -> Path:
        return self.root / "build"

    def input_files(self) -> list[Path]:
        return [*self.ontology_files, *self.data_files]

    def fingerprint(self, extra: Iterable[Path] = ()) -> str:
        """Hash the names and bytes of every input, so any edit invalidates caches."""
        digest = hashlib.sha256()
        for path in [*self.input_files(), *extra]:
            digest.update(str(path.relative_to(self.root)).encode())
            digest.update(b"\0")
            digest.update(path.read_bytes())
            digest.update(b"\0")
        return digest.hexdigest()[:16]


def find_project(start: Path | None = None) -> Project:
    """Return the project whose root holds ``ontology/coprod.ttl`` at or above ``start``.

    Raises InputError when there is none.
    """
    here = (start or Path.cwd()).resolve()
    for candidate in [here, *here.parents]:
        if (candidate / "ontology" / "coprod.ttl").is_file():
            return Project(candidate)
    package_root = Path(__file__).resolve().parents[2]
    if (package_root / "ontology" / "coprod.ttl").is_file():
        return Project(package_root)
    raise InputError(here, "no coprod-kg project here (looked for ontology/coprod.ttl)")


@dataclass
class LoadedGraph:
    """An rdflib graph and, for each subject, the file that described it."""

    graph: Graph
    origins: dict = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)

    def origin(self, node) -> Path | None:
        return self.origins.get(node)


def new_graph() -> Graph:
    graph = Graph()
    for prefix, iri in PREFIXES.items():
        graph.bind(prefix, iri, override=True)
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
        return Literal(term.value, datatype=URIRef(datatype))
    raise TypeError(f"unsupported term {term!r}")


def _line_of(text: str, needle: str) -> int | None:
    index = text.find(needle)
    return None if index < 0 else text.count("\n", 0, index) + 1


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
                             _line_of(text, "owl:imports") or _line_of(text, str(obj)))
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
        loaded.files.append(path)
        for triple in parse_file(path):
            loaded.graph.add(triple)
            loaded.origins.setdefault(triple[0], path)
    return loaded


def load_project(project: Project) -> LoadedGraph:
    """Load the ontology and every data file of a project."""
    return load(project.input_files())
