"""The coprod-kg command line: a thin layer over the library.

Exit codes: 0 fine; 1 validation or checks failed; 2 usage, input or file error; 3 a query stopped
by its time, memory or row limit; 4 internal error (a bug: rerun with --debug for the traceback);
130 interrupted.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

from . import __version__

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_LIMIT, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 4, 130


class UsageError(Exception):
    """A command line that asks for something impossible."""


def _read_output_flags(words: list[str]) -> None:
    """Set how errors and progress are shown from the words of a command line."""
    global _JSON_ERRORS, _VERBOSITY
    _JSON_ERRORS = any(w in ("--format=json",) or (w == "--format" and nxt == "json")
                       for w, nxt in zip(words, [*words[1:], ""]))
    _VERBOSITY = -1 if ("--quiet" in words or "-q" in words) else (
        1 if ("--verbose" in words or "-v" in words) else 0)


_PARSER_CLASS: list = []


def _parser_class():
    """The argparse parser of the command line, defined at first use: argparse (with gettext
    and shutil) costs a warm query more than a tenth of its time, and the common command
    lines of ``query`` are read without it (see _quick_query_args)."""
    if not _PARSER_CLASS:
        import argparse

        class Parser(argparse.ArgumentParser):
            def error(self, message):  # argparse would exit; main() makes this exit code 2
                raise UsageError(f"{self.prog}: {_did_you_mean(message)}")

            def parse_args(self, args=None, namespace=None):
                _read_output_flags(list(sys.argv[1:] if args is None else args))
                return super().parse_args(args, namespace)

        _PARSER_CLASS.append(Parser)
    return _PARSER_CLASS[0]


def __getattr__(name: str):
    if name == "Parser":  # the parser class, made when first asked for
        return _parser_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_JSON_ERRORS = False  # set when the command line asks for --format json: errors come as JSON
_VERBOSITY = 0  # -1 quiet, 0 normal, 1 verbose


def _did_you_mean(message: str) -> str:
    """Add a suggestion to argparse's "invalid choice" message."""
    import difflib
    import re

    match = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
    if not match:
        return message
    choices = re.findall(r"'([^']*)'", match.group(2)) or match.group(2).split(", ")
    close = difflib.get_close_matches(match.group(1), choices, n=2, cutoff=0.5)
    return message + (f"; did you mean {' or '.join(close)}?" if close else "")


def _project(args):
    from .project import find_project
    from .query import remember_verdicts

    project = find_project(Path(args.project), strict=True) if args.project else find_project()
    remember_verdicts(project.cache_dir / "verdicts")
    return project


def _out(text: str) -> None:
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


def _err(text: str) -> None:
    if _JSON_ERRORS and text.startswith("error: "):
        import json

        text = json.dumps({"error": text[len("error: "):].strip()}, ensure_ascii=False)
    sys.stderr.write(text if text.endswith("\n") else text + "\n")


def _note(text: str) -> None:
    """Progress and notes on standard error, unless --quiet."""
    if _VERBOSITY >= 0:
        _err(text)


def _emit(args, payload: str | bytes, what: str = "") -> None:
    """Write an answer to standard output, or to --output FILE (atomically)."""
    output = getattr(args, "output", None)
    if not output or output == "-":
        if isinstance(payload, bytes):
            raise UsageError("an xlsx workbook cannot go to the terminal; add --output FILE.xlsx")
        _out(payload)
        return
    from .atomic import write_atomic

    path = write_atomic(Path(output), payload)
    _note(f"wrote {path}{f' ({what})' if what else ''}")


def _format(args) -> str:
    """The output format: --format, else guessed from the --output suffix, else a table."""
    from .tables import SUFFIXES

    if getattr(args, "format", None):
        return args.format
    output = getattr(args, "output", None)
    if output and output != "-":
        return SUFFIXES.get(Path(output).suffix.lower(), "table")
    return "table"


class _Progress:
    """Build progress on standard error: a rich progress bar on a terminal, plain step lines
    elsewhere, nothing under --quiet; --verbose also names each question as it is answered."""

    def __init__(self):
        self.bar = None
        self.task = None
        self.step = None

    def __enter__(self):
        if _VERBOSITY >= 0 and sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                       TimeElapsedColumn)

            self.bar = Progress(TextColumn("{task.description}"), BarColumn(),
                                MofNCompleteColumn(), TimeElapsedColumn(),
                                console=Console(stderr=True), transient=False)
            self.bar.__enter__()
        return self

    def __call__(self, step: str, done: int | None = None, total: int | None = None,
                 detail: str = "") -> None:
        if _VERBOSITY < 0:
            return
        if self.bar is not None:
            if step != self.step:
                if self.task is not None:
                    self.bar.update(self.task, completed=self.bar.tasks[self.task].total or 1)
                self.task = self.bar.add_task(step, total=total or 1)
                self.step = step
            if done is not None:
                self.bar.update(self.task, completed=done, total=total)
            if detail and _VERBOSITY > 0:
                self.bar.console.print(f"  {detail}")
            return
        if step != self.step:
            self.step = step
            _err(f"{step} ...")
        if detail and _VERBOSITY > 0:
            _err(f"  {detail}")

    def __exit__(self, *exc):
        if self.bar is not None:
            if self.task is not None and not any(exc):
                self.bar.update(self.task, completed=self.bar.tasks[self.task].total or 1)
            self.bar.__exit__(*exc)
        return False


def _progress() -> _Progress:
    return _Progress()


# ---------------------------------------------------------------- commands

def cmd_build(args) -> int:
    from .build import build

    engine = _endpoint(args) if args.endpoint else None
    with _progress() as progress:
        code, summary = build(_project(args), echo=_err, progress=progress, engine=engine)
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
    from .validate import curation_checks, load_shapes, validate

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
    unknown, quote_problems, notices = curation_checks(project, loaded, only)
    for notice in notices:
        _err(notice)
    if unknown:  # a misspelt term would only produce misleading shape messages
        for problem in unknown:
            _out(str(problem))
        _out(f"does not conform: {len(unknown)} unknown term(s); the shapes were not run")
        return EXIT_FAILED
    report = validate(loaded, load_shapes(project.shapes_file), loaded.part(project.ontology_files),
                      only)
    for problem in [*quote_problems, *report.problems]:
        _out(str(problem))
    report.problems[:0] = quote_problems
    report.conforms = report.conforms and not quote_problems
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
    write_closure(project, closure.graph, loaded.fingerprint)
    out = Path(args.output) if args.output else project.build_dir / "coprod-kg-inferred.ttl"
    write_atomic(out, serialise(closure.graph, "turtle"))
    _out(f"{closure.asserted} asserted triples; {closure.inferred} inferred; "
         f"{len(closure.graph)} in all, written to {out}")
    return EXIT_OK


def _store(args):
    if getattr(args, "endpoint", None):
        return _endpoint(args)
    from .cache import open_store

    return open_store(_project(args))


def _endpoint(args):
    from .engines import Endpoint

    graph = None if args.endpoint_graph == "default" else args.endpoint_graph
    return Endpoint(args.endpoint, graph=graph, timeout=getattr(args, "timeout", None) or 30.0)


def cmd_check(args) -> int:
    from .engines import run_checks
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
    from .query import find_query, parse_assignments, run_rdflib
    from .tables import render

    project = _project(args)
    query = find_query(project.queries_dir, args.name)
    params = parse_assignments(args.param or [])
    if args.engine == "rdflib" and args.endpoint:
        raise UsageError("coprod-kg query: --engine rdflib runs locally; drop it or --endpoint")
    if args.engine == "rdflib":  # the same checks, limits and messages as the default engine
        _quiet_rdflib()
        result = run_rdflib(query, _rdflib_closure(project), params, timeout=args.timeout)
    elif args.endpoint:
        from .engines import run

        result = run(query, _store(args), params, timeout=args.timeout)
    else:  # the embedded store, as engines.run would, without importing the endpoint client
        from .query import prepare, run_prepared

        store = _store(args)
        timeout, substitutions = prepare(query, store, params, timeout=args.timeout)
        result = run_prepared(query, store, timeout, substitutions)
    fmt = _format(args)
    _emit(args, render(result, fmt, ids=args.ids), f"{len(result.rows)} rows, {fmt}")
    warm = sys.modules.get("coprod_kg.warm")
    if warm is not None and warm.MISSED and _QUICK_WORDS and args.engine == "oxigraph" \
            and not args.endpoint and fmt == "csv" and args.output in (None, "-") \
            and not args.verbose:
        _record_plan(project, args, query, substitutions, timeout, result)
    return EXIT_OK


def _record_plan(project, args, query, substitutions, timeout, result) -> None:
    """Leave the plan that lets the same command line be answered warm (warm.py)."""
    from .query import bind_in_subselects, limits
    from .warm import record
    from .worker import DEFAULT_MEMORY_MB

    cap = limits()
    record(project, list(_QUICK_WORDS), args.name, query,
           bind_in_subselects(query.text, substitutions), substitutions, timeout,
           cap["max_rows"], cap["memory_mb"] or DEFAULT_MEMORY_MB, result.rows)


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
    from .build import count_instances, studies_by_source

    store = _store(args)
    _out(f"triples (reasoned): {len(store)}")
    for name, number in count_instances(store).items():
        _out(f"{name}: {number}")
    for source, number in studies_by_source(store).items():
        _out(f"  studies from {source}: {number}")
    return EXIT_OK


def cmd_paths(args) -> int:
    import json

    from .paths import build_graph, path_json, path_summary, path_table, paths, strongest
    from .tables import render

    graph = build_graph(_store(args))
    if args.strongest is not None:
        rows = strongest(graph, args.strongest, view=args.view)
    elif args.principle or args.outcome:
        rows = paths(graph, args.principle, args.outcome, view=args.view)
    else:
        raise UsageError("coprod-kg paths: give --principle, --outcome or --strongest N")
    fmt = _format(args)
    if fmt == "json":
        _emit(args, json.dumps(path_json(rows, args.view), indent=2, ensure_ascii=False) + "\n")
    elif args.summary:
        _emit(args, "\n".join(path_summary(graph, rows, args.view)) + "\n")
    else:
        _emit(args, render(path_table(graph, rows, args.view), fmt, ids=args.ids))
    if not rows:
        _err("no path: no study coded with this principle reports such an outcome"
             if args.view == "evidence" else "no path: the argument links this principle to no "
             "such outcome")
    return EXIT_OK


def cmd_viz(args) -> int:
    from .viz import draw_all

    project = _project(args)
    out = Path(args.output) if args.output else project.build_dir
    for path in draw_all(project, _store(args), out):
        _out(f"wrote {path}")
    return EXIT_OK


def cmd_serve(args) -> int:
    from .serve import serve

    serve(_project(args), args.host, args.port, allowed_hosts=args.allowed_host,
          cors_origins=args.cors, timeout=args.timeout, row_cap=args.row_cap,
          workers=args.workers, memory_mb=args.memory_mb, echo=_err)
    return EXIT_OK


def cmd_publish(args) -> int:
    from .engines import GraphStore, digest_auth
    from .publish import publish_project

    project = _project(args)
    password = os.environ.get(args.password_env) if args.user else None
    if args.user and password is None:
        raise UsageError(f"coprod-kg publish: set the password in ${args.password_env}")
    if args.batch < 1:
        raise UsageError("coprod-kg publish: --batch is at least 1 triple")
    store = GraphStore(args.endpoint, auth=digest_auth(args.user, password))
    publish_project(project, store, batch=args.batch, echo=_out, bulk=args.no_transaction)
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


def _curation(project):
    """The project graph and the template profile (for the curation commands)."""
    from .curate.profile import Profile
    from .load import load_project
    from .validate import load_shapes

    loaded = load_project(project)
    return loaded, Profile(loaded.graph, loaded.part(project.ontology_files),
                           load_shapes(project.shapes_file))


def cmd_locate(args) -> int:
    from .curate.locate import describe, locate
    from .curate.sources import find_source
    from .load import load_project
    from .project import InputError

    project = _project(args)
    source = find_source(load_project(project).graph, project.root, args.source)
    if not source.available:
        raise InputError(source.path, f"the text of source `{source.slug}` is not here"
                         + (" (set COPROD_SHARED to the folder that holds it)" if source.shared
                            else ""))
    location = locate(source, args.text)
    _out(describe(location, f"`{source.slug}`"))
    return EXIT_OK if location.found else EXIT_FAILED


def _template_out(args, slug: str) -> Path:
    out = Path(args.output) if args.output else Path(f"{slug}.{args.format}")
    if out.exists() and not args.force:
        raise UsageError(f"{out} exists; choose another file with -o, or --force to replace it")
    return out


def _write_template(data: dict, out: Path, fmt: str, profile, comments=None, header=None):
    from .atomic import write_atomic
    from .curate.templates import dump_yaml, flatten_quotes, write_xlsx

    if fmt == "yaml":
        write_atomic(out, dump_yaml(data, header, comments))
        return
    import io

    allowed = {}
    for info in profile.fields.values():
        if info.allowed and info.iri_values and info.key != "hasQuote":
            from .curate.exporter import render_value

            allowed[info.key] = [str(render_value(info, v)) for v in info.allowed]
    stream = io.BytesIO()
    required = {f"{kind}s" if kind != "study" else "studies": set(kp.required)
                for kind, kp in profile.kinds.items()}
    write_xlsx(flatten_quotes(data), stream,
               {f.key for f in profile.fields.values() if f.iri_values}, allowed,
               required=required,
               notes=header or ["coprod-kg study template: one sheet per kind of node, one row "
                                "per node, one value per line in a cell.",
                                "Quotes go on the sheet 'quotes' (slug, text); other sheets name "
                                "them by slug in the column hasQuote."])
    write_atomic(out, stream.getvalue())


def cmd_new_study(args) -> int:
    from .curate.exporter import blank_template
    from .curate.sources import sources_of

    import re

    if not re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", args.slug):
        raise UsageError(f"`{args.slug}` is not a slug: write lower-case words joined by hyphens, "
                         "e.g. riverside-peer-network")
    project = _project(args)
    loaded, profile = _curation(project)
    data, comments, header = blank_template(profile, sources_of(loaded.graph, project.root),
                                            args.slug)
    out = _template_out(args, args.slug)
    _write_template(data, out, args.format, profile, comments, header)
    _out(f"wrote {out}: fill it in, then run `coprod-kg import {out}`")
    return EXIT_OK


def cmd_export_template(args) -> int:
    from .curate.exporter import export_study, source_of_file, study_file
    from .curate.sources import sources_of

    project = _project(args)
    loaded, profile = _curation(project)
    path = study_file(loaded, project, args.study)
    data = export_study(loaded, profile, path, source_of_file(
        loaded, path, sources_of(loaded.graph, project.root)))
    out = _template_out(args, args.study)
    _write_template(data, out, args.format, profile, header=[
        f"coprod-kg template of the study `{args.study}`, exported from {path.name}.",
        f"Edit it, then run `coprod-kg import {out.name} --replace` to rewrite {path.name}."])
    _out(f"wrote {out} from {path}")
    return EXIT_OK


def cmd_import(args) -> int:
    from .curate.importer import import_template
    from .curate.templates import TemplateError

    project = _project(args)
    try:
        imported = import_template(project, Path(args.template), write=not args.dry_run,
                                   replace=args.replace)
    except TemplateError as error:
        for problem in error.problems:
            _err(problem)
        _err(f"{len(error.problems)} problem(s); nothing written")
        return EXIT_FAILED
    for path in [*imported.source_files, imported.study_path]:
        _out(f"{'would write' if args.dry_run else 'wrote'} {path}")
    _out(f"{imported.study_path.name} conforms with the rest of the graph; run `coprod-kg build` "
         "to see it in the answers, paths and pictures")
    return EXIT_OK


def cmd_coverage(args) -> int:
    from .curate.coverage import coverage, exclusions_path, read_exclusions
    from .curate.sources import find_source
    from .load import load_project
    from .project import InputError

    project = _project(args)
    graph = load_project(project).graph
    source = find_source(graph, project.root, args.source)
    if not source.available:
        raise InputError(source.path, f"the text of source `{source.slug}` is not here")
    numbers = coverage(graph, source, read_exclusions(exclusions_path(project, source)))
    for number in numbers:
        if args.uncovered and number.status != "uncovered":
            continue
        _out(f"line {number.line:>4}  {number.token:>10}  {number.status:<9}  {number.by}")
    counts = {s: sum(n.status == s for n in numbers) for s in ("held", "excluded", "uncovered")}
    _out(f"{len(numbers)} numbers in `{source.slug}`: " + ", ".join(f"{v} {k}" for k, v in
                                                                  counts.items()))
    if counts["uncovered"]:
        _out(f"  record each uncovered number on a finding, or give a reason in "
             f"{exclusions_path(project, source)}")
    return EXIT_FAILED if counts["uncovered"] else EXIT_OK


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
    "serve": (cmd_serve, "serve the reasoned graph read-only: a SPARQL endpoint, the questions as "
              "URLs, the explorer and a page for every IRI", "coprod-kg serve --port 8080"),
    "publish": (cmd_publish, "load the asserted and the inferred graph into a triple store as two "
                "named graphs (SPARQL 1.1 Graph Store Protocol)",
                "coprod-kg publish --endpoint http://127.0.0.1:7878/store"),
    "docs": (cmd_docs, "regenerate the README query table, docs/vocabulary.md, docs/cli.md and "
             "the README's pictures",
             "coprod-kg docs --check"),
    "locate": (cmd_locate, "find pasted text in a source: its line and section, or the nearest "
               "passage and how the two differ", 'coprod-kg locate slay-stephens-2013 "A&E use '
               'decreased by 30 per cent"'),
    "new-study": (cmd_new_study, "write an empty study template (YAML or xlsx) listing the "
                  "allowed values", "coprod-kg new-study riverside-peer-network"),
    "import": (cmd_import, "turn a study template into data/studies/NN-slug.ttl, with slugs and "
               "quotes resolved, validated with the rest of the graph",
               "coprod-kg import riverside-peer-network.yaml"),
    "export-template": (cmd_export_template, "write an existing study as a template to edit and "
                        "import again", "coprod-kg export-template croydon-sun --format xlsx"),
    "coverage": (cmd_coverage, "list every number printed in a source: held by a finding, "
                 "excluded with a reason, or uncovered", "coprod-kg coverage slay-stephens-2013 "
                 "--uncovered"),
    "release": (cmd_release, "write a citable bundle dist/coprod-kg-VERSION/: every export, "
                "ontology docs, the explorer, VoID/DCAT, SHA-256 checksums and a CHANGELOG "
                "entry diffed against the previous release",
                "coprod-kg release --previous dist/coprod-kg-0.1.0"),
}


class _Unused:
    """Stands for the parser of a command the command line does not name: its arguments are
    not needed to parse this command line."""

    def add_argument(self, *args, **kwargs) -> None:
        return None


class _Commands(dict):
    def __missing__(self, name):
        return _Unused()


# The global options that take a value (the word after them is not the command).
_VALUED = ("--project", "--max-seconds", "--max-rows", "--max-memory")


def command_named(words: list[str]) -> str | None:
    """The command a command line names, or None where it names none or asks for help or the
    version before it (then the whole parser is needed to answer)."""
    skip = False
    for word in words:
        if skip:
            skip = False
        elif word in ("-h", "--help", "--version", "--"):
            return None
        elif word.startswith("--") and "=" not in word and len(word) > 2 \
                and any(option.startswith(word) for option in _VALUED):
            skip = True  # argparse takes an abbreviation of an option for the option
        elif not word.startswith("-"):
            return word if word in COMMANDS else None
    return None


def make_parser(only: str | None = None):
    """The command-line parser (an argparse.ArgumentParser); with ``only``, one that knows only
    that command's arguments (the same for a command line that names it, and cheaper to
    build)."""
    import argparse

    from .formats import EXPORT_FORMATS
    from .tables import FORMATS as TABLE_FORMATS

    Parser = _parser_class()
    parser = Parser(prog="coprod-kg", description=(
        "The evidence of Slay & Stephens (2013) on co-production in mental health as a "
        "knowledge graph. Exit codes: 0 fine, 1 validation or checks failed, 2 usage, input or "
        "file error, 3 a query stopped by its time, memory or row limit, 4 internal error."))
    parser.add_argument("--version", action="version", version=f"coprod-kg {__version__}")
    parser.add_argument("--project", help="the project folder (default: found from the "
                        "working directory)")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="print only answers and errors, no progress")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="say more about each step")
    parser.add_argument("--debug", action="store_true",
                        help="show the traceback of an internal error")
    parser.add_argument("--max-seconds", type=_seconds, metavar="SECONDS",
                        help="stop any query (of build, check, ...) that runs longer than this "
                        "(default 30; inf for no limit; `query --timeout` sets its own)")
    parser.add_argument("--max-rows", type=_count, metavar="N",
                        help="stop a query that returns more rows than this (default 100000)")
    parser.add_argument("--max-memory", type=_count, metavar="MB",
                        help="memory a query may use beyond what is loaded (default 2048)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub = _Commands()
    for name, (handler, summary, example) in COMMANDS.items():
        if only is not None and name != only:
            continue
        sub[name] = commands.add_parser(
            name, help=summary, description=f"{summary[0].upper()}{summary[1:]}.",
            epilog=f"example: {example}", formatter_class=argparse.RawDescriptionHelpFormatter)
        sub[name].set_defaults(handler=handler)
        sub[name].add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                               help="print only answers and errors, no progress")
        sub[name].add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                               help="say more about each step")
    sub["validate"].add_argument("paths", nargs="*", metavar="PATH",
                                 help="Turtle files to check (default: the whole project)")
    sub["reason"].add_argument("-o", "--output", help="where to write the reasoned graph "
                               "(default build/coprod-kg-inferred.ttl)")
    sub["query"].add_argument("name", metavar="NAME|FILE.rq",
                              help="a query name from `coprod-kg queries`, or a .rq file")
    sub["query"].add_argument("--param", action="append", metavar="NAME=VALUE",
                              help="a parameter value, e.g. principle=networks (repeatable)")
    sub["query"].add_argument("--format", choices=TABLE_FORMATS, default=None,
                              help="table (default), csv, json, markdown or xlsx; guessed from "
                              "the --output suffix when not given")
    sub["query"].add_argument("-o", "--output", metavar="FILE",
                              help="write the answer to FILE instead of the terminal")
    sub["query"].add_argument("--ids", action="store_true",
                              help="show the identifier (IRI) columns too")
    sub["query"].add_argument("--timeout", type=_seconds, default=30.0, metavar="SECONDS",
                              help="stop a query that runs longer than this (default 30; inf "
                              "for no limit); exit code 3 when it is stopped")
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
    sub["paths"].add_argument("--view", choices=("evidence", "argument"), default="evidence",
                              help="evidence (default): studies coded with the principle that "
                              "report the outcome; argument: the report's theory, principle → "
                              "need or component → outcome, each link with its status")
    sub["paths"].add_argument("--format", choices=TABLE_FORMATS, default=None,
                              help="table (default), csv, json, markdown or xlsx")
    sub["paths"].add_argument("-o", "--output", metavar="FILE",
                              help="write the paths to FILE instead of the terminal")
    sub["paths"].add_argument("--ids", action="store_true",
                              help="show the identifier (IRI) columns too")
    sub["viz"].add_argument("-o", "--output", help="folder to write into (default build/)")
    for name in ("query", "check", "build"):
        sub[name].add_argument("--endpoint", metavar="URL", help="ask a SPARQL 1.1 endpoint "
                               "instead of the embedded store (see `coprod-kg publish`)")
        sub[name].add_argument("--endpoint-graph", metavar="IRI",
                               default="https://w3id.org/coprod-kg/graph/inferred",
                               help="the graph the endpoint answers from, sent as "
                               "default-graph-uri (default: the inferred graph `publish` "
                               "writes; 'default' for the store's own default graph)")
    serve = sub["serve"]
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1, "
                       "this machine only)")
    serve.add_argument("--port", type=int, default=8080, help="port (default 8080)")
    serve.add_argument("--allowed-host", action="append", metavar="NAME",
                       help="a Host header to accept (repeatable; default 127.0.0.1, localhost)")
    serve.add_argument("--cors", action="append", metavar="ORIGIN",
                       help="allow cross-origin requests from ORIGIN (repeatable; default none)")
    serve.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS",
                       help="kill a query that runs longer than this (default 10)")
    serve.add_argument("--row-cap", type=int, default=10000, metavar="N",
                       help="refuse answers of more than N rows (default 10000)")
    serve.add_argument("--workers", type=int, default=2, metavar="N",
                       help="query worker processes (default 2)")
    serve.add_argument("--memory-mb", type=int, default=2048, metavar="MB",
                       help="memory limit of each query worker (default 2048)")
    publish = sub["publish"]
    publish.add_argument("--endpoint", required=True, metavar="URL", help="the Graph Store "
                         "Protocol URL, e.g. http://127.0.0.1:7878/store (Oxigraph) or "
                         "http://127.0.0.1:8890/sparql-graph-crud-auth (Virtuoso)")
    publish.add_argument("--user", help="user name for digest authentication")
    publish.add_argument("--password-env", default="COPROD_KG_PASSWORD", metavar="VAR",
                         help="environment variable holding the password "
                         "(default COPROD_KG_PASSWORD)")
    publish.add_argument("--batch", type=int, default=200_000, metavar="N",
                         help="triples per request (default 200000): the first request of a "
                         "graph replaces it, the others add to it")
    publish.add_argument("--no-transaction", action="store_true",
                         help="Oxigraph servers: load each batch with the bulk loader "
                         "(?no_transaction), much faster for millions of triples but not atomic")
    sub["docs"].add_argument("--check", action="store_true",
                             help="only report out-of-date files (exit 1 if any)")
    sub["locate"].add_argument("source", metavar="SOURCE", help="a source slug, e.g. "
                               "slay-stephens-2013")
    sub["locate"].add_argument("text", metavar="TEXT", help="the pasted text to find")
    for name, what in (("new-study", "slug"), ("export-template", "study")):
        sub[name].add_argument(what, metavar=what.upper(),
                               help="the study's slug (lower-case words joined by hyphens)")
        sub[name].add_argument("--format", choices=("yaml", "xlsx"), default="yaml")
        sub[name].add_argument("-o", "--output", help="the template file (default SLUG.yaml)")
        sub[name].add_argument("--force", action="store_true", help="replace an existing file")
    sub["import"].add_argument("template", metavar="FILE", help="a .yaml or .xlsx template")
    sub["import"].add_argument("--dry-run", action="store_true",
                               help="check everything but write nothing")
    sub["import"].add_argument("--replace", action="store_true",
                               help="rewrite an existing study's file from the template")
    sub["coverage"].add_argument("source", metavar="SOURCE", help="a source slug")
    sub["coverage"].add_argument("--uncovered", action="store_true",
                                 help="list only the numbers nothing accounts for")
    sub["release"].add_argument("-o", "--output", metavar="DIR",
                                help="the folder that holds releases (default dist/)")
    sub["release"].add_argument("--previous", metavar="DIR", help="the release to diff against "
                                "(default: the newest earlier one under the output folder)")
    sub["release"].add_argument("--date", metavar="YYYY-MM-DD", help="the release date (default: "
                                "SOURCE_DATE_EPOCH, else the CHANGELOG entry, else today)")
    return parser


def _seconds_or_none(text: str) -> float | None:
    """A timeout: a positive number of seconds, or inf for no limit; None if it is neither."""
    try:
        seconds = float(text)
    except ValueError:
        return None
    if seconds != seconds or seconds <= 0:  # NaN, or not more than 0
        return None
    return seconds


def _seconds(text: str) -> float:
    """A timeout: a positive number of seconds, or inf for no limit."""
    import argparse

    seconds = _seconds_or_none(text)
    if seconds is not None:
        return seconds
    try:
        float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    raise argparse.ArgumentTypeError(f"must be more than 0 seconds (or inf), not {text!r}")


def _count(text: str) -> int:
    """A whole number of one or more, written with the digits 0-9."""
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        import argparse

        raise argparse.ArgumentTypeError(f"must be a whole number of 1 or more, not {text!r}")
    return int(text)


# What `query` takes without argparse: flags, options with one value (the value is the next
# word), and the name. Anything else (other options, --opt=value, abbreviations, --help, --,
# a value that starts with "-") goes to argparse, which knows every rule and message.
_QUICK_FLAGS = {"-q": "quiet", "--quiet": "quiet", "-v": "verbose", "--verbose": "verbose",
                "--ids": "ids"}
_QUICK_VALUED = {"--format": "format", "-o": "output", "--output": "output",
                 "--param": "param", "--timeout": "timeout"}


_QUICK_WORDS: list[str] = []  # the words of a command line read by _quick_query_args


def _quick_query_args(words: list[str]):
    """The parsed arguments of a plain ``query NAME [options]`` command line, the very
    namespace argparse would make of it; None for any other command line (argparse reads it).

    A warm query's answer costs less than argparse's import, gettext look-ups and parser
    building together; tests hold this to argparse's reading of the same words.
    """
    if not words or words[0] != "query":
        return None
    from types import SimpleNamespace

    from .tables import FORMATS

    values = {"command": "query", "debug": False, "endpoint": None,
              "endpoint_graph": "https://w3id.org/coprod-kg/graph/inferred",
              "engine": "oxigraph", "format": None, "handler": cmd_query, "ids": False,
              "max_memory": None, "max_rows": None, "max_seconds": None, "name": None,
              "output": None, "param": None, "project": None, "quiet": False,
              "timeout": 30.0, "verbose": False}
    rest = iter(words[1:])
    for word in rest:
        if word in _QUICK_FLAGS:
            values[_QUICK_FLAGS[word]] = True
        elif word in _QUICK_VALUED:
            value = next(rest, None)
            if value is None or value.startswith("-"):
                return None
            key = _QUICK_VALUED[word]
            if key == "param":
                values["param"] = [*(values["param"] or []), value]
            elif key == "format":
                if value not in FORMATS:
                    return None
                values["format"] = value
            elif key == "timeout":
                values["timeout"] = _seconds_or_none(value)
                if values["timeout"] is None:
                    return None
            else:
                values[key] = value
        elif word.startswith("-") or values["name"] is not None:
            return None
        else:
            values["name"] = word
    if values["name"] is None:
        return None
    _read_output_flags(words)
    return SimpleNamespace(**values)


def _check_args(args) -> None:
    """Checks argparse cannot make on options other commands define."""
    strongest = getattr(args, "strongest", None)
    if strongest is not None and strongest < 1:
        raise UsageError(f"coprod-kg paths: --strongest must be 1 or more, not {strongest}")


def _apply_global_options(args) -> None:
    if args.max_rows or args.max_memory or args.max_seconds:
        from .query import set_limits

        set_limits(max_rows=args.max_rows, memory_mb=args.max_memory, timeout=args.max_seconds)


def _describe_os_error(error: OSError) -> str:
    where = f"{error.filename}: " if getattr(error, "filename", None) else ""
    return f"{where}{error.strerror or error}"


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code; never raises for bad input."""
    debug = "--debug" in (sys.argv[1:] if argv is None else argv)
    try:
        from .project import InputError, ShapesError
        from .query import QueryError, QueryLimitError
        from .worker import LimitReached

        words = list(sys.argv[1:] if argv is None else argv)
        command = command_named(words)
        if command not in _WITHOUT_RDFLIB:
            _quiet_rdflib()
        args = _quick_query_args(words)
        _QUICK_WORDS[:] = words if args is not None else []
        args = args or make_parser(command).parse_args(words)
        if not getattr(args, "handler", None):
            make_parser().print_help(sys.stderr)
            return EXIT_USAGE
        _check_args(args)
        _apply_global_options(args)
        return args.handler(args)
    except SystemExit as exit_:  # --help and --version
        return int(exit_.code or 0)
    except KeyboardInterrupt:
        _err("interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader went away (e.g. `| head`); nothing left to say
        _quiet_stdout()
        return EXIT_OK
    except (QueryLimitError, LimitReached, MemoryError) as error:
        _err(f"error: {error or 'out of memory'}")
        return EXIT_LIMIT
    except (UsageError, InputError, QueryError, ShapesError) as error:
        _err(f"error: {error}")
        return EXIT_USAGE
    except OSError as error:  # a file that cannot be written or read
        _err(f"error: {_describe_os_error(error)}")
        return EXIT_USAGE
    except Exception as error:  # a bug: say so in one line
        if debug:
            import traceback

            traceback.print_exc()
        _err(f"internal error: {type(error).__name__}: {error}".splitlines()[0][:500])
        if not debug:
            _err("this is a bug in coprod-kg; run again with --debug for the traceback")
        return EXIT_INTERNAL


# Commands that answer from the on-disk store without rdflib when the cache is warm: they quiet
# rdflib only where they load it (``cmd_query --engine rdflib``; ``cache`` when it reasons),
# since importing logging costs a warm query a tenth of its time. None: --version, --help.
_WITHOUT_RDFLIB = (None, "query", "queries")


def _quiet_rdflib() -> None:
    """Keep rdflib's warnings (e.g. a traceback for an ill-typed literal, which validation
    reports in words) off the terminal."""
    import logging

    logging.getLogger("rdflib").setLevel(logging.ERROR)


def _quiet_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


def run() -> None:
    try:
        code = main()
        sys.stdout.flush()
    except KeyboardInterrupt:  # between main() returning and the exit
        code = EXIT_INTERRUPTED
    except BrokenPipeError:
        _quiet_stdout()
        code = EXIT_OK
    sys.exit(code)
