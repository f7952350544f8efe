"""Every number printed in a source: which finding holds it, or why it is not a figure.

A number is *held* when a finding carries it as a numeric value (on the finding or on a node the
finding points to, such as a structured figure; an ``xsd:duration`` counts by its numbers) and
one of that finding's quotes stands on the number's line and contains it. Otherwise it is
*excluded* when the source's exclusion list (``data/sources/<slug>-exclusions.yaml``) gives a
reason, and *uncovered* when nothing accounts for it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, XSD

from ..namespace import COPROD
from ..project import InputError
from .profile import OA_EXACT, SOURCE_LINE, curie
from .sources import Source, normalise

NUMBER = re.compile(r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)(?!\d)")
FINDING = URIRef(COPROD + "Finding")
NUMERIC_TYPES = {XSD.integer, XSD.decimal, XSD.double, XSD.float, XSD.nonNegativeInteger,
                 XSD.positiveInteger}


@dataclass(frozen=True)
class Number:
    line: int
    token: str
    status: str  # held, excluded or uncovered
    by: str  # the finding(s) holding it, or the exclusion's reason

    @property
    def value(self) -> Decimal:
        return Decimal(self.token.replace(",", "")).normalize()


@dataclass(frozen=True)
class Exclusion:
    reason: str
    lines: tuple[int, int] | None = None
    number: str | None = None
    pattern: re.Pattern | None = None

    def covers(self, line: int, token: str) -> bool:
        if self.lines and not self.lines[0] <= line <= self.lines[1]:
            return False
        if self.number is not None and token != self.number:
            return False
        if self.pattern is not None and not self.pattern.fullmatch(token):
            return False
        return True


def exclusions_path(project, source: Source) -> Path:
    return project.root / "data" / "sources" / f"{source.slug}-exclusions.yaml"


def read_exclusions(path: Path) -> list[Exclusion]:
    """Read an exclusion list; raises InputError naming the entry that is malformed."""
    from .templates import read_yaml

    if not path.is_file():
        return []
    document = read_yaml(path)
    found = []
    for index, entry in enumerate(document.data.get("exclusions") or []):
        where = document.where(("exclusions", index))
        if not isinstance(entry, dict) or not entry.get("reason"):
            raise InputError(path, f"{where}: each exclusion needs a `reason`")
        unknown = set(entry) - {"reason", "line", "lines", "number", "pattern"}
        if unknown:
            raise InputError(path, f"{where}: unknown field(s) {', '.join(sorted(unknown))} "
                             "(fields: reason, line, lines, number, pattern)")
        lines = None
        if entry.get("line") is not None:
            lines = (int(entry["line"]), int(entry["line"]))
        elif entry.get("lines"):
            match = re.fullmatch(r"\s*(\d+)\s*-\s*(\d+)\s*", str(entry["lines"]))
            if not match:
                raise InputError(path, f"{where}: `lines` is a range such as 752-798")
            lines = (int(match.group(1)), int(match.group(2)))
        pattern = None
        if entry.get("pattern"):
            try:
                pattern = re.compile(str(entry["pattern"]))
            except re.error as error:
                raise InputError(path, f"{where}: bad pattern: {error}") from None
        if lines is None and pattern is None and entry.get("number") is None:
            raise InputError(path, f"{where}: say which numbers: `line`, `lines`, `number` "
                             "or `pattern`")
        number = str(entry["number"]) if entry.get("number") is not None else None
        found.append(Exclusion(str(entry["reason"]), lines, number, pattern))
    return found


def _numbers_of(graph: Graph, node) -> set[Decimal]:
    values = set()
    for _, _, value in graph.triples((node, None, None)):
        if not isinstance(value, Literal):
            continue
        if value.datatype in NUMERIC_TYPES:
            try:
                values.add(Decimal(str(value)).normalize())
            except InvalidOperation:
                pass
        elif value.datatype == XSD.duration:
            values.update(Decimal(n).normalize() for n in re.findall(r"\d+(?:\.\d+)?", str(value)))
    return values


def holders(graph: Graph, source: Source) -> dict[tuple[int, Decimal], set[str]]:
    """(line, value) -> the findings that hold that value with a quote on that line."""
    text = source.text
    held: dict[tuple[int, Decimal], set[str]] = {}
    for finding in set(graph.subjects(RDF.type, FINDING)):
        nodes = [finding] + [o for o in graph.objects(finding) if not isinstance(o, Literal)
                             and (o, OA_EXACT, None) not in graph]
        values = set().union(*(_numbers_of(graph, n) for n in nodes))
        if not values:
            continue
        quotes = {q for n in nodes for q in graph.objects(n) if (q, OA_EXACT, None) in graph}
        for quote in quotes:
            exact = normalise(str(graph.value(quote, OA_EXACT)))
            stated = graph.value(quote, SOURCE_LINE)
            starts = [s for s in text.starts(exact)
                      if stated is None or text.line_at(s) == int(stated)]
            for start in starts:
                for match in NUMBER.finditer(exact):
                    value = Decimal(match.group(1).replace(",", "")).normalize()
                    if value in values:
                        line = text.line_at(start + match.start())
                        held.setdefault((line, value), set()).add(curie(finding))
    return held


def coverage(graph: Graph, source: Source, exclusions: list[Exclusion]) -> list[Number]:
    """Every number printed in the source's text, held, excluded or uncovered, in text order."""
    held = holders(graph, source)
    numbers = []
    for line_number, line in enumerate(source.text.raw_lines, start=1):
        for match in NUMBER.finditer(line):
            token = match.group(1)
            value = Decimal(token.replace(",", "")).normalize()
            by = held.get((line_number, value))
            if by:
                numbers.append(Number(line_number, token, "held", ", ".join(sorted(by))))
                continue
            reason = next((e.reason for e in exclusions if e.covers(line_number, token)), None)
            numbers.append(Number(line_number, token, "excluded" if reason else "uncovered",
                                  reason or ""))
    return numbers
