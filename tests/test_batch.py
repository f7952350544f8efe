"""One grouped query gives each study's profile as the query per study does."""

from __future__ import annotations

from collections import Counter

from coprod_kg.batch import answer_grouped, groupable
from coprod_kg.query import discover, parameter_sets, run


def _multiset(rows):
    return Counter(tuple(sorted((k, repr(v)) for k, v in row.items())) for row in rows)


def test_grouped_answers_equal_one_query_per_value(project, store):
    """The same rows for every value. Rows that tie on every ORDER BY key (14-study-profile orders
    by aspect, item and line) may come in another order, as they may from any engine."""
    assert groupable(next(q for q in discover(project.queries_dir) if q.name == "14-study-profile"))
    for query in discover(project.queries_dir):
        if not query.params:
            continue
        sets = parameter_sets(query, store)
        grouped = answer_grouped(query, store, sets)
        for params in sets:
            one = run(query, store, params)
            answer = grouped[tuple(params.items())]
            assert answer.columns == one.columns
            assert _multiset(answer.rows) == _multiset(one.rows), (query.name, params)
            if query.name == "14-study-profile":
                keys = [(r["aspect"], r["item"], r["line"] if r["line"] is not None else -1)
                        for r in answer.rows]
                assert keys == sorted(keys)
