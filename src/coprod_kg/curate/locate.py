"""Find a pasted span in a source: its line and section, or the nearest passage and the diff."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from .sources import Section, Source, SourceText, normalise

QUOTE_MARKS = set("'’‘`\"“”„«»′″")
DASHES = set("-‐‑‒–—―−")


@dataclass(frozen=True)
class Match:
    line: int
    section: Section | None
    offset: int


@dataclass
class Nearest:
    passage: str
    line: int
    section: Section | None
    score: float
    differences: list[str] = field(default_factory=list)


@dataclass
class Location:
    """Where a pasted text stands in a source, or the passage nearest to it."""

    text: str
    matches: list[Match]
    nearest: Nearest | None = None

    @property
    def found(self) -> bool:
        return bool(self.matches)


def _section(source: Source | None, line: int) -> Section | None:
    if source is None:
        return None
    sections = source.sections_at(line)
    return sections[0] if sections else None


def nearest_passage(text: SourceText, pasted: str) -> tuple[int, int, float]:
    """The start, end and similarity (0-100) of the passage most like ``pasted``."""
    from rapidfuzz import fuzz

    needle = normalise(pasted)
    found = fuzz.partial_ratio_alignment(needle, text.text)
    if found is None:
        return 0, 0, 0.0
    start, end = found.dest_start, found.dest_end
    # Widen the aligned passage to whole words so the diff reads as words.
    while start > 0 and not text.text[start - 1].isspace():
        start -= 1
    while end < len(text.text) and not text.text[end].isspace() and text.text[end - 1:end].isalnum():
        end += 1
    return start, end, float(found.score)


def _kind(ours: str, theirs: str) -> str:
    both = ours + theirs
    if not both.strip():
        return "whitespace"
    if both and set(both) <= QUOTE_MARKS | {" "}:
        return "quote marks (curly and straight quotes differ)"
    if both and set(both) <= DASHES | {" "}:
        return "hyphenation or dash"
    if not ours.strip():
        return "missing from the quote"
    if not theirs.strip():
        return "not in the source"
    return "changed word"


def _merged_spans(quote: str, passage: str) -> list[list[int]]:
    """The differing spans, with spans joined when only part of a word lies between them."""
    matcher = difflib.SequenceMatcher(None, quote, passage, autojunk=False)
    spans: list[list[int]] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        if spans:
            gap = quote[spans[-1][1]:i1]
            if len(gap) <= 3 and gap.isalnum():
                spans[-1][1], spans[-1][3] = i2, j2
                continue
        spans.append([i1, i2, j1, j2])
    return spans


def differences(quote: str, passage: str) -> list[str]:
    """Say where a quote and a passage differ, word by word: quote marks, dashes, spacing, words."""
    quote = normalise(quote)
    found = []
    for i1, i2, j1, j2 in _merged_spans(quote, passage):
        ours, theirs = quote[i1:i2], passage[j1:j2]
        kind = _kind(ours, theirs)
        inside_word = (i1 > 0 and quote[i1 - 1].isalnum()) or (i2 < len(quote) and
                                                                quote[i2:i2 + 1].isalnum())
        if kind == "changed word" or (inside_word and (ours + theirs).strip().isalnum()):
            while i1 > 0 and quote[i1 - 1].isalnum():
                i1 -= 1
            while i2 < len(quote) and quote[i2].isalnum():
                i2 += 1
            while j1 > 0 and passage[j1 - 1].isalnum():
                j1 -= 1
            while j2 < len(passage) and passage[j2].isalnum():
                j2 += 1
            ours, theirs, kind = quote[i1:i2], passage[j1:j2], "changed word"
        found.append(f"{kind}: the quote has {ours!r} where the source has {theirs!r} "
                     f"(character {i1 + 1})")
    return found


def locate(source: Source | SourceText, pasted: str) -> Location:
    """Find every place ``pasted`` stands verbatim (whitespace aside), or the nearest passage."""
    text = source.text if isinstance(source, Source) else source
    owner = source if isinstance(source, Source) else None
    starts = text.starts(pasted)
    matches = [Match(text.line_at(s), _section(owner, text.line_at(s)), s) for s in starts]
    location = Location(normalise(pasted), matches)
    if not matches and location.text:
        start, end, score = nearest_passage(text, pasted)
        passage = text.text[start:end]
        line = text.line_at(start)
        location.nearest = Nearest(passage, line, _section(owner, line), score,
                                   differences(pasted, passage))
    return location


def describe(location: Location, source_name: str = "the source") -> str:
    """A curator's explanation of a location: where it is, or what the nearest passage is."""
    if location.found:
        parts = []
        for match in location.matches:
            where = f"line {match.line}"
            if match.section is not None:
                where += f", section {match.section.label} ({match.section.iri.rsplit('/', 1)[-1]})"
            parts.append(where)
        return f"found in {source_name} at " + "; ".join(parts)
    near = location.nearest
    if near is None:
        return f"not in {source_name} (nothing to compare: the text is empty)"
    lines = [f"not a verbatim span of {source_name}; the closest passage "
             f"({near.score:.0f}% alike) is at line {near.line}"
             + (f", section {near.section.iri.rsplit('/', 1)[-1]}" if near.section else "")
             + f": {near.passage!r}"]
    lines += [f"  - {difference}" for difference in near.differences[:8]]
    if len(near.differences) > 8:
        lines.append(f"  - ... and {len(near.differences) - 8} more difference(s)")
    return "\n".join(lines)
