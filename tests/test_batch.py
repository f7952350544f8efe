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


def test_the_build_answers_every_value_as_one_run_per_value_does(project, store, tmp_path):
    """The build asks each parameterised question once for all values (batch.answer_grouped);
    its answer for every value is the answer of one run with that value, row for row, in order
    (the questions order their rows totally). Only the parameterised questions are asked here."""
    import shutil
    from types import SimpleNamespace

    from coprod_kg.build import answer_all

    for query in discover(project.queries_dir):
        if query.params:
            shutil.copy(query.path, tmp_path / query.path.name)
    answers = answer_all(SimpleNamespace(queries_dir=tmp_path), store)
    parameterised = [a for a in answers if a.params]
    asked = {a.query.name for a in parameterised}
    assert {"06-principle-outcome-paths", "14-study-profile", "24-outcome-evidence"} <= asked
    # Every study of the report gets its profile: the fifteen of Appendix 1.
    assert sum(a.query.name == "14-study-profile" for a in parameterised) == 15
    for answer in parameterised:
        one = run(answer.query, store, answer.params)
        assert answer.result.columns == one.columns, (answer.query.name, answer.params)
        assert answer.result.rows == one.rows, (answer.query.name, answer.params)
    assert any(a.result.rows for a in parameterised)


def test_a_grouped_question_past_its_timeout_is_stopped(project, store):
    """The grouped query runs in the killable worker: a runaway is stopped at its timeout."""
    import time

    import pytest

    from coprod_kg.query import Param, Query, QueryLimitError

    runaway = Query(project.queries_dir / "runaway.rq",
                    "PREFIX coprod: <https://w3id.org/coprod-kg/ontology#>\n"
                    # No row ever matches, so it runs long without growing: the time limit,
                    # not the memory limit, is what stops it.
                    "SELECT ?study ?x WHERE { ?study a coprod:ReviewedStudy . ?x ?p ?o . "
                    "?y ?q ?z . ?u ?v ?w FILTER (STR(?o) = CONCAT(STR(?z), STR(?w), \"~\")) }",
                    {"title": "runaway"},
                    [Param("study", "study", "a study")])
    assert groupable(runaway)
    sets = parameter_sets(runaway, store)
    started = time.monotonic()
    with pytest.raises(QueryLimitError, match="stopped after 1 s"):
        answer_grouped(runaway, store, sets, timeout=1)
    assert time.monotonic() - started < 10
