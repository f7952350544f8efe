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

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF

from ..namespace import COPROD, ID, INSTANCE_KINDS, PREFIXES, prefix_name
from .locate import describe, locate
from .sources import SHARED_TEXT_FILE, TEXT_FILE, TEXT_SHA256, Source, sources_of

OA_EXACT = URIRef("http://www.w3.org/ns/oa#exact")
SOURCE_LINE = URIRef(COPROD + "sourceLine")
IN_SECTION = URIRef(COPROD + "inSection")


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
    """Report each undeclared coprod: term and each undefined instance IRI once, where first used."""
    declared = set(ontology.subjects())
    graph = loaded.graph
    defined = set(graph.subjects())
    vocabulary = sorted(str(t) for t in declared if str(t).startswith(COPROD))
    by_kind: dict[str, list[str]] = {}
    for subject in defined:
        kind = _kind_of(subject) if isinstance(subject, URIRef) else None
        if kind:
            by_kind.setdefault(kind, []).append(str(subject)[len(ID) + len(kind) + 1:])
    seen, found = set(), []
    files = data_files if data_files is not None else [
        f for f in loaded.by_file if not _is_ontology(f, ontology, loaded)]
    for path in files:
        for subject, predicate, obj in loaded.by_file.get(path, []):
            for term in (subject, predicate, obj):
                if not isinstance(term, URIRef) or term in seen:
                    continue
                text = str(term)
                if text.startswith(COPROD) and term not in declared:
                    seen.add(term)
                    what = "class" if predicate == RDF.type and term == obj else "term"
                    close = difflib.get_close_matches(text, vocabulary, n=1, cutoff=0.7)
                    hint = f"; did you mean {curie(URIRef(close[0]))}?" if close else ""
                    found.append(Finding(str(path), curie(term),
                                         f"unknown {what}: the ontology declares no "
                                         f"{curie(term)}{hint}", line_of(path, term)))
                elif term is obj and term not in defined and _kind_of(term):
                    seen.add(term)
                    kind = _kind_of(term)
                    slug = text[len(ID) + len(kind) + 1:]
                    close = difflib.get_close_matches(slug, by_kind.get(kind, []), n=1, cutoff=0.6)
                    hint = (f"; did you mean {prefix_name(kind)}:{close[0]}?" if close else
                            f"; no {kind} is defined" if not by_kind.get(kind) else "")
                    found.append(Finding(str(path), curie(term),
                                         f"`{slug}` is not a {kind.replace('-', ' ')}: nothing "
                                         f"defines {curie(term)}{hint}", line_of(path, term)))
    return sorted(found)


def _is_ontology(path: Path, ontology: Graph, loaded) -> bool:
    triples = loaded.by_file.get(path, [])
    return bool(triples) and all(t in ontology for t in triples[:20])


def record_file(loaded, source: Source) -> Path | None:
    """The file that records a source's text and hash (else the one that first describes it)."""
    for path, triples in loaded.by_file.items():
        if any(s == source.iri and p in (TEXT_SHA256, TEXT_FILE, SHARED_TEXT_FILE)
               for s, p, _ in triples):
            return path
    return loaded.origin(source.iri)


def source_problems(sources: dict[URIRef, Source], loaded) -> tuple[list[Finding], list[str]]:
    """A problem for each source whose text changed since it was coded; a notice for each absent."""
    problems, notices = [], []
    for source in sources.values():
        path = record_file(loaded, source)
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
    files = [f for f in loaded.by_file if Path(f).resolve() not in ontology_paths]
    if only is not None:
        files = [f for f in files if Path(f).resolve() in only]
    unknown = unknown_terms(loaded, ontology, files)
    sources = sources_of(loaded.graph, project.root)
    problems, notices = source_problems(sources, loaded)
    if only is not None:
        problems = [p for p in problems if Path(p.file).resolve() in only]
    problems += quote_problems(loaded.graph, sources, loaded.origin, only)
    return unknown, sorted(problems), notices


def scheme_hint(graph: Graph, value: URIRef, cls: URIRef) -> str:
    """Say that ``value`` is not one of ``cls`` and name the nearest that is."""
    from rdflib.namespace import RDFS

    label = str(graph.value(cls, RDFS.label) or curie(cls))
    members = sorted(str(m) for m in set(graph.subjects(RDF.type, cls)) if isinstance(m, URIRef))
    slug = str(value).rsplit("/", 1)[-1].rsplit("#", 1)[-1]
    by_slug = {m.rsplit("/", 1)[-1]: m for m in members}
    close = difflib.get_close_matches(slug, list(by_slug), n=1, cutoff=0.5)
    hint = f"; did you mean {curie(URIRef(by_slug[close[0]]))}?" if close else ""
    return f" ({curie(value)} is not a {label}{hint})"
