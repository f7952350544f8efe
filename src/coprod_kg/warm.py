"""The warm path of ``coprod-kg query``: a command line answered before the CLI is imported.

A plain ``coprod-kg query NAME [--param K=V] [--timeout S] --format csv`` that the full command
line has answered once, from the embedded store, to standard output, leaves a *plan* in
``build/cache/warm/``: the query text as it was asked (its parameters bound), the store folder it
was asked of, its limits, and a *watch list* of every file and folder whose change could change
the answer, each with its stat (size, mtime, ctime, inode, device) or a mark that it must not
exist. The next time the same words are run in the same folder, with the same interpreter,
``sys.path`` and ``COPROD*`` environment, and every stat on the watch list is as recorded, the
answer is asked of the store at once, in the same worker and written by the same CSV writer as
the full path, so it is the same bytes. Any difference, and any failure other than a limit, and
the full command line runs instead, as if no plan were there.

The watch list holds: the query file, every ``.rq`` file and the ``queries/`` folder (a name is
resolved over them), the path the name would be as a file (it must stay absent); the ontology
and every folder and ``.ttl`` file under ``data/``; this package's ``.py`` files and folder and
the ``sys.path`` folders (the code, and the libraries' versions, that make the closure); the
store's stamp and every file it lists, and the closure's stamp. The same trade-off as the stat
cache of the inputs (project.input_digests) holds: an edit that keeps a file's size, mtime,
ctime and inode is missed, and since no user can set a ctime back, only a change within a
clock tick of the recording could be; so no plan is recorded while any watched file is younger
than stamps.RACY_NS, and none where data/ holds a symbolic link.

This module imports os and sys, and answers.py (pyoxigraph and the query worker) only once a
plan holds: that is what makes a warm query cost little more than a bare process that opens the
store.
"""

from __future__ import annotations

import os
import sys
import time

from . import __version__
from .stamps import stat_key

STARTED_NS = time.time_ns()  # before this process read any file a plan watches

PLAN_FORMAT = 1
PLANS = os.path.join("build", "cache", "warm")
KEEP = 64  # plans kept per project; the oldest are removed past this

EXIT_LIMIT, EXIT_INTERRUPTED = 3, 130  # as cli.py's

# Set when this process came through run() and found no plan: only then does the full path
# record one (a program that calls cli.main itself does not write plans it will never read).
MISSED: list[bool] = []


def environment() -> list:
    """The ``COPROD*`` variables, which may change what a command does (the reasoner, limits)."""
    return sorted((name, value) for name, value in os.environ.items()
                  if name.startswith("COPROD"))


def identity(cwd: str, words: list[str]) -> tuple:
    """What must be the same for a plan to be used: the plan's format, coprod-kg's version, the
    interpreter, its import path, the environment, the folder and the command line."""
    return (PLAN_FORMAT, __version__, sys.hexversion, sys.executable, list(sys.path),
            environment(), cwd, list(words))


def plan_file(root: str, cwd: str, words: list[str]) -> str:
    """Where the plan of ``words`` run in ``cwd`` is kept, under the project ``root``."""
    from zlib import crc32

    text = "\0".join([cwd, *words]).encode("utf-8", "surrogateescape")
    return os.path.join(root, PLANS, f"{crc32(text):08x}-{len(text)}.plan")


def stat_of(path: str) -> list[int] | None:
    """The stat key (stamps.stat_key) of ``path``, or None where it is missing."""
    try:
        return stat_key(os.stat(path))
    except OSError:
        return None


def unchanged(watch: list) -> bool:
    """Whether every (path, stat key or None) of a watch list holds now."""
    for path, key in watch:
        if stat_of(path) != key:
            return False
    return True


def load_plan(path: str):
    """The plan kept in ``path``, or None where there is none or it cannot be read."""
    from marshal import loads
    from zlib import crc32

    try:
        with open(path, "rb") as handle:
            data = handle.read()
        if len(data) < 8 or int.from_bytes(data[:8], "big") != crc32(data[8:]):
            return None
        plan = loads(data[8:])
    except (OSError, ValueError, EOFError, TypeError):
        return None
    return plan if isinstance(plan, dict) else None


def _term(kind: str, value: str, datatype: str, language: str):
    import pyoxigraph as ox

    if kind == "iri":
        return ox.NamedNode(value)
    if language:
        return ox.Literal(value, language=language)
    return ox.Literal(value, datatype=ox.NamedNode(datatype))


def plain_term(term) -> tuple | None:
    """A pyoxigraph IRI or literal as a tuple marshal can keep; None for anything else."""
    import pyoxigraph as ox

    if isinstance(term, ox.NamedNode):
        return ("iri", term.value, "", "")
    if isinstance(term, ox.Literal):
        return ("literal", term.value, term.datatype.value, term.language or "")
    return None


def _ask(store, text: str, substitutions: dict, max_rows: int, prefixes: dict) -> str:
    """Run in the query worker: the plan's answer as CSV."""
    from .answers import solutions_csv

    return solutions_csv(store.query(text, prefixes=prefixes, substitutions=substitutions),
                         max_rows)


def answer(words: list[str]) -> int | None:
    """Answer ``words`` from their plan and return the exit code; None where no plan holds (or
    anything but a limit went wrong), so that the full command line runs."""
    try:
        cwd = os.getcwd()
    except OSError:
        return None
    from .stamps import project_root

    root = project_root(cwd)
    if root is None:
        return None
    plan = load_plan(plan_file(root, cwd, words))
    try:
        if plan is None or plan["identity"] != identity(cwd, words) or plan["root"] != root \
                or not unchanged(plan["watch"]):
            return None
        if plan["decimal"]:
            import decimal  # noqa: F401  (the worker may open no file to import it: worker.py)
        import pyoxigraph as ox

        from . import worker
        from .answers import limit_message
        from .namespace import PREFIXES
        from .stamps import open_held

        substitutions = {ox.Variable(name): _term(*term) for name, term in plan["bindings"]}
        store = open_held(plan["store"])
    except Exception:  # a plan of another shape, a store gone: the full path decides
        return None
    try:
        text = worker.call(_ask, store, plan["text"], substitutions, plan["max_rows"],
                                    PREFIXES, timeout=plan["timeout"],
                                    memory_mb=plan["memory_mb"])
    except worker.LimitReached as error:
        sys.stderr.write(f"error: {limit_message(plan['query'], error)}\n")
        return EXIT_LIMIT
    except KeyboardInterrupt:
        raise
    except Exception:
        return None
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0


def run() -> None:
    """The ``coprod-kg`` command: the warm path where a plan holds, else the full CLI."""
    try:
        code = answer(sys.argv[1:])
        if code is not None:
            sys.stdout.flush()
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        code = EXIT_INTERRUPTED
    except BrokenPipeError:
        from .cli import _quiet_stdout

        _quiet_stdout()
        code = 0
    if code is None:
        from .cli import run as full

        MISSED.append(True)  # the full path may now leave a plan for next time
        full()
    sys.exit(code)


# --- recording, on the full path -----------------------------------------------------------

def _tree(folder: str, suffix: str, watch: list) -> bool:
    """Put ``folder``, the folders under it and their ``suffix`` files on the watch list;
    False where any entry is a symbolic link (whose target a stat of the link would not
    show)."""
    watch.append((folder, stat_of(folder)))
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except FileNotFoundError:
        return True
    for entry in entries:
        if entry.is_symlink():
            return False
        if entry.is_dir():
            if not _tree(entry.path, suffix, watch):
                return False
        elif entry.name.endswith(suffix):
            watch.append((entry.path, stat_of(entry.path)))
    return True


def _store_watch(folder: str, closure_meta: str, watch: list) -> bool:
    """The store folder, its stamp and every file the stamp lists, and the closure's stamp."""
    import json

    from .stamps import STORE_STAMP

    stamp = os.path.join(folder, STORE_STAMP)
    try:
        with open(stamp, encoding="utf-8") as handle:
            files = dict(json.load(handle)["files"])
    except (OSError, ValueError, KeyError, TypeError):
        return False
    watch.append((folder, stat_of(folder)))
    watch.append((stamp, stat_of(stamp)))
    for name in sorted(files):
        watch.append((os.path.join(folder, name), stat_of(os.path.join(folder, name))))
    watch.append((closure_meta, stat_of(closure_meta)))
    return True


def watch_list(project, query_path: str, name: str, cwd: str, store_folder: str) -> list | None:
    """Every (path, stat key or None) whose change could change the answer of a plan; None
    where no plan can be trusted (a symbolic link under data/, a store without its stamp)."""
    from .cache import _meta_path, closure_path
    from .query import _query_files

    root = str(project.root)
    watch = [(os.path.realpath(query_path), stat_of(query_path))]
    queries = str(project.queries_dir)
    watch.append((queries, stat_of(queries)))
    watch += [(str(path), stat_of(str(path))) for path in _query_files(project.queries_dir)]
    as_file = os.path.join(cwd, name)
    if not name.endswith(".rq") and stat_of(as_file) is None:
        watch.append((as_file, None))  # the name is not taken as a path while no such file is
    watch += [(str(path), stat_of(str(path))) for path in project.ontology_files]
    if not _tree(os.path.join(root, "data"), ".ttl", watch):
        return None
    package = os.path.dirname(os.path.abspath(__file__))
    watch.append((package, stat_of(package)))
    watch += [(os.path.join(package, n), stat_of(os.path.join(package, n)))
              for n in sorted(os.listdir(package)) if n.endswith(".py")]
    watch += [(os.path.abspath(entry or "."), stat_of(os.path.abspath(entry or ".")))
              for entry in sys.path]
    # The closure of the store's key, whose stamp the cache checks the store against.
    key = os.path.basename(store_folder)[len("store-"):]
    closure_meta = str(_meta_path(closure_path(project, key)))
    if not _store_watch(store_folder, closure_meta, watch):
        return None
    return watch


def record(project, words: list[str], name: str, query, text: str, substitutions: dict,
           timeout: float | None, max_rows: int, memory_mb: int, rows: list[dict]) -> str | None:
    """Keep the plan of a command line the full path has just answered (see the module's
    words); returns its file, or None where no plan can be trusted. Never raises for a cache
    that cannot be written: the next query is only slower."""
    from .answers import needs_decimal
    from .stamps import HELD, project_root, settled

    try:
        cwd = os.getcwd()
    except OSError:
        return None
    if project_root(cwd) != str(project.root):  # the warm path looks for the project from cwd
        return None
    cache = str(project.cache_dir)
    folders = {folder for folder, _ in HELD if os.path.dirname(folder) == cache}
    if len(folders) != 1:  # the store asked is the one store of this project's cache it opened
        return None
    store_folder = folders.pop()
    bindings = []
    for variable, term in substitutions.items():
        kept = plain_term(term)
        if kept is None:
            return None
        bindings.append((variable.value, kept))
    watch = watch_list(project, str(query.path), name, cwd, store_folder)
    if watch is None or any(key is not None and not settled(key, STARTED_NS)
                            for _, key in watch):
        return None
    plan = {"identity": identity(cwd, words), "root": str(project.root), "watch": watch,
            "store": store_folder, "text": text, "bindings": sorted(bindings),
            "timeout": timeout, "max_rows": max_rows, "memory_mb": memory_mb,
            "query": str(query.path), "decimal": needs_decimal(rows)}
    from marshal import dumps
    from zlib import crc32

    data = dumps(plan)
    path = plan_file(str(project.root), cwd, words)
    try:
        from .atomic import write_atomic

        write_atomic(path, crc32(data).to_bytes(8, "big") + data)
        _prune(os.path.dirname(path))
    except OSError:
        return None
    return path


def _prune(folder: str) -> None:
    """Remove the oldest plans past KEEP."""
    try:
        plans = sorted((entry.stat().st_mtime_ns, entry.path) for entry in os.scandir(folder)
                       if entry.name.endswith(".plan"))
    except OSError:
        return
    for _, path in plans[:-KEEP]:
        try:
            os.unlink(path)
        except OSError:
            pass
