"""Where a coprod-kg checkout keeps its files, and a fingerprint of its inputs.

Kept free of rdflib so that commands answered from the cache start quickly.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path


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


@dataclass(frozen=True)
class Project:
    """A checkout: ontology, shapes, data, queries and the build folder."""

    root: Path

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

    def fingerprint(self) -> str:
        """Hash the names and bytes of every input, so that any edit invalidates the cache."""
        digest = hashlib.sha256()
        for path in self.input_files():
            digest.update(path.relative_to(self.root).as_posix().encode())
            digest.update(b"\0")
            digest.update(path.read_bytes())
            digest.update(b"\0")
        return digest.hexdigest()[:20]


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
    for candidate in [here, *here.parents]:
        if (candidate / "ontology" / "coprod.ttl").is_file():
            return Project(candidate)
    package_root = Path(__file__).resolve().parents[2]
    if (package_root / "ontology" / "coprod.ttl").is_file():
        return Project(package_root)
    raise InputError(here, "no coprod-kg project here or above (looked for ontology/coprod.ttl)")
