"""``coprod-kg serve``: a read-only SPARQL endpoint and a page for every IRI of the graph.

Start-up work lives here: the server and its query workers open read-only the on-disk
pyoxigraph store the cache keeps beside the closure (made first if the cache is stale), each
holding its shared lock, so the store is not removed while they serve it. Importing this package pulls in starlette only when
:func:`serve` or :mod:`.app` is used, so other commands start as fast as before.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from ..project import Project


def prepare_store(project: Project, folder: Path | None = None) -> Path:
    """The folder of an on-disk store of the reasoned graph (reasoning first if the cache is
    stale): the cache's own store, or, given ``folder``, a writable copy there that the caller
    removes. Raises InputError for unreadable data.
    """
    import gc

    import pyoxigraph as ox

    from ..cache import ensure_closure, ensure_store

    if folder is None:
        return ensure_store(project)
    closure = ensure_closure(project)
    target = Path(folder or tempfile.mkdtemp(prefix="coprod-kg-serve-"))
    store = ox.Store(str(target))
    store.bulk_load(path=str(closure), format=ox.RdfFormat.N_TRIPLES)
    store.flush()
    del store
    gc.collect()  # the writer must be closed before readers open the folder
    return target


def serve(project: Project, host: str = "127.0.0.1", port: int = 8080, *,
          allowed_hosts: list[str] | None = None, cors_origins: list[str] | None = None,
          timeout: float = 10.0, row_cap: int = 10000, workers: int = 2,
          memory_mb: int = 2048, echo=print) -> None:
    """Serve the project's reasoned graph until interrupted."""
    import uvicorn

    from ..cache import open_folder
    from .app import Settings, create_app, explorer_page

    folder = prepare_store(project)
    # The cache's store stays when the server stops (it holds the store's lock while it runs).
    # Drawn here, in one thread, before the server starts its own.
    explorer = explorer_page(project, open_folder(folder))
    hosts = allowed_hosts or ["127.0.0.1", "localhost", "::1"]
    if host not in hosts and host not in ("0.0.0.0", "::"):
        hosts = [*hosts, host]
    settings = Settings(project, folder, hosts, cors_origins or [], timeout, row_cap,
                        workers, memory_mb, explorer)
    echo(f"serving {project.root} at http://{host}:{port}/ (timeout {timeout:g} s, "
         f"row cap {row_cap}, {workers} query workers); Ctrl-C stops")
    # On SIGTERM or Ctrl-C, answers in flight get 2 s; then the workers are stopped, and each
    # kills the query it is running. (A SIGKILLed server leaves its workers to end their
    # queries at the timeout.)
    uvicorn.run(create_app(settings), host=host, port=port, log_level="warning",
                proxy_headers=False, server_header=False, timeout_graceful_shutdown=2)
