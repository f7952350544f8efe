"""The read-only server: SPARQL 1.1 Protocol, content negotiation, question URLs, IRI pages,
refusals and strict defaults (starlette's TestClient), then a real uvicorn process on a
loopback port for the timeout kill and a concurrent ASK.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

import pyoxigraph as ox
import pytest
from starlette.testclient import TestClient

from coprod_kg.cli import main
from coprod_kg.namespace import BASE, PREFIXES
from coprod_kg.query import Result, _value, discover, find_query, parameter_sets, run
from coprod_kg.serve import prepare_store
from coprod_kg.serve.app import Settings, create_app
from coprod_kg.serve.describe import description

from conftest import ROOT, child_pids
from servers import assert_same_answer, free_port, stop, wait_until_up

STUDIES = "SELECT ?study WHERE { ?study a coprod:ReviewedStudy } ORDER BY ?study"
CARTESIAN = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"
HOSTILE = "https://w3id.org/coprod-kg/id/note/hostile-label"


@pytest.fixture(scope="module")
def store_folder(project, store, tmp_path_factory):
    """The reasoned graph in an on-disk store, plus one node whose label is hostile HTML."""
    folder = prepare_store(project, tmp_path_factory.mktemp("served") / "store")
    writable = ox.Store(str(folder))
    writable.add(ox.Quad(ox.NamedNode(HOSTILE),
                         ox.NamedNode(PREFIXES["rdfs"] + "label"),
                         ox.Literal("<script>alert(1)</script>")))
    writable.flush()
    del writable
    return folder


def app_for(project, folder, **options):
    settings = Settings(project, folder, allowed_hosts=["testserver"], **options)
    return create_app(settings)


@pytest.fixture(scope="module")
def client(project, store_folder):
    with TestClient(app_for(project, store_folder, timeout=20)) as test_client:
        yield test_client


def parsed(response, fmt=ox.QueryResultsFormat.JSON):
    return ox.parse_query_results(response.content, format=fmt)


# ---------------------------------------------------------------- the protocol

def study_iris(results):
    return [s["study"].value for s in results]


def test_the_report_has_fifteen_studies_by_get_post_form_and_post_body(client):
    by_get = client.get("/sparql", params={"query": STUDIES})
    by_form = client.post("/sparql", data={"query": STUDIES})
    by_body = client.post("/sparql", content=STUDIES,
                          headers={"Content-Type": "application/sparql-query"})
    for response in (by_get, by_form, by_body):
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/sparql-results+json")
    answers = [study_iris(parsed(r)) for r in (by_get, by_form, by_body)]
    assert answers[0] == answers[1] == answers[2]
    assert len(answers[0]) == 15  # Appendix 1 reviews 15 studies
    assert BASE + "id/study/croydon-sun" in answers[0]


@pytest.mark.parametrize("media, fmt", [
    ("application/sparql-results+json", ox.QueryResultsFormat.JSON),
    ("application/sparql-results+xml", ox.QueryResultsFormat.XML),
    ("text/csv", ox.QueryResultsFormat.CSV),
    ("text/tab-separated-values", ox.QueryResultsFormat.TSV),
])
def test_results_in_every_format_by_accept(client, store, media, fmt):
    response = client.get("/sparql", params={"query": STUDIES}, headers={"Accept": media})
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == media
    expected = [s["study"].value for s in store.query(STUDIES, prefixes=PREFIXES)]
    if fmt == ox.QueryResultsFormat.CSV:  # lossy, so pyoxigraph will not read it back
        rows = list(csv.reader(io.StringIO(response.text)))
        assert rows[0] == ["study"] and [r[0] for r in rows[1:]] == expected
    else:
        assert study_iris(parsed(response, fmt)) == expected


def test_accept_weights_and_format_names_are_honoured(client):
    weighted = client.get("/sparql", params={"query": STUDIES},
                          headers={"Accept": "text/csv;q=0.5, application/sparql-results+xml"})
    assert weighted.headers["content-type"].startswith("application/sparql-results+xml")
    named = client.get("/sparql", params={"query": STUDIES, "format": "tsv"})
    assert named.headers["content-type"].startswith("text/tab-separated-values")
    refused = client.get("/sparql", params={"query": STUDIES}, headers={"Accept": "image/png"})
    assert refused.status_code == 406


def test_ask_and_construct(client):
    ask = client.get("/sparql", params={"query": "ASK { study:croydon-sun a coprod:ReviewedStudy }"})
    assert parsed(ask).__bool__() is True
    construct = client.get("/sparql", params={
        "query": "CONSTRUCT { study:croydon-sun rdfs:label ?l } WHERE { study:croydon-sun rdfs:label ?l }"},
        headers={"Accept": "text/turtle"})
    assert construct.headers["content-type"].startswith("text/turtle")
    triples = list(ox.parse(construct.content, format=ox.RdfFormat.TURTLE))
    assert [t.object.value for t in triples] == ["Croydon Service User Network (SUN)"]


def test_a_browser_gets_a_form_and_an_html_table(client):
    form = client.get("/sparql", headers={"Accept": "text/html"})
    assert form.status_code == 200 and "<form" in form.text
    table = client.get("/sparql", params={"query": STUDIES}, headers={"Accept": "text/html"})
    assert "study:croydon-sun" in table.text and "15 rows" in table.text


def test_a_syntax_error_is_a_400_with_the_parser_message(client):
    response = client.get("/sparql", params={"query": "SELECT ?x WHERE { ?x "})
    assert response.status_code == 400
    assert "syntax error" in response.text.lower()


# ---------------------------------------------------------------- refusals

@pytest.mark.parametrize("text, reason", [
    ("SELECT * WHERE { SERVICE <http://example.org/sparql> { ?s ?p ?o } }", "SERVICE"),
    ("SELECT * FROM <http://example.org/data.ttl> WHERE { ?s ?p ?o }", "FROM <http://example.org"),
    ("SELECT * FROM NAMED <http://example.org/g> WHERE { GRAPH ?g { ?s ?p ?o } }", "FROM NAMED"),
    ("LOAD <http://example.org/data.ttl>", "SPARQL Update"),
    ("INSERT DATA { <http://e/s> <http://e/p> 1 }", "SPARQL Update"),
    ("DELETE WHERE { ?s ?p ?o }", "SPARQL Update"),
    ("CLEAR DEFAULT", "SPARQL Update"),
    ("DROP ALL", "SPARQL Update"),
], ids=["service", "from", "from-named", "load", "insert", "delete", "clear", "drop"])
def test_unsafe_queries_are_refused_with_a_reason(client, text, reason):
    for response in (client.get("/sparql", params={"query": text}),
                     client.post("/sparql", content=text,
                                 headers={"Content-Type": "application/sparql-query"})):
        assert response.status_code == 400
        assert reason in response.text and "not allowed" in response.text


def test_updates_and_remote_datasets_in_the_protocol_are_refused(client):
    by_type = client.post("/sparql", content="CLEAR ALL",
                          headers={"Content-Type": "application/sparql-update"})
    by_form = client.post("/sparql", data={"update": "CLEAR ALL"})
    remote = client.get("/sparql", params={"query": STUDIES,
                                           "default-graph-uri": "http://example.org/g"})
    for response in (by_type, by_form):
        assert response.status_code == 400 and "read-only" in response.text
    assert remote.status_code == 400 and "http://example.org/g" in remote.text


def test_the_store_is_unchanged_after_the_refusals(client, store):
    count = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    served = int(next(iter(parsed(client.get("/sparql", params={"query": count}))))["n"].value)
    assert served == len(store) + 1  # the graph and the one hostile label added for the tests


def test_a_wrong_host_header_is_refused(client):
    response = client.get("/sparql", params={"query": STUDIES}, headers={"Host": "evil.example"})
    assert response.status_code == 400


def test_no_cors_unless_asked(project, store_folder, client):
    plain = client.get("/sparql", params={"query": STUDIES},
                       headers={"Origin": "https://analyst.example"})
    assert "access-control-allow-origin" not in plain.headers
    with TestClient(app_for(project, store_folder, workers=1,
                            cors_origins=["https://analyst.example"])) as cors:
        allowed = cors.get("/sparql", params={"query": STUDIES},
                           headers={"Origin": "https://analyst.example"})
        other = cors.get("/sparql", params={"query": STUDIES},
                         headers={"Origin": "https://other.example"})
    assert allowed.headers["access-control-allow-origin"] == "https://analyst.example"
    assert "access-control-allow-origin" not in other.headers


def test_the_row_cap_refuses_a_larger_answer(project, store_folder):
    with TestClient(app_for(project, store_folder, workers=1, row_cap=14)) as capped:
        over = capped.get("/sparql", params={"query": STUDIES})
        under = capped.get("/sparql", params={"query": STUDIES + " LIMIT 14"})
    assert over.status_code == 400 and "more than 14 rows" in over.text
    assert under.status_code == 200 and len(study_iris(parsed(under))) == 14


# ---------------------------------------------------------------- the questions as URLs


def _page_rows(response) -> tuple[list[str], list[dict]]:
    results = parsed(response)
    columns = [v.value for v in results.variables]
    return columns, [{c: _value(s[c]) for c in columns} for s in results]


def test_a_question_over_the_row_cap_is_given_page_by_page(project, store_folder, store):
    """Over the cap, a question URL says how to page it; following its `next` links from page
    1 gives the library's answer, and the last page links no further."""
    query = find_query(ROOT / "queries", "principle-outcome-paths")
    params = next(p for p in parameter_sets(query, store) if len(run(query, store, p).rows) > 14)
    expected = run(query, store, params)
    path = "/questions/principle-outcome-paths"
    with TestClient(app_for(project, store_folder, workers=1, row_cap=14)) as capped:
        whole = capped.get(path, params=params)
        assert whole.status_code == 400
        assert "page=1" in whole.text and "more than 14 rows" in whole.text
        url = path + "?" + urlencode({**params, "per-page": 5, "page": 1})
        columns, rows, pages = None, [], 0
        while url:
            response = capped.get(url)
            assert response.status_code == 200, response.text
            got_columns, got = _page_rows(response)
            assert columns in (None, got_columns) and 1 <= len(got) <= 5
            columns, rows, pages = got_columns, rows + got, pages + 1
            assert ("prev" in response.links) == (pages > 1)
            url = response.links.get("next", {}).get("url")
        beyond = capped.get(path, params={**params, "per-page": 5, "page": pages + 1})
        clamped = capped.get(path, params={**params, "per-page": 500, "page": 1})
    assert pages == -(-len(expected.rows) // 5)
    assert_same_answer(query, expected, Result(query, columns, rows))
    assert _page_rows(beyond)[1] == [] and "prev" in beyond.links and "next" not in beyond.links
    assert len(_page_rows(clamped)[1]) == 14 and "next" in clamped.links


def test_a_page_in_html_says_which_rows_it_shows_and_links_the_next(client, store):
    query = find_query(ROOT / "queries", "principle-outcome-paths")
    params = next(p for p in parameter_sets(query, store) if len(run(query, store, p).rows) > 4)
    response = client.get("/questions/principle-outcome-paths",
                          params={**params, "per-page": 2, "page": 2, "format": "html"})
    assert response.status_code == 200
    assert "Rows 3–4 (more follow)" in response.text
    assert 'rel="next"' in response.text and 'rel="prev"' in response.text
    assert response.text.count("<tr>") == 3  # the header and two rows


@pytest.mark.parametrize("value", ["0", "-1", "two", "٣", ""])
def test_a_page_number_that_is_not_a_whole_number_from_one_is_refused(client, value):
    for name in ("page", "per-page"):
        response = client.get("/questions/principle-prevalence", params={name: value})
        assert response.status_code == 400
        assert f"{name} must be a whole number from 1" in response.text


def test_no_question_takes_a_parameter_named_like_a_page_control():
    from coprod_kg.serve.app import CONTROLS

    taken = {param.name for query in QUESTIONS for param in query.params}
    assert taken and not taken & set(CONTROLS)


QUESTIONS = discover(ROOT / "queries")


@pytest.mark.parametrize("query", QUESTIONS, ids=[q.name for q in QUESTIONS])
def test_every_question_url_gives_the_library_answer(client, store, query):
    for params in parameter_sets(query, store)[:3]:
        expected = run(query, store, params)
        short = query.name.split("-", 1)[1]
        response = client.get(f"/questions/{short}", params=params)
        assert response.status_code == 200, response.text
        results = parsed(response)
        columns = [v.value for v in results.variables]
        served = Result(query, columns, [{c: _value(s[c]) for c in columns} for s in results])
        assert_same_answer(query, expected, served)


@pytest.mark.parametrize("fmt, media", [("json", "application/sparql-results+json"),
                                        ("xml", "application/sparql-results+xml"),
                                        ("csv", "text/csv"),
                                        ("tsv", "text/tab-separated-values"),
                                        ("html", "text/html")])
def test_a_question_in_every_format(client, fmt, media):
    url = "/questions/principle-outcome-paths"
    by_name = client.get(url, params={"principle": "networks", "format": fmt})
    by_accept = client.get(url, params={"principle": "networks"}, headers={"Accept": media})
    for response in (by_name, by_accept):
        assert response.status_code == 200
        assert response.headers["content-type"].split(";")[0] == media
        assert "principle/networks" in response.text or "principle:networks" in response.text
    assert by_name.content == by_accept.content


@pytest.mark.parametrize("params, cli_args", [
    ({"principle": "nope"}, ["--param", "principle=nope"]),
    ({}, []),
    ({"principle": "networks", "colour": "red"}, ["--param", "principle=networks",
                                                  "--param", "colour=red"]),
], ids=["unknown-value", "missing", "unknown-parameter"])
def test_question_parameters_are_checked_as_the_cli_checks_them(client, capsys, params, cli_args):
    response = client.get("/questions/principle-outcome-paths", params=params)
    assert main(["query", "principle-outcome-paths", *cli_args]) == 2
    cli_message = capsys.readouterr().err.strip().removeprefix("error: ")
    assert response.status_code == 400
    assert response.text.strip() == cli_message


def test_an_unknown_question_is_a_404(client):
    assert client.get("/questions/no-such-question").status_code == 404


def test_the_question_index_links_every_question_and_parameter_value(client):
    index = client.get("/questions")
    assert index.status_code == 200
    for query in QUESTIONS:
        assert f'href="/questions/{query.name}"' in index.text
    # the report's six principles of co-production (Table 1)
    for principle in ("assets", "blurring-boundaries", "capabilities", "catalysts",
                      "mutuality", "networks"):
        assert f'href="/questions/06-principle-outcome-paths?principle={principle}"' in index.text
    assert 'href="/questions/14-study-profile?study=croydon-sun"' in index.text


# ---------------------------------------------------------------- pages for IRIs

def test_a_study_page_shows_labels_findings_quotes_and_links(client):
    page = client.get("/id/study/croydon-sun", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    text = page.text
    assert "Croydon Service User Network (SUN)" in text and "Croydon SUN" in text
    # the report, line 606: "A&E use decreased by 30 per cent after six months ..."
    assert "A&amp;E use decreased by 30 per cent after six months of members being part of the network." in text
    assert "line 606" in text
    assert 'href="/id/finding/croydon-sun-ae"' in text
    assert 'href="/ontology#ReviewedStudy"' in text


@pytest.mark.parametrize("media, fmt", [("text/turtle", ox.RdfFormat.TURTLE),
                                        ("application/ld+json", ox.RdfFormat.JSON_LD),
                                        ("application/n-triples", ox.RdfFormat.N_TRIPLES)])
def test_a_node_description_by_accept(client, store, media, fmt):
    node = ox.NamedNode(BASE + "id/study/croydon-sun")
    response = client.get("/id/study/croydon-sun", headers={"Accept": media})
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == media
    got = {quad.triple for quad in ox.parse(response.content, format=fmt)}
    assert got == set(description(store, node))
    label = ox.Triple(node, ox.NamedNode(PREFIXES["skos"] + "altLabel"),
                      ox.Literal("Croydon SUN", language="en"))
    assert label in got
    assert any(t.object == node and t.predicate.value.endswith("#aboutStudy") for t in got)


def test_the_ontology_page_and_description(client):
    page = client.get("/ontology", headers={"Accept": "text/html"})
    assert page.status_code == 200 and 'id="Finding"' in page.text
    turtle = client.get("/ontology", headers={"Accept": "text/turtle"})
    triples = {q.triple for q in ox.parse(turtle.content, format=ox.RdfFormat.TURTLE)}
    finding = ox.NamedNode(PREFIXES["coprod"] + "Finding")
    assert any(t.subject == finding and t.predicate.value.endswith("#label") for t in triples)


def test_an_unknown_iri_is_a_404(client):
    assert client.get("/id/study/no-such-study").status_code == 404
    assert client.get("/id/study/no-such-study",
                      headers={"Accept": "text/turtle"}).status_code == 404


def test_data_in_pages_is_escaped(client):
    page = client.get("/id/note/hostile-label", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


def test_the_explorer_is_at_the_root(client):
    page = client.get("/")
    assert page.status_code == 200
    assert "<title>coprod-kg explorer" in page.text and 'id="coprod-data"' in page.text
    assert "croydon-sun" in page.text


# ---------------------------------------------------------------- a real server process

def children(pid: int) -> set[int]:
    return child_pids(pid)


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture(scope="module")
def uvicorn_server(project, store, tmp_path_factory):
    if not Path("/proc").is_dir():
        pytest.skip("the process checks read /proc (Linux)")
    port = free_port()
    log = tmp_path_factory.mktemp("uvicorn") / "serve.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "coprod_kg", "--project", str(ROOT), "serve", "--port",
             str(port), "--timeout", "3", "--workers", "2"],
            stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{base}/sparql?query=ASK%7B%7D", process, 120, log)
        yield base, process
    finally:
        stop(process)


def workers_of(process, want: int, within: float = 30) -> set[int]:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        found = {pid for pid in children(process.pid) if alive(pid)}
        if len(found) >= want:
            return found
        time.sleep(0.1)
    raise AssertionError(f"the server has {len(found)} query workers, not {want}")


def test_a_runaway_query_is_killed_at_the_timeout(uvicorn_server):
    """The query runs in a child forked from a query worker; at the timeout that child is
    killed, and the worker (and the server) go on."""
    import httpx

    base, process = uvicorn_server
    pool = workers_of(process, 2)
    outcome = {}

    def runaway():
        started = time.monotonic()
        outcome["response"] = httpx.get(f"{base}/sparql", params={"query": CARTESIAN}, timeout=60)
        outcome["took"] = time.monotonic() - started

    thread = threading.Thread(target=runaway)
    thread.start()
    running = set()
    deadline = time.monotonic() + 3
    while not running and time.monotonic() < deadline:
        running = {child for worker in pool for child in children(worker) if alive(child)}
        time.sleep(0.05)
    thread.join(30)
    assert running, "no query process was seen under the query workers"
    response = outcome["response"]
    assert response.status_code == 503
    assert "stopped after 3 s" in response.text
    assert 3 <= outcome["took"] < 4.5
    assert not any(alive(pid) for pid in running)  # killed, its memory freed
    assert workers_of(process, 2) == pool  # no worker was held or lost
    ask = httpx.get(f"{base}/sparql", params={"query": "ASK { ?s ?p ?o }"}, timeout=10)
    assert ask.status_code == 200 and json.loads(ask.text)["boolean"] is True


def test_an_ask_is_answered_quickly_while_a_runaway_query_runs(uvicorn_server):
    import httpx

    base, process = uvicorn_server
    workers_of(process, 2)
    outcome = {}

    def runaway():
        outcome["response"] = httpx.get(f"{base}/sparql", params={"query": CARTESIAN}, timeout=60)

    thread = threading.Thread(target=runaway)
    thread.start()
    time.sleep(0.5)  # the cartesian query is now holding one worker
    started = time.monotonic()
    ask = httpx.get(f"{base}/sparql", params={"query": "ASK { study:croydon-sun ?p ?o }"},
                    timeout=10)
    took = time.monotonic() - started
    thread.join(30)
    assert ask.status_code == 200 and json.loads(ask.text)["boolean"] is True
    assert took < 1.0, f"the ASK took {took:.2f} s"
    assert outcome["response"].status_code == 503


def test_other_commands_do_not_load_the_web_stack(store):
    code = ("import sys; from coprod_kg.cli import main; main(['query', 'principle-prevalence']); "
            "web = [m for m in ('starlette', 'uvicorn', 'jinja2', 'httpx', 'anyio') "
            "if m in sys.modules]; print('WEB', web)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "WEB []" in done.stdout


def test_a_stopped_server_leaves_no_query_running(project, store, tmp_path):
    """SIGTERM during a runaway query: the server, its workers and the query all go."""
    import httpx

    port = free_port()
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "coprod_kg", "--project", str(ROOT), "serve", "--port",
             str(port), "--timeout", "60", "--workers", "1"], stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{base}/sparql?query=ASK%7B%7D", process, 120, log)
        pool = workers_of(process, 1)
        thread = threading.Thread(target=lambda: _quietly(httpx.get, f"{base}/sparql",
                                                         params={"query": CARTESIAN}, timeout=90))
        thread.start()
        running = set()
        deadline = time.monotonic() + 5
        while not running and time.monotonic() < deadline:
            running = {c for w in pool for c in children(w) if alive(c)}
            time.sleep(0.05)
        assert running
    finally:
        stop(process)
    thread.join(30)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(alive(p) for p in pool | running):
        time.sleep(0.1)
    assert not any(alive(p) for p in pool | running)


def _quietly(fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except Exception:
        pass


def test_every_route_and_option_is_documented():
    from coprod_kg.cli import make_parser

    docs = (ROOT / "docs" / "serve.md").read_text(encoding="utf-8")
    app = create_app(Settings(None, Path("unused")))
    paths = {route.path.split("{")[0].rstrip("/") or "/" for route in app.routes}
    for path in paths - {"/favicon.ico"}:
        assert f"`{path}" in docs, f"route {path} is not in docs/serve.md"
    serve = make_parser()._subparsers._group_actions[0].choices["serve"]
    for action in serve._actions:
        for flag in action.option_strings:
            if flag.startswith("--") and flag != "--help":
                assert f"`{flag}" in docs, f"coprod-kg serve {flag} is not in docs/serve.md"
