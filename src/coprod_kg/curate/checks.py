"""The checks SHACL cannot make, run by ``validate`` and ``build`` before the shapes.

- Unknown terms: a ``coprod:`` class or property the ontology does not declare, and an instance
  IRI (``principle:network``) that nothing in the graph defines, each reported once with its file
  and line and the nearest valid term.
- Quotes against their sources: every ``oa:exact`` is a verbatim span (whitespace aside) of the
  text of the source its section is part of, starting on its ``coprod:sourceLine``, inside that
  section; and every source's text still has the SHA-256 it was coded against.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, RDFS

from ..namespace import COPROD, ID, INSTANCE_KINDS, PREFIXES, prefix_name
from .locate import describe, locate
from .sources import (FIRST_LINE, LAST_LINE, SHARED_TEXT_FILE, SOURCE_DOCUMENT, TEXT_FILE,
                      TEXT_SHA256, Source, sources_of)

OA_EXACT = URIRef("http://www.w3.org/ns/oa#exact")
SOURCE_LINE = URIRef(COPROD + "sourceLine")
IN_SECTION = URIRef(COPROD + "inSection")
RDF_TYPE = str(RDF.type)


@dataclass(frozen=True, order=True)
class Finding:
    """One problem (or notice) of these checks, shaped like a validation problem."""

    file: str
    node: str
    message: str
    line: int | None = None
    severity: str = "violation"

    def __str__(self) -> str:
        where = self.file + (f":{self.line}" if self.line else "")
        return f"{where}: {self.node}: {self.message}"


def curie(term) -> str:
    text = str(term)
    best = ""
    for prefix, namespace in PREFIXES.items():
        if text.startswith(namespace) and len(namespace) > len(PREFIXES.get(best, "")):
            local = text[len(namespace):]
            if local and "/" not in local and "#" not in local:
                best = prefix
    return f"{best}:{text[len(PREFIXES[best]):]}" if best else f"<{text}>"


def line_of(path: Path, term, subject: bool = False) -> int | None:
    """The first line of a file (outside comments) that names a term, by CURIE or full IRI.

    With ``subject``, prefer the line where the term starts a statement (where it is described).
    """
    short = re.escape(curie(term))
    pattern = re.compile(rf"(?<![\w:/-]){short}(?![\w-])|<{re.escape(str(term))}>")
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    lines = text.splitlines()
    if subject:
        for number, line in enumerate(lines, start=1):
            match = pattern.search(line)
            if match and match.start() == 0:
                return number
    for number, line in enumerate(lines, start=1):
        if line.lstrip().startswith("#"):
            continue
        if pattern.search(line):
            return number
    return None


def _kind_of(term: URIRef) -> str | None:
    text = str(term)
    if not text.startswith(ID):
        return None
    kind = text[len(ID):].split("/", 1)[0]
    return kind if kind in INSTANCE_KINDS else None


def unknown_terms(loaded, ontology: Graph, data_files: list[Path] | None = None) -> list[Finding]:
    """Report each undeclared coprod: term and each undefined instance IRI once, where first used.

    The files' triples are read as pyoxigraph parsed them (``LoadedGraph.ox_files``), each IRI
    as its text, so no rdflib copy of the data is made."""
    declared = {str(t) for t in ontology.subjects() if isinstance(t, URIRef)}
    by_file = loaded.ox_files()
    defined = {t.subject.value for triples in by_file.values() for t in triples
               if isinstance(t.subject, ox.NamedNode)}
    vocabulary = sorted(t for t in declared if t.startswith(COPROD))
    by_kind: dict[str, list[str]] = {}
    for subject in defined:
        kind = _kind_of(subject)
        if kind:
            by_kind.setdefault(kind, []).append(subject[len(ID) + len(kind) + 1:])
    seen, fine, found = set(), set(), []
    files = data_files if data_files is not None else [
        f for f in loaded.files if not _is_ontology(f, ontology, loaded)]
    for path in files:
        for triple in by_file.get(path, []):
            predicate, obj = triple.predicate, triple.object
            for position, term in enumerate((triple.subject, predicate, obj)):
                if not isinstance(term, ox.NamedNode):
                    continue
                text = term.value
                as_object = position == 2
                if (text, as_object) in fine or text in seen:
                    continue
                if text.startswith(COPROD) and text not in declared:
                    seen.add(text)
                    iri = URIRef(text)
                    what = "class" if predicate.value == RDF_TYPE and term == obj else "term"
                    close = difflib.get_close_matches(text, vocabulary, n=1, cutoff=0.7)
                    hint = f"; did you mean {curie(URIRef(close[0]))}?" if close else ""
                    found.append(Finding(str(path), curie(iri),
                                         f"unknown {what}: the ontology declares no "
                                         f"{curie(iri)}{hint}", line_of(path, iri)))
                elif as_object and text not in defined and _kind_of(text):
                    seen.add(text)
                    iri = URIRef(text)
                    kind = _kind_of(text)
                    slug = text[len(ID) + len(kind) + 1:]
                    close = difflib.get_close_matches(slug, by_kind.get(kind, []), n=1, cutoff=0.6)
                    hint = (f"; did you mean {prefix_name(kind)}:{close[0]}?" if close else
                            f"; no {kind} is defined" if not by_kind.get(kind) else "")
                    found.append(Finding(str(path), curie(iri),
                                         f"`{slug}` is not a {kind.replace('-', ' ')}: nothing "
                                         f"defines {curie(iri)}{hint}", line_of(path, iri)))
                else:
                    fine.add((text, as_object))
    return sorted(found)


def _is_ontology(path: Path, ontology: Graph, loaded) -> bool:
    from ..load import to_rdflib

    triples = loaded.ox_files().get(path, [])[:20]
    return bool(triples) and all(tuple(map(to_rdflib, t)) in ontology for t in triples)


RECORD_PREDICATES = (TEXT_SHA256, TEXT_FILE, SHARED_TEXT_FILE)


def _record_files(loaded) -> dict[str, Path]:
    """For each subject, the first file that gives it a text, a shared text or a hash."""
    wanted = {str(p) for p in RECORD_PREDICATES}
    first: dict[str, Path] = {}
    for path, triples in loaded.ox_files().items():
        for triple in triples:
            if triple.predicate.value in wanted and isinstance(triple.subject, ox.NamedNode):
                first.setdefault(triple.subject.value, path)
    return first


def record_file(loaded, source: Source, records: dict[str, Path] | None = None) -> Path | None:
    """The file that records a source's text and hash (else the one that first describes it)."""
    if records is None:
        records = _record_files(loaded)
    found = records.get(str(source.iri))
    return found if found is not None else loaded.origin(source.iri)


def source_problems(sources: dict[URIRef, Source], loaded) -> tuple[list[Finding], list[str]]:
    """A problem for each source whose text changed since it was coded; a notice for each absent."""
    problems, notices = [], []
    records = _record_files(loaded) if sources else {}
    for source in sources.values():
        path = record_file(loaded, source, records)
        where = str(path or "(no file)")
        if not source.declared:
            problems.append(Finding(where, curie(source.iri), "a source document needs "
                                    "coprod:textFile or coprod:sharedTextFile naming its text"))
        elif not source.available:
            notices.append(f"notice: the text of {curie(source.iri)} is not at {source.path}"
                           + (" (set COPROD_SHARED to the folder that holds it)" if source.shared
                              else "") + "; its quotes are not checked against it")
        elif source.sha256 and source.current_sha256() != source.sha256:
            problems.append(Finding(
                where, curie(source.iri),
                line=line_of(path, TEXT_SHA256) if path else None, message=
                f"the text at {source.path} has changed since it was coded: its SHA-256 is "
                f"{source.current_sha256()}, the record says {source.sha256}; check the quotes' "
                "lines and sections, then update coprod:textSha256"))
    return problems, notices


class _LazyLine:
    """The line of a quote in its file, found when a Finding is made with it."""

    def __init__(self, path, quote):
        self.path, self.quote = path, quote


def _finding(where: str, node: str, message: str, line) -> "Finding":
    if isinstance(line, _LazyLine):
        line = line_of(line.path, line.quote, subject=True) if line.path else None
    return Finding(where, node, message, line)


def quote_problems(graph: Graph, sources: dict[URIRef, Source], origin,
                   only: set[Path] | None = None) -> list[Finding]:
    """A problem for each quote that is not verbatim in its source, or not at its line or section."""
    problems = []
    for quote, exact in sorted(graph.subject_objects(OA_EXACT)):
        path = origin(quote)
        if only is not None and (path is None or Path(path).resolve() not in only):
            continue
        where, node = str(path or "(no file)"), curie(quote)
        # The line is looked up only for a quote with a problem: reading the file for every
        # quote cost a pass over its file per quote (minutes for a large corpus).
        line = _LazyLine(path, quote)
        section = graph.value(quote, IN_SECTION)
        if section is None:
            continue  # the quote shape reports a missing section
        document = graph.value(section, DCTERMS.isPartOf)
        source = sources.get(document)
        if source is None:
            problems.append(_finding(where, node, f"its section {curie(section)} is part of no "
                                    "source document (give the section dcterms:isPartOf a "
                                    "coprod:SourceDocument)", line))
            continue
        if not source.available:
            continue
        location = locate(source, str(exact))
        if not location.found:
            problems.append(_finding(where, node, describe(location, curie(source.iri)), line))
            continue
        lines = [m.line for m in location.matches]
        stated = graph.value(quote, SOURCE_LINE)
        if not isinstance(stated, Literal) or int(stated) not in lines:
            problems.append(_finding(where, node, f"coprod:sourceLine is {stated} but the quote "
                                    f"starts on line {' or '.join(map(str, lines))} of "
                                    f"{curie(source.iri)}", line))
            continue
        ranges = [s for s in source.sections if s.iri == section]
        if ranges and not ranges[0].holds(int(stated)):
            problems.append(_finding(where, node, f"line {stated} is outside {curie(section)} "
                                    f"(lines {ranges[0].first}-{ranges[0].last})", line))
        elif not ranges:
            problems.append(_finding(where, node, f"section {curie(section)} has no line range",
                                    line))
    return problems


def run(project, loaded, only: set[Path] | None = None) -> tuple[list[Finding], list[Finding],
                                                                 list[str]]:
    """Unknown terms, then source and quote problems, then notices (e.g. a text that is absent)."""
    ontology = loaded.part(project.ontology_files)
    ontology_paths = {p.resolve() for p in project.ontology_files}
    files = [f for f in loaded.files if Path(f).resolve() not in ontology_paths]
    if only is not None:
        files = [f for f in files if Path(f).resolve() in only]
    unknown = unknown_terms(loaded, ontology, files)
    graph = curation_graph(loaded)
    sources = sources_of(graph, project.root)
    problems, notices = source_problems(sources, loaded)
    if only is not None:
        problems = [p for p in problems if Path(p.file).resolve() in only]
    problems += quote_problems(graph, sources, loaded.origin, only)
    return unknown, sorted(problems), notices


# What sources_of and quote_problems read: the quotes, their sections and lines, and each source
# with its text, hash, label and sections.
CURATION_PREDICATES = {str(p) for p in (OA_EXACT, IN_SECTION, SOURCE_LINE, DCTERMS.isPartOf,
                                        TEXT_FILE, SHARED_TEXT_FILE, TEXT_SHA256, FIRST_LINE,
                                        LAST_LINE)}


class _Part:
    """A few triples of the loaded graph, read as an rdflib graph is read by sources_of and
    quote_problems (``value``, ``subjects``, ``subject_objects``), with rdflib terms, in the
    order they were loaded."""

    def __init__(self, triples):
        self._objects: dict = {}
        self._subjects: dict = {}
        for triple in triples:
            self._objects.setdefault(triple[:2], []).append(triple[2])
            self._subjects.setdefault(triple[1:], []).append(triple[0])

    def value(self, subject=None, predicate=None):
        found = self._objects.get((subject, predicate))
        return found[0] if found else None

    def subjects(self, predicate, obj):
        return iter(self._subjects.get((predicate, obj), ()))

    def subject_objects(self, predicate):
        return ((s, o) for (s, p), objects in self._objects.items() if p == predicate
                for o in objects)


def curation_graph(loaded):
    """The part of the loaded graph the source and quote checks read, read as a graph.

    That is every triple of CURATION_PREDICATES, the typing of the source documents, and the
    labels of the sources and their sections: the same answers as the whole graph gives those
    checks, without an rdflib copy of the data (the whole graph itself when it is already made)."""
    if getattr(loaded, "_graph", None) is not None or not getattr(loaded, "ox_by_file", None):
        return loaded.graph
    from ..load import to_rdflib

    source_type, label = str(SOURCE_DOCUMENT), str(RDFS.label)
    part_of, rdf_type = str(DCTERMS.isPartOf), str(RDF.type)
    triples = loaded.triples()

    def typed_source(t) -> bool:
        return isinstance(t.object, ox.NamedNode) and t.object.value == source_type \
            and t.predicate.value == rdf_type

    described = {t.subject for t in triples if t.predicate.value == part_of or typed_source(t)}
    terms: dict = {}

    def term(node):
        found = terms.get(node)
        if found is None:
            found = terms[node] = to_rdflib(node)
        return found

    return _Part((term(t.subject), term(t.predicate), term(t.object)) for t in triples
                 if t.predicate.value in CURATION_PREDICATES or typed_source(t)
                 or (t.predicate.value == label and t.subject in described))


def scheme_hint(graph: Graph, value: URIRef, cls: URIRef) -> str:
    """Say that ``value`` is not one of ``cls`` and name the nearest that is."""
    label = str(graph.value(cls, RDFS.label) or curie(cls))
    members = sorted(str(m) for m in set(graph.subjects(RDF.type, cls)) if isinstance(m, URIRef))
    slug = str(value).rsplit("/", 1)[-1].rsplit("#", 1)[-1]
    by_slug = {m.rsplit("/", 1)[-1]: m for m in members}
    close = difflib.get_close_matches(slug, list(by_slug), n=1, cutoff=0.5)
    hint = f"; did you mean {curie(URIRef(by_slug[close[0]]))}?" if close else ""
    return f" ({curie(value)} is not a {label}{hint})"
