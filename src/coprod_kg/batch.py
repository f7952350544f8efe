"""Answer a question for every value of its parameter with one query instead of one per value.

A build answers ``14-study-profile`` once per study: at K copies of the report that is 15 K
queries, each joining over the graph, so the whole grows with the square of the corpus. When the
question projects its parameter's variable, the same text run once with the variable free gives
every value's rows at once (pre-binding a variable that every pattern uses is a join on it), and
the rows are split by that column. Rows keep the query's ORDER BY within each value.
"""

from __future__ import annotations

import re

import pyoxigraph as ox

from .query import PARAM_KINDS, PREFIXES, Query, QueryError, Result, _value, refuse_unsafe, run


def groupable(query: Query) -> bool:
    """Whether one free run can answer every value: one IRI-valued parameter, projected."""
    if len(query.params) != 1 or PARAM_KINDS[query.params[0].kind][0] is None:
        return False
    code = "\n".join(line for line in query.text.split("\n") if not line.lstrip().startswith("#"))
    projection = re.search(r"\bSELECT\b(.*?)\bWHERE\b", code, re.IGNORECASE | re.DOTALL)
    if projection is None:
        return False
    return re.search(rf"[?$]{re.escape(query.params[0].name)}\b", projection.group(1)) is not None


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
        if not (isinstance(key, ox.NamedNode) and key.value.startswith(space)):
            continue  # a node of another kind that only the free variable could match
        slug = key.value[len(space):]
        by_value.setdefault(slug, []).append({c: _value(solution[c]) for c in columns})
    return {tuple(params.items()): Result(query, columns, by_value.get(params[name], []))
            for params in sets}
