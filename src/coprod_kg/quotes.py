"""Check that every quote in the graph is a verbatim span of the report, where it says it is."""

from __future__ import annotations

import bisect
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from rdflib import Graph, URIRef

from .namespace import COPROD

OA_EXACT = URIRef("http://www.w3.org/ns/oa#exact")
SOURCE_LINE = URIRef(COPROD + "sourceLine")
IN_SECTION = URIRef(COPROD + "inSection")
FIRST_LINE = URIRef(COPROD + "firstLine")
LAST_LINE = URIRef(COPROD + "lastLine")
SOURCE_NAME = "000_694a8dba0e80b449.txt"


def default_source(root: Path) -> Path:
    """Where the report's text sits beside a checkout: ``../shared/source/``."""
    return root.parent / "shared" / "source" / SOURCE_NAME


def normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


class SourceText:
    """The report's plain text, whitespace-normalised, with a map back to line numbers."""

    def __init__(self, path: Path):
        raw = path.read_text(encoding="utf-8")
        pieces: list[str] = []
        self._starts: list[int] = []  # offset in the normalised text where each line begins
        self._lines: list[int] = []
        length = 0
        for number, line in enumerate(raw.split("\n"), start=1):
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
        return self._lines[bisect.bisect_right(self._starts, offset) - 1]

    def lines_of(self, quote: str) -> list[int]:
        """Every line on which the whitespace-normalised quote starts."""
        needle = normalise(quote)
        found, start = [], self.text.find(needle)
        while start >= 0 and needle:
            found.append(self.line_at(start))
            start = self.text.find(needle, start + 1)
        return found


@dataclass
class QuoteProblem:
    quote: URIRef
    message: str

    def __str__(self) -> str:
        return f"{self.quote}: {self.message}"


def check_quotes(graph: Graph, source: SourceText) -> list[QuoteProblem]:
    """Return a problem for each quote that is not verbatim, or not at its line or section."""
    problems = []
    for quote, text in sorted(graph.subject_objects(OA_EXACT)):
        lines = source.lines_of(str(text))
        if not lines:
            problems.append(QuoteProblem(quote, f"not a verbatim span of the report: {text!r}"))
            continue
        stated = graph.value(quote, SOURCE_LINE)
        if stated is None or int(stated) not in lines:
            problems.append(QuoteProblem(
                quote, f"coprod:sourceLine is {stated} but the quote starts on line "
                       f"{' or '.join(map(str, lines))}"))
            continue
        section = graph.value(quote, IN_SECTION)
        first, last = graph.value(section, FIRST_LINE), graph.value(section, LAST_LINE)
        if first is None or last is None:
            problems.append(QuoteProblem(quote, f"section {section} has no line range"))
        elif not int(first) <= int(stated) <= int(last):
            problems.append(QuoteProblem(
                quote, f"line {stated} is outside {section} (lines {first}-{last})"))
    return problems


def main(argv: list[str] | None = None) -> int:
    """Check the quotes of the given Turtle files (with data/report.ttl for the sections)."""
    from .load import load
    from .project import InputError, find_project

    args = sys.argv[1:] if argv is None else argv
    project = find_project()
    source_path = default_source(project.root)
    if not source_path.is_file():
        print(f"source text not found at {source_path}", file=sys.stderr)
        return 2
    files = [Path(a) for a in args] or project.data_files
    report = project.root / "data" / "report.ttl"
    try:
        graph = load([report, *[f for f in files if f.resolve() != report.resolve()]]).graph
    except InputError as error:
        print(error, file=sys.stderr)
        return 2
    problems = check_quotes(graph, SourceText(source_path))
    for problem in problems:
        print(problem)
    print(f"{len(problems)} problem(s) in {len(set(graph.subjects(OA_EXACT)))} quotes")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
