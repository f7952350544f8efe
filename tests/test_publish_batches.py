"""`coprod-kg publish` sends each graph in batches: a PUT that replaces the graph, then POSTs
that add to it, with every triple that mentions a blank node in the first request (a blank
node's label names the same node only inside one document)."""

from __future__ import annotations

import http.server
import threading

import pyoxigraph as ox
import pytest

from coprod_kg.engines import ASSERTED_GRAPH, INFERRED_GRAPH, EndpointError, GraphStore
from coprod_kg.publish import batches, publish_project, send_graph

EX = "http://example.org/"


def _ntriples(path, iri_triples: int, blank_triples: int):
    lines = [f"<{EX}s{i}> <{EX}p> \"{i}\" .\n" for i in range(iri_triples)]
    # one blank node with several triples, written between the others as a dump may order them
    for j in range(blank_triples):
        lines.insert(j * 3, f"_:r <{EX}q{j}> <{EX}o{j}> .\n")
    path.write_bytes("".join(lines).encode())
    return path


def test_batches_hold_at_most_n_triples_and_blank_nodes_travel_first(tmp_path):
    path = _ntriples(tmp_path / "g.nt", iri_triples=25, blank_triples=4)
    got = list(batches(path, batch=6))
    assert all(b"_:r" in line for line in got[0][:4])
    assert not any(b"_:" in line for chunk in got[1:] for line in chunk)
    assert all(len(chunk) <= 6 for chunk in got[1:])
    assert len(got[0]) == 6  # the four blank-node triples, then the first two others
    everything = [line for chunk in got for line in chunk]
    assert sorted(everything) == sorted(path.read_bytes().splitlines(keepends=True))


def test_an_empty_graph_is_still_one_request(tmp_path):
    path = tmp_path / "empty.nt"
    path.write_bytes(b"")
    assert list(batches(path, batch=10)) == [[]]
    with pytest.raises(ValueError):
        list(batches(path, batch=0))


class _Recorder(http.server.BaseHTTPRequestHandler):
    """A graph store that keeps each request and refuses the request numbered ``fail_at``."""

    seen: list = []
    fail_at: int | None = None

    def _handle(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        type(self).seen.append((self.command, self.path, body))
        if len(type(self).seen) == type(self).fail_at:
            self.send_response(500)
            self.end_headers()
            self.wfile.write(b"disk full")
            return
        self.send_response(204)
        self.end_headers()

    do_PUT = do_POST = _handle

    def log_message(self, *args):
        pass


@pytest.fixture
def recorder():
    _Recorder.seen, _Recorder.fail_at = [], None
    httpd = http.server.HTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}/store"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_send_graph_puts_once_then_posts(tmp_path, recorder):
    path = _ntriples(tmp_path / "g.nt", iri_triples=10, blank_triples=2)
    sent = send_graph(GraphStore(recorder), EX + "g", path, batch=4)
    methods = [method for method, _, _ in _Recorder.seen]
    assert methods == ["PUT", "POST", "POST"]
    assert (sent.triples, sent.requests) == (12, 3)
    assert all("graph=http%3A%2F%2Fexample.org%2Fg" in target for _, target, _ in _Recorder.seen)
    store = ox.Store()
    for _, _, body in _Recorder.seen:
        store.load(body, format=ox.RdfFormat.N_TRIPLES)
    assert len(store) == 12


def test_a_failed_later_batch_says_how_much_got_in(tmp_path, recorder):
    path = _ntriples(tmp_path / "g.nt", iri_triples=10, blank_triples=0)
    _Recorder.fail_at = 3
    with pytest.raises(EndpointError, match="holds only the first 8 triples: publish again"):
        send_graph(GraphStore(recorder), EX + "g", path, batch=4)


def test_publish_sends_both_graphs_with_the_closure(project, store, tmp_path, recorder):
    """The report's graphs in small batches: the asserted graph, then the inferred one, which
    holds as many triples as the embedded closure."""
    done = publish_project(project, GraphStore(recorder), batch=5000)
    assert [d.graph for d in done] == [ASSERTED_GRAPH, INFERRED_GRAPH]
    assert done[1].triples == len(store) > done[0].triples
    assert done[0].requests > 1 and done[1].requests > 1
    assert [m for m, _, _ in _Recorder.seen].count("PUT") == 2


def test_without_a_cached_closure_publish_reasons_on_the_store(project, store, tmp_path,
                                                               recorder):
    """A fresh copy of the project has no cache: the rule engine's closure is sent, the same
    size as the cached one."""
    import shutil

    from coprod_kg.project import Project

    copy = tmp_path / "copy"
    for folder in ("data", "ontology", "queries"):
        shutil.copytree(project.root / folder, copy / folder)
    for name in ("pyproject.toml", "coprod-kg.toml"):
        if (project.root / name).is_file():
            shutil.copy2(project.root / name, copy / name)
    fresh = Project(copy)
    done = publish_project(fresh, GraphStore(recorder))
    assert done[1].triples == len(store)
    assert not any(fresh.cache_dir.glob("closure-*")) if fresh.cache_dir.exists() else True


def test_bulk_asks_for_oxigraphs_loader_on_every_request(tmp_path, recorder):
    path = _ntriples(tmp_path / "g.nt", iri_triples=5, blank_triples=1)
    send_graph(GraphStore(recorder), EX + "g", path, batch=3, bulk=True)
    assert len(_Recorder.seen) == 2
    assert all("no_transaction" in target for _, target, _ in _Recorder.seen)
    _Recorder.seen = []
    send_graph(GraphStore(recorder), EX + "g", path, batch=3)
    assert not any("no_transaction" in target for _, target, _ in _Recorder.seen)
