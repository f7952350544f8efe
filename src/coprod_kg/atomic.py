"""Write output files so that readers see the old file or the new one, never half of one."""

from __future__ import annotations

import errno
import os
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
    """Write ``content`` to ``path`` through a temporary file in the same folder and a rename.

    Raises OSError naming ``path`` (for example "No space left on device").
    """
    path = Path(path)
    data = content.encode("utf-8") if isinstance(content, str) else content
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
    return path


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


def remove_stale_parts(folder: Path) -> list[Path]:
    """Remove temporary files a killed writer left in ``folder``: those whose writer is gone,
    or that are older than an hour. Returns what was removed."""
    removed = []
    now = time.time()
    try:
        candidates = list(Path(folder).glob(f".*{PART_SUFFIX}"))
    except OSError:
        return removed
    for part in candidates:
        pieces = part.name.rsplit(".", 3)  # .NAME.PID.RANDOM.part
        pid = int(pieces[1]) if len(pieces) == 4 and pieces[1].isdigit() else None
        try:
            old = now - part.stat().st_mtime > STALE_AFTER
        except OSError:
            continue
        if old or (pid is not None and pid != os.getpid() and not _alive(pid)):
            part.unlink(missing_ok=True)
            removed.append(part)
    return removed
