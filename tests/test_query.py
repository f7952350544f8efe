"""The question library: headers, expected answers from the report, both engines, safe parameters."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from coprod_kg.query import (QueryError, discover, find_query, parse_query_file, run,
                             run_rdflib)
from coprod_kg.tables import compact

from conftest import CASES, EXPECTED, ROOT

QUERIES = sorted((ROOT / "queries").glob("*.rq"))
CHECKS = sorted((ROOT / "queries" / "checks").glob("*.rq"))


def project_rows(result, columns):
    return [tuple(compact(row.get(c)) for c in columns) for row in result.rows]


def wildcard_match(expected, actual):
    return all(e is None or e == a for e, a in zip(expected, actual))


@pytest.mark.parametrize("path", QUERIES + CHECKS, ids=[p.name for p in QUERIES + CHECKS])
def test_every_query_has_a_header(path):
    query = parse_query_file(path)
    needed = ("title", "problem", "fix", "severity") if path.parent.name == "checks" \
        else ("title", "question", "section")
    for key in needed:
        assert query.header.get(key), f"{path.name} lacks '# {key}:'"


def test_every_report_query_has_an_expected_answer():
    assert {p.stem for p in QUERIES} == {p.stem for p in EXPECTED.glob("*.json")}
    assert len(QUERIES) >= 17


@pytest.mark.parametrize("path", QUERIES, ids=[p.name for p in QUERIES])
def test_query_matches_the_report(path, store):
    spec = json.loads((EXPECTED / f"{path.stem}.json").read_text())
    result = run(parse_query_file(path), store, spec.get("params"))
    rows = project_rows(result, spec["columns"])
    expected = [tuple(r) for r in spec["rows"]]
    match = spec["match"]
    if match == "exact":
        assert (rows if spec.get("ordered") else sorted(rows)) == \
            (expected if spec.get("ordered") else sorted(expected))
    elif match == "exact-set":
        assert set(rows) == set(expected)
    elif match == "contains":
        missing = [r for r in expected if r not in set(rows)]
        assert not missing, f"{path.name}: missing {missing} ({spec['source']})"
    elif match == "ordered-prefix":
        assert rows[: len(expected)] == expected, spec["source"]
    else:
        pytest.fail(f"unknown match {match}")
    for wanted in spec.get("also_contains", []):
        assert any(wildcard_match(wanted, r) for r in rows), f"{path.name}: no row like {wanted}"
    for gap, first in spec.get("first_in_group", {}).items():
        group = [r for r in rows if r[0] == gap]
        assert group and group[0][1] == first
    if "notes" in spec:
        notes = {compact(row["note"]) for row in result.rows}
        assert set(spec["notes"]) <= notes


@pytest.mark.parametrize("path", QUERIES, ids=[p.name for p in QUERIES])
def test_rdflib_and_oxigraph_give_the_same_answers(path, store, closure):
    spec = json.loads((EXPECTED / f"{path.stem}.json").read_text())
    query = parse_query_file(path)
    fast = run(query, store, spec.get("params"))
    slow = run_rdflib(query, closure.graph, spec.get("params"))
    assert fast.columns == slow.columns

    def canonical(result):
        return sorted(tuple(compact(row[c]) for c in result.columns) for row in result.rows)
    assert canonical(fast) == canonical(slow)


@pytest.mark.parametrize("path", CHECKS, ids=[p.name for p in CHECKS])
def test_check_passes_on_the_project(path, store):
    assert run(parse_query_file(path), store).rows == []


def test_a_hostile_parameter_cannot_change_the_query(store):
    query = find_query(ROOT / "queries", "principle-outcome-paths")
    for hostile in ['networks" } UNION { ?s ?p ?o', "networks> } UNION { ?s ?p ?o } #",
                    'x" || true || "', "}"]:
        with pytest.raises(QueryError, match="unknown principle"):
            run(query, store, {"principle": hostile})


def test_a_hostile_text_parameter_is_just_text(store, tmp_path):
    path = tmp_path / "echo.rq"
    path.write_text("# title: echo\n# param: word (text): any text\n"
                    "SELECT ?word ?n WHERE { BIND(STRLEN(?word) AS ?n) }\n")
    hostile = '" } UNION { ?s ?p ?o } #'
    result = run(parse_query_file(path), store, {"word": hostile})
    assert len(result.rows) == 1 and result.rows[0]["word"] == hostile


def test_unknown_names_list_the_choices(store):
    with pytest.raises(QueryError, match="the queries are: 01-principle-prevalence"):
        find_query(ROOT / "queries", "no-such-question")
    paths = find_query(ROOT / "queries", "principle-outcome-paths")
    with pytest.raises(QueryError, match="choose one of: assets, blurring-boundaries"):
        run(paths, store, {"principle": "kindness"})
    with pytest.raises(QueryError, match="needs --param principle"):
        run(paths, store, {})
    with pytest.raises(QueryError, match="has no parameter colour"):
        run(paths, store, {"principle": "networks", "colour": "red"})


def test_syntax_error_names_file_line_and_column(store):
    with pytest.raises(QueryError) as caught:
        run(parse_query_file(CASES / "bad-syntax.rq"), store)
    assert "bad-syntax.rq:" in str(caught.value)
    location = str(caught.value).split("bad-syntax.rq:")[1].split(":")[:2]
    assert location[0].isdigit() and location[1].isdigit()


def test_service_is_refused_before_running(store):
    with pytest.raises(QueryError, match="SERVICE is not allowed"):
        run(parse_query_file(CASES / "service.rq"), store)


def test_keywords_inside_strings_and_names_are_harmless(store, tmp_path):
    path = tmp_path / "harmless.rq"
    path.write_text('# title: harmless\nPREFIX ex: <http://example.org/SERVICE/>\n'
                    'SELECT ?x WHERE { BIND("SERVICE <x> DELETE" AS ?x) }  # SERVICE\n')
    assert run(parse_query_file(path), store).rows[0]["x"] == "SERVICE <x> DELETE"


def test_a_runaway_query_stops_at_the_timeout(store):
    # Through the CLI: a query stopped by a limit exits 3 (see also test_worker.py).
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "coprod_kg", "query", str(CASES / "runaway.rq"),
                           "--timeout", "1"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 3
    assert "stopped after 1 s" in done.stderr and "Traceback" not in done.stderr


# A sub-select evaluated apart from the outer group; the parameter is ?x. Each case says whether
# the parameter may be bound again inside it without changing the answer.
_P = "<http://e/p>"
_SUBSELECTS = [
    (True, f"SELECT ?x ?n WHERE {{ {{ SELECT ?x (COUNT(?y) AS ?n) WHERE {{ ?x {_P} ?y }} "
           "GROUP BY ?x } }"),
    (True, f"SELECT ?x ?y WHERE {{ ?x {_P} ?z . OPTIONAL {{ SELECT ?x ?y {{ ?y {_P} ?x }} }} }}"),
    (True, f"SELECT ?x ?y WHERE {{ {{ {{ SELECT ?x ?y WHERE {{ ?x {_P} ?y }} }} }} }}"),
    # the variable only under an OPTIONAL: a row without it joins with any value
    (False, f"SELECT ?x ?n WHERE {{ {{ SELECT ?x (COUNT(*) AS ?n) WHERE {{ ?z {_P} ?y "
            f"OPTIONAL {{ ?y {_P} ?x }} }} GROUP BY ?x }} }}"),
    # grouped by another key, limited, or aggregated over all rows: its answer depends on the rest
    (False, f"SELECT ?x ?n WHERE {{ ?x {_P} ?w . {{ SELECT ?w (COUNT(?x) AS ?n) WHERE "
            f"{{ ?x {_P} ?w }} GROUP BY ?w }} }}"),
    (False, f"SELECT ?x WHERE {{ {{ SELECT ?x WHERE {{ ?x {_P} ?y }} ORDER BY ?y LIMIT 1 }} }}"),
    (False, f"SELECT ?x WHERE {{ {{ SELECT (MIN(?s) AS ?x) WHERE {{ ?s {_P} ?y }} }} }}"),
    (True, f"SELECT ?x ?n WHERE {{ {{ SELECT ?x (COUNT(*) AS ?n) WHERE {{ ?x {_P} ?y }} "
           "GROUP BY ?x HAVING (COUNT(*) > 1) } }"),
    # a branch of a UNION, and an OPTIONAL whose left side need not bind ?x
    (False, f"SELECT ?x WHERE {{ {{ SELECT ?x WHERE {{ ?x {_P} ?y }} }} UNION {{ ?x {_P} 1 }} }}"),
    (False, f"SELECT ?x ?z WHERE {{ {{ ?z {_P} ?w OPTIONAL {{ SELECT ?x ?w WHERE "
            f"{{ ?x {_P} ?w }} }} }} }}"),
    # words in a string are not a sub-select
    (False, f'SELECT ?x WHERE {{ ?x {_P} "{{ SELECT ?x WHERE {{ ?x {_P} ?y }} }}" }}'),
]


@pytest.mark.parametrize("pushed, text", _SUBSELECTS)
def test_a_parameter_is_bound_inside_a_subselect_only_where_the_answer_stays(pushed, text):
    import pyoxigraph as ox

    from coprod_kg.query import bind_in_subselects

    e = "http://e/"
    store = ox.Store()
    for s, o in [("a", "b"), ("a", "c"), ("b", "a"), ("d", "a"), ("d", "b"), ("c", "d")]:
        store.add(ox.Quad(ox.NamedNode(e + s), ox.NamedNode(e + "p"), ox.NamedNode(e + o)))
    store.add(ox.Quad(ox.NamedNode(e + "a"), ox.NamedNode(e + "p"), ox.Literal(1)))
    bound = {ox.Variable("x"): ox.NamedNode(e + "a")}
    rewritten = bind_in_subselects(text, bound)
    assert (rewritten != text) is pushed
    if pushed:  # the binding opens the sub-select's own WHERE group
        assert rewritten.count("VALUES (?x) { (<http://e/a>) }") == 1
        assert rewritten.index("VALUES") > rewritten.index("SELECT", 1)

    def rows(query):
        return sorted(tuple(map(str, solution)) for solution in store.query(query, substitutions=bound))

    assert rows(rewritten) == rows(text)


def test_a_query_is_found_by_the_first_file_that_names_it(tmp_path):
    """The first file in name order whose name, short name, number or title is the one asked
    for; the files after it are not read, the files before it are."""
    (tmp_path / "01-first.rq").write_text("# title: 03-third\nASK {}\n")
    (tmp_path / "02-second.rq").write_text("# title: Second\n# param: bad line\nASK {}\n")
    (tmp_path / "03-third.rq").write_text("# title: Third\nASK {}\n")
    assert find_query(tmp_path, "first").name == "01-first"
    assert find_query(tmp_path, "1").name == "01-first"
    assert find_query(tmp_path, "03-third").name == "01-first"  # its title comes first
    with pytest.raises(QueryError, match="bad '# param:' line"):
        find_query(tmp_path, "third")  # 02-second is read on the way, and cannot be used
    with pytest.raises(QueryError, match="bad '# param:' line"):
        find_query(tmp_path, "no-such-question")
