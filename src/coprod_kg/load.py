"""Read the project's Turtle files into rdflib graphs, strictly.

pyoxigraph parses each file, because it rejects invalid Turtle that rdflib lets through and its
errors carry the line and column; the triples are then copied into an rdflib graph for reasoning
and validation. Beyond syntax the loader refuses what rdflib would accept quietly: a literal whose
lexical form does not fit its datatype (checked by ``lexical.py`` for the XSD types the project
uses, durations included, and by rdflib for the rest), an ``owl:imports`` (nothing is fetched,
ever), a file that is not a regular file, and a file past the size limits below (each can be
raised with an environment variable), which would otherwise keep owlrl or a serialiser busy for
minutes.

A leading byte order mark is dropped; one elsewhere is named as such. Each file is read once, and
the loaded graph carries the fingerprint of exactly those bytes (the cache key).
"""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path
from typing import Iterable

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import OWL, XSD

from .lexical import lexical_problem
from .namespace import BASE, PREFIXES
from .project import InputError, Project, Source, read_regular

# Limits per file: name -> (environment variable, default, what it counts).
LIMITS = {
    "triples": ("COPROD_KG_MAX_TRIPLES", 1_000_000, "triples"),
    "blank_nodes": ("COPROD_KG_MAX_BLANK_NODES", 200_000, "blank nodes"),
    "depth": ("COPROD_KG_MAX_DEPTH", 100, "levels of nested blank nodes or collections"),
    "list_length": ("COPROD_KG_MAX_LIST", 10_000, "items in one collection"),
}
BOM = b"\xef\xbb\xbf"
RDF_FIRST = "http://www.w3.org/1999/02/22-rdf-syntax-ns#first"
RDF_REST = "http://www.w3.org/1999/02/22-rdf-syntax-ns#rest"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"

XSD_STRING = str(XSD.string)
RDF_LANGSTRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"


class LoadedGraph:
    """The loaded triples, and for each subject the file that described it.

    The triples are kept as pyoxigraph parsed them, per file (``ox_by_file``, lexical forms as
    written). The rdflib views (``graph``, ``by_file``) are made on first use only: the build
    validates, reasons and checks on pyoxigraph, and an rdflib copy of a large corpus costs more
    than all of that (about 1.4 KB and 30 µs a triple). A LoadedGraph made from an rdflib graph
    (``LoadedGraph(graph)``, then ``by_file`` and ``origins`` filled) works as before.
    """

    def __init__(self, graph: Graph | None = None, origins: dict | None = None,
                 by_file: dict[Path, list[tuple]] | None = None,
                 sources: list[Source] | None = None, fingerprint: str | None = None,
                 ox_by_file: dict[Path, list] | None = None):
        self._graph = graph
        self.origins = origins if origins is not None else {}  # rdflib subject -> file
        self._by_file = by_file if by_file is not None else ({} if graph is not None else None)
        self.sources = sources if sources is not None else []
        self.fingerprint = fingerprint  # the cache key of these bytes (load_project sets it)
        # The same triples as pyoxigraph parsed them, per file (lexical forms as written).
        self.ox_by_file = ox_by_file if ox_by_file is not None else {}
        self._ox_origins: dict = {}  # pyoxigraph subject -> file, for what load_sources read
        self._shell = None  # the empty graph the rdflib view is made in (its prefixes)
        self._store = None
        self._triples = None

    def __repr__(self) -> str:
        return f"LoadedGraph({len(self.files)} files)"

    @property
    def graph(self) -> Graph:
        """The loaded triples as an rdflib graph, made on first use."""
        if self._graph is None:
            graph = self._namespace_graph()
            if self._by_file is not None:
                for triples in self._by_file.values():
                    for triple in triples:
                        graph.add(triple)
            else:
                for triples in self.ox_by_file.values():
                    for triple in triples:
                        graph.add((to_rdflib(triple.subject), to_rdflib(triple.predicate),
                                   to_rdflib(triple.object)))
            self._graph = graph
        return self._graph

    @graph.setter
    def graph(self, graph: Graph) -> None:
        self._graph = graph

    @property
    def by_file(self) -> dict[Path, list[tuple]]:
        """Each file's triples as rdflib triples, made on first use."""
        if self._by_file is None:
            self._by_file = {path: [tuple(map(to_rdflib, triple)) for triple in triples]
                             for path, triples in self.ox_by_file.items()}
        return self._by_file

    @by_file.setter
    def by_file(self, by_file: dict) -> None:
        self._by_file = by_file

    def _namespace_graph(self) -> Graph:
        if self._shell is None:
            self._shell = new_graph()
        return self._shell

    @property
    def namespace_manager(self):
        """The prefixes terms are shown with (those of ``graph``, without making it)."""
        return self._graph.namespace_manager if self._graph is not None \
            else self._namespace_graph().namespace_manager

    def ox_files(self) -> dict[Path, list]:
        """Each file's triples as pyoxigraph triples (converted from ``by_file`` for a
        LoadedGraph made without pyoxigraph's)."""
        if self.ox_by_file or self._by_file is None:
            return self.ox_by_file
        return {path: [ox.Triple(*map(to_pyoxigraph, triple)) for triple in triples]
                for path, triples in self._by_file.items()}

    def triples(self) -> list:
        """Every loaded triple once, as pyoxigraph triples with their lexical forms as written
        (the order is the files' and then the triples' own)."""
        if self._triples is None:
            seen: set = set()
            found = []
            for triples in self.ox_by_file.values():
                for triple in triples:
                    if triple not in seen:
                        seen.add(triple)
                        found.append(triple)
            self._triples = found
        return self._triples

    def size(self) -> int:
        """How many distinct triples were loaded (``len(graph)``, without making the graph)."""
        if self._graph is not None or not self.ox_by_file:
            return len(self.graph)
        return len(self.triples())

    def store(self) -> ox.Store:
        """A pyoxigraph store of the loaded triples, made once and shared: validation reads it
        and the rule engine adds the closure to it in place (``take_store``). The store writes
        numbers canonically (``3.40`` as ``3.4``); ``triples()`` keeps the forms as written."""
        if self._store is None:
            store = ox.Store()
            store.bulk_extend(ox.Quad(t.subject, t.predicate, t.object)
                              for triples in self.ox_by_file.values() for t in triples)
            self._store = store
        return self._store

    def take_store(self) -> ox.Store:
        """The store of ``store()``, handed over: later calls of ``store()`` make a new one."""
        store = self.store()
        self._store = None
        return store

    @property
    def files(self) -> list[Path]:
        return list(self.ox_by_file if self._by_file is None else self._by_file)

    def origin(self, node) -> Path | None:
        """The file that first described ``node`` (an rdflib or a pyoxigraph term)."""
        found = self.origins.get(node)
        if found is None and self._ox_origins:
            if not isinstance(node, (ox.NamedNode, ox.BlankNode, ox.Literal)):
                try:
                    node = to_pyoxigraph(node)
                except (TypeError, ValueError):
                    return None
            found = self._ox_origins.get(node)
        return found

    def vocabulary(self) -> Graph:
        """A small graph with the same predicates and the same classes (objects of rdf:type) as
        the loaded graph, one triple for each, for what reads only which terms are used (the
        VoID description); the whole graph itself when it is already made."""
        if self._graph is not None or not self.ox_by_file:
            return self.graph
        rdf_type = ox.NamedNode(RDF_TYPE)
        kept: dict = {}
        for triples in self.ox_by_file.values():
            for triple in triples:
                key = ("class", triple.object) if triple.predicate == rdf_type \
                    else ("predicate", triple.predicate)
                if key not in kept:
                    kept[key] = triple
        graph = new_graph()
        for triple in kept.values():
            graph.add((to_rdflib(triple.subject), to_rdflib(triple.predicate),
                       to_rdflib(triple.object)))
        return graph

    def part(self, paths: Iterable[Path]) -> Graph:
        """The triples of some of the loaded files, as a graph of their own."""
        wanted = {Path(path).resolve() for path in paths}
        graph = new_graph()
        if self._by_file is None:
            for path, triples in self.ox_by_file.items():
                if path.resolve() in wanted:
                    for triple in triples:
                        graph.add(tuple(map(to_rdflib, triple)))
            return graph
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


def limit(name: str) -> int:
    """The current value of one of LIMITS (its environment variable, or the default)."""
    variable, default, _ = LIMITS[name]
    raw = os.environ.get(variable, "")
    return int(raw) if raw.isascii() and raw.isdigit() and int(raw) > 0 else default


def _too_many(path: Path, name: str, found: int) -> InputError:
    variable, _, what = LIMITS[name]
    return InputError(path, f"more than {limit(name)} {what} in one file ({found} at least); "
                      f"split the file, or set {variable} to raise the limit")


def _line_of(text: str, *needles: str) -> int | None:
    """The first line outside comments that holds one of the needles (for error messages).

    Lines end at a line feed only, as in Turtle: U+2028 and friends may stand in a literal."""
    for number, line in enumerate(text.split("\n"), start=1):
        if line.lstrip().startswith("#"):
            continue
        if any(needle in line for needle in needles):
            return number
    return None


def _visible(message: str) -> str:
    """Name the invisible characters of a parser message (a BOM, a zero-width space, ...)."""
    def name(char: str) -> str:
        if char == "\ufeff":
            return "a byte order mark (U+FEFF)"
        label = unicodedata.name(char, "control character")
        return f"U+{ord(char):04X} ({label.lower()})"
    return "".join(name(c) if (unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp", "Co", "Cn")
                               or (unicodedata.category(c) == "Zs" and c != " "))
                   and c not in "\n\t" else c for c in message)


def _check_shape(path: Path, quads) -> None:
    """Refuse a file past the limits on blank nodes, nesting depth and collection length."""
    blank_nodes: set = set()
    children: dict = {}
    rest: dict = {}
    max_blank = limit("blank_nodes")
    for quad in quads:
        subject, obj = quad.subject, quad.object
        for term in (subject, obj):
            if isinstance(term, ox.BlankNode):
                blank_nodes.add(term.value)
        if len(blank_nodes) > max_blank:
            raise _too_many(path, "blank_nodes", len(blank_nodes))
        if isinstance(subject, ox.BlankNode) and isinstance(obj, ox.BlankNode):
            if quad.predicate.value == RDF_REST:
                rest[subject.value] = obj.value
            else:
                children.setdefault(subject.value, []).append(obj.value)
    _check_lists(path, rest)
    _check_depth(path, children, rest)


def _check_lists(path: Path, rest: dict) -> None:
    longest, max_list, heads = 0, limit("list_length"), set(rest) - set(rest.values())
    for head in heads or list(rest)[:1]:
        length, node, seen = 1, head, {head}
        while node in rest and rest[node] not in seen:
            node = rest[node]
            seen.add(node)
            length += 1
            if length > max_list:
                raise _too_many(path, "list_length", length)
        longest = max(longest, length)


def _check_depth(path: Path, children: dict, rest: dict) -> None:
    """The longest chain of blank nodes, where a list's items (rdf:first) count as nesting and
    its rdf:rest links do not; computed without recursion, safe on cycles."""
    max_depth = limit("depth")
    depth: dict = {}
    for start in list(children):
        if start in depth:
            continue
        stack = [(start, False)]
        on_path: set = set()
        while stack:
            node, done = stack.pop()
            if done:
                on_path.discard(node)
                below = [depth.get(child, 0) for child in children.get(node, ())]
                # a list node's items sit one level down; its tail is the same list
                tail = rest.get(node)
                depth[node] = max([1 + d for d in below] + [depth.get(tail, 0)] + [0])
                if depth[node] > max_depth:
                    raise _too_many(path, "depth", depth[node])
                continue
            if node in depth or node in on_path:
                continue
            on_path.add(node)
            stack.append((node, True))
            for child in [*children.get(node, ()), *([rest[node]] if node in rest else [])]:
                if child not in depth and child not in on_path:
                    stack.append((child, False))


def parse_file(path: Path, base_iri: str = BASE) -> list[tuple]:
    """Parse one Turtle file into rdflib triples.

    Raises InputError naming the file (and the line and column where known) for a file that is
    not a regular file or is too large, a syntax error, an undefined prefix, an ill-typed
    literal, an owl:imports, or a file past the limits.
    """
    return parse_bytes(path, read_regular(path), base_iri)


def parse_bytes(path: Path, raw: bytes, base_iri: str = BASE) -> list[tuple]:
    """Parse the bytes of one Turtle file (read once by the caller) into rdflib triples."""
    return [tuple(map(to_rdflib, triple)) for triple in _parse_checked(path, raw, base_iri)]


OWL_IMPORTS = str(OWL.imports)


def _parse_checked(path: Path, raw: bytes, base_iri: str = BASE) -> list:
    """The triples of one file as pyoxigraph parsed them, after every check of parse_file."""
    if raw.startswith(BOM):
        raw = raw[len(BOM):]  # a BOM at the start says only "UTF-8"; Turtle wants none
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw[:error.start].count(b"\n") + 1
        raise InputError(path, f"not UTF-8 text: {error.reason} (byte {error.start})",
                         line) from None
    max_triples = limit("triples")
    quads = []
    try:
        for quad in ox.parse(raw, format=ox.RdfFormat.TURTLE, base_iri=base_iri,
                             rename_blank_nodes=True):
            quads.append(quad)
            if len(quads) > max_triples:
                raise _too_many(path, "triples", len(quads))
    except SyntaxError as error:
        message = str(error.msg if hasattr(error, "msg") else error)
        message = re.sub(r"^Parser error at line \d+ between columns \d+ and \d+: ", "", message)
        message = re.sub(r" \(.*line \d+\)$", "", message)
        if "\ufeff" in message:
            message = ("a byte order mark (U+FEFF, an invisible character) stands inside the "
                       f"file; remove it ({message})")
        raise InputError(path, f"Turtle syntax error: {_visible(message)}", error.lineno,
                         error.offset) from None
    _check_shape(path, quads)
    triples = [quad.triple for quad in quads]
    checked: dict = {}  # (lexical form, datatype) -> problem, each typed literal judged once
    for triple in triples:
        predicate, obj = triple.predicate, triple.object
        if predicate.value == OWL_IMPORTS:
            raise InputError(path, f"owl:imports <{to_rdflib(obj)}> is refused: coprod-kg never "
                             "fetches remote or local imports; put the axioms in the project's files",
                             _line_of(text, "owl:imports", OWL_IMPORTS + ">"))
        if not isinstance(obj, ox.Literal) or obj.language:
            continue
        datatype = obj.datatype.value
        if datatype == XSD_STRING:
            continue
        # The lexical form as written: rdflib normalises some ("P1W" becomes "P7D").
        lexical = obj.value
        key = (lexical, datatype)
        if key not in checked:
            problem = lexical_problem(lexical, datatype)
            if problem is None and to_rdflib(obj).ill_typed:
                problem = "it is not in the datatype's lexical space"
            checked[key] = problem
        problem = checked[key]
        if problem:
            short = URIRef(datatype).n3(new_graph().namespace_manager)
            subject = to_rdflib(triple.subject)
            raise InputError(path, f'literal "{_visible(lexical)}" is not a valid {short}: '
                             f'{problem} (on {subject.n3()} {to_rdflib(predicate).n3()})',
                             _line_of(text, f'"{lexical}"', lexical))
    return triples


def load_sources(sources: Iterable[Source]) -> LoadedGraph:
    """Load Turtle files already read into one graph, remembering which file described each
    subject. Raises InputError for the first file that cannot be used."""
    loaded = LoadedGraph()
    for source in sources:
        path = Path(source.path)
        triples = _parse_checked(path, source.data)
        loaded.sources.append(source)
        loaded.ox_by_file[path] = triples
        origins = loaded._ox_origins
        for triple in triples:
            subject = triple.subject
            if subject not in origins:
                origins[subject] = path
    return loaded


def load(paths: Iterable[Path]) -> LoadedGraph:
    """Load Turtle files into one graph, reading each once.

    Raises InputError for the first file that cannot be used.
    """
    return load_sources([Source(Path(path), read_regular(Path(path))) for path in paths])


def load_project(project: Project) -> LoadedGraph:
    """Load the ontology and every data file of a project, with the fingerprint of the bytes
    that were parsed (write_closure stores the closure under it)."""
    sources = project.read_inputs()
    loaded = load_sources(sources)
    loaded.fingerprint = project.fingerprint(sources)
    return loaded
