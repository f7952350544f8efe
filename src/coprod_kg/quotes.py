"""Check that quotes are verbatim spans of their source, where they say they are.

The work is done in ``curate`` (sources, locate, checks); this module keeps the single-source
check the tests use and ``python -m coprod_kg.quotes [FILE ...]``, which checks every quote of
the given files (default: the whole project) against its own source.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from rdflib import Graph, URIRef

from .curate.checks import IN_SECTION, OA_EXACT, SOURCE_LINE, curie
from .curate.locate import describe, locate
from .curate.sources import FIRST_LINE, LAST_LINE, SourceText, normalise

SOURCE_NAME = "000_694a8dba0e80b449.txt"
__all__ = ["OA_EXACT", "SOURCE_LINE", "IN_SECTION", "SourceText", "normalise", "check_quotes",
           "default_source", "QuoteProblem"]


def default_source(root: Path) -> Path:
    """Where the report's text sits beside a checkout: ``../shared/source/``."""
    from .curate.sources import shared_dir

    return shared_dir(root) / "source" / SOURCE_NAME


@dataclass
class QuoteProblem:
    quote: URIRef
    message: str

    def __str__(self) -> str:
        return f"{curie(self.quote)}: {self.message}"


def check_quotes(graph: Graph, source: SourceText) -> list[QuoteProblem]:
    """Check every quote of ``graph`` against one text: verbatim, at its line, in its section."""
    problems = []
    for quote, text in sorted(graph.subject_objects(OA_EXACT)):
        location = locate(source, str(text))
        if not location.found:
            problems.append(QuoteProblem(quote, describe(location, "the report")))
            continue
        lines = [m.line for m in location.matches]
        stated = graph.value(quote, SOURCE_LINE)
        if stated is None or int(stated) not in lines:
            problems.append(QuoteProblem(
                quote, f"coprod:sourceLine is {stated} but the quote starts on line "
                       f"{' or '.join(map(str, lines))}"))
            continue
        section = graph.value(quote, IN_SECTION)
        first, last = graph.value(section, FIRST_LINE), graph.value(section, LAST_LINE)
        if first is None or last is None:
            problems.append(QuoteProblem(quote, f"section {curie(section)} has no line range"))
        elif not int(first) <= int(stated) <= int(last):
            problems.append(QuoteProblem(
                quote, f"line {stated} is outside {curie(section)} (lines {first}-{last})"))
    return problems


def main(argv: list[str] | None = None) -> int:
    """Check the quotes of the given Turtle files against their sources; exit 1 on a problem."""
    from .curate.checks import run
    from .load import load
    from .project import InputError, find_project

    args = sys.argv[1:] if argv is None else argv
    project = find_project()
    files = [Path(a) for a in args]
    chosen = {f.resolve() for f in files}
    try:
        context = [p for p in project.input_files() if p.resolve() not in chosen]
        loaded = load([*context, *files])
    except InputError as error:
        print(error, file=sys.stderr)
        return 2
    unknown, problems, notices = run(project, loaded, chosen or None)
    for notice in notices:
        print(notice, file=sys.stderr)
    for problem in [*unknown, *problems]:
        print(problem)
    count = len(set(loaded.graph.subjects(OA_EXACT)))
    print(f"{len(unknown) + len(problems)} problem(s); {count} quotes in the graph")
    return 1 if unknown or problems else 0


if __name__ == "__main__":
    sys.exit(main())
