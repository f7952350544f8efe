"""What changed between two releases: findings, codings and quotes added, removed or changed.

Two asserted graphs are compared node by node: a node is *changed* when the triples it is the
subject of differ (a value, a status, a quote it points at). Blank nodes are not compared; the
claims are all IRIs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox

COPROD = "https://w3id.org/coprod-kg/ontology#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
EXACT = "http://www.w3.org/ns/oa#exact"
KINDS = {"findings": COPROD + "Finding", "codings": COPROD + "PrincipleCoding",
         "quotes": COPROD + "Quote"}


@dataclass
class KindChanges:
    added: list[tuple[str, str]] = field(default_factory=list)    # (IRI, label)
    removed: list[tuple[str, str]] = field(default_factory=list)
    changed: list[tuple[str, str]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.added) + len(self.removed) + len(self.changed)


@dataclass
class Diff:
    old_triples: int
    new_triples: int
    kinds: dict[str, KindChanges]

    @property
    def empty(self) -> bool:
        return not any(k.total for k in self.kinds.values())


def read_triples(path: Path) -> set[tuple]:
    """The triples of an RDF file (any format pyoxigraph reads from its suffix), as strings."""
    triples = set()
    for quad in ox.parse(path=str(path), base_iri="https://w3id.org/coprod-kg/"):
        triples.add((str(quad.subject), quad.predicate.value, str(quad.object)))
    return triples


def _index(triples: set[tuple]) -> dict[str, set]:
    by_subject: dict[str, set] = {}
    for s, p, o in triples:
        by_subject.setdefault(s, set()).add((p, o))
    return by_subject


def _label(description: set) -> str:
    for wanted in (LABEL, EXACT):
        values = sorted(o for p, o in description if p == wanted)
        if values:
            text = ox.parse(f"<x:s> <x:p> {values[0]} .".encode(), format=ox.RdfFormat.N_TRIPLES)
            value = next(iter(text)).object.value
            return value if len(value) <= 100 else value[:97] + "..."
    return ""


def diff(old: set[tuple], new: set[tuple]) -> Diff:
    """Compare two graphs given as sets of N-Triples-style string triples."""
    before, after = _index(old), _index(new)
    kinds = {}
    for name, cls in KINDS.items():
        typed = f"<{cls}>"
        was = {s for s, d in before.items() if (RDF_TYPE, typed) in d}
        now = {s for s, d in after.items() if (RDF_TYPE, typed) in d}
        changes = KindChanges()
        for node in sorted(now - was):
            changes.added.append((node.strip("<>"), _label(after[node])))
        for node in sorted(was - now):
            changes.removed.append((node.strip("<>"), _label(before[node])))
        for node in sorted(now & was):
            if before[node] != after[node]:
                changes.changed.append((node.strip("<>"), _label(after[node])))
        kinds[name] = changes
    return Diff(len(old), len(new), kinds)


def _markdown_text(text: str) -> str:
    """Label text that a Markdown viewer shows as text, never as HTML or a table break."""
    text = " ".join(text.split())
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def markdown_entry(result: Diff, version: str, date: str, previous: str | None) -> str:
    """A CHANGELOG section for ``version``, counted and listed."""
    if previous:
        summary = (f"Data changes since {previous}: {result.old_triples} → {result.new_triples} "
                   "asserted triples.")
    else:
        summary = (f"First release, nothing to compare with: {result.new_triples} asserted "
                   "triples, all listed as added.")
    lines = [f"## {version} ({date})", "", summary, ""]
    lines.append("| | added | removed | changed |")
    lines.append("|---|---:|---:|---:|")
    for name, changes in result.kinds.items():
        lines.append(f"| {name} | {len(changes.added)} | {len(changes.removed)} | "
                     f"{len(changes.changed)} |")
    lines.append("")
    for name, changes in result.kinds.items():
        for verb, items in (("added", changes.added), ("removed", changes.removed),
                            ("changed", changes.changed)):
            if not items:
                continue
            lines.append(f"### {name.capitalize()} {verb} ({len(items)})")
            lines.append("")
            for iri, label in items:
                lines.append(f"- `{iri}`" + (f": {_markdown_text(label)}" if label else ""))
            lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"
