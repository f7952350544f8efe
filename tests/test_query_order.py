"""Every ORDER BY in queries/ is total on the project's data: no two different rows tie.

A tie shows up without knowing the engine: append every projected variable to the ORDER BY,
once ascending and once descending. Where the original order is total the extra keys never
decide anything (rows equal on all of them are the same row), so both variants return the
original order; where two rows tie, the two variants put them in opposite orders.
"""

from __future__ import annotations

import re

import pytest

from coprod_kg.query import discover, parameter_sets, run

from conftest import ROOT

QUERIES = discover(ROOT / "queries") + discover(ROOT / "queries" / "checks")
ORDER_BY = re.compile(r"ORDER\s+BY\s", re.IGNORECASE)
TAIL = re.compile(r"\s(LIMIT|OFFSET)\s+\d+.*$", re.IGNORECASE | re.DOTALL)


def with_tiebreak(text: str, columns: list[str], descending: bool) -> str:
    """The query with every projected variable appended to its last ORDER BY."""
    starts = [m.start() for m in ORDER_BY.finditer(text)]
    assert starts, "no ORDER BY"
    head, clause = text[:starts[-1]], text[starts[-1]:]
    tail_match = TAIL.search(clause)
    tail = tail_match.group(0) if tail_match else ""
    clause = clause[:len(clause) - len(tail)].rstrip()
    keys = " ".join(f"DESC(?{c})" if descending else f"ASC(?{c})" for c in columns)
    return f"{head}{clause} {keys}{tail}\n"


def test_every_query_has_an_order_by():
    assert [q.name for q in QUERIES if not ORDER_BY.search(q.text)] == []




@pytest.mark.parametrize("query", QUERIES, ids=[q.path.relative_to(ROOT).as_posix() for q in QUERIES])
def test_order_by_is_total(query, store):
    for params in parameter_sets(query, store):
        original = run(query, store, params)
        rows = [tuple(str(row[c]) for c in original.columns) for row in original.rows]
        for descending in (False, True):
            variant = query.replace(text=with_tiebreak(query.text, original.columns, descending))
            again = run(variant, store, params)
            other = [tuple(str(row[c]) for c in again.columns) for row in again.rows]
            assert other == rows, (f"{query.name} {params}: rows tie under ORDER BY; the "
                                   f"{'descending' if descending else 'ascending'} tiebreak "
                                   "reorders them")


def test_the_tiebreak_finds_a_tie(store, tmp_path):
    # Many claims share one status ("stated"), so ordering by status alone ties.
    path = tmp_path / "tie.rq"
    path.write_text("# title: tie\n# question: q\n# section: s\n# params: (none)\n"
                    "PREFIX coprod: <https://w3id.org/coprod-kg/ontology#>\n"
                    "SELECT ?coding ?status WHERE { ?coding coprod:status ?status } "
                    "ORDER BY ?status\n")
    from coprod_kg.query import parse_query_file

    query = parse_query_file(path)
    original = run(query, store)
    asc = run(query.replace(text=with_tiebreak(query.text, original.columns, False)), store)
    desc = run(query.replace(text=with_tiebreak(query.text, original.columns, True)), store)
    assert [r["coding"] for r in asc.rows] != [r["coding"] for r in desc.rows]
