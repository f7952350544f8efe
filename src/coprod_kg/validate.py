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


SPARQL_KEYS = (SH.select, SH.ask, SH.construct, SH.update)


def load_shapes(path: Path) -> Graph:
    """Parse the shapes file strictly (see load.parse_file) and vet its SPARQL.

    Raises InputError for a file that cannot be parsed, and UnsafeQuery (naming the file and
    line) for a SHACL-SPARQL constraint that would reach the network or change the graph.
    """
    shapes = new_graph()
    for triple in parse_file(path):
        shapes.add(triple)
    refuse_unsafe_sparql(shapes, path)
    shapes.coprod_source = path  # so that validate can name the file pyshacl refuses
    return shapes


def refuse_unsafe_sparql(shapes: Graph, path: Path) -> None:
    """Check every sh:select, sh:ask, sh:construct and sh:update of the shapes as queries are
    checked (query.inspect_text), with the prefixes the shapes declare."""
    from .query import QueryError, UnsafeQuery, inspect_text

    prefixes = {str(prefix): str(namespace)
                for declaration in shapes.objects(None, SH.declare)
                for prefix in shapes.objects(declaration, SH.prefix)
                for namespace in shapes.objects(declaration, SH.namespace)}
    file_text = None
    problems, unsafe = [], False
    for subject, key, text in sorted(shapes.triples((None, None, None))):
        if key not in SPARQL_KEYS:
            continue
        if file_text is None:
            file_text = path.read_text(encoding="utf-8", errors="replace")
        first = next((line.strip() for line in str(text).split("\n") if line.strip()), "")
        line = next((number for number, content in enumerate(file_text.split("\n"), start=1)
                     if first and first in content), None)
        where = f"{path}:{line}" if line else str(path)
        try:
            if key == SH.update:
                raise UnsafeQuery(f"{where}: sh:update is not allowed: the shapes never "
                                  "change the graph")
            inspect_text(str(text), where, prefixes)
        except UnsafeQuery as error:
            problems.append(str(error))
            unsafe = True
        except QueryError as error:
            problems.append(str(error))
    if problems:  # every one of them, not just the first
        raise (UnsafeQuery if unsafe else QueryError)("\n".join(problems))


def _short(graph, term) -> str:
    """A term as a CURIE where the prefixes of ``graph`` (anything with a namespace_manager,
    such as a LoadedGraph) allow, else whole."""
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
    return validate_with_pyshacl(loaded, shapes, ontology, only_files)


def validate_with_pyshacl(loaded: LoadedGraph, shapes: Graph, ontology: Graph | None = None,
                          only_files: set[Path] | None = None) -> ValidationReport:
    """``validate`` by pyshacl, the reference; raises ShapesError naming the shapes file for
    shapes pyshacl cannot load."""
    import pyshacl
    from pyshacl.errors import ConstraintLoadError, RuleLoadError, ShapeLoadError

    from .query import guard_rdflib

    guard_rdflib()  # pyshacl runs SHACL-SPARQL on rdflib's engine: never a SERVICE
    try:
        _, results_graph, _ = pyshacl.validate(
            loaded.graph, shacl_graph=shapes, ont_graph=ontology, inference="none",
            abort_on_first=False, allow_infos=True, allow_warnings=True, advanced=False,
            do_owl_imports=False, inplace=False)
    except (ShapeLoadError, ConstraintLoadError, RuleLoadError) as error:
        # The shapes are at fault, not the data: an input error (exit 2), not "does not conform".
        where = getattr(shapes, "coprod_source", "the SHACL shapes")
        detail = getattr(error, "message", None) or str(error)
        raise ShapesError(f"{where}: pyshacl cannot use these shapes: "
                          f"{str(detail).strip().splitlines()[0]}") from None
    if not isinstance(results_graph, Graph):
        raise ShapesError(str(results_graph))
    graph = loaded.graph
    problems = set()
    # The report's own results: those nested in another's sh:detail (pyshacl explains a failed
    # sh:node that way) only say why their parent failed and are not reported on their own.
    for result in results_graph.objects(None, SH.result):
        focus = results_graph.value(result, SH.focusNode)
        value = results_graph.value(result, SH.value)
        # Whole-graph rules are anchored on the report node and name the culprit in sh:value.
        culprit = value if isinstance(value, URIRef) and loaded.origin(value) else focus
        origin = loaded.origin(culprit)
        if only_files is not None and (origin is None or origin.resolve() not in only_files):
            continue
        message = results_graph.value(result, SH.resultMessage)
        message = f"{message}{_not_in_scheme(graph, shapes, results_graph, result, value)}" \
            if message else message
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


def _not_in_scheme(graph: Graph, shapes: Graph, results: Graph, result, value) -> str:
    """For a value of the wrong class, say so and suggest the nearest one of the right class."""
    if results.value(result, SH.sourceConstraintComponent) != SH.ClassConstraintComponent or \
            not isinstance(value, URIRef):
        return ""
    cls = shapes.value(results.value(result, SH.sourceShape), SH["class"])
    if cls is None:
        return ""
    from .curate.checks import scheme_hint

    return scheme_hint(graph, value, cls)


def curation_checks(project, loaded: LoadedGraph, only_files: set[Path] | None = None):
    """Run the checks SHACL cannot make: unknown terms, and quotes against their sources.

    Returns (unknown terms, quote and source problems, notices); see curate.checks.
    """
    from .curate.checks import run

    return run(project, loaded, only_files)
