"""Where a coprod-kg checkout keeps its files, and a fingerprint of its inputs.

Kept free of rdflib so that commands answered from the cache start quickly, and free of
dataclasses (which imports inspect, about a fifth of a warm query's start-up).
"""

from __future__ import annotations

import os
import stat
import sys
import time
from pathlib import Path

from . import __version__
from .stamps import RACY_NS, project_root, stat_key as _stat_key

def small_sha256(data: bytes = b""):
    """A SHA-256 hash object for the few kilobytes a warm command hashes (the cache key, a
    query's text): CPython's own implementation where it has one, since hashlib loads OpenSSL,
    which costs a warm query 5 ms, for the same digest. Files are hashed with hashlib."""
    if not _SHA256:
        try:
            from _sha2 import sha256  # CPython 3.12 and later
        except ImportError:
            try:
                from _sha256 import sha256  # CPython 3.11
            except ImportError:
                from hashlib import sha256
        _SHA256.append(sha256)
    return _SHA256[0](data)


_SHA256: list = []


# The most bytes one input file may hold; COPROD_KG_MAX_BYTES raises it.
DEFAULT_MAX_BYTES = 64 * 1024 * 1024


class InputError(Exception):
    """A project or user file that cannot be used, with where and why."""

    def __init__(self, path: Path | str, message: str, line: int | None = None,
                 column: int | None = None):
        self.path = Path(path)
        self.line = line
        self.column = column
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        where = str(self.path)
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return f"{where}: {self.message}"


class ShapesError(Exception):
    """The SHACL shapes themselves cannot be used (pyshacl refused them)."""


class Record:
    """Equality and repr by the fields named in ``_fields``, as a dataclass has them (the
    records are on the warm query's path, and dataclasses costs it an import of inspect)."""

    __slots__ = ()

    _fields: tuple[str, ...] = ()

    def _values(self) -> tuple:
        return tuple(getattr(self, name) for name in self._fields)

    def __eq__(self, other):
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()

    __hash__ = None

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__name__}({shown})"

    def replace(self, **changes):
        """A new record with some fields changed, made as the constructor makes one (what
        dataclasses.replace gives a dataclass)."""
        unknown = sorted(set(changes) - set(self._fields))
        if unknown:
            raise TypeError(f"{type(self).__name__} has no field {', '.join(unknown)}")
        return type(self)(**{**{name: getattr(self, name) for name in self._fields}, **changes})


class Project(Record):
    """A checkout: ontology, shapes, data, queries and the build folder (immutable, compared
    and hashed by its root)."""

    __slots__ = ("root",)
    _fields = ("root",)

    def __init__(self, root: Path):
        object.__setattr__(self, "root", root)

    def __setattr__(self, name, value):
        raise AttributeError(f"cannot assign to field {name!r} of a Project")

    def __delattr__(self, name):
        raise AttributeError(f"cannot delete field {name!r} of a Project")

    def __hash__(self):
        return hash((self.root,))

    def __reduce__(self):
        return Project, (self.root,)

    @property
    def ontology_files(self) -> list[Path]:
        return [self.root / "ontology" / "coprod.ttl"]

    @property
    def shapes_file(self) -> Path:
        return self.root / "ontology" / "shapes.ttl"

    @property
    def data_files(self) -> list[Path]:
        return sorted((self.root / "data").rglob("*.ttl"))

    @property
    def queries_dir(self) -> Path:
        return self.root / "queries"

    @property
    def checks_dir(self) -> Path:
        return self.root / "queries" / "checks"

    @property
    def build_dir(self) -> Path:
        return self.root / "build"

    @property
    def cache_dir(self) -> Path:
        return self.build_dir / "cache"

    def input_files(self) -> list[Path]:
        return [*self.ontology_files, *self.data_files]

    def read_inputs(self) -> list[Source]:
        """Read every input once. Raises InputError for a file that cannot be used."""
        return [Source(path, read_regular(path)) for path in self.input_files()]

    def fingerprint(self, sources: list[Source] | None = None) -> str:
        """The cache key of the inputs: their names and bytes (``sources``, as they were
        loaded; else the files as they are now, through the stat cache of ``input_digests``),
        and the code and libraries that make the closure."""
        if sources is None:
            modules: dict[str, bytes | None] = {}
            named = input_digests(self, modules)
            digest = small_sha256(code_key(modules or None).encode())
        else:
            import hashlib

            named = [(self._name(source.path), hashlib.sha256(source.data).digest())
                     for source in sources]
            digest = small_sha256(code_key().encode())
        for name, file_digest in named:
            digest.update(b"\0" + name.encode("utf-8", "surrogateescape") + b"\0")
            digest.update(file_digest)
        return digest.hexdigest()[:24]

    def _name(self, path: Path) -> str:
        """The file's path relative to the project (resolved), with forward slashes."""
        real, root = os.path.realpath(path), _real_root(self.root)
        if real.startswith(root.rstrip(os.sep) + os.sep):
            return Path(real[len(root.rstrip(os.sep)) + 1:]).as_posix()
        return str(path)


_REAL_ROOTS: dict[Path, str] = {}


def _real_root(root: Path) -> str:
    """The resolved project folder, resolved once per process (the warm path names every input
    file against it)."""
    if root not in _REAL_ROOTS:
        _REAL_ROOTS[root] = os.path.realpath(root)
    return _REAL_ROOTS[root]


class Source(Record):
    """One input file's bytes, read once: what is hashed is what is parsed."""

    __slots__ = ("path", "data")
    _fields = ("path", "data")

    def __init__(self, path: Path, data: bytes):
        self.path = path
        self.data = data



def max_bytes() -> int:
    try:
        return int(os.environ.get("COPROD_KG_MAX_BYTES", DEFAULT_MAX_BYTES))
    except ValueError:
        return DEFAULT_MAX_BYTES


def read_regular(path: Path, limit: int | None = None) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes (default: max_bytes()).

    A FIFO, a device or a folder is refused without blocking on it. Raises InputError.
    """
    path = Path(path)
    limit = max_bytes() if limit is None else limit
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as error:
        raise InputError(path, f"cannot read file: {error.strerror or error}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = ("a folder" if stat.S_ISDIR(info.st_mode) else "a named pipe (FIFO)"
                    if stat.S_ISFIFO(info.st_mode) else "a socket" if stat.S_ISSOCK(info.st_mode)
                    else "a device")
            raise InputError(path, f"not a regular file but {kind}; coprod-kg reads only "
                             "ordinary files")
        if info.st_size > limit:
            raise InputError(path, f"the file holds {info.st_size} bytes, more than the limit "
                             f"of {limit}; set COPROD_KG_MAX_BYTES to raise it")
        chunks, size = [], 0
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            size += len(chunk)
            if size > limit:
                raise InputError(path, f"the file grew past the limit of {limit} bytes while "
                                 "it was read; set COPROD_KG_MAX_BYTES to raise it")
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError as error:
        raise InputError(path, f"cannot read file: {error.strerror or error}") from None
    finally:
        os.close(fd)


# ---------------------------------------------------------------- the stat cache of digests

# A file whose last change (mtime or ctime) is this close to the moment its digest was recorded
# is "racily clean", as git calls it: a write in the same tick of the file system's clock would
# leave its stat unchanged, so its bytes are hashed again until it is older than this.
DIGESTS_FILE = "input-digests.json"


def _trusted(entry, key: list[int]) -> bool:
    try:
        recorded, at, _ = entry[0], int(entry[1]), bytes.fromhex(entry[2])
    except (TypeError, ValueError, IndexError):
        return False
    return recorded == key and max(key[1], key[2]) < at - RACY_NS


def _recorded(record, part: str) -> dict:
    found = record.get(part, {}) if isinstance(record, dict) else {}
    return found if isinstance(found, dict) else {}


def input_digests(project: Project, modules: dict | None = None) -> list[tuple[str, bytes]]:
    """The name and SHA-256 of every input file as it is now, hashing again only the files
    whose stat changed since their digest was recorded (or changed too close to that moment).

    The digests are kept in ``build/cache/input-digests.json``; a cache that cannot be read or
    written is only slower. The trade-off: a recorded digest stands while the file's size,
    mtime, ctime, inode and device are unchanged, so a warm command stats each file instead of
    reading it; an edit is missed only if it also keeps the ctime, which a user cannot set back,
    and a file changed within RACY_NS of its recording is hashed again every time. Raises InputError for a file that cannot be used. Given a dict
    ``modules``, the code key is not known yet in this process, the same is done for
    CLOSURE_MODULES, whose digests (None for a missing one) are put in ``modules``.
    """
    import json

    store = project.cache_dir / DIGESTS_FILE
    try:
        record = json.loads(store.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        record = {}
    recorded, recorded_code = _recorded(record, "files"), _recorded(record, "code")
    code_entries = dict(recorded_code)
    changed = False
    if modules is not None and not _CODE_KEY:
        code_entries, changed = _module_digests(recorded_code, modules)
    named, entries = [], {}
    for path in project.input_files():
        name = project._name(path)
        at = time.time_ns()  # taken before the stat: a later write cannot look older than this
        try:
            info = os.stat(path)
        except OSError:
            info = None
        entry = recorded.get(name)
        if info is not None and stat.S_ISREG(info.st_mode) and info.st_size <= max_bytes() \
                and _trusted(entry, _stat_key(info)):
            file_digest = bytes.fromhex(entry[2])
        else:
            import hashlib

            file_digest = hashlib.sha256(read_regular(path)).digest()
            if info is not None:
                entry = [_stat_key(info), at, file_digest.hex()]
            changed = True
        named.append((name, file_digest))
        if entry is not None:
            entries[name] = entry
    if changed or set(entries) != set(recorded) or code_entries != recorded_code:
        from .atomic import write_atomic

        try:
            write_atomic(store, json.dumps({"files": entries, "code": code_entries},
                                           sort_keys=True) + "\n")
        except OSError:
            pass
    return named


def _module_digests(recorded: dict, digests: dict) -> tuple[dict, bool]:
    """The SHA-256 of each of CLOSURE_MODULES put in ``digests`` (None for a missing file),
    trusting a recorded digest as input_digests does; returns the entries to record and
    whether any was hashed again."""
    here = _package_folder()
    entries, changed = {}, False
    for name in CLOSURE_MODULES:
        path = os.path.join(here, name)
        at = time.time_ns()
        try:
            info = os.stat(path)
        except OSError:
            digests[name] = None
            changed = changed or name in recorded
            continue
        entry = recorded.get(name)
        if stat.S_ISREG(info.st_mode) and _trusted(entry, _stat_key(info)):
            digests[name] = bytes.fromhex(entry[2])
            entries[name] = entry
            continue
        digests[name] = _module_digest(name)
        if digests[name] is not None:
            entries[name] = [_stat_key(info), at, digests[name].hex()]
        changed = True
    return entries, changed


# The modules whose code shapes the closure, and the libraries they call: a change to any of them
# must make the cache reason again.
CLOSURE_MODULES = ("reason.py", "rules.py", "shown.py", "load.py", "lexical.py", "cache.py",
                   "namespace.py")
CLOSURE_LIBRARIES = ("owlrl", "rdflib", "pyoxigraph")
_CODE_KEY: list[str] = []


def _installed_version(name: str) -> str:
    """A distribution's version from the first ``NAME-*.dist-info`` folder on sys.path (in
    name order within a folder), without importlib.metadata (which costs a warm query 50 ms)
    or glob (whose patterns cost it as much again as the listing)."""
    start, end = f"{name}-", ".dist-info"
    for folder in sys.path:
        try:
            names = _LISTINGS[folder]
        except KeyError:
            try:
                names = sorted(found for found in os.listdir(folder or ".")
                               if found.endswith(end))
            except OSError:
                names = []
            _LISTINGS[folder] = names
        for found in names:
            if found.startswith(start) and len(found) >= len(start) + len(end):
                return found[len(start):-len(end)]
    return "unknown"


_LISTINGS: dict[str, list[str]] = {}  # the .dist-info names of each sys.path folder, once


def _package_folder() -> str:
    return os.path.dirname(os.path.realpath(__file__))


def _module_digest(name: str) -> bytes | None:
    """The SHA-256 of one of CLOSURE_MODULES, None if it cannot be read."""
    import hashlib

    try:
        with open(os.path.join(_package_folder(), name), "rb") as stream:
            return hashlib.sha256(stream.read()).digest()
    except OSError:
        return None


def code_key(modules: dict | None = None) -> str:
    """The versions of coprod-kg and of the reasoning libraries, and a hash of the code that
    makes the closure: of the SHA-256 of each of CLOSURE_MODULES, from ``modules`` (as
    input_digests found them through its stat cache) or else read now."""
    if not _CODE_KEY:
        if modules is None:
            modules = {name: _module_digest(name) for name in CLOSURE_MODULES}
        digest = small_sha256(f"coprod-kg {__version__}".encode())
        for name in CLOSURE_MODULES:
            found = modules.get(name)
            digest.update(name.encode() + b"\0" + (b"missing" if found is None else found))
        for name in CLOSURE_LIBRARIES:
            digest.update(f"\0{name} {_installed_version(name)}".encode())
        # Which reasoner made the closure (the rule engine, or owlrl behind the flag).
        digest.update(f"\0reasoner {os.environ.get('COPROD_REASONER', 'rules')}".encode())
        _CODE_KEY.append(digest.hexdigest())
    return _CODE_KEY[0]


def find_project(start: Path | None = None, strict: bool = False) -> Project:
    """Return the project at or above ``start`` (default: the working directory).

    Falls back to the checkout this package was installed from, unless ``strict`` (a folder the
    user named with --project), where ``start`` itself must be the project. Raises InputError if
    no project is found.
    """
    here = Path(start or Path.cwd()).resolve()
    if strict:
        if (here / "ontology" / "coprod.ttl").is_file():
            return Project(here)
        if not here.is_dir():
            raise InputError(here, "--project names no folder")
        raise InputError(here, "--project names no coprod-kg project (it has no "
                         "ontology/coprod.ttl)")
    root = project_root(str(here))
    if root is not None:
        return Project(Path(root))
    package_root = Path(__file__).resolve().parents[2]
    if (package_root / "ontology" / "coprod.ttl").is_file():
        return Project(package_root)
    raise InputError(here, "no coprod-kg project here or above (looked for ontology/coprod.ttl)")
