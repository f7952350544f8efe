"""Source documents: their bibliographic record, their text file, its SHA-256 and its sections.

A source is a ``coprod:SourceDocument`` in the graph. Its text is either kept in the repository
(``coprod:textFile``, relative to the project folder) or beside it (``coprod:sharedTextFile``,
relative to the shared folder, ``../shared`` or ``$COPROD_SHARED``), for texts whose licence
forbids redistribution, such as the 2013 review (CC BY-NC-ND). Its sections are the
``coprod:ReportSection`` nodes that are ``dcterms:isPartOf`` it.
"""

from __future__ import annotations

import bisect
import hashlib
import os
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from rdflib import Graph, URIRef
from rdflib.namespace import DCTERMS, RDF, RDFS

from ..namespace import COPROD
from ..project import InputError

SOURCE_DOCUMENT = URIRef(COPROD + "SourceDocument")
REPORT_SECTION = URIRef(COPROD + "ReportSection")
TEXT_FILE = URIRef(COPROD + "textFile")
SHARED_TEXT_FILE = URIRef(COPROD + "sharedTextFile")
TEXT_SHA256 = URIRef(COPROD + "textSha256")
FIRST_LINE = URIRef(COPROD + "firstLine")
LAST_LINE = URIRef(COPROD + "lastLine")
SHARED_ENV = "COPROD_SHARED"


def shared_dir(root: Path) -> Path:
    """The folder beside the project that holds texts which may not be redistributed."""
    return Path(os.environ.get(SHARED_ENV) or Path(root).parent / "shared")


def sha256_of(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def normalise(text: str) -> str:
    """Collapse every run of whitespace (line breaks included) to one space."""
    return re.sub(r"\s+", " ", text).strip()


class SourceText:
    """A plain text, whitespace-normalised, with a map from offsets back to line numbers."""

    def __init__(self, path: Path | None = None, raw: str | None = None):
        if raw is None:
            raw = Path(path).read_text(encoding="utf-8")
        self.raw_lines = raw.split("\n")
        pieces: list[str] = []
        self._starts: list[int] = []  # offset in the normalised text where each line begins
        self._lines: list[int] = []
        length = 0
        for number, line in enumerate(self.raw_lines, start=1):
            words = normalise(line)
            if not words:
                continue
            if pieces:
                pieces.append(" ")
                length += 1
            self._starts.append(length)
            self._lines.append(number)
            pieces.append(words)
            length += len(words)
        self.text = "".join(pieces)

    def line_at(self, offset: int) -> int:
        return self._lines[max(bisect.bisect_right(self._starts, offset) - 1, 0)]

    def offset_of_line(self, line: int) -> int:
        """The offset in the normalised text where a line (or the next non-blank one) begins."""
        index = bisect.bisect_left(self._lines, line)
        return self._starts[index] if index < len(self._starts) else len(self.text)

    def starts(self, quote: str) -> list[int]:
        """Every offset at which the whitespace-normalised quote starts."""
        needle = normalise(quote)
        found, start = [], self.text.find(needle) if needle else -1
        while start >= 0:
            found.append(start)
            start = self.text.find(needle, start + 1)
        return found

    def lines_of(self, quote: str) -> list[int]:
        """Every line on which the whitespace-normalised quote starts."""
        return [self.line_at(start) for start in self.starts(quote)]


@dataclass(frozen=True)
class Section:
    iri: URIRef
    label: str
    first: int
    last: int

    def holds(self, line: int) -> bool:
        return self.first <= line <= self.last


@dataclass
class Source:
    """A source document as the graph records it, and where its text is on this machine."""

    iri: URIRef
    label: str
    declared: str  # the text file as the record gives it
    shared: bool  # True when the file sits in the shared folder, not the repository
    path: Path  # resolved on this machine
    sha256: str | None
    sections: list[Section] = field(default_factory=list)

    @property
    def slug(self) -> str:
        return str(self.iri).rstrip("/").rsplit("/", 1)[-1]

    @property
    def available(self) -> bool:
        return self.path.is_file()

    @cached_property
    def text(self) -> SourceText:
        return SourceText(self.path)

    def current_sha256(self) -> str:
        return sha256_of(self.path)

    def sections_at(self, line: int) -> list[Section]:
        """The sections that hold a line, innermost (shortest) first."""
        return sorted((s for s in self.sections if s.holds(line)),
                      key=lambda s: (s.last - s.first, str(s.iri)))


def sources_of(graph: Graph, root: Path) -> dict[URIRef, Source]:
    """Every source document the graph records, with its sections."""
    sources = {}
    for iri in sorted(set(graph.subjects(RDF.type, SOURCE_DOCUMENT))):
        in_repo = graph.value(iri, TEXT_FILE)
        shared = graph.value(iri, SHARED_TEXT_FILE)
        declared = str(in_repo if in_repo is not None else shared or "")
        base = Path(root) if in_repo is not None else shared_dir(root)
        digest = graph.value(iri, TEXT_SHA256)
        sections = []
        for section in set(graph.subjects(DCTERMS.isPartOf, iri)):
            first, last = graph.value(section, FIRST_LINE), graph.value(section, LAST_LINE)
            if first is None or last is None:
                continue
            sections.append(Section(section, str(graph.value(section, RDFS.label) or section),
                                    int(first), int(last)))
        sections.sort(key=lambda s: (s.first, -s.last, str(s.iri)))
        sources[iri] = Source(iri, str(graph.value(iri, RDFS.label) or iri), declared,
                              in_repo is None, base / declared if declared else base / "?",
                              str(digest) if digest is not None else None, sections)
    return sources


def find_source(graph: Graph, root: Path, name: str) -> Source:
    """The source whose slug (the last part of its IRI) or IRI is ``name``.

    Raises InputError listing the sources there are.
    """
    sources = sources_of(graph, root)
    for source in sources.values():
        if name in (source.slug, str(source.iri)):
            return source
    import difflib

    slugs = sorted(s.slug for s in sources.values())
    close = difflib.get_close_matches(name, slugs, n=1)
    hint = f"; did you mean `{close[0]}`?" if close else ""
    raise InputError(name, f"no such source{hint} (sources: {', '.join(slugs) or 'none'})")
