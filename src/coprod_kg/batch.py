"""Answer a question for every value of its parameter with one query instead of one per value.

A build answers ``14-study-profile`` once per study: at K copies of the report that is 15 K
queries, each joining over the graph, so the whole grows with the square of the corpus. When the
question projects its parameter's variable, the same text run once with the variable free gives
every value's rows at once (pre-binding a variable that every pattern uses is a join on it), and
the rows are split by that column. Rows keep the query's ORDER BY within each value.
"""

from __future__ import annotations

import pyoxigraph as ox

from .query import PARAM_KINDS, PREFIXES, Query, QueryError, Result, _value, refuse_unsafe, run


def groupable(query: Query) -> bool:
    """Whether one free run can answer every value: one IRI-valued parameter, projected."""
    if len(query.params) != 1 or PARAM_KINDS[query.params[0].kind][0] is None:
        return False
    head = query.text.upper().split("WHERE", 1)[0]
    return f"?{query.params[0].name.upper()}" in head.split("SELECT", 1)[-1]


def answer_grouped(query: Query, store: ox.Store, sets: list[dict[str, str]]) -> dict[tuple, Result]:
    """The answer for each parameter set, keyed by ``tuple(params.items())``.

    Falls back to one run per set when the query cannot be grouped. Raises QueryError as
    ``query.run`` does.
    """
    if not groupable(query):
        return {tuple(params.items()): run(query, store, params) for params in sets}
    refuse_unsafe(query)
    name = query.params[0].name
    space = PARAM_KINDS[query.params[0].kind][1]
    try:
        solutions = store.query(query.text, prefixes=PREFIXES)
    except SyntaxError as error:
        raise QueryError(f"{query.path}: {error}") from None
    columns = [variable.value for variable in solutions.variables]
    by_value: dict[str, list[dict]] = {}
    for solution in solutions:
        key = solution[name]
        slug = key.value[len(space):] if isinstance(key, ox.NamedNode) else None
        by_value.setdefault(slug, []).append({c: _value(solution[c]) for c in columns})
    return {tuple(params.items()): Result(query, columns, by_value.get(params[name], []))
            for params in sets}
