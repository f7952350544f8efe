"""Every question and check gives the embedded engine's answer on real external triple stores.

The graphs are loaded the way a user would: `coprod-kg publish --endpoint` through the Graph
Store Protocol, into a fresh Oxigraph server and a fresh private Virtuoso, started on loopback
ports and stopped by PID.

How answers are compared, on both servers: the same rows as a multiset, and row for row the
same values of the variables the query orders by. Rows tied under ORDER BY may come back in any
order (SPARQL leaves it open, and even the Oxigraph server orders ties unlike the embedded
store), so that is the one order not compared. Numbers are compared as numbers
(``Decimal('2.50') == Decimal('2.5')``): engines write numeric lexical forms differently.
Every question and check must agree on both servers, with no expected failures. The queries keep
to forms that Virtuoso 7.2 reads as the spec does: strings ordered and compared through STR()
(Virtuoso orders stored literals, and takes MIN of them, by something other than their text);
a representative quote chosen by coprod:figureQuote or by MIN of an ASCII key (line, then IRI);
no zero-or-more paths (it repeats a node once per route); no FILTER inside OPTIONAL on a variable
bound only outside it; no VALUES inside a UNION branch; decimals made explicit before dividing
(it divides integers as integers); durations compared as values, not as STR() (it rewrites them).
"""

from __future__ import annotations

import http.server
import threading

import pyoxigraph as ox
import pytest

from coprod_kg.cli import main
from coprod_kg.engines import ASSERTED_GRAPH, Endpoint, EndpointError, run, with_values
from coprod_kg.query import discover, parameter_sets

from conftest import ROOT
from servers import (as_multiset, assert_same_answer, order_keys, oxigraph_server, stop,
                     stop_virtuoso, virtuoso_server)

QUESTIONS = discover(ROOT / "queries")
CHECKS = discover(ROOT / "queries" / "checks")


def cases(queries):
    return [pytest.param(query, id=query.name) for query in queries]


@pytest.fixture(scope="module")
def published_servers(tmp_path_factory, store, monkeypatch_module):
    """Both servers, each loaded through `coprod-kg publish`."""
    started = {}
    for name, start in (("oxigraph", oxigraph_server), ("virtuoso", virtuoso_server)):
        try:
            started[name] = start(tmp_path_factory.mktemp(name))
        except pytest.skip.Exception as skipped:
            started[name] = skipped
    try:
        for name, server in started.items():
            if isinstance(server, BaseException):
                continue
            args = ["publish", "--endpoint", server.store_url]
            if server.user:
                monkeypatch_module.setenv("COPROD_KG_TEST_PASSWORD", server.password)
                args += ["--user", server.user, "--password-env", "COPROD_KG_TEST_PASSWORD"]
            assert main(args) == 0
        yield started
    finally:
        for name, server in started.items():
            if isinstance(server, BaseException):
                continue
            (stop_virtuoso if name == "virtuoso" else lambda s: stop(s.process))(server)


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def server(published_servers, name):
    found = published_servers[name]
    if isinstance(found, BaseException):
        pytest.skip(str(found))
    return found


def answers(query, engine, store):
    return [run(query, engine, params) for params in parameter_sets(query, store)]


@pytest.mark.parametrize("query", cases(QUESTIONS + CHECKS))
def test_oxigraph_server_answers_every_question(published_servers, store, query):
    endpoint = Endpoint(server(published_servers, "oxigraph").query_url)
    for mine, theirs in zip(answers(query, store, store), answers(query, endpoint, store)):
        assert_same_answer(query, mine, theirs)


@pytest.mark.parametrize("query", cases(QUESTIONS + CHECKS))
def test_virtuoso_gives_the_same_rows(published_servers, store, query):
    endpoint = Endpoint(server(published_servers, "virtuoso").query_url)
    for mine, theirs in zip(answers(query, store, store), answers(query, endpoint, store)):
        assert theirs.columns == mine.columns
        assert as_multiset(theirs.rows) == as_multiset(mine.rows)


@pytest.mark.parametrize("query", cases(QUESTIONS + CHECKS))
def test_virtuoso_orders_rows_the_same(published_servers, store, query):
    endpoint = Endpoint(server(published_servers, "virtuoso").query_url)
    for mine, theirs in zip(answers(query, store, store), answers(query, endpoint, store)):
        assert order_keys(query, theirs.rows) == order_keys(query, mine.rows)


@pytest.mark.parametrize("name", ["oxigraph", "virtuoso"])
def test_prevention_needs_the_inferred_graph(published_servers, loaded, store, name):
    """On the asserted graph alone 08-prevention loses the findings that only reasoning links
    to reduced acute service use; the embedded engine on the asserted graph agrees."""
    query = next(q for q in QUESTIONS if q.name == "08-prevention")
    asserted = ox.Store()
    asserted.load(loaded.graph.serialize(format="nt").encode(), format=ox.RdfFormat.N_TRIPLES)
    local = run(query, asserted)
    remote = run(query, Endpoint(server(published_servers, name).query_url, graph=ASSERTED_GRAPH))
    inferred = run(query, store)
    assert len(local.rows) < len(inferred.rows)
    assert {r["finding"] for r in remote.rows} == {r["finding"] for r in local.rows}


@pytest.mark.parametrize("name", ["oxigraph", "virtuoso"])
def test_cli_query_and_check_through_an_endpoint(published_servers, capsys, name):
    url = server(published_servers, name).query_url
    assert main(["query", "principle-prevalence", "--format", "csv"]) == 0
    embedded = capsys.readouterr().out
    assert main(["query", "principle-prevalence", "--format", "csv", "--endpoint", url]) == 0
    assert capsys.readouterr().out == embedded
    assert main(["check", "--endpoint", url]) == 0
    assert "FAIL" not in capsys.readouterr().out


def test_parameters_are_checked_on_the_endpoint_too(published_servers, capsys):
    url = server(published_servers, "oxigraph").query_url
    code = main(["query", "principle-outcome-paths", "--param", "principle=nope",
                 "--endpoint", url])
    assert code == 2
    assert "unknown principle 'nope'; choose one of: assets" in capsys.readouterr().err


def test_an_unreachable_endpoint_is_a_clear_error(capsys):
    from servers import free_port

    url = f"http://127.0.0.1:{free_port()}/sparql"
    assert main(["query", "principle-prevalence", "--endpoint", url]) == 2
    err = capsys.readouterr().err
    assert url in err and "cannot reach the endpoint" in err and "Traceback" not in err


class _Redirect(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.send_response(302)
        self.send_header("Location", "http://elsewhere.invalid/sparql")
        self.end_headers()

    def log_message(self, *args):
        pass


def test_a_redirect_to_another_host_is_refused():
    httpd = http.server.HTTPServer(("127.0.0.1", 0), _Redirect)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        with pytest.raises(EndpointError, match="redirects to another host"):
            Endpoint(f"http://127.0.0.1:{httpd.server_port}/sparql").query("ASK {}")
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_values_bind_inside_the_where_group_not_in_strings():
    text = 'SELECT ?x WHERE { ?x <http://e/p> "{ not here }" }'
    bound = with_values(text, {ox.Variable("x"): ox.NamedNode("http://e/a")})
    assert bound.startswith("SELECT ?x WHERE { VALUES (?x) { (<http://e/a>) }")
    assert bound.endswith('"{ not here }" }')
    store = ox.Store()
    store.add(ox.Quad(ox.NamedNode("http://e/a"), ox.NamedNode("http://e/p"), ox.Literal("{ not here }")))
    store.add(ox.Quad(ox.NamedNode("http://e/b"), ox.NamedNode("http://e/p"), ox.Literal("{ not here }")))
    assert [s["x"].value for s in store.query(bound)] == ["http://e/a"]


def test_the_docs_say_which_questions_need_the_inferred_graph(loaded, store):
    """docs/serve.md lists each question whose answer differs on the asserted graph alone, with
    its row counts; every question and check not listed must give the same rows on either."""
    table = (ROOT / "docs" / "serve.md").read_text(encoding="utf-8")
    table = table.split("### Which questions need the inferred graph", 1)[1].split("###", 1)[0]
    listed = {}
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith(("`", "check `")):
            name = cells[0].split("`")[1]
            listed[name] = (int(cells[1].split()[0]), int(cells[2].split()[0]))
    asserted = ox.Store()
    asserted.load(loaded.graph.serialize(format="nt").encode(), format=ox.RdfFormat.N_TRIPLES)
    differ = {}
    for query in QUESTIONS + CHECKS:
        counts, same = [0, 0], True
        for params in parameter_sets(query, store):
            alone, reasoned = run(query, asserted, params), run(query, store, params)
            counts[0] += len(alone.rows)
            counts[1] += len(reasoned.rows)
            same &= as_multiset(alone.rows) == as_multiset(reasoned.rows)
        if not same:
            differ[query.name] = tuple(counts)
    assert listed == differ


def test_build_counts_answers_and_pictures_run_on_an_endpoint(published_servers, project, store):
    """What `build --endpoint` asks of its engine: the counts, every answer, the path graph and
    the gap map, the same from the Oxigraph server as from the embedded store."""
    from coprod_kg.build import answer_all, count_instances
    from coprod_kg.paths import build_graph
    from coprod_kg.viz import gap_map_data

    endpoint = Endpoint(server(published_servers, "oxigraph").query_url)
    assert count_instances(endpoint) == count_instances(store)
    assert count_instances(store)["reviewed studies"] == 15
    remote, local = answer_all(project, endpoint), answer_all(project, store)
    assert [(a.query.name, a.params) for a in remote] == [(a.query.name, a.params) for a in local]
    for mine, theirs in zip(local, remote):
        assert_same_answer(mine.query, mine.result, theirs.result)
    here, there = build_graph(store), build_graph(endpoint)
    assert sorted(here.nodes(data=True)) == sorted(there.nodes(data=True))
    assert sorted(here.edges) == sorted(there.edges)
    assert gap_map_data(endpoint) == gap_map_data(store)
