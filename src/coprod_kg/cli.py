"""The coprod-kg command line: a thin layer over the library.

Exit codes: 0 fine; 1 validation or checks failed; 2 usage or input error.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Callable

from . import __version__

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """A command line that asks for something impossible."""


class Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse would exit; main() turns this into exit code 2
        raise UsageError(f"{self.prog}: {message}")


def _project(args):
    from .project import find_project

    return find_project(Path(args.project) if args.project else None)


def _out(text: str) -> None:
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


def _err(text: str) -> None:
    sys.stderr.write(text if text.endswith("\n") else text + "\n")


# ---------------------------------------------------------------- commands

def cmd_build(args) -> int:
    from .build import build

    code, summary = build(_project(args), echo=_err)
    if code:
        return code
    _out(f"built in {summary.seconds:.1f} s: {summary.asserted} asserted triples, "
         f"{summary.inferred} inferred")
    for name, number in summary.counts.items():
        _out(f"  {name}: {number}")
    _out(f"  questions answered: {len(summary.answers)}; checks passed: "
         f"{sum(c.passed for c in summary.checks)}/{len(summary.checks)}")
    _out(f"  {len(summary.written)} files written under {_project(args).build_dir}")
    return EXIT_OK


def cmd_validate(args) -> int:
    from .load import load
    from .validate import load_shapes, validate

    project = _project(args)
    if args.paths:
        paths = [Path(p) for p in args.paths]
        for path in paths:
            if not path.is_file():
                raise UsageError(f"{path}: no such file")
        chosen = {q.resolve() for q in paths}
        context = [p for p in project.input_files() if p.resolve() not in chosen]
        loaded = load([*context, *paths])
        only = {p.resolve() for p in paths}
    else:
        loaded = load(project.input_files())
        only = None
    report = validate(loaded, load_shapes(project.shapes_file), loaded.part(project.ontology_files),
                      only)
    for problem in report.problems:
        _out(str(problem))
    checked = len(args.paths) if args.paths else len(project.input_files())
    if report.conforms:
        _out(f"conforms: {checked} file(s), {len(loaded.graph)} triples checked")
        return EXIT_OK
    _out(f"does not conform: {len(report.problems)} problem(s)")
    return EXIT_FAILED


def cmd_reason(args) -> int:
    from .atomic import write_atomic
    from .cache import write_closure
    from .export import serialise
    from .load import load_project
    from .reason import reason

    project = _project(args)
    loaded = load_project(project)
    closure = reason(loaded.graph)
    write_closure(project, closure.graph)
    out = Path(args.output) if args.output else project.build_dir / "coprod-kg-inferred.ttl"
    write_atomic(out, serialise(closure.graph, "turtle"))
    _out(f"{closure.asserted} asserted triples; {closure.inferred} inferred; "
         f"{len(closure.graph)} in all, written to {out}")
    return EXIT_OK


def _store(args):
    from .cache import open_store

    return open_store(_project(args))


def cmd_check(args) -> int:
    from .query import run_checks
    from .tables import render

    project = _project(args)
    outcomes = run_checks(_store(args), project.checks_dir)
    failed = 0
    for outcome in outcomes:
        state = "pass" if outcome.passed else f"FAIL ({len(outcome.result.rows)} rows)"
        _out(f"{state:>16}  {outcome.query.name} [{outcome.severity}]: {outcome.query.title}")
        if not outcome.passed:
            _out(render(outcome.result, "table"))
            _out(f"  fix: {outcome.query.header.get('fix', '')}")
            failed += outcome.severity == "error"
    return EXIT_FAILED if failed else EXIT_OK


def cmd_queries(args) -> int:
    from .query import discover

    for query in discover(_project(args).queries_dir):
        params = ", ".join(f"{p.name} ({p.kind})" for p in query.params) or "-"
        _out(f"{query.name}\n    {query.title}\n    params: {params}")
    return EXIT_OK


def cmd_query(args) -> int:
    from .query import find_query, parse_assignments, run, run_rdflib
    from .tables import render

    project = _project(args)
    query = find_query(project.queries_dir, args.name)
    params = parse_assignments(args.param or [])
    store = _store(args)
    if args.engine == "rdflib":
        from .query import bind_params, refuse_unsafe

        refuse_unsafe(query)
        bind_params(query, store, params)  # the same checks and messages as the default engine
        result = run_rdflib(query, _rdflib_closure(project), params)
    else:
        result = run(query, store, params, timeout=args.timeout)
    _out(render(result, args.format))
    return EXIT_OK


def _rdflib_closure(project):
    from rdflib import Graph

    from .cache import ensure_closure

    graph = Graph()
    graph.parse(ensure_closure(project), format="nt")
    return graph


def cmd_export(args) -> int:
    from .atomic import write_atomic
    from .export import FORMATS, serialise
    from .load import load_project

    project = _project(args)
    loaded = load_project(project)
    if args.inferred:  # reasoned here so its blank nodes and lexical forms are the loaded ones
        from .reason import reason

        graph = reason(loaded.graph).graph
    else:
        graph = loaded.graph
    text = serialise(graph, args.format, loaded.part(project.ontology_files), loaded)
    if args.output == "-":
        sys.stdout.write(text)
        return EXIT_OK
    suffix = FORMATS[args.format][1]
    name = f"coprod-kg{'-inferred' if args.inferred else ''}{suffix}"
    out = Path(args.output) if args.output else project.build_dir / name
    write_atomic(out, text)
    _out(f"wrote {out} ({len(graph)} triples, {args.format})")
    return EXIT_OK


def cmd_stats(args) -> int:
    from .build import count_instances

    store = _store(args)
    _out(f"triples (reasoned): {len(store)}")
    for name, number in count_instances(store).items():
        _out(f"{name}: {number}")
    return EXIT_OK


def cmd_paths(args) -> int:
    import json

    from .paths import build_graph, path_json, path_table, paths, strongest
    from .tables import render

    graph = build_graph(_store(args))
    if args.strongest:
        rows = strongest(graph, args.strongest)
    elif args.principle or args.outcome:
        rows = paths(graph, args.principle, args.outcome)
    else:
        raise UsageError("coprod-kg paths: give --principle, --outcome or --strongest N")
    if args.format == "json":
        _out(json.dumps(path_json(rows), indent=2, ensure_ascii=False))
    elif args.summary:
        for row in rows:
            studies = ", ".join(s["study"].split(":", 1)[1] for s in row.studies)
            _out(f"{row.principle} -> {row.via} ({row.steps[0].status}) -> {row.outcome}: "
                 f"{len(row.studies)} stud{'y' if len(row.studies) == 1 else 'ies'} ({studies})")
    else:
        _out(render(path_table(rows), args.format))
    if not rows:
        _err("no path: the data links this principle to no such outcome")
    return EXIT_OK


def cmd_viz(args) -> int:
    from .viz import draw_all

    project = _project(args)
    out = Path(args.output) if args.output else project.build_dir
    for path in draw_all(project, _store(args), out):
        _out(f"wrote {path}")
    return EXIT_OK


def cmd_docs(args) -> int:
    from .atomic import write_atomic
    from .docs import generated_files

    project = _project(args)
    stale = []
    for path, content in generated_files(project).items():
        current = path.read_text(encoding="utf-8") if path.is_file() else None
        if current == content:
            continue
        stale.append(path)
        if not args.check:
            write_atomic(path, content)
            _out(f"wrote {path}")
    if args.check and stale:
        for path in stale:
            _out(f"out of date: {path} (run `coprod-kg docs`)")
        return EXIT_FAILED
    if not stale:
        _out("documentation is up to date")
    if not args.check:
        from .viz import draw_readme_pictures

        for path in draw_readme_pictures(_store(args), project.root / "docs" / "img"):
            _out(f"drew {path}")
    return EXIT_OK


def cmd_release(args) -> int:
    import datetime as dt

    from .publish.release import make_release

    project = _project(args)
    try:
        date = dt.date.fromisoformat(args.date) if args.date else None
    except ValueError:
        raise UsageError(f"coprod-kg release: --date {args.date!r} is not a YYYY-MM-DD date") from None
    previous = Path(args.previous) if args.previous else None
    if previous is not None and not (previous / "coprod-kg.nt").is_file():
        raise UsageError(f"coprod-kg release: {previous} holds no coprod-kg.nt to compare with")
    done = make_release(project, Path(args.output) if args.output else None, previous, date,
                        echo=_err)
    _out(f"released {done.folder} ({len(done.files)} files)")
    _out(f"  compared with {done.previous}" if done.previous else "  first release: nothing "
         "to compare with")
    return EXIT_OK


# ---------------------------------------------------------------- parser

COMMANDS: dict[str, tuple[Callable, str, str]] = {
    "build": (cmd_build, "validate, reason, answer every question, run the checks, export and "
              "draw, all into build/", "coprod-kg build"),
    "validate": (cmd_validate, "check the data against the SHACL shapes (all files, or just the "
                 "given ones with the ontology and concept schemes beside them)",
                 "coprod-kg validate data/studies/11-croydon-sun.ttl"),
    "reason": (cmd_reason, "materialise the OWL RL closure into a new graph and cache it",
               "coprod-kg reason -o build/reasoned.ttl"),
    "check": (cmd_check, "run the quality checks of queries/checks (each passes if it returns "
              "no rows)", "coprod-kg check"),
    "queries": (cmd_queries, "list the report's questions with their titles and parameters",
                "coprod-kg queries"),
    "query": (cmd_query, "answer one question by name or .rq file, with bound parameters",
              "coprod-kg query principle-outcome-paths --param principle=networks --format csv"),
    "export": (cmd_export, "write the asserted or reasoned graph as Turtle, JSON-LD, N-Triples, "
               "TriG or RDF/XML", "coprod-kg export --format jsonld --inferred -o kg.jsonld"),
    "stats": (cmd_stats, "count what the reasoned graph holds", "coprod-kg stats"),
    "paths": (cmd_paths, "show principle → need or component → outcome → study paths, with the "
              "findings and quotes behind each step", "coprod-kg paths --principle networks "
              "--outcome reduced-isolation"),
    "viz": (cmd_viz, "draw the path diagram and gap map (SVG, PNG), GraphML/GEXF and the "
            "explorer page", "coprod-kg viz -o build/"),
    "docs": (cmd_docs, "regenerate the README query table, docs/vocabulary.md, docs/cli.md and "
             "the README's pictures",
             "coprod-kg docs --check"),
    "release": (cmd_release, "write a citable bundle dist/coprod-kg-VERSION/: every export, "
                "ontology docs, the explorer, VoID/DCAT, SHA-256 checksums and a CHANGELOG "
                "entry diffed against the previous release",
                "coprod-kg release --previous dist/coprod-kg-0.1.0"),
}


def make_parser() -> argparse.ArgumentParser:
    from .formats import EXPORT_FORMATS
    from .tables import FORMATS as TABLE_FORMATS

    parser = Parser(prog="coprod-kg", description=(
        "The evidence of Slay & Stephens (2013) on co-production in mental health as a "
        "knowledge graph. Exit codes: 0 fine, 1 validation or checks failed, 2 usage or "
        "input error."))
    parser.add_argument("--version", action="version", version=f"coprod-kg {__version__}")
    parser.add_argument("--project", help="the project folder (default: found from the "
                        "working directory)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub = {}
    for name, (handler, summary, example) in COMMANDS.items():
        sub[name] = commands.add_parser(
            name, help=summary, description=f"{summary[0].upper()}{summary[1:]}.",
            epilog=f"example: {example}", formatter_class=argparse.RawDescriptionHelpFormatter)
        sub[name].set_defaults(handler=handler)
    sub["validate"].add_argument("paths", nargs="*", metavar="PATH",
                                 help="Turtle files to check (default: the whole project)")
    sub["reason"].add_argument("-o", "--output", help="where to write the reasoned graph "
                               "(default build/coprod-kg-inferred.ttl)")
    sub["query"].add_argument("name", metavar="NAME|FILE.rq",
                              help="a query name from `coprod-kg queries`, or a .rq file")
    sub["query"].add_argument("--param", action="append", metavar="NAME=VALUE",
                              help="a parameter value, e.g. principle=networks (repeatable)")
    sub["query"].add_argument("--format", choices=TABLE_FORMATS, default="table")
    sub["query"].add_argument("--timeout", type=float, default=30.0, metavar="SECONDS",
                              help="stop a query that runs longer than this (default 30)")
    sub["query"].add_argument("--engine", choices=("oxigraph", "rdflib"), default="oxigraph",
                              help="the SPARQL engine (default oxigraph; rdflib for comparison)")
    sub["export"].add_argument("--format", choices=list(EXPORT_FORMATS), default="turtle")
    sub["export"].add_argument("--inferred", action="store_true",
                               help="export the reasoned graph instead of the asserted one")
    sub["export"].add_argument("-o", "--output", help="output file, or - for standard output "
                               "(default build/coprod-kg[-inferred].<ext>)")
    sub["paths"].add_argument("--principle", help="a principle slug, e.g. networks")
    sub["paths"].add_argument("--outcome", help="an outcome slug, e.g. reduced-isolation (alone: "
                              "which principles reach it)")
    sub["paths"].add_argument("--strongest", type=int, metavar="N",
                              help="the N paths backed by the most studies")
    sub["paths"].add_argument("--summary", action="store_true",
                              help="one line per path instead of one row per finding")
    sub["paths"].add_argument("--format", choices=("table", "json", "csv", "markdown"),
                              default="table")
    sub["viz"].add_argument("-o", "--output", help="folder to write into (default build/)")
    sub["docs"].add_argument("--check", action="store_true",
                             help="only report out-of-date files (exit 1 if any)")
    sub["release"].add_argument("-o", "--output", metavar="DIR",
                                help="the folder that holds releases (default dist/)")
    sub["release"].add_argument("--previous", metavar="DIR", help="the release to diff against "
                                "(default: the newest earlier one under the output folder)")
    sub["release"].add_argument("--date", metavar="YYYY-MM-DD", help="the release date (default: "
                                "SOURCE_DATE_EPOCH, else the CHANGELOG entry, else today)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code; never raises for bad input."""
    from .project import InputError, ShapesError
    from .query import QueryError

    logging.getLogger("rdflib").setLevel(logging.ERROR)
    try:
        args = make_parser().parse_args(sys.argv[1:] if argv is None else argv)
        if not getattr(args, "handler", None):
            make_parser().print_help(sys.stderr)
            return EXIT_USAGE
        return args.handler(args)
    except SystemExit as exit_:  # --help and --version
        return int(exit_.code or 0)
    except (UsageError, InputError, QueryError, ShapesError, ValueError) as error:
        _err(f"error: {error}")
        return EXIT_USAGE
    except OSError as error:  # a file that cannot be written or read
        where = f"{error.filename}: " if getattr(error, "filename", None) else ""
        _err(f"error: {where}{error.strerror or error}")
        return EXIT_USAGE
    except KeyboardInterrupt:
        _err("interrupted")
        return 130
    except BrokenPipeError:  # the reader went away (e.g. `| head`); nothing left to say
        sys.stdout = open(os.devnull, "w")
        return EXIT_OK


def run() -> None:
    sys.exit(main())
