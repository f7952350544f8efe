"""Validate data against the SHACL shapes with pyshacl and report each problem where it lives."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from rdflib import Graph, URIRef
from rdflib.namespace import RDF, SH

from .load import LoadedGraph, parse_file, new_graph
from .project import ShapesError

SEVERITY_NAMES = {SH.Violation: "violation", SH.Warning: "warning", SH.Info: "info"}


@dataclass(frozen=True, order=True)
class Problem:
    """One SHACL result: where it is, which node, what is wrong."""

    file: str
    node: str
    message: str
    path: str = ""
    severity: str = "violation"

    def __str__(self) -> str:
        where = f" ({self.path})" if self.path else ""
        return f"{self.file}: {self.node}{where}: {self.message}"


@dataclass
class ValidationReport:
    conforms: bool
    problems: list[Problem]


def load_shapes(path: Path) -> Graph:
    """Parse the shapes file strictly (see load.parse_file)."""
    shapes = new_graph()
    for triple in parse_file(path):
        shapes.add(triple)
    return shapes


def _short(graph: Graph, term) -> str:
    if term is None:
        return ""
    try:
        return term.n3(graph.namespace_manager)
    except Exception:  # an IRI that cannot be shortened is shown whole
        return str(term)


def validate(loaded: LoadedGraph, shapes: Graph, ontology: Graph | None = None,
             only_files: set[Path] | None = None) -> ValidationReport:
    """Validate ``loaded`` against ``shapes``; the data graph is never modified.

    ``only_files`` keeps the problems whose node was described in one of those files, which is
    how a single new file is checked with the rest of the project loaded beside it.

    The shapes are checked as SPARQL on pyoxigraph (``shacl_sparql.validate``), which reports
    what pyshacl reports; ``COPROD_VALIDATOR=pyshacl`` validates with pyshacl instead.
    """
    if os.environ.get("COPROD_VALIDATOR", "sparql") != "pyshacl":
        from .shacl_sparql import validate as validate_by_sparql

        return validate_by_sparql(loaded, shapes, ontology, only_files)
    import pyshacl

    _, results_graph, _ = pyshacl.validate(
        loaded.graph, shacl_graph=shapes, ont_graph=ontology, inference="none",
        abort_on_first=False, allow_infos=True, allow_warnings=True, advanced=False,
        do_owl_imports=False, inplace=False)
    if not isinstance(results_graph, Graph):
        raise ShapesError(str(results_graph))
    graph = loaded.graph
    problems = set()
    for result in results_graph.subjects(RDF.type, SH.ValidationResult):
        focus = results_graph.value(result, SH.focusNode)
        value = results_graph.value(result, SH.value)
        # Whole-graph rules are anchored on the report node and name the culprit in sh:value.
        culprit = value if isinstance(value, URIRef) and loaded.origin(value) else focus
        origin = loaded.origin(culprit)
        if only_files is not None and (origin is None or origin.resolve() not in only_files):
            continue
        message = results_graph.value(result, SH.resultMessage)
        path = results_graph.value(result, SH.resultPath)
        severity = results_graph.value(result, SH.resultSeverity)
        problems.add(Problem(
            file=str(origin) if origin else "(no file)",
            node=_short(graph, culprit),
            message=str(message) if message else "violates a shape",
            path=_short(graph, path) if isinstance(path, URIRef) else "",
            severity=SEVERITY_NAMES.get(severity, "violation")))
    ordered = sorted(problems)
    return ValidationReport(conforms=not any(p.severity == "violation" for p in ordered),
                            problems=ordered)
