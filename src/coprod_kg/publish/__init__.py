"""Publishing the graph: exports, releases, ontology documentation, the OWL checks, and loading
the asserted and the inferred graph into a triple store (``coprod-kg publish --endpoint``).

A corpus of a thousand evaluations is millions of triples, gigabytes of N-Triples: one request
that large is refused or held in memory by many servers (the Oxigraph server loads a request in
one transaction). So each graph goes in batches of at most ``batch`` triples: the first request
is a Graph Store Protocol ``PUT``, which replaces the graph, and the others are ``POST``s, which
add to it. A blank node's label means the same node only inside one request, so every triple that
mentions a blank node travels in the first request; the rest can be split anywhere. An Oxigraph
server also takes ``--no-transaction``: each batch goes through its bulk loader, which at millions
of triples is much faster than a transaction per batch, but is not atomic.

Neither graph goes through rdflib: the inputs are bulk-loaded into a pyoxigraph store (the same
triples rdflib reads, tested), written out as N-Triples to a temporary file and read back one
batch at a time. The inferred graph is the cached closure when one verifies for the inputs as
they are now, else the rule engine's closure of that store (or, with ``COPROD_REASONER=owlrl``,
the closure the cache reasons with owlrl).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

BATCH = 200_000  # triples per request: a few tens of MB of N-Triples


@dataclass
class Sent:
    """One graph loaded: its IRI, the triples sent and the requests they took."""

    graph: str
    triples: int
    requests: int


def _lines(path: Path, blank: bool) -> Iterator[bytes]:
    """The triples of an N-Triples file, one line each: those that mention a blank node (or
    merely contain ``_:`` in a literal, which is harmless) or all the others."""
    with open(path, "rb") as text:
        for line in text:
            if not line.strip(b" \t\r\n"):
                continue
            if (b"_:" in line) == blank:
                yield line if line.endswith(b"\n") else line + b"\n"


def batches(path: Path, batch: int = BATCH) -> Iterator[list[bytes]]:
    """The lines of ``path`` in lists of at most ``batch`` lines, every line that mentions a
    blank node in the first list (which may therefore be longer). Yields at least one list."""
    if batch < 1:
        raise ValueError("a batch holds at least one triple")
    current = list(_lines(path, blank=True))
    started = False
    for line in _lines(path, blank=False):
        if len(current) >= batch:
            yield current
            started, current = True, []
        current.append(line)
    if current or not started:
        yield current


def send_graph(store, graph: str, path: Path, batch: int = BATCH,
               progress: Callable[[int], None] | None = None, bulk: bool = False) -> Sent:
    """Replace the named graph ``graph`` of the Graph Store ``store`` (engines.GraphStore) with
    the N-Triples file ``path``, in batches. ``bulk`` asks an Oxigraph server to load each batch
    without a transaction (its bulk loader, ``?no_transaction``). Raises EndpointError naming how
    much got in when a request after the first fails (the graph is then incomplete until
    published again)."""
    from ..engines import N_TRIPLES, EndpointError

    params = {"graph": graph, **({"no_transaction": ""} if bulk else {})}
    sent = requests = 0
    for lines in batches(path, batch):
        method = "PUT" if requests == 0 else "POST"
        try:
            store.http.request(method, params=params, content=b"".join(lines),
                               headers={"Content-Type": N_TRIPLES})
        except EndpointError as error:
            if requests == 0:
                raise
            raise EndpointError(f"{error}; <{graph}> holds only the first {sent:,} triples: "
                                "publish again to replace it") from None
        sent += len(lines)
        requests += 1
        if progress:
            progress(sent)
    return Sent(graph, sent, requests)


def _write_ntriples(store, path: Path) -> None:
    import pyoxigraph as ox

    store.dump(output=str(path), format=ox.RdfFormat.N_TRIPLES, from_graph=ox.DefaultGraph())


def publish_project(project, store, batch: int = BATCH,
                    echo: Callable[[str], None] | None = None, bulk: bool = False) -> list[Sent]:
    """Load the project's asserted graph and its closure into ``store`` as the named graphs
    engines.ASSERTED_GRAPH and engines.INFERRED_GRAPH, each in batches.

    Raises InputError for an input that cannot be loaded and EndpointError when the server
    refuses; nothing is written in the project.
    """
    from .. import cache, rules
    from ..engines import ASSERTED_GRAPH, INFERRED_GRAPH

    done = []
    memory = rules.load_store(project.input_files())
    with tempfile.TemporaryDirectory(prefix="coprod-kg-publish-") as folder:
        asserted = Path(folder) / "asserted.nt"
        _write_ntriples(memory, asserted)
        done.append(send_graph(store, ASSERTED_GRAPH, asserted, batch, bulk=bulk))
        if echo:
            echo(f"put {done[-1].triples} triples into <{ASSERTED_GRAPH}> at {store.url}")
        inferred = cache.cached_closure(project, project.fingerprint())
        if inferred is None and os.environ.get("COPROD_REASONER", "rules") == "owlrl":
            inferred = cache.ensure_closure(project)
        if inferred is None:
            closure = rules.close(memory)
            if echo:
                echo(f"reasoned with the rule engine: {closure.inferred} triples inferred")
            inferred = Path(folder) / "inferred.nt"
            _write_ntriples(memory, inferred)
        del memory
        done.append(send_graph(store, INFERRED_GRAPH, inferred, batch, bulk=bulk))
        if echo:
            echo(f"put {done[-1].triples} triples into <{INFERRED_GRAPH}> at {store.url}")
    return done
