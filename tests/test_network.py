"""Nothing reaches the network: every bypass of the SERVICE refusal, in query, build, check and
validate, on both engines, beside a loopback listener that counts connections.

Each fixture of tests/cases/network/ names the listener's address as 127.0.0.1:PORT; the tests
put the real port in.
"""

from __future__ import annotations

import shutil
import socket
import threading
from pathlib import Path

import pytest

from coprod_kg.cli import main
from coprod_kg.query import Query, QueryError, UnsafeQuery, guard_rdflib, parse_query_file

from conftest import CASES, ROOT

FIXTURES = sorted((CASES / "network").glob("*.rq"))
BYPASSES = [p for p in FIXTURES if "expect:   ok" not in p.read_text()]


class Listener:
    """A TCP socket on 127.0.0.1 that accepts and counts every connection."""

    def __init__(self):
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(64)
        self.socket.settimeout(0.2)
        self.port = self.socket.getsockname()[1]
        self.connections = 0
        self.running = True
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while self.running:
            try:
                connection, _ = self.socket.accept()
            except (socket.timeout, OSError):
                continue
            self.connections += 1
            connection.close()

    def close(self):
        self.running = False
        self.thread.join()
        self.socket.close()


@pytest.fixture()
def listener():
    opened = Listener()
    yield opened
    opened.close()


def aimed(path: Path, port: int, folder: Path) -> Path:
    """A copy of a fixture aimed at the listener."""
    target = folder / path.name
    target.write_bytes(path.read_bytes().replace(b"PORT", str(port).encode()))
    return target


def expectation(path: Path) -> str:
    return parse_query_file(path).header["expect"]


@pytest.mark.parametrize("engine", ["oxigraph", "rdflib"])
def test_query_refuses_every_bypass_and_connects_nowhere(engine, listener, store, tmp_path,
                                                         capsys):
    for fixture in FIXTURES:
        path = aimed(fixture, listener.port, tmp_path)
        code = main(["query", str(path), "--engine", engine])
        err = capsys.readouterr().err
        if expectation(path) == "ok":
            assert code == 0, err
        else:
            assert code == 2, f"{fixture.name}: {err}"
            assert expectation(path) in err, f"{fixture.name}: {err}"
        assert "Traceback" not in err
    assert listener.connections == 0


@pytest.fixture()
def project_copy(tmp_path, store):
    """A copy of the project with its warm cache, to add hostile files to."""
    root = tmp_path / "project"
    for folder in ("ontology", "data", "queries"):
        shutil.copytree(ROOT / folder, root / folder)
    shutil.copytree(ROOT / "build" / "cache", root / "build" / "cache")
    return root


def test_build_and_check_refuse_every_bypass_and_connect_nowhere(listener, project_copy,
                                                                  capsys):
    expected = {}
    for fixture in BYPASSES:
        aimed(fixture, listener.port, project_copy / "queries")
        expected[fixture.name] = expectation(
            aimed(fixture, listener.port, project_copy / "queries" / "checks"))
    for command in ("build", "check"):
        assert main(["--project", str(project_copy), command]) == 2
        err = capsys.readouterr().err
        for name, message in expected.items():
            assert name in err and message in err, (command, name)
        assert "Traceback" not in err
    assert not (project_copy / "build" / "report.md").exists()
    assert listener.connections == 0


def test_validate_refuses_every_bypass_in_a_shape_and_names_the_shapes_file(
        listener, project_copy, capsys):
    shapes = project_copy / "ontology" / "shapes.ttl"
    added, expected = [], {}
    for number, fixture in enumerate(BYPASSES):
        copy = aimed(fixture, listener.port, project_copy)
        body = "\n".join(line for line in copy.read_text().split("\n")
                         if not line.startswith("#"))
        escaped = (body.replace("\\", "\\\\").replace('"', '\\"').replace("\r", "\\r")
                   .replace("\n", "\\n"))
        added.append(f"cps:Hostile{number} a sh:NodeShape ;\n"
                     "    sh:targetNode report:slay-stephens-2013 ;\n"
                     f'    sh:sparql [ sh:message "hostile" ; sh:prefixes cps: ;\n'
                     f'        sh:select "{escaped}" ] .\n')
        # A bare carriage return is refused as such where no Query object has normalised it.
        expected[fixture.name] = "carriage return" if "\r" in body else expectation(copy)
    shapes.write_text(shapes.read_text() + "\n" + "\n".join(added))
    code = main(["--project", str(project_copy), "validate"])
    err = capsys.readouterr().err
    assert code == 2, err
    # A notice (a source text not on this machine) may come first: it is not a refusal.
    lines = [line for line in err.split("\n") if line and not line.startswith("notice: ")]
    assert len(lines) == len(BYPASSES), err  # one line per hostile constraint
    for name, message in expected.items():
        assert any("ontology/shapes.ttl:" in line and message in line for line in lines), name
    assert "Traceback" not in err
    assert listener.connections == 0


def test_the_worker_opens_no_socket_even_if_a_service_got_through(listener, store):
    """The last line of defence: the worker cannot open a descriptor, so pyoxigraph's SERVICE
    fails inside it even when the parse check is skipped."""
    from coprod_kg import worker
    from coprod_kg.query import _oxigraph_answer

    if not worker.CAN_FORK:
        pytest.skip("needs fork")
    query = Query(Path("direct.rq"), "SELECT * WHERE { SERVICE <http://127.0.0.1:"
                  f"{listener.port}/sparql> {{ ?a ?b ?c }} }}", {})
    with pytest.raises(QueryError):
        worker.call(_oxigraph_answer, store, query, {}, 10, timeout=10)
    assert listener.connections == 0


def test_rdflib_refuses_service_while_it_evaluates(listener, closure):
    """The second line of defence: rdflib's engine raises on SERVICE (no parse check here)."""
    guard_rdflib()
    with pytest.raises(UnsafeQuery, match="SERVICE is not allowed"):
        list(closure.graph.query("SELECT * WHERE { SERVICE <http://127.0.0.1:"
                                 f"{listener.port}/sparql> {{ ?a ?b ?c }} }}"))
    assert listener.connections == 0


def test_the_listener_does_count(listener):
    """Without the listener counting, every 0 above would prove nothing."""
    with socket.create_connection(("127.0.0.1", listener.port), timeout=5):
        pass
    for _ in range(50):
        if listener.connections:
            break
        threading.Event().wait(0.05)
    assert listener.connections == 1
