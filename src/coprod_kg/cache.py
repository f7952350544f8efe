"""Reason once and keep the closure on disk, under a key that cannot describe other inputs.

The key (``Project.fingerprint``) hashes the bytes of the inputs *as they were loaded* (each file
is read once, and those bytes are both hashed and parsed), with the versions of coprod-kg, owlrl,
rdflib and pyoxigraph and the code of the modules that make the closure. An edit made while
``build`` reasons therefore leaves the closure under the key of what was reasoned, and the next
command sees a new key and reasons again.

Beside each closure ``closure-KEY.nt`` lies ``closure-KEY.json`` with its triple count and
SHA-256, written after it. A closure is used only when both agree; one that is truncated,
damaged or unparsable is reasoned again with a notice, never a traceback. A warm cache is read
straight into a pyoxigraph store, so answering a question needs neither rdflib nor owlrl.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Callable

import pyoxigraph as ox

from .atomic import remove_stale_parts, write_atomic
from .project import Project


def _notice(message: str) -> None:
    sys.stderr.write(f"notice: {message}\n")


# Where notices about the cache go (the CLI's standard error by default).
notify: Callable[[str], None] = _notice


def closure_path(project: Project, key: str | None = None) -> Path:
    """The closure file of ``key`` (default: the inputs as they are now)."""
    return project.cache_dir / f"closure-{key or project.fingerprint()}.nt"


def _meta_path(path: Path) -> Path:
    return path.with_suffix(".json")


def ntriples_lines(text: str) -> list[str]:
    """The lines of an N-Triples document. Only a line feed ends a line: U+2028, U+2029, form
    feed, vertical tab, U+0085 and U+001C may stand raw in a literal, so str.splitlines would
    cut a triple in two."""
    return [line for line in text.split("\n") if line.strip(" \t\r")]


def write_closure(project: Project, graph, key: str | None = None) -> Path:
    """Store a reasoned graph as sorted N-Triples under ``key`` and drop older closures.

    ``graph`` is a reasoned rdflib graph, a pyoxigraph store (written by
    ``rules.sorted_ntriples``), or the closure already as sorted N-Triples bytes with one triple
    per line and no line twice (``rules.close_with_forms`` gives them), written as they are.
    Pass the ``fingerprint`` of the LoadedGraph the closure was reasoned from; without it the
    inputs are read again now, which is only right when nothing can have changed them.
    """
    key = key or project.fingerprint()
    path = closure_path(project, key)
    if isinstance(graph, (bytes, bytearray)):
        data = bytes(graph)
    elif isinstance(graph, ox.Store):
        from .rules import sorted_ntriples

        data = sorted_ntriples(graph)
    else:
        lines = sorted(set(ntriples_lines(graph.serialize(format="nt"))))
        data = ("\n".join(lines) + "\n").encode("utf-8")
    meta = _meta_path(path)
    meta.unlink(missing_ok=True)  # removed first, written last: no stamp, no trust
    write_atomic(path, data)
    write_atomic(meta, json.dumps({"key": key, "triples": data.count(b"\n"),
                                   "sha256": hashlib.sha256(data).hexdigest()}) + "\n")
    for stale in project.cache_dir.glob("closure-*"):
        if stale not in (path, meta):
            stale.unlink(missing_ok=True)
    remove_stale_parts(project.cache_dir)
    return path


def _verified(path: Path) -> tuple[bytes | None, str]:
    """The closure's bytes if its stamp vouches for them, else None and why not."""
    meta = _meta_path(path)
    if not path.is_file():
        return None, ""
    try:
        stamp = json.loads(meta.read_text(encoding="utf-8"))
        triples, digest = int(stamp["triples"]), str(stamp["sha256"])
    except FileNotFoundError:
        return None, "it has no stamp (it was never finished)"
    except (OSError, ValueError, KeyError, TypeError) as error:
        return None, f"its stamp cannot be read ({error})"
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != digest:
        return None, "its bytes do not match its stamp (truncated or changed)"
    lines = data.count(b"\n")
    if lines != triples:
        return None, f"it holds {lines} lines, not {triples}"
    return data, ""


def cached_closure(project: Project, key: str) -> Path | None:
    """The closure file stored under ``key`` if its stamp vouches for it, else None."""
    path = closure_path(project, key)
    return path if _verified(path)[0] is not None else None


def _reason_again(project: Project, why: str = ""):
    """Load the inputs once, reason, and store the closure under the key of those bytes."""
    from .load import load_project
    from .reason import reason

    if why:
        notify(why)
    loaded = load_project(project)
    return write_closure(project, reason(loaded.graph).graph, loaded.fingerprint)


def _closure(project: Project, path: Path | None = None) -> tuple[Path, bytes]:
    if path is None:
        path = closure_path(project, project.fingerprint(project.read_inputs()))
    data, why = _verified(path)
    if data is None:
        written = _reason_again(project, f"the cached closure {path} cannot be trusted: {why}; "
                                         "reasoning again" if why else "")
        data, why = _verified(written)
        if data is None:
            raise RuntimeError(f"{written}: the closure just written does not verify: {why}")
        return written, data
    return path, data


def ensure_closure(project: Project) -> Path:
    """Return a verified closure file for the inputs as they are now, reasoning if needed.

    Raises InputError when a data file cannot be loaded.
    """
    return _closure(project)[0]


def open_store(project: Project, path: Path | None = None) -> ox.Store:
    """An in-memory pyoxigraph store holding the reasoned graph of the inputs as they are now,
    or the closure file ``path`` that write_closure returned (so that a build answers from the
    very closure it reasoned, whatever happened to the files since).

    A closure that verifies but still does not load (or loads to another count) is reasoned
    again with a notice.
    """
    path, data = _closure(project, path)
    for attempt in range(2):
        store = ox.Store()
        try:
            store.bulk_load(input=data, format=ox.RdfFormat.N_TRIPLES)
            expected = data.count(b"\n")
            if len(store) == expected:
                return store
            why = f"it loads as {len(store)} triples, not {expected}"
        except (SyntaxError, ValueError, OSError) as error:
            why = f"it does not parse ({str(error).splitlines()[0] if str(error) else error})"
        if attempt:
            break
        _meta_path(path).unlink(missing_ok=True)
        path = _reason_again(project, f"the cached closure {path} cannot be used: {why}; "
                                      "reasoning again")
        data, _ = _verified(path)
    raise RuntimeError(f"{path}: the closure cannot be loaded: {why}")
