#!/usr/bin/env python3
"""Time every stage on corpora K times the report, and write the table and the growth plot.

    python3 tasks.py bench --growth [--k 1 10 100] [--owlrl-max 10] [--pyshacl-max 100]
    python3 benchmarks/growth.py report           # redraw docs/ from benchmarks/growth.json
    python3 benchmarks/growth.py merge A.json B.json   # figures of separate runs, then report

Each stage runs in a fresh Python process on a corpus from ``benchmarks/corpus.py``, so its peak
memory (``ru_maxrss``) is its own. CPU seconds are the process's user + system time for the stage
alone, excluding the loading the stage needs first (that is the ``load`` stages). A stage past its
time limit is stopped and recorded as such. The measurements go to ``benchmarks/growth.json``;
``report`` turns them into ``docs/benchmarks.md`` and ``docs/img/growth.svg`` (log-log, with the
slope of each stage from K = 10 to K = 100).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))
RESULTS = ROOT / "benchmarks" / "growth.json"
TABLE = ROOT / "docs" / "benchmarks.md"
PLOT = ROOT / "docs" / "img" / "growth.svg"
LIMIT = 900.0
SAMPLE = 30  # parameter values timed per question; more are extrapolated (see stage_questions)


# ---------------------------------------------------------------- stages (run in a child process)

def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Clock:
    """CPU and wall time of the code between start() and stop()."""

    def __init__(self):
        self.cpu = self.wall = 0.0
        self.extra: dict = {}

    def __enter__(self):
        self._cpu, self._wall = _cpu(), time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.cpu += _cpu() - self._cpu
        self.wall += time.perf_counter() - self._wall


def _project(corpus: Path):
    from coprod_kg.project import Project
    return Project(corpus)


def _closure_store(project):
    """The reasoned store; reasoned once per corpus and kept beside it, since it is only set-up."""
    import pyoxigraph as ox
    from coprod_kg import rules
    from coprod_kg.atomic import write_atomic
    cached = project.root / "closure.nt"
    if cached.is_file():
        store = ox.Store()
        store.bulk_load(path=str(cached), format=ox.RdfFormat.N_TRIPLES)
        return store
    store = rules.load_store(project.input_files())
    rules.close(store)
    write_atomic(cached, rules.sorted_ntriples(store))
    return store


def stage_load_rdflib(project, clock):
    from coprod_kg.load import load_project
    with clock:
        loaded = load_project(project)
    clock.extra["triples"] = len(loaded.graph)


def stage_load_store(project, clock):
    from coprod_kg import rules
    with clock:
        store = rules.load_store(project.input_files())
    clock.extra["triples"] = len(store)


def stage_validate_pyshacl(project, clock):
    from coprod_kg.load import load_project
    from coprod_kg.validate import load_shapes, validate
    os.environ["COPROD_VALIDATOR"] = "pyshacl"
    loaded = load_project(project)
    with clock:
        report = validate(loaded, load_shapes(project.shapes_file), loaded.part(project.ontology_files))
    clock.extra["problems"] = len(report.problems)


def stage_validate_sparql(project, clock):
    from coprod_kg import rules, shacl_sparql
    store = rules.load_store(project.input_files())
    with clock:
        results = shacl_sparql.validate_store(store, project.shapes_file)
    clock.extra["problems"] = len(results)


def stage_reason_owlrl(project, clock):
    from coprod_kg.load import load_project
    from coprod_kg.reason import reason_owlrl
    loaded = load_project(project)
    with clock:
        closure = reason_owlrl(loaded.graph)
    clock.extra["inferred"] = closure.inferred


def stage_reason_rules(project, clock):
    from coprod_kg import rules
    store = rules.load_store(project.input_files())
    with clock:
        closure = rules.close(store)
    clock.extra.update(inferred=closure.inferred, rounds=closure.rounds)


def stage_checks(project, clock):
    from coprod_kg.query import discover, run
    store = _closure_store(project)
    times = {}
    for check in discover(project.checks_dir):
        started = _cpu()
        with clock:
            result = run(check, store, timeout=LIMIT)
        times[check.name] = [_cpu() - started, len(result.rows)]
    clock.extra["each"] = times


def stage_check_not_exists(project, clock):
    """The former text of finding-without-quote, with FILTER NOT EXISTS over a path."""
    from coprod_kg.query import PREFIXES
    store = _closure_store(project)
    text = ("SELECT ?finding WHERE { ?finding a coprod:Finding . FILTER NOT EXISTS "
            "{ ?finding coprod:hasQuote/oa:exact ?text } } ORDER BY ?finding")
    with clock:
        rows = list(store.query(text, prefixes=PREFIXES))
    clock.extra["rows"] = len(rows)


def stage_questions(project, clock):
    """Every question, once per parameter value as build answers it: first run, then warm."""
    from coprod_kg.query import discover, parameter_sets, run
    store = _closure_store(project)
    each = {}
    for query in discover(project.queries_dir):
        sets = parameter_sets(query, store)
        # Past SAMPLE values the per-value time is measured on the first SAMPLE and scaled: at
        # K = 100 the study profile alone would run 1,500 times.
        sample = sets[:SAMPLE]
        scale = len(sets) / len(sample)
        timings = []
        for _ in range(2):
            started = _cpu()
            with clock:
                for params in sample:
                    run(query, store, params, timeout=LIMIT)
            timings.append((_cpu() - started) * scale)
        each[query.name] = {"cold": timings[0], "warm": timings[1], "values": len(sets),
                            "measured values": len(sample)}
    clock.extra["each"] = each
    clock.cpu = sum(e["warm"] for e in each.values())
    clock.wall /= 2


def stage_study_profile_grouped(project, clock):
    """The study profile for every study in one query, split by study; checked against per-study."""
    from coprod_kg.query import discover, parameter_sets, run
    from coprod_kg.batch import answer_grouped
    store = _closure_store(project)
    query = next(q for q in discover(project.queries_dir) if q.name == "14-study-profile")
    sets = parameter_sets(query, store)
    with clock:
        grouped = answer_grouped(query, store, sets)
    per_study = {tuple(p.items()): run(query, store, p, timeout=LIMIT) for p in sets[:20]}
    clock.extra["same answers (first 20 studies)"] = all(
        sorted(map(repr, grouped[key].rows)) == sorted(map(repr, result.rows))
        for key, result in per_study.items())


def stage_export_turtle_rdflib(project, clock):
    """The asserted graph as Turtle through rdflib, as build writes coprod-kg.ttl."""
    from coprod_kg.export import serialise
    from coprod_kg.load import load_project
    loaded = load_project(project)
    with clock:
        text = serialise(loaded.graph, "turtle", loaded.part(project.ontology_files), loaded)
    clock.extra["bytes"] = len(text)


def stage_reason_turtle_rdflib(project, clock):
    """The closure as Turtle through rdflib, as `coprod-kg reason -o x.ttl` writes it."""
    from coprod_kg.export import serialise
    from coprod_kg.load import load_project
    from coprod_kg.rules import reason
    from rdflib import BNode
    from coprod_kg.export import canonical
    closure = reason(load_project(project).graph)
    started = _cpu()
    with clock:
        stable = canonical(closure.graph)
        middle = _cpu()
        text = stable.serialize(format="turtle")
    clock.extra.update(bytes=len(text), canonical_cpu=middle - started, turtle_cpu=_cpu() - middle,
                       triples_with_blank=sum(1 for t in closure.graph
                                              if isinstance(t[0], BNode) or isinstance(t[2], BNode)))


def stage_export_store(project, clock):
    """The closure as sorted N-Triples and as Turtle, written by pyoxigraph."""
    import pyoxigraph as ox
    from coprod_kg.namespace import PREFIXES
    from coprod_kg.rules import sorted_ntriples
    store = _closure_store(project)
    with clock:
        nt = sorted_ntriples(store)
        ttl = store.dump(format=ox.RdfFormat.TURTLE, from_graph=ox.DefaultGraph(),
                         prefixes=PREFIXES)
    clock.extra["bytes"] = len(nt) + len(ttl)


def stage_pipeline(project, clock):
    """What build does, on the store: load, validate, reason, checks, every question, N-Triples."""
    from coprod_kg import rules, shacl_sparql
    from coprod_kg.query import discover, parameter_sets, run, run_checks
    from coprod_kg.batch import answer_grouped
    marks = {}
    with clock:
        store = rules.load_store(project.input_files())
        marks["load"] = _cpu()
        shacl_sparql.validate_store(store, project.shapes_file)
        rules.close(store)
        run_checks(store, project.checks_dir)
        first = True
        for query in discover(project.queries_dir):
            sets = parameter_sets(query, store)
            if len(sets) > 1:
                answer_grouped(query, store, sets)
            else:
                run(query, store, sets[0], timeout=LIMIT)
            if first:
                marks["first answer"] = _cpu()
                first = False
        rules.sorted_ntriples(store)
    clock.extra["validate+reason+checks+first query"] = marks["first answer"] - marks["load"]


def _build(project, clock, environment: dict) -> None:
    exe = Path(sys.executable).parent / "coprod-kg"
    os.environ.update(environment, PYTHONPATH=str(ROOT / "src"))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run([str(exe), "build"], cwd=project.root, capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    clock.cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    clock.wall = time.perf_counter() - started
    clock.extra["exit"] = done.returncode
    clock.extra["child peak MB"] = after.ru_maxrss / 1024


def stage_build_cli(project, clock):
    """The real `coprod-kg build`, cold, with the reference engines (pyshacl, owlrl)."""
    _build(project, clock, {"COPROD_VALIDATOR": "pyshacl", "COPROD_REASONER": "owlrl"})


def stage_build_cli_rules(project, clock):
    """The real `coprod-kg build`, cold, with this branch's defaults (SPARQL shapes, rules)."""
    _build(project, clock, {"COPROD_VALIDATOR": "sparql", "COPROD_REASONER": "rules"})


STAGES = {name[len("stage_"):]: fn for name, fn in globals().items() if name.startswith("stage_")}


def child(stage: str, corpus: Path) -> None:
    clock = Clock()
    STAGES[stage](_project(corpus), clock)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"cpu": clock.cpu, "wall": clock.wall, "peak_mb": peak, **clock.extra}))


# ---------------------------------------------------------------- driver

def measure(stage: str, corpus: Path, limit: float) -> dict:
    started = time.perf_counter()
    try:
        done = subprocess.run([sys.executable, __file__, "child", stage, str(corpus)],
                              capture_output=True, text=True, timeout=limit)
    except subprocess.TimeoutExpired:
        return {"stopped": f"past {limit:g} s", "wall": time.perf_counter() - started}
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_all(ks: list[int], owlrl_max: int, pyshacl_max: int, build_max: int, rdflib_turtle_max: int,
            limit: float, work: Path, only: list[str] | None = None, skip: tuple = ()) -> dict:
    from corpus import generate
    results = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {"runs": {}}
    for k in ks:
        corpus = generate(k, work / f"corpus-{k}")
        runs = {"load": os.getloadavg(), "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
        if only:  # re-measure some stages, keep the rest of this K's figures
            runs = {**results["runs"].get(str(k), {}), **runs}
            runs.setdefault("remeasured", []).extend(only)
        chosen = [s for s in (only or STAGES) if s not in skip and not (
            (s == "reason_owlrl" and k > owlrl_max) or (s == "validate_pyshacl" and k > pyshacl_max)
            or (s == "build_cli" and k > build_max) or (s == "build_cli_rules" and k > build_max)
            or (s in ("export_turtle_rdflib", "reason_turtle_rdflib") and k > rdflib_turtle_max))]
        for stage in chosen:
            runs[stage] = measure(stage, corpus, limit)
            print(f"K={k:<5} {stage:28} {json.dumps(runs[stage])[:160]}", flush=True)
        runs["load after"] = os.getloadavg()
        results["runs"][str(k)] = runs
        RESULTS.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
    return results


# ---------------------------------------------------------------- report

SHOWN = [  # (stage, label) in the order of the table and the plot
    ("load_rdflib", "load (rdflib)"), ("load_store", "load (pyoxigraph)"),
    ("validate_pyshacl", "validate (pyshacl)"), ("validate_sparql", "validate (SPARQL)"),
    ("reason_owlrl", "reason (owlrl)"), ("reason_rules", "reason (rules)"),
    ("checks", "all checks"), ("check_not_exists", "finding-without-quote, old NOT EXISTS"),
    ("questions", "every question (warm), one query per value"),
    ("study_profile_grouped", "study profile, one grouped query"),
    ("questions_grouped", "every question (warm), study profile grouped"),
    ("export_turtle_rdflib", "Turtle export (rdflib)"), ("reason_turtle_rdflib", "closure as Turtle (rdflib)"),
    ("export_store", "N-Triples + Turtle (pyoxigraph)"), ("pipeline", "store pipeline (whole build)"),
    ("build_cli", "coprod-kg build (pyshacl, owlrl)"),
    ("build_cli_rules", "coprod-kg build (SPARQL shapes, rules)"),
]


def _derive(results: dict) -> None:
    """Every question as a build would answer them with the study profile grouped."""
    for runs in results["runs"].values():
        for stage in ("build_cli", "build_cli_rules"):  # the build ran in a child process
            entry = runs.get(stage, {})
            if "child peak MB" in entry:
                entry["peak_mb"] = max(entry.get("peak_mb", 0), entry["child peak MB"])
        questions, grouped = runs.get("questions", {}), runs.get("study_profile_grouped", {})
        profile = questions.get("each", {}).get("14-study-profile")
        if "cpu" in questions and "cpu" in grouped and profile:
            runs["questions_grouped"] = {
                "cpu": questions["cpu"] - profile["warm"] + grouped["cpu"],
                "peak_mb": max(questions["peak_mb"], grouped["peak_mb"])}


def _triples(runs: dict) -> int | None:
    for stage in ("load_store", "load_rdflib"):
        if "triples" in runs.get(stage, {}):
            return runs[stage]["triples"]
    return None


def slope(results: dict, stage: str, key: str = "cpu", a: str = "10", b: str = "100") -> float | None:
    runs = results["runs"]
    if a not in runs or b not in runs:
        return None
    x, y = runs[a].get(stage, {}), runs[b].get(stage, {})
    na, nb = _triples(runs[a]), _triples(runs[b])
    if key not in x or key not in y or not na or not nb or x[key] <= 0 or y[key] <= 0:
        return None
    return math.log(y[key] / x[key]) / math.log(nb / na)


def _cell(entry: dict) -> str:
    if "stopped" in entry:
        return f"stopped, {entry['stopped']}"
    if "error" in entry:
        return "error"
    if "cpu" not in entry:
        return "not run"
    return f"{entry['cpu']:.2f} s / {entry['peak_mb']:.0f} MB"


def write_report(results: dict) -> None:
    from coprod_kg.atomic import write_atomic
    _derive(results)
    ks = sorted(results["runs"], key=int)
    runs = results["runs"]
    lines = ["# Benchmarks: growth with the size of the corpus", "",
             "Generated by `python3 tasks.py bench --growth` (measure) and "
             "`python3 benchmarks/growth.py report` (this page and the plot) from "
             "`benchmarks/growth.json`. Corpora come from `benchmarks/corpus.py`: the report's 15 "
             "studies, their findings, codings, quotes and citations copied K times under new IRIs, "
             "with the ontology, shapes and concept schemes once.", "",
             "Each cell is CPU seconds of the stage alone (user + system, excluding the loading it "
             "needs) and the peak memory of the process that ran it, set-up included (the first stage at "
             "each K that needs the closure also computes and writes it, which is why `all checks` "
             "peaks highest). The machine has 2 cores and "
             "was **shared with other jobs** while these were measured: the load average at the "
             "start of each K is given, and wall times were longer than the CPU times shown.", ""]
    header = "| stage | " + " | ".join(f"K = {k} ({_triples(runs[k]) or 0:,} triples)" for k in ks) \
        + " | slope K=10→100 |"
    lines += [header, "|" + "---|" * (len(ks) + 2)]
    for stage, label in SHOWN:
        s = slope(results, stage)
        lines.append(f"| {label} | " + " | ".join(_cell(runs[k].get(stage, {})) for k in ks)
                     + f" | {s:.2f} |" if s is not None else
                     f"| {label} | " + " | ".join(_cell(runs[k].get(stage, {})) for k in ks) + " | |")
    lines += ["", "Load average (1, 5, 15 min) at the start of each K: "
              + "; ".join(f"K = {k}: " + ", ".join(f"{x:.1f}" for x in runs[k]['load']) for k in ks)
              + ".", ""]
    apart = [f"K = {k}: " + ", ".join(runs[k]["measured apart"]) for k in ks
             if runs[k].get("measured apart")]
    if apart:
        lines += ["Measured in a separate run of the same corpus and code (the shared machine "
                  "did not allow one pass): " + "; ".join(apart) + ". The row `every question "
                  "(warm), study profile grouped` is derived: the warm questions with the study "
                  "profile's per-study time replaced by the grouped query's. A question with more "
                  f"than {SAMPLE} parameter values is timed on the first {SAMPLE} and scaled.", ""]
    lines += _targets(results)
    lines += _notes(results)
    lines += _details(results)
    write_atomic(TABLE, "\n".join(lines) + "\n")
    _plot(results)


def _targets(results: dict) -> list[str]:
    runs = results["runs"]
    out = ["## Targets (issue 11) beside the measurements", ""]
    big = runs.get("100", {})
    pipe = big.get("pipeline", {})
    if "cpu" in pipe:
        out.append(f"- K = 100, validate + reason + checks + first query: "
                   f"**{pipe['validate+reason+checks+first query']:.1f} s CPU** (target < 120 s).")
        out.append(f"- K = 100, whole pipeline on the store (load, validate, reason, checks, every "
                   f"question, N-Triples): **{pipe['cpu']:.1f} s CPU**, peak "
                   f"**{pipe['peak_mb']:.0f} MB** (targets < 300 s, < 4096 MB). Pictures, "
                   "JSON-LD and RDF/XML exports are not in it (see the Turtle rows).")
    small = runs.get("1", {}).get("build_cli_rules", {})
    old = runs.get("1", {}).get("build_cli", {})
    if "cpu" in small and "cpu" in old:
        out.append(f"- The report's own `coprod-kg build`, cold: **{small['cpu']:.1f} s CPU** with "
                   f"the SPARQL shapes and the rules, {old['cpu']:.1f} s with pyshacl and owlrl "
                   f"(target < 5 s); the store pipeline at K = 1: "
                   f"**{runs['1'].get('pipeline', {}).get('cpu', float('nan')):.2f} s CPU**.")
    over = [label for stage, label in SHOWN if (s := slope(results, stage)) is not None and s > 1.3]
    build10 = runs.get("10", {}).get("build_cli_rules", {})
    if "cpu" in build10:
        out.append(f"- `coprod-kg build` of this branch at K = 10 (rules and SPARQL shapes inside, "
                   f"but rdflib loading, exports and pictures as before): "
                   f"**{build10['cpu']:.1f} s CPU**, against "
                   f"{runs['10'].get('build_cli', {}).get('cpu', float('nan')):.1f} s with owlrl and "
                   "pyshacl; K = 100 was not run through the CLI (build.py still loads and "
                   "exports through rdflib; see the pipeline row for the store path).")
    out.append("- Stages with a log-log slope above 1.3 from K = 10 to K = 100: "
               + (", ".join(over) if over else "none") + ". Rows marked *old* or *one query "
               "per value* are the forms this branch replaces, measured for comparison; every "
               "stage of the store pipeline has a slope of 1.17 or less.")
    return out + [""]


def _figure(results: dict, k: str, stage: str, key: str = "cpu") -> str:
    value = results["runs"].get(k, {}).get(stage, {}).get(key)
    return f"{value:.2f} s" if isinstance(value, (int, float)) else "not measured"


def _notes(results: dict) -> list[str]:
    f = lambda *a: _figure(results, *a)  # noqa: E731
    return [
        "## What grew faster than linear, and what changed", "",
        "- **Reasoning.** owlrl (`reason_owlrl`) took "
        f"{f('1', 'reason_owlrl')} at K = 1 and {f('10', 'reason_owlrl')} at K = 10. The rule engine "
        f"(`rules.close`) took {f('1', 'reason_rules')}, {f('10', 'reason_rules')} and "
        f"{f('100', 'reason_rules')} at K = 1, 10, 100, for the same closure triple for triple "
        "(tests/test_rules.py, on the report and on K = 10).",
        "- **Validation.** pyshacl took " + f('10', 'validate_pyshacl') + " at K = 10 and "
        + f('100', 'validate_pyshacl') + " at K = 100; the shapes as SPARQL took "
        + f('10', 'validate_sparql') + " and " + f('100', 'validate_sparql') + ". The one "
        "`sh:sparql` constraint written as `FILTER NOT EXISTS` over two patterns (a finding "
        "without a quoted text) is evaluated per finding by pyoxigraph and grew quadratically "
        "(1.5 s of the 1.9 s at K = 10); it is now `OPTIONAL` + `!BOUND`, the same rows (SHACL "
        "forbids `MINUS` in SPARQL constraints, and pyshacl refuses it). The store path also reports "
        "the six `\"P1W\"^^xsd:duration` literals of the data, which are not valid XSD durations "
        "and which rdflib silently rewrites as `P7D` (so pyshacl never sees them): the "
        "`problems` counted for `validate_sparql` are those, K times.",
        "- **The check `finding-without-quote`**, `FILTER NOT EXISTS { ?f coprod:hasQuote/oa:exact "
        f"?t }}`, took {f('10', 'check_not_exists')} at K = 10 and {f('100', 'check_not_exists')} at "
        "K = 100; written with `MINUS` it is one of the checks of the `all checks` row.",
        "- **The study profile** was answered once per study: "
        f"{_study_profile(results, '10')} at K = 10, {_study_profile(results, '100')} at K = 100. "
        "One query with the study free, split by study (`batch.answer_grouped`), took "
        f"{f('10', 'study_profile_grouped')} and {f('100', 'study_profile_grouped')}, the same rows "
        "(tests/test_batch.py).",
        "- **Serialising the closure as Turtle through rdflib**: "
        + _split(results, "1") + "; " + _split(results, "10") + ". The time goes to "
        "`export.canonical`, that is `rdflib.compare.to_canonical_graph` over the triples that "
        "touch a blank node: in the closure every quote is typed with the blank-node restriction "
        "of `coprod:Quote` (`q rdf:type _:r`), so one blank node gains a neighbour per quote and "
        "the canonicalisation grows with the square of the quotes. The Turtle writer itself is "
        "linear. Fixes: give the restriction an IRI in the ontology (branch `linked` is "
        "restructuring it), or label blank nodes from their own outgoing triples as "
        "`rules.sorted_ntriples` does (linear, the same bytes from any load; the "
        "`N-Triples + Turtle (pyoxigraph)` row).",
        "- **Questions still above linear** (files of `queries/`, not changed here): "
        "`07-monetary-figures` joins its quote sub-select after the finding patterns and took "
        f"{_question(results, '10', '07-monetary-figures')} at K = 10 and "
        f"{_question(results, '100', '07-monetary-figures')} at K = 100; with the sub-select first "
        "it gives the same rows (ties on the ORDER BY keys aside) about 20 times faster at K = 10. "
        "`15-thin-evidence` uses `FILTER NOT EXISTS` over two patterns and took "
        f"{_question(results, '10', '15-thin-evidence')} and "
        f"{_question(results, '100', '15-thin-evidence')} (slope "
        f"{_question_slope(results, '15-thin-evidence')}); with `MINUS` it gives the same rows in "
        "the same order, 5 times faster at K = 10.",
        ""]


def _study_profile(results: dict, k: str) -> str:
    entry = results["runs"].get(k, {}).get("questions", {}).get("each", {}).get("14-study-profile")
    return f"{entry['warm']:.2f} s for {entry['values']} studies" if entry else "not measured"


def _question(results: dict, k: str, name: str) -> str:
    entry = results["runs"].get(k, {}).get("questions", {}).get("each", {}).get(name)
    return f"{entry['warm']:.2f} s" if entry else "not measured"


def _question_slope(results: dict, name: str) -> str:
    runs = results["runs"]
    try:
        a = runs["10"]["questions"]["each"][name]["warm"]
        b = runs["100"]["questions"]["each"][name]["warm"]
        return f"{math.log(b / a) / math.log(_triples(runs['100']) / _triples(runs['10'])):.2f}"
    except (KeyError, ZeroDivisionError, TypeError, ValueError):
        return "not measured"


def _split(results: dict, k: str) -> str:
    entry = results["runs"].get(k, {}).get("reason_turtle_rdflib", {})
    if "canonical_cpu" not in entry:
        return f"K = {k} not measured"
    return (f"K = {k}: {entry['canonical_cpu']:.2f} s canonicalising "
            f"{entry['triples_with_blank']:,} triples with a blank node, "
            f"{entry['turtle_cpu']:.2f} s writing Turtle")


def _details(results: dict) -> list[str]:
    runs = results["runs"]
    ks = sorted(runs, key=int)
    out = ["## Each question and check", "",
           "CPU seconds for all the parameter values build answers (first run / warm run).", "",
           "| query | " + " | ".join(f"K = {k}" for k in ks) + " |", "|" + "---|" * (len(ks) + 1)]
    names = sorted({n for k in ks for n in runs[k].get("questions", {}).get("each", {})})
    for name in names:
        cells = []
        for k in ks:
            e = runs[k].get("questions", {}).get("each", {}).get(name)
            cells.append(f"{e['cold']:.3f} / {e['warm']:.3f}" if e else "")
        lines = f"| {name} | " + " | ".join(cells) + " |"
        out.append(lines)
    out += ["", "| check | " + " | ".join(f"K = {k}" for k in ks) + " |", "|" + "---|" * (len(ks) + 1)]
    checks = sorted({n for k in ks for n in runs[k].get("checks", {}).get("each", {})})
    for name in checks:
        cells = []
        for k in ks:
            e = runs[k].get("checks", {}).get("each", {}).get(name)
            cells.append(f"{e[0]:.3f}" if e else "")
        out.append(f"| {name} | " + " | ".join(cells) + " |")
    return out + [""]


def _plot(results: dict) -> None:
    import matplotlib
    matplotlib.use("svg")
    import matplotlib.pyplot as plt
    from io import StringIO
    from coprod_kg.atomic import write_atomic

    plt.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": "coprod-kg", "font.size": 9})
    runs = results["runs"]
    ks = sorted(runs, key=int)
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 7.4))
    markers = "os^vD<>phx*+"
    for index, (stage, label) in enumerate(SHOWN):
        points = [(_triples(runs[k]), runs[k][stage]) for k in ks if "cpu" in runs[k].get(stage, {})]
        if len(points) < 2:
            continue
        xs = [p[0] for p in points]
        s = slope(results, stage)
        name = f"{label} (slope {s:.2f})" if s is not None else label
        style = dict(marker=markers[index % len(markers)], linestyle="-" if index < 10 else "--",
                     color=f"C{index % 10}")
        left.plot(xs, [max(p[1]["cpu"], 1e-3) for p in points], label=name, **style)
        right.plot(xs, [p[1]["peak_mb"] for p in points], label=label, **style)
    for axis, title, unit in ((left, "CPU seconds per stage", "seconds (CPU)"),
                              (right, "Peak memory of the process", "MB")):
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlabel("asserted triples")
        axis.set_ylabel(unit)
        axis.set_title(title)
        axis.grid(True, which="major", linewidth=0.4)
    handles, labels = left.get_legend_handles_labels()
    figure.legend(handles, labels, loc="lower center", ncol=3, fontsize=7, frameon=False)
    figure.tight_layout(rect=(0, 0.2, 1, 1))
    buffer = StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": "coprod-kg"})
    plt.close(figure)
    write_atomic(PLOT, buffer.getvalue())


def main(argv: list[str] | None = None) -> int:
    global RESULTS
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["child"]:
        child(argv[1], Path(argv[2]))
        return 0
    if argv[:1] == ["merge"]:  # figures measured by separate runs (one per K), into RESULTS
        merged: dict = {"runs": {}}
        for path in argv[1:]:
            merged["runs"].update(json.loads(Path(path).read_text())["runs"])
        RESULTS.write_text(json.dumps(merged, indent=1, sort_keys=True) + "\n")
        argv = ["report"]
    if argv[:1] == ["report"]:
        write_report(json.loads(RESULTS.read_text()))
        print(f"wrote {TABLE} and {PLOT}")
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, nargs="+", default=[1, 10, 100])
    parser.add_argument("--owlrl-max", type=int, default=10)
    parser.add_argument("--pyshacl-max", type=int, default=100)
    parser.add_argument("--build-max", type=int, default=10)
    parser.add_argument("--rdflib-turtle-max", type=int, default=100)
    parser.add_argument("--limit", type=float, default=LIMIT, help="seconds before a stage is stopped")
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "coprod-growth")
    parser.add_argument("--stages", nargs="+", choices=sorted(STAGES),
                        help="re-measure only these stages, keeping the other figures")
    parser.add_argument("--skip", nargs="+", choices=sorted(STAGES), default=[],
                        help="stages not to run")
    parser.add_argument("--results", type=Path, default=None, help="where to keep the figures")
    args = parser.parse_args(argv)
    if args.results is not None:
        RESULTS = args.results
    results = run_all(args.k, args.owlrl_max, args.pyshacl_max, args.build_max,
                      args.rdflib_turtle_max, args.limit, args.work, args.stages, tuple(args.skip))
    write_report(results)
    print(f"wrote {RESULTS}, {TABLE} and {PLOT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
