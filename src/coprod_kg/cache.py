"""Reason once and keep the closure on disk, keyed by a fingerprint of every input file.

A warm cache is read straight into a pyoxigraph store, so answering a question needs neither
rdflib nor owlrl. Any edit to the ontology or data changes the fingerprint and the next command
reasons again.
"""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox

from .atomic import write_atomic
from .project import Project


def closure_path(project: Project) -> Path:
    return project.cache_dir / f"closure-{project.fingerprint()}.nt"


def write_closure(project: Project, graph) -> Path:
    """Store a reasoned rdflib graph as sorted N-Triples and drop older closures."""
    path = closure_path(project)
    lines = sorted(set(graph.serialize(format="nt").splitlines()) - {""})
    write_atomic(path, "\n".join(lines) + "\n")
    for stale in project.cache_dir.glob("closure-*.nt"):
        if stale != path:
            stale.unlink(missing_ok=True)
    return path


def ensure_closure(project: Project) -> Path:
    """Return the cached closure file, reasoning first if the inputs changed.

    Raises InputError when a data file cannot be loaded.
    """
    path = closure_path(project)
    if not path.is_file():
        from .load import load_project
        from .reason import reason

        write_closure(project, reason(load_project(project).graph).graph)
    return path


def open_store(project: Project) -> ox.Store:
    """An in-memory pyoxigraph store holding the reasoned graph."""
    store = ox.Store()
    store.bulk_load(path=str(ensure_closure(project)), format=ox.RdfFormat.N_TRIPLES)
    return store
