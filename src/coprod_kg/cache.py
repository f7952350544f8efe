"""Reason once and keep the closure on disk, under a key that cannot describe other inputs, and
beside it an on-disk store that a warm query opens instead of re-reading the closure.

The key (``Project.fingerprint``) hashes the bytes of the inputs *as they were loaded* (each file
is read once, and those bytes are both hashed and parsed), with the versions of coprod-kg, owlrl,
rdflib and pyoxigraph and the code of the modules that make the closure. An edit made while
``build`` reasons therefore leaves the closure under the key of what was reasoned, and the next
command sees a new key and reasons again. (A warm command hashes only the input files and the
reasoning modules whose stat changed; see ``project.input_digests`` for what that trusts.)

Beside each closure ``closure-KEY.nt`` lies ``closure-KEY.json`` with its triple count and
SHA-256, written after it. A closure is used only when both agree; one that is truncated,
damaged or unparsable is reasoned again with a notice, never a traceback.

From a verified closure a pyoxigraph store is made on disk, ``store-KEY/``: bulk-loaded in a
temporary folder, counted, flushed and compacted, stamped last (``coprod-kg-store.json``: the key,
the closure's count and SHA-256, and the size of every file of the store), and renamed into place
in one step. A store is opened (read-only, so any number of processes may read it at once) only
when its stamp names the key wanted, agrees with the closure's stamp, and every file it lists is
there at its size; RocksDB checks its own files' checksums as it reads. A store that is
half-built, damaged or made from another closure is made again with a notice. Each reader holds
a shared lock on the store's stamp while it lives, and stale stores (whose closure is gone) are
removed only when no reader holds them. A warm query needs neither rdflib nor owlrl.
"""

from __future__ import annotations

import errno
import json
import os
import sys
from collections.abc import Callable
from io import BufferedReader
from pathlib import Path

import pyoxigraph as ox

from .project import Project
from .stamps import HELD as _HELD, STORE_STAMP, open_held


def _notice(message: str) -> None:
    sys.stderr.write(f"notice: {message}\n")


# Where notices about the cache go (the CLI's standard error by default).
notify: Callable[[str], None] = _notice

_BUILDING, _REMOVING = ".building", ".removing"  # suffixes of a store's temporary folders


def closure_path(project: Project, key: str | None = None) -> Path:
    """The closure file of ``key`` (default: the inputs as they are now)."""
    return project.cache_dir / f"closure-{key or project.fingerprint()}.nt"


def store_path(project: Project, key: str | None = None) -> Path:
    """The folder of the on-disk store of ``key`` (default: the inputs as they are now)."""
    return project.cache_dir / f"store-{key or project.fingerprint()}"


def _key_of(closure: Path) -> str:
    name = Path(closure).name
    if name.startswith("closure-") and name.endswith(".nt"):
        return name[len("closure-"):-len(".nt")]
    import hashlib

    return hashlib.sha256(str(closure).encode("utf-8", "surrogateescape")).hexdigest()[:24]


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
    import hashlib

    from .atomic import remove_stale_parts, write_atomic

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


def _stamp_of(path: Path) -> tuple[dict | None, str]:
    """The closure's stamp (its count and SHA-256), else None and why not."""
    try:
        stamp = json.loads(_meta_path(path).read_text(encoding="utf-8"))
        return {"triples": int(stamp["triples"]), "sha256": str(stamp["sha256"])}, ""
    except FileNotFoundError:
        return None, "it has no stamp (it was never finished)"
    except (OSError, ValueError, KeyError, TypeError) as error:
        return None, f"its stamp cannot be read ({error})"


def _open_verified(path: Path) -> tuple[BufferedReader | None, dict | None, str]:
    """The closure opened at its start if its stamp vouches for its bytes (read once, in
    chunks, from the very file that is returned), else None and why not."""
    if not path.is_file():
        return None, None, ""
    stamp, why = _stamp_of(path)
    if stamp is None:
        return None, None, why
    import hashlib

    try:
        stream = open(path, "rb")
    except OSError as error:
        return None, None, f"it cannot be read ({error.strerror or error})"
    digest, lines = hashlib.sha256(), 0
    try:
        for chunk in iter(lambda: stream.read(1 << 22), b""):
            digest.update(chunk)
            lines += chunk.count(b"\n")
        stream.seek(0)
    except OSError as error:
        stream.close()
        return None, None, f"it cannot be read ({error.strerror or error})"
    if digest.hexdigest() != stamp["sha256"]:
        stream.close()
        return None, None, "its bytes do not match its stamp (truncated or changed)"
    if lines != stamp["triples"]:
        stream.close()
        return None, None, f"it holds {lines} lines, not {stamp['triples']}"
    return stream, stamp, ""


def _verified(path: Path) -> tuple[bytes | None, str]:
    """The closure's bytes if its stamp vouches for them, else None and why not."""
    stream, _, why = _open_verified(path)
    if stream is None:
        return None, why
    with stream:
        return stream.read(), ""


def cached_closure(project: Project, key: str) -> Path | None:
    """The closure file stored under ``key`` if its stamp vouches for it, else None."""
    stream, _, _ = _open_verified(closure_path(project, key))
    if stream is None:
        return None
    stream.close()
    return closure_path(project, key)


def _reason_again(project: Project, why: str = ""):
    """Load the inputs once, reason, and store the closure under the key of those bytes."""
    import logging

    from .load import load_project

    # rdflib's warnings (e.g. for an ill-typed literal, which validation reports in words) stay
    # off the terminal, as the CLI keeps them for every command that loads the inputs.
    logging.getLogger("rdflib").setLevel(logging.ERROR)
    if why:
        notify(why)
    return reason_loaded(project, load_project(project))[0]


def reason_loaded(project: Project, loaded):
    """Reason the inputs as ``loaded`` and store the closure under the key of their bytes;
    return the closure file and the rule engine's Closure (None under owlrl).

    The rule engine adds the closure in place to the pyoxigraph store the inputs were loaded
    into, and writes it from there, so no triple passes through rdflib (whose copy of the
    closure took more than 23 GB at K = 1000); owlrl (``COPROD_REASONER=owlrl``) works on
    rdflib's graph.
    """
    if os.environ.get("COPROD_REASONER", "rules") == "owlrl":
        from .reason import reason

        return write_closure(project, reason(loaded.graph).graph, loaded.fingerprint), None
    from .rules import close_with_forms

    closure, data = close_with_forms(loaded.take_store(), loaded.triples())
    return write_closure(project, data, loaded.fingerprint), closure


def _closure(project: Project, path: Path | None = None) -> Path:
    """A verified closure file: ``path`` (default: the inputs' as they are now), reasoned again
    with a notice if it cannot be trusted."""
    if path is None:
        path = closure_path(project)
    stream, _, why = _open_verified(path)
    if stream is None:
        written = _reason_again(project, f"the cached closure {path} cannot be trusted: {why}; "
                                         "reasoning again" if why else "")
        stream, _, why = _open_verified(written)
        if stream is None:
            raise RuntimeError(f"{written}: the closure just written does not verify: {why}")
        path = written
    stream.close()
    return path


def ensure_closure(project: Project) -> Path:
    """Return a verified closure file for the inputs as they are now, reasoning if needed.

    Raises InputError when a data file cannot be loaded.
    """
    return _closure(project)


# ---------------------------------------------------------------- the on-disk store

def _store_problem(folder: Path, key: str, closure: Path) -> str | None:
    """None when the store in ``folder`` can be trusted for ``key`` and the closure stored under
    it; "" when there is none, or it was made from an earlier closure of the key; else why it
    cannot be trusted. Reads only small files."""
    if not folder.exists():
        return ""
    if not folder.is_dir():
        return "it is not a folder"
    try:
        stamp = json.loads((folder / STORE_STAMP).read_text(encoding="utf-8"))
        named, triples, digest = str(stamp["key"]), int(stamp["triples"]), str(stamp["sha256"])
        files = {str(name): int(size) for name, size in dict(stamp["files"]).items()}
    except FileNotFoundError:
        return "it has no stamp (it was never finished)"
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        return f"its stamp cannot be read ({error})"
    if named != key:
        return f"its stamp names the inputs {named}, not {key}"
    # The closure stored under the key now is the one to answer from (a build passes it): a
    # store made from another closure is made again. With the closure's stamp gone (a write of
    # it under way, or the file removed), the store still vouches for the closure it was made of.
    closure_stamp, _ = _stamp_of(closure)
    # A closure written again under the same key (``reason`` run again) differs in its blank
    # nodes' labels: the store is then out of date rather than damaged, and made again quietly.
    if closure_stamp is not None and (closure_stamp["sha256"], closure_stamp["triples"]) != \
            (digest, triples):
        return ""
    if not files:
        return "its stamp lists no files"
    for name, size in sorted(files.items()):
        try:
            found = (folder / name).stat().st_size
        except OSError:
            return f"its file {name} is missing"
        if found != size:
            return f"its file {name} holds {found} bytes, not {size}"
    return None


def open_folder(folder: Path) -> ox.Store:
    """Open a trusted store read-only, holding a shared lock on its stamp while this process
    lives, so that no other process removes it from under a reader (stamps.open_held)."""
    return open_held(str(folder))


def read_only_store(folder: Path | str) -> ox.Store:
    """Open an on-disk store read-only: one the cache made with its lock held (see
    open_folder), any other (e.g. a copy a test wrote) as it is."""
    folder = Path(folder)
    if (folder / STORE_STAMP).is_file():
        return open_folder(folder)
    return ox.Store.read_only(str(folder))


def _first_line(error: BaseException) -> str:
    text = str(error)
    return text.splitlines()[0] if text else type(error).__name__


class _Unloadable(Exception):
    """A closure that verifies but does not load as its stamp says."""


def _make_store(project: Project, closure: Path) -> Path:
    """Make the store of a closure: verify the closure, bulk-load it into a temporary folder,
    count it, compact it, stamp it last and rename it into place. Returns the store's folder.

    Raises _Unloadable for a closure that verifies but does not load to its count, and
    LookupError (with why) for one that does not verify.
    """
    import gc
    import shutil
    import tempfile

    from .atomic import fsync_folder, write_atomic

    key = _key_of(closure)
    folder = store_path(project, key)
    stream, stamp, why = _open_verified(closure)
    if stream is None:
        raise LookupError(why or "it is missing")
    folder.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f".store-{key}.{os.getpid()}.", suffix=_BUILDING,
                                     dir=folder.parent))
    try:
        with stream:
            store = ox.Store(str(building))
            try:
                store.bulk_load(input=stream, format=ox.RdfFormat.N_TRIPLES)
            except (SyntaxError, ValueError) as error:
                raise _Unloadable(f"it does not parse ({_first_line(error)})") from None
            store.flush()
            store.optimize()
            loaded = len(store)
            del store
            gc.collect()  # the writer must be closed before the folder is read or renamed
        if loaded != stamp["triples"]:
            raise _Unloadable(f"it loads as {loaded} triples, not {stamp['triples']}")
        files = {entry.name: entry.stat().st_size for entry in os.scandir(building)
                 if entry.is_file() and entry.name != "LOCK" and not entry.name.startswith("LOG")}
        write_atomic(building / STORE_STAMP,
                     json.dumps({"key": key, "triples": stamp["triples"],
                                 "sha256": stamp["sha256"], "files": files},
                                sort_keys=True) + "\n")
        os.chmod(building, 0o755)  # mkdtemp makes the folder private; the cache is shared
        fsync_folder(building)
        _publish(building, folder, key, closure)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    tidy_stores(project, keep=key)
    return folder


def _publish(building: Path, folder: Path, key: str, closure: Path) -> None:
    """Rename a finished store into place; one another process finished first is kept, one
    that cannot be trusted is moved aside first."""
    import shutil

    from .atomic import fsync_folder

    # Several processes may finish a store of the same key at once: each rename that finds the
    # place taken looks again, keeps a trusted store another process put there, and moves an
    # untrusted one aside before trying again (another may take the place in between).
    for attempt in range(5):
        try:
            os.rename(building, folder)
            break
        except OSError as error:
            if error.errno not in (errno.EEXIST, errno.ENOTEMPTY, errno.ENOTDIR) or attempt == 4:
                raise
            if _store_problem(folder, key, closure) is None:  # made meanwhile by another process
                shutil.rmtree(building, ignore_errors=True)
                return
            _move_aside(folder)
    fsync_folder(folder.parent)


def _aside(folder: Path) -> Path:
    import secrets

    return folder.with_name(f".{folder.name}.{os.getpid()}.{secrets.token_hex(4)}{_REMOVING}")


def _move_aside(folder: Path) -> None:
    """Take a store that cannot be trusted out of the way (this process's own locks on it
    released), and remove it unless another process still reads it."""
    for held in [held for held in _HELD if held[0] == str(folder)]:
        os.close(_HELD.pop(held))
    aside = _aside(folder)
    try:
        os.rename(folder, aside)
    except OSError:
        return
    _remove_unused(aside)


def _remove_unused(folder: Path, aside: bool = False) -> bool:
    """Remove a store folder unless a reader holds its lock (first moving it aside, under that
    lock, if ``aside``); True if it was removed."""
    import fcntl
    import shutil

    try:
        fd = os.open(folder / STORE_STAMP, os.O_RDONLY)
    except OSError:
        fd = None  # no stamp: no reader can have opened it
    try:
        if fd is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                return False
        if aside:
            moved = _aside(folder)
            try:
                os.rename(folder, moved)
            except OSError:
                return False
            folder = moved
        shutil.rmtree(folder, ignore_errors=True)
        return True
    finally:
        if fd is not None:
            os.close(fd)


def tidy_stores(project: Project, keep: str | None = None) -> list[Path]:
    """Remove the stores whose closure is gone (all but ``keep``'s) that no reader holds, and
    the temporary folders of writers that are gone. Returns what was removed."""
    import shutil

    from .atomic import STALE_AFTER, _alive

    removed = []
    cache = project.cache_dir
    try:
        entries = list(cache.iterdir())
    except OSError:
        return removed
    for entry in entries:
        name = entry.name
        if name.startswith("store-") and entry.is_dir():
            key = name[len("store-"):]
            if key == keep or closure_path(project, key).exists():
                continue
            if _remove_unused(entry, aside=True):  # a store a reader holds stays where it is
                removed.append(entry)
        elif name.startswith(".store-") and name.endswith((_BUILDING, _REMOVING)):
            pieces = name.rsplit(".", 3)  # .store-KEY.PID.RANDOM.building
            pid = int(pieces[1]) if len(pieces) == 4 and pieces[1].isdigit() else None
            if name.endswith(_REMOVING):
                if _remove_unused(entry):
                    removed.append(entry)
            elif pid is None or (pid != os.getpid() and not _alive(pid)):
                try:
                    import time

                    if pid is None and time.time() - entry.stat().st_mtime < STALE_AFTER:
                        continue
                except OSError:
                    continue
                shutil.rmtree(entry, ignore_errors=True)
                removed.append(entry)
    return removed


def ensure_store(project: Project, path: Path | None = None) -> Path:
    """The folder of a trusted on-disk store of the closure ``path`` (default: the inputs' as
    they are now), made (and the closure reasoned) if needed, with a notice where one could not
    be trusted. ``write_closure`` may call this to make the store at once.
    """
    key = _key_of(path) if path is not None else project.fingerprint()
    path = path if path is not None else closure_path(project, key)
    folder = store_path(project, key)
    why = _store_problem(folder, key, path)
    if why is None:
        return folder
    if why:
        notify(f"the cached store {folder} cannot be trusted: {why}; making it again")
    for attempt in range(3):
        if attempt:  # reasoned again: the writer of the closure may have made its store too
            key = _key_of(path)
            if _store_problem(store_path(project, key), key, path) is None:
                return store_path(project, key)
        try:
            return _make_store(project, path)
        except LookupError as error:  # the closure does not verify
            why = str(error)
            if attempt == 2:
                break
            path = _reason_again(project, f"the cached closure {path} cannot be trusted: {why}; "
                                          "reasoning again" if path.exists() else "")
        except _Unloadable as error:
            why = str(error)
            if attempt == 2:
                break
            _meta_path(path).unlink(missing_ok=True)
            path = _reason_again(project, f"the cached closure {path} cannot be used: {why}; "
                                          "reasoning again")
    raise RuntimeError(f"{path}: no store can be made of the closure: {why}")


def open_store(project: Project, path: Path | None = None) -> ox.Store:
    """A read-only on-disk pyoxigraph store holding the reasoned graph of the inputs as they are
    now, or of the closure file ``path`` that write_closure returned (so that a build answers
    from the very closure it reasoned, whatever happened to the files since).

    A store that cannot be trusted or opened is made again, and a closure that does not verify
    or load is reasoned again, each with a notice.
    """
    folder = ensure_store(project, path)
    try:
        return open_folder(folder)
    except (OSError, RuntimeError) as error:  # RocksDB's own checks (e.g. a corrupt file)
        why = _first_line(error)
    notify(f"the cached store {folder} cannot be opened: {why}; making it again")
    _move_aside(folder)
    folder = ensure_store(project, path)
    try:
        return open_folder(folder)
    except (OSError, RuntimeError) as error:
        raise RuntimeError(f"{folder}: the store just made cannot be opened: "
                           f"{_first_line(error)}") from None
