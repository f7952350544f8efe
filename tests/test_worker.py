"""Queries run in a worker that is killed at its limits: time, memory, rows; both engines alike."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from coprod_kg import worker
from coprod_kg.query import (QueryError, QueryLimitError, UnsafeQuery, parse_query_file, run,
                             run_rdflib, set_limits)

from conftest import CASES, ROOT, child_pids

CLI = [sys.executable, "-m", "coprod_kg"]


def children() -> set[int]:
    """The live (or unreaped) child processes of this test process."""
    return child_pids()


needs_proc = pytest.mark.skipif(not Path("/proc/self/stat").is_file(), reason="needs /proc")
needs_fork = pytest.mark.skipif(not worker.CAN_FORK, reason="needs fork")


@needs_fork
@needs_proc
@pytest.mark.parametrize("engine", ["oxigraph", "rdflib"])
def test_a_runaway_query_is_killed_at_its_timeout(engine, store, closure):
    query = parse_query_file(CASES / "runaway.rq")
    before = set(children())
    started = time.monotonic()
    with pytest.raises(QueryLimitError, match="stopped after 1 s"):
        if engine == "rdflib":
            run_rdflib(query, closure.graph, timeout=1)
        else:
            run(query, store, timeout=1)
    assert time.monotonic() - started < 2.0
    assert set(children()) - before == set(), "the worker outlived its timeout"


@needs_fork
@pytest.mark.parametrize("engine", ["oxigraph", "rdflib"])
def test_the_cli_returns_within_a_second_of_the_timeout(engine, store):
    def elapsed(*args):
        started = time.monotonic()
        done = subprocess.run([*CLI, "query", *args, "--engine", engine], cwd=ROOT,
                              capture_output=True, text=True, timeout=300)
        return time.monotonic() - started, done

    # What the same command costs without the query: start-up, and for rdflib reading the
    # closure. The runaway query may add its 1 s timeout and at most 1 s more.
    baseline, quick = elapsed(str(CASES / "ask.rq"))
    assert quick.returncode == 0, quick.stderr
    took, done = elapsed(str(CASES / "runaway.rq"), "--timeout", "1")
    assert done.returncode == 3, done.stderr
    assert "stopped after 1 s" in done.stderr and "Traceback" not in done.stderr
    assert took - baseline < 2.0, (took, baseline)


@needs_fork
def test_memory_is_bounded(store):
    set_limits(memory_mb=300)
    try:
        with pytest.raises(QueryLimitError, match="memory limit reached"):
            run(parse_query_file(CASES / "cartesian-order.rq"), store, timeout=60)
    finally:
        set_limits(memory_mb=worker.DEFAULT_MEMORY_MB)


def test_the_row_cap_stops_a_large_answer(store, closure, tmp_path):
    path = tmp_path / "all.rq"
    path.write_text("SELECT * WHERE { ?s ?p ?o }\n")
    set_limits(max_rows=50)
    try:
        for answer in (lambda q: run(q, store), lambda q: run_rdflib(q, closure.graph)):
            with pytest.raises(QueryLimitError, match="more than 50 rows"):
                answer(parse_query_file(path))
    finally:
        set_limits(max_rows=100_000)


def test_limits_exit_3_at_the_cli(store, capsys):
    from coprod_kg.cli import main

    assert main(["--max-rows", "3", "query", "principle-prevalence"]) == 3
    assert "row cap reached" in capsys.readouterr().err
    set_limits(max_rows=100_000)


@pytest.mark.parametrize("value,expected", [("inf", 0), ("1e12", 0), ("-1", 2), ("0", 2),
                                            ("nan", 2), ("soon", 2)])
def test_timeouts_that_are_not_a_positive_number(store, capsys, value, expected):
    from coprod_kg.cli import main

    assert main(["query", "principle-prevalence", "--timeout", value]) == expected
    err = capsys.readouterr().err
    assert "Traceback" not in err and "stopped after" not in err


# ---------------------------------------------------------------- both engines alike

def answer(engine, query, store, closure, params=None):
    if engine == "rdflib":
        return run_rdflib(query, closure.graph, params)
    return run(query, store, params)


@pytest.mark.parametrize("engine", ["oxigraph", "rdflib"])
def test_ask_gives_one_row(engine, store, closure):
    result = answer(engine, parse_query_file(CASES / "ask.rq"), store, closure)
    assert result.columns == ["answer"] and result.rows == [{"answer": True}]


def test_construct_gives_the_same_triples_on_both_engines(store, closure):
    query = parse_query_file(CASES / "construct.rq")
    fast, slow = (answer(e, query, store, closure) for e in ("oxigraph", "rdflib"))
    assert fast.columns == slow.columns == ["subject", "predicate", "object"]
    key = sorted(tuple(r.values()) for r in fast.rows)
    assert key == sorted(tuple(r.values()) for r in slow.rows)
    assert len(key) == 6  # the report's six principles (Table 1)


@pytest.mark.parametrize("case", ["describe.rq", "from-named.rq", "malformed.rq",
                                  "bad-syntax.rq", "service.rq"])
def test_both_engines_refuse_with_the_same_message(case, store, closure):
    query = parse_query_file(CASES / case)
    messages = []
    for engine in ("oxigraph", "rdflib"):
        with pytest.raises(QueryError) as caught:
            answer(engine, query, store, closure)
        messages.append(str(caught.value))
    assert messages[0] == messages[1]
    assert query.header["expect"] in messages[0]


@pytest.mark.parametrize("engine", ["oxigraph", "rdflib"])
def test_both_engines_exit_2_with_the_same_message_at_the_cli(engine, store, capsys):
    from coprod_kg.cli import main

    for case in ("describe.rq", "from-named.rq", "malformed.rq"):
        assert main(["query", str(CASES / case), "--engine", engine]) == 2
        err = capsys.readouterr().err
        assert parse_query_file(CASES / case).header["expect"] in err
        assert "Traceback" not in err


@pytest.mark.parametrize("engine", ["oxigraph", "rdflib"])
def test_an_integer_parameter_is_an_xsd_integer(engine, store, closure):
    result = answer(engine, parse_query_file(CASES / "integer-param.rq"), store, closure,
                    {"n": "+41"})
    assert result.rows == [{"n": 41, "type": "http://www.w3.org/2001/XMLSchema#integer",
                            "next": 42}]


@pytest.mark.parametrize("digits", ["٣", "１２", "4²", "1_000", "0x10", ""])
@pytest.mark.parametrize("engine", ["oxigraph", "rdflib"])
def test_an_integer_parameter_takes_ascii_digits_only(engine, digits, store, closure):
    with pytest.raises(QueryError, match="digits 0-9"):
        answer(engine, parse_query_file(CASES / "integer-param.rq"), store, closure,
               {"n": digits})


def test_an_unsafe_query_is_refused_by_type(store):
    with pytest.raises(UnsafeQuery):
        run(parse_query_file(CASES / "service.rq"), store)


def test_worker_errors_come_back_as_they_were_raised():
    if not worker.CAN_FORK:
        pytest.skip("needs fork")

    def fails():
        raise QueryError("a message")
    with pytest.raises(QueryError, match="^a message$"):
        worker.call(fails, timeout=10)
    assert worker.call(lambda: {"rows": [1, 2]}, timeout=10) == {"rows": [1, 2]}


def test_a_runaway_question_stops_the_build_at_its_limit(tmp_path, store, capsys):
    import shutil

    from coprod_kg.cli import main

    root = tmp_path / "project"
    for folder in ("ontology", "data"):
        shutil.copytree(ROOT / folder, root / folder)
    # The checks and one quick question, then the runaway: a 1 s limit must stop the runaway,
    # not a slower honest question (16-conflicts-and-quality takes seconds on a busy machine).
    shutil.copytree(ROOT / "queries" / "checks", root / "queries" / "checks")
    shutil.copy(ROOT / "queries" / "01-principle-prevalence.rq", root / "queries")
    shutil.copytree(ROOT / "build" / "cache", root / "build" / "cache")
    shutil.copy(CASES / "runaway.rq", root / "queries" / "99-runaway.rq")
    try:
        started = time.monotonic()
        assert main(["--project", str(root), "--max-seconds", "1", "build"]) == 3
        err = capsys.readouterr().err
        assert "99-runaway.rq: stopped after 1 s" in err and "Traceback" not in err
        assert not (root / "build" / "report.md").exists()  # nothing half-written
        assert time.monotonic() - started < 120
    finally:
        set_limits(timeout=30.0)


# ---------------------------------------------------------------- many items, one worker

def _slow_or_not(item):
    if item == "runaway":
        while True:
            pass
    if item == "fails":
        raise QueryError("item failed")
    return {"item": item, "pid": os.getpid()}


@needs_fork
def test_call_each_answers_every_item_in_order_in_one_child():
    outcomes = worker.call_each(_slow_or_not, ["a", "fails", "b"], timeout=10)
    assert [kind for kind, _ in outcomes] == ["ok", "error", "ok"]
    assert outcomes[0][1]["item"] == "a" and outcomes[2][1]["item"] == "b"
    assert outcomes[0][1]["pid"] == outcomes[2][1]["pid"] != os.getpid()
    assert str(outcomes[1][1]) == "item failed"


@needs_fork
def test_call_each_kills_the_child_at_an_items_timeout_and_names_the_item():
    started = time.monotonic()
    with pytest.raises(worker.Stopped) as caught:
        worker.call_each(_slow_or_not, ["a", "b", "runaway", "c"], timeout=1)
    assert time.monotonic() - started < 2.5  # each item has 1 s, counted from the one before
    assert caught.value.index == 2 and isinstance(caught.value.error, worker.TimeLimitReached)
    assert [value["item"] for _, value in caught.value.done] == ["a", "b"]
    pid = caught.value.done[0][1]["pid"]
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # killed and reaped


def test_checks_run_in_one_worker_and_a_runaway_check_is_named(store, tmp_path):
    from coprod_kg.query import run_checks, set_limits

    for name in ("01-a.rq", "03-c.rq"):
        (tmp_path / name).write_text("# title: passes\nSELECT ?x WHERE { FILTER(false) }\n")
    (tmp_path / "02-runaway.rq").write_text((CASES / "runaway.rq").read_text())
    set_limits(timeout=1.0)
    try:
        started = time.monotonic()
        with pytest.raises(QueryLimitError, match="02-runaway.rq: stopped after 1 s"):
            run_checks(store, tmp_path)
        assert time.monotonic() - started < 30  # the vetting and the first check, then 1 s
        (tmp_path / "02-runaway.rq").unlink()
        assert [outcome.passed for outcome in run_checks(store, tmp_path)] == [True, True]
    finally:
        set_limits(timeout=30.0)


FRESH_RUN = """
import sys
from pathlib import Path
import pyoxigraph as ox
from coprod_kg.query import parse_query_file, run, run_rdflib
query = parse_query_file(Path(sys.argv[1]))
if sys.argv[2] == "oxigraph":
    store = ox.Store()
    store.load(b'<urn:x> <urn:p> 2.50 , 7 , 1.5e0 , true .', format=ox.RdfFormat.TURTLE)
    result = run(query, store)
else:
    from rdflib import Graph
    graph = Graph().parse(data='<urn:x> <urn:p> 2.50 , 7 , 1.5e0 , true .', format="turtle")
    result = run_rdflib(query, graph)
print(sorted((type(row["v"]).__name__, float(row["v"])) for row in result.rows))
"""


@needs_fork
@pytest.mark.parametrize("engine", ["oxigraph", "rdflib"])
def test_typed_values_come_back_from_a_fresh_process(engine, tmp_path):
    """The worker may open no file, so it cannot import a module on its way: a decimal in an
    answer must convert in a process that imported only the query module (no CLI, no tables)."""
    path = tmp_path / "values.rq"
    path.write_text("# title: values\n# question: q\n# section: s\n"
                    "SELECT ?v WHERE { <urn:x> <urn:p> ?v } ORDER BY STR(?v)\n")
    done = subprocess.run([sys.executable, "-c", FRESH_RUN, str(path), engine], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[0] == ("[('Decimal', 2.5), ('bool', 1.0), ('float', 1.5), "
                                           "('int', 7.0)]")


FAULTHANDLER_PROBE = """
import sys
from coprod_kg import worker
def probe():
    handler = sys.modules.get("faulthandler")
    return (handler is not None, handler is not None and handler.is_enabled())
print(worker.call(probe, timeout=30))
"""


@needs_fork
@pytest.mark.parametrize("flags, expected", [
    ([], "(False, False)"),                    # a plain run: never imported, so never on
    (["-X", "faulthandler"], "(True, False)"),  # on in the parent: off in the child
])
def test_the_child_turns_the_fault_handler_off_only_where_it_is_on(flags, expected):
    """An abort in a child is the parent's to report, so a fault handler that is on is turned
    off there; where none was imported the child imports none."""
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONFAULTHANDLER"}
    done = subprocess.run([sys.executable, *flags, "-c", FAULTHANDLER_PROBE], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, env=environment)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == expected
