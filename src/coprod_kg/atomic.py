"""Write output files so that readers see the old file or the new one, never half of one.

A single file is written to a temporary file beside it, flushed to disk, and renamed over the
old one (``write_atomic``). A whole generation of a folder (the build) is written into a private
staging folder and swapped in at once (``staging_folder``, ``publish_folder``). No reader looks
inside a staging folder, so a file written there needs neither a temporary name nor its own
flush: ``write_atomic`` writes it in place, and ``publish_folder`` flushes every file and folder
of the generation once, just before the swap. A reader still sees the old generation or the new
one whole, and after a crash the swapped-in folder holds whole files; a write that fails or is
killed leaves only the staging folder, which is removed.
"""

from __future__ import annotations

import errno
import glob
import os
import sys
import tempfile
import time
from pathlib import Path

PART_SUFFIX = ".part"
STALE_AFTER = 3600.0  # seconds; a .part this old has lost its writer, whoever it was


def fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (where the platform lets a folder be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_atomic(path: Path, content: bytes | str) -> Path:
    """Write ``content`` to ``path`` through a temporary file in the same folder and a rename;
    inside a staging folder of this process, in place (``publish_folder`` flushes it).

    Raises OSError naming ``path`` (for example "No space left on device").
    """
    path = Path(path)
    data = content.encode("utf-8") if isinstance(content, str) else content
    if _STAGING and _staged(path):
        return _write_staged(path, data)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # The writer's pid in the name lets remove_stale_parts tell a dead writer's leftovers.
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.",
                                             suffix=PART_SUFFIX, dir=path.parent)
    except OSError as error:
        raise _naming(error, path) from None
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o644)  # mkstemp makes the file private; outputs are for sharing
        os.replace(temporary, path)
    except BaseException as error:
        Path(temporary).unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise _naming(error, path) from None
        raise
    fsync_folder(path.parent)
    remove_stale_parts(path.parent, name=path.name)
    return path


def _staged(path: Path) -> bool:
    where = os.path.abspath(path)
    return any(where.startswith(folder + os.sep) for folder in _STAGING)


def _write_staged(path: Path, data: bytes) -> Path:
    """Write a file of a staging folder in place, readable by all as ``write_atomic`` leaves it."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.fchmod(fd, 0o644)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
    except OSError as error:
        raise _naming(error, path) from None
    return path


def sync_tree(folder: Path) -> None:
    """Flush every file and folder under ``folder`` to disk. Raises OSError naming the file."""
    for where, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(where, name)
            try:
                fd = os.open(path, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
            except OSError as error:
                raise _naming(error, Path(path)) from None
        fsync_folder(Path(where))


def _naming(error: OSError, path: Path) -> OSError:
    """The same error, naming the file it was about."""
    if error.filename and error.errno != errno.ENOSPC:
        return error
    return OSError(error.errno, error.strerror or str(error), str(path))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def remove_stale_parts(folder: Path, name: str | None = None) -> list[Path]:
    """Remove temporary files a killed writer left in ``folder``: those whose writer is gone,
    or, when the name names no writer, that are older than an hour. With ``name``, only the
    leftovers of writes to that file (and only those naming their writer). Returns what was
    removed."""
    removed = []
    now = time.time()
    pattern = f".{glob.escape(name)}.*{PART_SUFFIX}" if name else f".*{PART_SUFFIX}"
    try:
        candidates = list(Path(folder).glob(pattern))
    except OSError:
        return removed
    for part in candidates:
        pieces = part.name.rsplit(".", 3)  # .NAME.PID.RANDOM.part
        pid = int(pieces[1]) if len(pieces) == 4 and pieces[1].isdigit() else None
        try:
            old = now - part.stat().st_mtime > STALE_AFTER
        except OSError:
            continue
        if (pid is None and old and not name) or \
                (pid is not None and pid != os.getpid() and not _alive(pid)):
            part.unlink(missing_ok=True)
            removed.append(part)
    return removed


# ---------------------------------------------------------------- whole folders

STAGING_PREFIX = ".build-staging-"
_RENAME_EXCHANGE = 2  # linux/fs.h
# The staging folders this process is filling (absolute paths), whose files write_atomic writes
# in place.
_STAGING: set[str] = set()


def staging_folder(target: Path) -> Path:
    """A new empty folder beside ``target`` to write a whole new generation of it into; its
    name carries this process's pid so remove_stale_staging can tell a dead writer's."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_staging(target.parent)
    folder = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{target.name}.{os.getpid()}.",
                                   dir=target.parent))
    # mkdtemp makes the folder private; once published it is shared, like the files written
    # into it (write_atomic gives them 0644).
    os.chmod(folder, 0o755)
    _STAGING.add(os.path.abspath(folder))
    return folder


def _exchange(first: Path, second: Path) -> bool:
    """Swap two paths in one step (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd = -100
    done = renameat2(at_fdcwd, os.fsencode(first), at_fdcwd, os.fsencode(second),
                     _RENAME_EXCHANGE)
    if done == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP if hasattr(errno, "ENOTSUP") else 95):
        return False  # the kernel or the file system cannot exchange
    raise OSError(code, os.strerror(code), str(second))


def link_tree(source: Path, destination: Path) -> None:
    """Put the files of ``source`` under ``destination`` as hard links (copies where links
    cannot be made), so a folder can be carried into a new generation for free."""
    import shutil

    for folder, _, files in os.walk(source):
        relative = Path(folder).relative_to(source)
        (destination / relative).mkdir(parents=True, exist_ok=True)
        for name in files:
            if name.endswith(PART_SUFFIX):
                continue
            try:
                os.link(Path(folder) / name, destination / relative / name)
            except FileExistsError:
                pass
            except OSError:
                try:
                    shutil.copy2(Path(folder) / name, destination / relative / name)
                except FileNotFoundError:  # removed meanwhile by another command
                    pass


def publish_folder(staging: Path, target: Path, keep: tuple[str, ...] = ()) -> None:
    """Swap the finished ``staging`` folder in as ``target``, whole: a reader sees the old
    generation or the new one, never a mixture (on Linux; elsewhere, for a moment, none).

    The entries named in ``keep`` (e.g. the cache) are carried over from the old ``target``.
    Every file of ``staging`` is flushed to disk first, so the swapped-in folder survives a crash
    whole (its files were written in place, unflushed, by ``write_atomic``).
    """
    import shutil

    staging, target = Path(staging), Path(target)
    sync_tree(staging)
    _STAGING.discard(os.path.abspath(staging))
    for name in keep:
        if (target / name).exists() and not (staging / name).exists():
            link_tree(target / name, staging / name)
    fsync_folder(staging)
    if target.exists() and _exchange(staging, target):
        shutil.rmtree(staging, ignore_errors=True)  # the old generation, now under this name
    else:
        old = None
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}{target.name}.{os.getpid()}.",
                                        dir=target.parent))
            os.rmdir(old)
            os.replace(target, old)
        os.replace(staging, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    fsync_folder(target.parent)


def remove_stale_staging(parent: Path) -> list[Path]:
    """Remove staging folders left in ``parent`` by writers that are gone."""
    import shutil

    removed = []
    now = time.time()
    for folder in Path(parent).glob(f"{STAGING_PREFIX}*"):
        pieces = folder.name[len(STAGING_PREFIX):].rsplit(".", 2)  # NAME.PID.RANDOM
        pid = int(pieces[1]) if len(pieces) == 3 and pieces[1].isdigit() else None
        try:
            old = now - folder.stat().st_mtime > STALE_AFTER
        except OSError:
            continue
        if (pid is None and old) or (pid is not None and pid != os.getpid() and not _alive(pid)):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed
