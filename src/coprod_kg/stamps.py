"""What tells that a file is unchanged, where the project is, and how a cached store is opened
and held: the pieces the warm path (warm.py) shares with project.py and cache.py.

It uses ``os`` alone (no pathlib, whose import costs a warm query a fifth of its time), so paths
here are strings.
"""

from __future__ import annotations

import os

# A file changed within this many nanoseconds of when its stat was recorded may change again
# within the clock's resolution without its stat showing it: such a stat is never trusted.
RACY_NS = 2_000_000_000

MARKER = os.path.join("ontology", "coprod.ttl")  # the file that makes a folder a project
STORE_STAMP = "coprod-kg-store.json"  # written last into a finished store (cache.py)


def stat_key(info: os.stat_result) -> list[int]:
    """What must be unchanged for a file to be taken as unchanged: size, mtime, ctime (which no
    user can set back), inode and device."""
    return [info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino, info.st_dev]


def settled(key: list[int], at_ns: int) -> bool:
    """Whether a stat ``key`` taken at ``at_ns`` (time.time_ns()) can be trusted later: the file
    was last changed more than RACY_NS before."""
    return max(key[1], key[2]) < at_ns - RACY_NS


def project_root(start: str) -> str | None:
    """The resolved folder at or above ``start`` that holds ontology/coprod.ttl, or None."""
    here = os.path.realpath(start)
    while True:
        if os.path.isfile(os.path.join(here, MARKER)):
            return here
        parent = os.path.dirname(here)
        if parent == here:
            return None
        here = parent


# Store folders this process has open: (folder, inode of its stamp) -> the locked descriptor.
HELD: dict[tuple[str, int], int] = {}


def open_held(folder: str):
    """Open a finished store read-only, holding a shared lock on its stamp while this process
    lives, so that no other process removes it from under a reader. Raises OSError (the store
    was replaced or removed meanwhile) or pyoxigraph's own errors."""
    import errno
    import fcntl

    import pyoxigraph as ox

    stamp = os.path.join(folder, STORE_STAMP)
    fd = os.open(stamp, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH)
        inode = os.fstat(fd).st_ino
        if os.fstat(fd).st_nlink == 0 or os.stat(stamp).st_ino != inode:
            raise FileNotFoundError(errno.ENOENT, "the store was replaced while it was opened",
                                    folder)
        store = ox.Store.read_only(folder)
    except BaseException:
        os.close(fd)
        raise
    if (folder, inode) in HELD:
        os.close(fd)  # this process already holds the lock on this store
    else:
        HELD[(folder, inode)] = fd
    return store
