"""The main job: validate, reason, answer every question, run the checks, export and draw."""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .atomic import publish_folder, staging_folder, write_atomic
from .project import Project


@dataclass
class Answer:
    query: object
    params: dict
    result: object


@dataclass
class BuildSummary:
    asserted: int = 0
    inferred: int = 0
    counts: dict = field(default_factory=dict)
    answers: list = field(default_factory=list)
    checks: list = field(default_factory=list)
    written: list = field(default_factory=list)
    seconds: float = 0.0


COUNT_CLASSES = {
    "reviewed studies": "ReviewedStudy", "initiatives": "Initiative", "findings": "Finding",
    "quotes": "Quote", "principle codings": "PrincipleCoding", "outcomes": "Outcome",
    "endnotes": "Endnote", "citation markers": "CitationMarker", "quality notes": "QualityNote",
}


def count_instances(store) -> dict[str, int]:
    """How many nodes of each main class the graph holds."""
    counts = {}
    for name, local in COUNT_CLASSES.items():
        found = store.query("SELECT (COUNT(DISTINCT ?x) AS ?n) WHERE { ?x a "
                            f"<https://w3id.org/coprod-kg/ontology#{local}> }}")
        counts[name] = int(next(iter(found))["n"].value)
    return counts


def studies_by_source(store) -> dict[str, int]:
    """How many studies come from each source (the review that lists them, or their own text)."""
    found = store.query(
        "SELECT ?source (COUNT(DISTINCT ?study) AS ?n) WHERE { ?study a "
        "<https://w3id.org/coprod-kg/ontology#ReviewedStudy> ; "
        "<https://w3id.org/coprod-kg/ontology#codedFrom> ?source } GROUP BY ?source ORDER BY ?source")
    return {row["source"].value.rsplit("/", 1)[-1]: int(row["n"].value) for row in found}


def answer_all(project: Project, store, progress: Callable | None = None) -> list[Answer]:
    """Run every report question; parameterised ones for every possible value.

    A question whose parameter it projects is asked once for all its values
    (``batch.answer_grouped``) instead of once per value, which would grow with the square of
    the corpus; all run in one killable worker (``batch.answer_all_grouped``), each with the
    limits ``query.run`` gives it.
    """
    from .batch import answer_all_grouped
    from .query import discover, parameter_sets

    if progress:
        progress("answering the questions")
    jobs = [(query, parameter_sets(query, store)) for query in discover(project.queries_dir)]
    total = sum(len(sets) for _, sets in jobs)
    answers, done = [], 0
    for (query, sets), results in zip(jobs, answer_all_grouped(jobs, store)):
        for params in sets:
            answers.append(Answer(query, params, results[tuple(params.items())]))
            done += 1
            if progress:
                shown = " ".join(f"{k}={v}" for k, v in params.items())
                progress("answering the questions", done, total, f"{query.name} {shown}".strip())
    return answers


def markdown_report(answers: list[Answer], checks: list, gap: dict | None = None) -> str:
    """The one-page summary with the contents (the per-question pages come from write_report)."""
    from .report import question_pages, summary_page, to_markdown

    return to_markdown(summary_page(answers, checks, gap), question_pages(answers))


def write_report(out: Path, answers: list[Answer], checks: list, store=None,
                 data=None) -> list[Path]:
    """The report in layers: report.md and report.html, and one page per question in report/.

    With ``store`` (or ``data``, ``viz.picture_data(store)`` read already) the summary also
    names the gap map's empty cells and the outcome groups no mechanism reaches."""
    from .report import write_report as write_pages

    if store is None and data is None:
        return write_pages(out, answers, checks)
    if data is None:
        from .viz import picture_data

        data = picture_data(store)
    _, rolled, gap = data
    unreached = sorted(d["label"] for n, d in rolled.nodes(data=True) if d["kind"] == "outcome"
                       and all(rolled.edges[s, n]["kind"] == "direct" for s in rolled.predecessors(n)))
    return write_pages(out, answers, checks, gap, unreached)


def answer_name(answer: Answer) -> str:
    from .report import answer_name as name

    return name(answer)


def write_exports(project: Project, loaded, out: Path) -> list[Path]:
    """Write the asserted and reasoned graph in every format, and the VoID description.

    The asserted graph is written from the triples pyoxigraph parsed (``export.serialise_loaded``),
    sorted and labelled once for every format, so no export goes through rdflib."""
    from .cache import closure_path
    from .export import FORMATS, serialise, serialise_loaded, void_description

    ontology = loaded.part(project.ontology_files)
    written = []
    # One format's text at a time: each is written and dropped before the next is made.
    for fmt, text in serialise_loaded(loaded, list(FORMATS), ontology):
        written.append(write_atomic(out / f"coprod-kg{FORMATS[fmt][1]}", text))
        del text
    # The cached closure is already sorted N-Triples: reuse it rather than serialise again.
    written.append(write_atomic(out / "coprod-kg-inferred.nt", closure_path(project, loaded.fingerprint).read_bytes()))
    files = {path.name: path for path in written}
    void = void_description(loaded.vocabulary(), files, loaded.size())
    written.append(write_atomic(out / "void.ttl", serialise(void, "turtle")))
    return written


def build(project: Project, echo: Callable[[str], None] = print,
          progress: Callable | None = None, engine=None) -> tuple[int, BuildSummary]:
    """Run the whole job into ``build/``; return an exit code and what was done.

    ``engine`` (e.g. an ``engines.Endpoint``) answers the checks and questions instead of the
    embedded store.

    Stops with exit code 1 before writing anything when validation or an error-level check fails.
    Raises InputError for files that cannot be read.

    The whole graph stays on pyoxigraph: the files are parsed once into a store, the SPARQL
    shapes validate that store, the rule engine adds the closure to it in place, and the checks,
    questions and pictures read it. No rdflib copy of the data is made: the curation checks
    (unknown terms, quotes against their sources) read the triples as pyoxigraph parsed them,
    and rdflib holds only the ontology (for its JSON-LD context) and the few triples those checks
    look up; owlrl and pyshacl, which need the whole rdflib graph, run only behind
    COPROD_REASONER=owlrl and COPROD_VALIDATOR=pyshacl.

    Every check and question runs in the killable worker (``worker.call``, as ``query`` does):
    past its time limit it is stopped and its memory freed, and the build fails with exit code 3.
    The shapes' SPARQL runs in this process, as it does for ``validate``: those queries are the
    project's own shapes, each one pass over the store, not user queries.
    """
    from .cache import cached_closure, open_store, reason_loaded
    from .load import load_project
    from .engines import run_checks
    from .query import discover, refuse_unsafe_all
    from .tables import render
    from .validate import curation_checks, load_shapes, validate

    started = time.perf_counter()
    summary = BuildSummary()
    step = progress or (lambda *args, **kwargs: None)
    # Vet every question and check before anything runs, naming all that cannot run.
    refuse_unsafe_all(discover(project.queries_dir) + discover(project.checks_dir))
    step("loading and validating the data")
    loaded = load_project(project)
    unknown, quote_problems, notices = curation_checks(project, loaded)
    for problem in [*notices, *unknown, *quote_problems]:
        echo(str(problem))
    if unknown or quote_problems:
        echo(f"{len(unknown)} unknown term(s), {len(quote_problems)} quote or source problem(s); "
             "nothing written")
        return 1, summary
    report = validate(loaded, load_shapes(project.shapes_file), loaded.part(project.ontology_files))
    for problem in report.problems:
        echo(str(problem))
    if not report.conforms:
        echo(f"validation failed: {len(report.problems)} problem(s); nothing written")
        return 1, summary
    step("reasoning (the OWL RL closure)")
    # The closure is stored under the key of the bytes that were validated and reasoned, and
    # the build answers from that very closure: an edit made meanwhile is the next command's.
    # The rule engine adds it in place to the store the data was loaded into and validated on,
    # and the build answers from that store; owlrl (COPROD_REASONER=owlrl) works on rdflib.
    store = None
    closure_file = cached_closure(project, loaded.fingerprint)
    if closure_file is None:
        closure_file, closure = reason_loaded(project, loaded)
        if closure is not None:  # the store answers from here on
            store = closure.store
    if engine is not None:
        store = engine
    elif store is None:
        store = open_store(project, closure_file)
    summary.asserted = loaded.size()
    summary.inferred = len(store) - summary.asserted
    step("running the quality checks")
    summary.checks = run_checks(store, project.checks_dir)
    failed = [c for c in summary.checks if not c.passed and c.severity == "error"]
    for check in summary.checks:
        if not check.passed:
            echo(f"check {check.query.name} ({check.severity}): {len(check.result.rows)} row(s)")
            echo(render(check.result, "table"))
    if failed:
        echo(f"{len(failed)} check(s) failed; nothing written")
        return 1, summary
    summary.answers = answer_all(project, store, progress)
    summary.counts = count_instances(store)
    # Write the whole generation into a staging folder and swap it in at the end, so build/ is
    # always one whole build (and a killed build leaves the previous one as it was).
    out = staging_folder(project.build_dir)
    try:
        _write_outputs(project, loaded, store, summary, out, started, step)
        publish_folder(out, project.build_dir, keep=(project.cache_dir.name,))
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)
        raise
    summary.written = [project.build_dir / path.relative_to(out) for path in summary.written]
    return 0, summary


def _write_outputs(project: Project, loaded, store, summary: BuildSummary, out: Path,
                   started: float, step: Callable[..., None]) -> None:
    from .tables import render

    answers_dir = out / "answers"
    for answer in summary.answers:
        name = answer_name(answer)
        summary.written.append(write_atomic(answers_dir / f"{name}.csv", render(answer.result, "csv")))
        summary.written.append(write_atomic(answers_dir / f"{name}.json", render(answer.result, "json")))
    step("writing the report and the exports")
    from .viz import picture_data

    data = picture_data(store)  # for the report's summary and the pictures alike
    summary.written += write_report(out, summary.answers, summary.checks, data=data)
    summary.written += write_exports(project, loaded, out)
    step("drawing the pictures and the explorer")
    summary.written += draw(project, store, out, summary.answers, data)
    summary.seconds = time.perf_counter() - started
    stats = {"asserted triples": summary.asserted, "inferred triples": summary.inferred,
             **summary.counts, "questions answered": len(summary.answers),
             "checks passed": sum(c.passed for c in summary.checks),
             "files written": len(summary.written)}
    summary.written.append(write_atomic(out / "stats.json", json.dumps(stats, indent=2) + "\n"))


def draw(project: Project, store, out: Path, answers: list, data=None) -> list[Path]:
    """Draw the pictures, the network files and the explorer page."""
    from .viz import draw_all

    return draw_all(project, store, out, answers, data)
