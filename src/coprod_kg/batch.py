"""Answer a question for every value of its parameter with one query instead of one per value.

A build answers ``14-study-profile`` once per study: at K copies of the report that is 15 K
queries, each joining over the graph, so the whole grows with the square of the corpus. When the
question projects its parameter's variable, the same text run once with the variable free gives
every value's rows at once (pre-binding a variable that every pattern uses is a join on it), and
the rows are split by that column. Rows keep the query's ORDER BY within each value.

The grouped query runs in the same killable worker as ``query.run`` (``worker.call``): past its
timeout it is stopped and its memory freed, and the row cap holds for each value's answer.
"""

from __future__ import annotations

import re

import pyoxigraph as ox

from .query import (CONFIGURED, PARAM_KINDS, PREFIXES, _LIMITS, Query, QueryError, Result,
                    _oxigraph_answer, _refuse_describe, _syntax_error, _value, _work,
                    bind_params, check_timeout, refuse_unsafe, run, worker_error)


def groupable(query: Query) -> bool:
    """Whether one free run can answer every value: one IRI-valued parameter, projected."""
    if len(query.params) != 1 or PARAM_KINDS[query.params[0].kind][0] is None:
        return False
    code = "\n".join(line for line in query.text.split("\n") if not line.lstrip().startswith("#"))
    projection = re.search(r"\bSELECT\b(.*?)\bWHERE\b", code, re.IGNORECASE | re.DOTALL)
    if projection is None:
        return False
    return re.search(rf"[?$]{re.escape(query.params[0].name)}\b", projection.group(1)) is not None


def _grouped_rows(store: ox.Store, query: Query, name: str, space: str, max_rows: int):
    """Run in the worker: the columns, and the rows of each slug of ``space`` in column ``name``."""
    from .worker import RowLimitReached

    try:
        solutions = store.query(query.text, prefixes=PREFIXES)
    except SyntaxError as error:
        raise _syntax_error(query, error) from None
    except (OSError, RuntimeError, ValueError, TypeError) as error:
        raise QueryError(f"{query.path}: {error}") from None
    if not isinstance(solutions, ox.QuerySolutions):
        raise QueryError(f"{query.path}: a grouped question must be a SELECT")
    columns = [variable.value for variable in solutions.variables]
    by_value: dict[str, list[dict]] = {}
    try:
        for solution in solutions:
            key = solution[name]
            if not (isinstance(key, ox.NamedNode) and key.value.startswith(space)):
                continue  # a node of another kind that only the free variable could match
            rows = by_value.setdefault(key.value[len(space):], [])
            if len(rows) >= max_rows:
                raise RowLimitReached(max_rows)
            rows.append({c: _value(solution[c]) for c in columns})
    except (OSError, RuntimeError, ValueError, TypeError) as error:
        raise QueryError(f"{query.path}: {error}") from None
    return columns, by_value


def answer_grouped(query: Query, store: ox.Store, sets: list[dict[str, str]],
                   timeout: float | None = CONFIGURED) -> dict[tuple, Result]:
    """The answer for each parameter set, keyed by ``tuple(params.items())``.

    Falls back to one run per set when the query cannot be grouped or ``store`` is not an
    embedded store. Raises QueryError (QueryLimitError past the timeout, the memory limit or a
    value's row cap) as ``query.run`` does.
    """
    if not groupable(query) or not isinstance(store, ox.Store):
        from .engines import run as run_anywhere

        return {tuple(params.items()): run_anywhere(query, store, params, timeout=timeout)
                for params in sets}
    timeout = check_timeout(timeout)
    _refuse_describe(query, refuse_unsafe(query, timeout=timeout))
    name = query.params[0].name
    space = PARAM_KINDS[query.params[0].kind][1]
    outcome = _work(query, _grouped_rows, timeout, store, query, name, space,
                    _LIMITS["max_rows"])
    columns, by_value = outcome.columns, outcome.rows
    return {tuple(params.items()): Result(query, columns, by_value.get(params[name], []))
            for params in sets}


def _do(item):
    """Run in the worker: one piece of work of answer_all_grouped."""
    function, args = item
    return function(*args)


def answer_all_grouped(jobs: list[tuple[Query, list[dict[str, str]]]], store,
                       timeout: float | None = CONFIGURED) -> list[dict[tuple, Result]]:
    """``answer_grouped`` for every (query, parameter sets), all in one worker.

    Every query is vetted and its parameters bound here first, then the worker runs them one
    after another (``worker.call_each``), each with its own timeout, memory limit and row cap as
    in ``query.run``: past its limit the worker is killed and its memory freed. One worker for
    all spares a fork (and its copy of the page tables) per question. Raises QueryError, or
    QueryLimitError naming the query that was stopped.
    """
    from . import worker

    if not isinstance(store, ox.Store):
        return [answer_grouped(query, store, sets, timeout=timeout) for query, sets in jobs]
    timeout = check_timeout(timeout)
    items: list[tuple] = []
    owners: list[Query] = []
    for query, sets in jobs:
        _refuse_describe(query, refuse_unsafe(query, timeout=timeout))
        if groupable(query):
            param = query.params[0]
            items.append((_grouped_rows, (store, query, param.name, PARAM_KINDS[param.kind][1],
                                          _LIMITS["max_rows"])))
            owners.append(query)
            continue
        for params in sets:
            substitutions = {ox.Variable(name): term
                             for name, term in bind_params(query, store, params).items()}
            items.append((_oxigraph_answer, (store, query, substitutions, _LIMITS["max_rows"])))
            owners.append(query)
    try:
        outcomes = worker.call_each(_do, items, timeout=timeout,
                                    memory_mb=_LIMITS["memory_mb"] or worker.DEFAULT_MEMORY_MB)
    except worker.Stopped as stop:
        _raise(owners[stop.index], stop.error)
    answers, at = [], 0
    for query, sets in jobs:
        if groupable(query):
            columns, by_value = _unpack(query, outcomes[at])
            at += 1
            name = query.params[0].name
            answers.append({tuple(params.items()): Result(query, columns,
                                                          by_value.get(params[name], []))
                            for params in sets})
            continue
        found = {}
        for params in sets:
            columns, rows = _unpack(query, outcomes[at])
            at += 1
            found[tuple(params.items())] = Result(query, columns, rows)
        answers.append(found)
    return answers


def _unpack(query: Query, outcome: tuple):
    kind, value = outcome
    if kind == "error":
        _raise(query, value)
    return value


def _raise(query: Query, error: BaseException):
    """Raise a worker's error as query.run would have raised it."""
    raise worker_error(query, error) from None
