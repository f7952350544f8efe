"""Shared fixtures: the project, its graph loaded, reasoned and in a query store, built once."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from coprod_kg.project import Project

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("COPROD_SHARED", ROOT.parent / "shared"))
SOURCE = SHARED / "source" / "000_694a8dba0e80b449.txt"
W3C = SHARED / "w3c-turtle-tests"
CASES = Path(__file__).parent / "cases"
EXPECTED = Path(__file__).parent / "expected"

logging.getLogger("rdflib").setLevel(logging.ERROR)


def ids(paths):
    return [path.name for path in paths]


@pytest.fixture(scope="session")
def project() -> Project:
    return Project(ROOT)


@pytest.fixture(scope="session")
def loaded(project):
    from coprod_kg.load import load_project

    return load_project(project)


@pytest.fixture(scope="session")
def closure(loaded):
    from coprod_kg.reason import reason

    return reason(loaded.graph)


@pytest.fixture(scope="session")
def store(project, loaded, closure):
    from coprod_kg.cache import open_store, write_closure

    return open_store(project, write_closure(project, closure.graph, loaded.fingerprint))


@pytest.fixture(scope="session")
def source_text():
    if not SOURCE.is_file():
        pytest.skip(f"the report's text is not at {SOURCE}; quote checks need it (it is there in CI)")
    from coprod_kg.quotes import SourceText

    return SourceText(SOURCE)


def child_pids(pid: int | None = None) -> set[int]:
    """The live (or unreaped) child processes of ``pid`` (default: this test process), from /proc."""
    parent = os.getpid() if pid is None else pid
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == parent:
                found.add(int(entry.name))
    return found
