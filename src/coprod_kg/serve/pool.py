"""Answer SPARQL in worker processes, each query in a forked child killed at its timeout.

A thread cannot be stopped; a process can. The server starts a few long-lived workers (spawned,
so each is a fresh single-threaded process; forking the threaded server itself could copy a
held lock). Each worker opens the same read-only on-disk store and answers one job at a time
through ``worker.call``: the query runs in a child forked from the worker, with the project's
limits (killed at the timeout, memory capped beyond what is loaded, no new file or socket), its
rows capped, and the serialised answer sent back. So a runaway query is killed at the timeout,
its memory freed at once, and the worker is free for the next job. Should a worker itself stop
answering, the server kills it and starts another.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import threading
from dataclasses import dataclass, field

# Result formats of the SPARQL 1.1 Protocol, by media type.
RESULT_TYPES = {
    "application/sparql-results+json": "JSON",
    "application/sparql-results+xml": "XML",
    "text/csv": "CSV",
    "text/tab-separated-values": "TSV",
}
GRAPH_TYPES = {
    "text/turtle": "TURTLE",
    "application/n-triples": "N_TRIPLES",
    "application/ld+json": "JSON_LD",
    "application/rdf+xml": "RDF_XML",
}
XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


@dataclass
class Job:
    """One query: its text, bound terms (pyoxigraph terms by variable name) and wanted types."""

    text: str
    substitutions: dict = field(default_factory=dict)
    result_type: str = "application/sparql-results+json"
    graph_type: str = "text/turtle"
    # A page of the answer: skip ``offset`` rows (or triples), then give at most ``page_size``.
    offset: int = 0
    page_size: int | None = None


@dataclass
class Answer:
    """A serialised answer, or an error status with a message."""

    status: int
    body: bytes = b""
    media_type: str = "text/plain; charset=utf-8"
    message: str = ""
    more: bool = False  # a page was asked for, and rows follow it
    over_cap: bool = False  # refused because the whole answer passes the row cap


class QueryTimeout(Exception):
    pass


class WorkerGone(Exception):
    pass


# ---------------------------------------------------------------- inside a worker

def _term_json(term) -> dict:
    import pyoxigraph as ox

    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, ox.Literal):
        cell = {"type": "literal", "value": term.value}
        if term.language:
            cell["xml:lang"] = term.language
        elif term.datatype.value != XSD_STRING:
            cell["datatype"] = term.datatype.value
        return cell
    raise ValueError("quoted triples cannot be returned here")


def _taken(items, job: Job, row_cap: int) -> tuple[list | None, bool]:
    """The rows (or triples) of ``items`` to send, and whether more follow the page asked for;
    None when the whole answer, or the page, would pass the row cap."""
    if job.page_size is None:
        limit, skip = row_cap, 0
    else:
        limit, skip = min(job.page_size, row_cap), job.offset
    taken = []
    for item in items:
        if skip:
            skip -= 1
            continue
        if len(taken) == limit:
            if job.page_size is None:
                return None, False
            return taken, True
        taken.append(item)
    return taken, False


def execute(store, job: Job, row_cap: int) -> Answer:
    """Run one job on a store and serialise its answer (used inside a worker process)."""
    import pyoxigraph as ox

    from ..namespace import PREFIXES
    from ..query import bind_in_subselects

    try:
        substitutions = {ox.Variable(k): v for k, v in job.substitutions.items()}
        results = store.query(bind_in_subselects(job.text, substitutions), prefixes=PREFIXES,
                              substitutions=substitutions)
        if isinstance(results, ox.QueryBoolean):
            fmt = getattr(ox.QueryResultsFormat, RESULT_TYPES[job.result_type])
            return Answer(200, results.serialize(format=fmt), job.result_type)
        if isinstance(results, ox.QuerySolutions):
            names = [variable.value for variable in results.variables]
            solutions, more = _taken(results, job, row_cap)
            if solutions is None:
                return _over_cap(row_cap)
            rows = [{n: _term_json(s[n]) for n in names if s[n] is not None} for s in solutions]
            # pyoxigraph writes every results format; it reads them too, so the capped rows go
            # back through its JSON reader to be written in the format asked for.
            document = json.dumps({"head": {"vars": names}, "results": {"bindings": rows}})
            fmt = getattr(ox.QueryResultsFormat, RESULT_TYPES[job.result_type])
            parsed = ox.parse_query_results(document.encode(), format=ox.QueryResultsFormat.JSON)
            return Answer(200, parsed.serialize(format=fmt), job.result_type, more=more)
        triples, more = _taken(results, job, row_cap)
        if triples is None:
            return _over_cap(row_cap)
        fmt = getattr(ox.RdfFormat, GRAPH_TYPES[job.graph_type])
        return Answer(200, ox.serialize(triples, format=fmt, prefixes=PREFIXES), job.graph_type,
                      more=more)
    except SyntaxError as error:
        return Answer(400, message=f"SPARQL syntax error: {error}")
    except (OSError, RuntimeError, ValueError, TypeError) as error:
        return Answer(400, message=f"the query cannot be answered: {error}")
    except MemoryError:
        return Answer(503, message="the query needed more memory than the server allows")


def _over_cap(row_cap: int) -> Answer:
    return Answer(400, message=f"the answer has more than {row_cap} rows, the server's row cap; "
                               "add LIMIT (and OFFSET to page) or narrow the query",
                  over_cap=True)


def _refusal(job: Job, timeout: float) -> Answer | None:
    """The 400 (or 503) answer to a query the project's safety check refuses, else None."""
    from pathlib import Path

    from ..query import Query, QueryError, QueryLimitError, refuse_unsafe

    try:
        refuse_unsafe(Query(Path("query"), job.text, {}), timeout=timeout)
    except QueryLimitError as error:
        return Answer(503, message=str(error).removeprefix("query: "))
    except QueryError as error:  # SERVICE, FROM, updates, syntax errors
        return Answer(400, message=str(error).removeprefix("query: "))
    return None


def _stop(signum, frame):
    # Leave through SystemExit, so that worker.call's cleanup kills a query still running.
    raise SystemExit(0)


def _worker_main(conn, store_path: str, row_cap: int, memory_mb: int, timeout: float) -> None:
    import signal

    signal.signal(signal.SIGTERM, _stop)
    import pyoxigraph as ox
    import rdflib.plugins.sparql.parser  # noqa: F401  (imported once; every check forks from here)

    from .. import worker

    from ..cache import read_only_store

    store = read_only_store(store_path)  # opened before any fork, its files all held open
    conn.send("ready")
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        refused = _refusal(job, timeout)
        if refused is not None:
            conn.send(refused)
            continue
        try:
            answer = worker.call(execute, store, job, row_cap, timeout=timeout,
                                 memory_mb=memory_mb)
        except worker.TimeLimitReached:
            answer = Answer(503, message=f"stopped after {timeout:g} s without an answer (the "
                                         "server's query timeout); narrow the query")
        except worker.MemoryLimitReached:
            answer = Answer(503, message=f"the query needed more than {memory_mb} MB, the "
                                         "server's memory limit; narrow the query")
        except worker.WorkerCrashed as error:
            answer = Answer(500, message=f"the query stopped its worker: {error}")
        conn.send(answer)


# ---------------------------------------------------------------- in the server

class Worker:
    """One worker process and the pipe to it."""

    def __init__(self, store_path: str, row_cap: int, memory_mb: int, timeout: float):
        self.args = (store_path, row_cap, memory_mb, timeout)
        self.process = None
        self.conn = None

    def start(self, ready_within: float = 60.0) -> "Worker":
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        self.process = context.Process(target=_worker_main, args=(child, *self.args),
                                       name="coprod-kg-query", daemon=True)
        self.process.start()
        child.close()
        self.conn = parent
        try:
            ready = parent.poll(ready_within) and parent.recv() == "ready"
        except (EOFError, OSError):
            ready = False
        if not ready:
            self.kill()
            raise WorkerGone("a query worker did not start")
        return self

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def ask(self, job: Job, timeout: float) -> Answer:
        """Send a job and wait for its answer. Raises QueryTimeout or WorkerGone."""
        try:
            self.conn.send(job)
            if not self.conn.poll(timeout):
                raise QueryTimeout()
            return self.conn.recv()
        except (EOFError, OSError, BrokenPipeError):
            raise WorkerGone() from None

    def kill(self) -> None:
        """Stop the worker: SIGTERM first, so it kills the query it may be running; then
        SIGKILL if it has not gone within 2 s."""
        if self.process is not None and self.process.is_alive():
            self.process.terminate()
            self.process.join(2)
            if self.process.is_alive():
                self.process.kill()
        if self.process is not None:
            self.process.join(5)
        if self.conn is not None:
            self.conn.close()


class Pool:
    """A fixed number of workers over one store; ``run`` is safe to await concurrently."""

    GRACE = 5.0  # beyond the query timeout before the server gives up on a worker itself

    def __init__(self, store_path: str, size: int = 2, timeout: float = 10.0,
                 row_cap: int = 10000, memory_mb: int = 2048):
        self.store_path, self.size, self.timeout = store_path, size, timeout
        self.row_cap, self.memory_mb = row_cap, memory_mb
        self._idle: asyncio.Queue | None = None
        self._all: list[Worker] = []
        self._lock = threading.Lock()

    def _new(self) -> Worker:
        worker = Worker(self.store_path, self.row_cap, self.memory_mb, self.timeout).start()
        with self._lock:
            self._all.append(worker)
        return worker

    async def start(self) -> None:
        self._idle = asyncio.Queue()
        import anyio.to_thread

        for _ in range(self.size):
            self._idle.put_nowait(await anyio.to_thread.run_sync(self._new))

    def pids(self) -> list[int]:
        with self._lock:
            return [w.pid for w in self._all if w.process and w.process.is_alive()]

    async def run(self, job: Job) -> Answer:
        """Answer a job in a worker; past the timeout kill that worker and start another."""
        import anyio.to_thread

        worker = await self._idle.get()
        try:
            answer = await anyio.to_thread.run_sync(worker.ask, job, self.timeout + self.GRACE)
        except (QueryTimeout, WorkerGone) as stop:
            self._retire(worker)
            asyncio.get_running_loop().create_task(self._replace())
            return Answer(503, message="the query worker stopped answering and was replaced; "
                                       "try again, or narrow the query")
        except BaseException:
            self._retire(worker)
            asyncio.get_running_loop().create_task(self._replace())
            raise
        self._idle.put_nowait(worker)
        return answer

    def _retire(self, worker: Worker) -> None:
        worker.kill()
        with self._lock:
            if worker in self._all:
                self._all.remove(worker)

    async def _replace(self) -> None:
        import anyio.to_thread

        self._idle.put_nowait(await anyio.to_thread.run_sync(self._new))

    def close(self) -> None:
        with self._lock:
            workers, self._all = self._all, []
        for worker in workers:
            worker.kill()

