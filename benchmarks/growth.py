#!/usr/bin/env python3
"""Time every stage on corpora K times the report, and write the table and the growth plot.

    python3 tasks.py bench --growth [--k 1 10 100]        # every stage at each K
    python3 benchmarks/growth.py run --stage build_cli_rules --k 100   # one stage, merged in
    python3 benchmarks/growth.py run --stage publish_endpoint endpoint_questions --k 1000
    python3 benchmarks/growth.py run --stage endpoint_questions --k 1000  # re-time the questions
    python3 benchmarks/growth.py report                   # redraw docs/ from benchmarks/growth.json
    python3 benchmarks/growth.py merge A.json B.json      # figures of runs made with --results

Corpora come from ``benchmarks/corpus.py`` and are kept under ``--work`` (default
``../bench-data`` beside the checkout, or ``$COPROD_BENCH_DATA``), generated again only when
corpus.py, the data or the ontology change; their ``queries/`` is refreshed from this checkout on
every run, so new question files are timed without generating or reasoning again.

Most stages run in a fresh Python process (``child``), so that their peak memory (``ru_maxrss``) is
their own. CPU seconds are the process's user + system time for the stage alone, excluding the
loading the stage needs first (that is the ``load`` stages). The stages with a server run from the
driver: ``publish_endpoint`` starts the Oxigraph server on a fresh database WORK/oxigraph-K, runs
``coprod-kg publish --endpoint`` into it and keeps the database; ``endpoint_questions`` starts the
server on that database and asks every question with its first parameter value, through
``coprod-kg query --endpoint`` and as one HTTP request, counting the server's CPU;
``serve_load`` starts ``coprod-kg serve`` and sends a mix of requests from 8 concurrent clients;
``warm_query`` calls ``benchmarks/warm_query.py`` if it is there. A stage past its time limit is
killed with its whole process group and recorded as stopped at the limit. Each stage is merged
into ``benchmarks/growth.json`` as soon as it is measured, with the load average at its start;
``report`` turns the figures into ``docs/benchmarks.md`` and ``docs/img/growth.svg`` (log-log,
with the slope of each stage from K = 10 to K = 100 and from K = 100 to K = 1000).
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
# Corpora and the Oxigraph server's databases are kept here, outside every checkout, so that a
# stage can be measured again without generating, reasoning or loading again.
WORK = Path(os.environ.get("COPROD_BENCH_DATA", ROOT.parent / "bench-data"))
SAMPLE = 30  # parameter values timed per question; more are extrapolated (see stage_questions)


# ---------------------------------------------------------------- stages (run in a child process)

def _cpu() -> float:
    """CPU seconds of this process and of the children it has waited for: every query runs in a
    forked child (coprod_kg.worker), which the caller reaps."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


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


QUESTION_STAGE_LIMIT = 120.0  # seconds for one question's sample of values on the embedded store


def stage_questions(project, clock):
    """Every question, once per parameter value as build answers it: first run, then warm. A
    question whose first run passes QUESTION_STAGE_LIMIT is recorded as stopped, and the others
    are still measured."""
    from coprod_kg.query import QueryLimitError, discover, parameter_sets, run
    store = _closure_store(project)
    each = {}
    for query in discover(project.queries_dir):
        sets = parameter_sets(query, store)
        # Past SAMPLE values the per-value time is measured on the first SAMPLE and scaled: at
        # K = 100 the study profile alone would run 1,500 times.
        sample = sets[:SAMPLE]
        scale = len(sets) / len(sample)
        timings = []
        try:
            for _ in range(2):
                started, wall = _cpu(), time.perf_counter()
                with clock:
                    for params in sample:
                        left = QUESTION_STAGE_LIMIT - (time.perf_counter() - wall)
                        run(query, store, params, timeout=max(left, 1.0))
                timings.append((_cpu() - started) * scale)
        except QueryLimitError:
            each[query.name] = {"stopped": f"past {QUESTION_STAGE_LIMIT:g} s", "values": len(sets)}
            continue
        each[query.name] = {"cold": timings[0], "warm": timings[1], "values": len(sets),
                            "measured values": len(sample)}
    clock.extra["each"] = each
    clock.extra["questions stopped"] = sorted(n for n, e in each.items() if "stopped" in e)
    clock.cpu = sum(e["warm"] for e in each.values() if "warm" in e)
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


def _build(project, clock, environment: dict, stage: str) -> None:
    """`coprod-kg build` in the corpus, its output in STAGE.log there (the driver reports the
    last line if the build is stopped at the limit). Each query may take up to LIMIT seconds
    (--max-seconds), not the CLI's 30 s, so a loaded machine does not fail the build."""
    import shutil
    exe = Path(sys.executable).parent / "coprod-kg"
    os.environ.update(environment, PYTHONPATH=str(ROOT / "src"))
    for folder in (project.build_dir, project.cache_dir):  # cold: no cache from an earlier run
        shutil.rmtree(folder, ignore_errors=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    with open(project.root / f"{stage}.log", "w") as log:
        done = subprocess.run([str(exe), "--max-seconds", f"{LIMIT:g}", "build"],
                              cwd=project.root, stdout=log,
                              stderr=subprocess.STDOUT, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    clock.cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    clock.wall = time.perf_counter() - started
    clock.extra["exit"] = done.returncode
    clock.extra["child peak MB"] = after.ru_maxrss / 1024


def stage_build_cli(project, clock):
    """The real `coprod-kg build`, cold, with the reference engines (pyshacl, owlrl)."""
    _build(project, clock, {"COPROD_VALIDATOR": "pyshacl", "COPROD_REASONER": "owlrl"}, "build_cli")


def stage_build_cli_rules(project, clock):
    """The real `coprod-kg build`, cold, with the default engines (SPARQL shapes, rules)."""
    _build(project, clock, {"COPROD_VALIDATOR": "sparql", "COPROD_REASONER": "rules"},
           "build_cli_rules")


STAGES = {name[len("stage_"):]: fn for name, fn in globals().items() if name.startswith("stage_")}


def child(stage: str, corpus: Path) -> None:
    from coprod_kg.query import set_limits
    # One query may take longer than the CLI's 30 s on a shared machine; the stage's own limit
    # (the driver kills the process group) stops a runaway.
    set_limits(timeout=LIMIT)
    clock = Clock()
    STAGES[stage](_project(corpus), clock)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"cpu": clock.cpu, "wall": clock.wall, "peak_mb": peak,
                      "cpu counts": "the process and its query workers", **clock.extra}))


# ---------------------------------------------------------------- driver

def _own_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / TICK


def run_measured(command: list[str], limit: float, cwd: Path | None = None,
                 env: dict | None = None, marks: list | None = None) -> dict:
    """Run a command in its own process group; its CPU seconds (its own and its children's),
    peak memory, wall seconds, exit code and output. Past ``limit`` seconds the whole group is
    killed and the entry says it was stopped at the limit. With ``marks`` (a list), each line
    the command prints is appended with the command's own CPU seconds and the wall seconds at
    the moment it was seen (to within 0.05 s), so phases of one command can be told apart."""
    import signal
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=err,
                                   start_new_session=True)
        seen = 0
        while True:
            if marks is not None:
                cpu_now = _own_cpu(process.pid)
                with open(out.fileno(), "rb", closefd=False) as reader:
                    reader.seek(seen)
                    fresh = reader.read()
                whole = fresh[:fresh.rfind(b"\n") + 1]
                seen += len(whole)
                for line in whole.decode("utf-8", "replace").splitlines():
                    marks.append({"line": line, "cpu": cpu_now,
                                  "wall": time.perf_counter() - started})
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - started > limit:
                spent = server_cpu(process.pid)  # every process of its session, still running
                os.killpg(process.pid, signal.SIGKILL)
                pid, status, usage = os.wait4(process.pid, 0)
                process.returncode = -signal.SIGKILL
                return {"stopped": f"at the limit of {limit:g} s",
                        "wall": time.perf_counter() - started, "cpu at stop": spent}
            time.sleep(0.05)
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return {"cpu": usage.ru_utime + usage.ru_stime, "peak_mb": usage.ru_maxrss / 1024,
                "wall": time.perf_counter() - started, "exit": process.returncode,
                "stdout": out.read().decode("utf-8", "replace"),
                "stderr": err.read().decode("utf-8", "replace")}


def measure(stage: str, corpus: Path, limit: float) -> dict:
    """One stage in a fresh process (see child); stopped, with its process group, past limit."""
    done = run_measured([sys.executable, __file__, "child", stage, str(corpus)], limit)
    log = corpus / f"{stage}.log"
    if "stopped" in done:
        if log.is_file() and log.read_text(errors="replace").strip():
            done["last output"] = log.read_text(errors="replace").strip().splitlines()[-1][:300]
        return done
    if done["exit"] != 0:
        lines = done["stderr"].strip().splitlines()
        return {"error": lines[-1] if lines else "failed"}
    return json.loads(done["stdout"].strip().splitlines()[-1])


# ---------------------------------------------------------------- stages with a server (run by the driver)

TICK = os.sysconf("SC_CLK_TCK")
QUESTION_TARGET = 10.0  # seconds: every question on the Oxigraph server at K = 1000 (issue 11)


def _session(leader: int) -> list[int]:
    """The processes of the session a server we started leads (itself and its workers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[3]) == leader:  # field 6 of stat, the session id
                found.append(int(entry.name))
    return found


def server_cpu(leader: int) -> float:
    """CPU seconds used so far by every process of the server's session."""
    total = 0.0
    for pid in _session(leader):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])) / TICK
    return total


def server_peak_mb(leader: int) -> float:
    """The sum of the peak resident memory (VmHWM) of the server's processes."""
    total = 0
    for pid in _session(leader):
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


class Server:
    """A server we start in its own session on a free loopback port, and stop by its PID."""

    def __init__(self, command: list[str], probe: str, log: Path, within: float = 1800,
                 cwd: Path | None = None):
        import socket
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        command = [part.replace("{port}", str(self.port)) for part in command]
        started = time.perf_counter()
        with open(log, "wb") as out:
            self.process = subprocess.Popen(command, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        self._wait(self.base + probe, within)
        self.startup_wall = time.perf_counter() - started

    def _wait(self, url: str, within: float) -> None:
        import httpx
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}: "
                                   + self.log.read_text(errors="replace")[-500:])
            try:
                if httpx.get(url, timeout=5).status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{url}: no answer within {within:g} s")

    def cpu(self) -> float:
        return server_cpu(self.process.pid)

    def peak_mb(self) -> float:
        return server_peak_mb(self.process.pid)

    def stop(self) -> None:
        import signal
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(20)


def _oxigraph(db: Path, timeout_s: float | None = None) -> Server:
    binary = Path(sys.executable).with_name("oxigraph")
    command = [str(binary), "serve", "--location", str(db), "--bind", "127.0.0.1:{port}"]
    if timeout_s:
        command += ["--timeout-s", str(int(math.ceil(timeout_s)))]
    return Server(command, "/query?query=ASK%7B%7D", db.parent / f"{db.name}.log")


def _count(endpoint_url: str, graph: str) -> int:
    from coprod_kg.engines import Endpoint
    rows = list(Endpoint(endpoint_url, graph=None, timeout=600).query(
        f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"))
    return int(rows[0]["n"].value)


def _du_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20


# Oxigraph's bulk loader: with a transaction per batch, K = 1000 had sent about two thirds of the
# asserted graph (1.0 of 1.5 GB) after 20 minutes on the shared machine, the server mostly
# compacting its database, and was stopped.
PUBLISH_OPTIONS = ["--no-transaction"]


def driver_publish_endpoint(k: int, corpus: Path, work: Path, limit: float) -> dict:
    """`coprod-kg publish` of both graphs into a fresh Oxigraph server, whose database is kept
    (WORK/oxigraph-K) for `endpoint_questions`. CPU and peak memory of publish (its own
    process: loading, reasoning and sending) and of the server (receiving and indexing). Cold at
    every K: the corpus's cache goes first, or a closure an earlier stage left there would be
    sent without reasoning (as at K <= 100, where the build had run before)."""
    import shutil
    from coprod_kg.engines import ASSERTED_GRAPH, INFERRED_GRAPH
    db = work / f"oxigraph-{k}"
    shutil.rmtree(db, ignore_errors=True)
    shutil.rmtree(_project(corpus).cache_dir, ignore_errors=True)
    server = _oxigraph(db)
    try:
        before = server.cpu()
        exe = Path(sys.executable).with_name("coprod-kg")
        marks: list = []
        done = run_measured([str(exe), "publish", "--endpoint", f"{server.base}/store",
                             *PUBLISH_OPTIONS], limit,
                            cwd=corpus, marks=marks, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        entry = {key: value for key, value in done.items() if key not in ("stdout", "stderr")}
        entry["phases"] = marks
        reasoned = [m for m in marks if m["line"].startswith("reasoned")]
        if reasoned and marks[0] is not reasoned[0]:  # after the asserted graph was sent
            entry["reason cpu"] = reasoned[0]["cpu"] - marks[0]["cpu"]
        entry["output"] = done.get("stdout", "").strip().splitlines()
        if done.get("exit"):
            entry["error"] = (done["stderr"].strip().splitlines() or ["failed"])[-1]
        entry["server cpu"] = server.cpu() - before
        entry["server peak MB"] = server.peak_mb()
        query_url = f"{server.base}/query"
        entry["asserted triples"] = _count(query_url, ASSERTED_GRAPH)
        entry["inferred triples"] = _count(query_url, INFERRED_GRAPH)
    finally:
        server.stop()
    entry["database MB"] = _du_mb(db)
    entry["database"] = str(db)
    return entry


def _first_parameters(query, endpoint) -> dict:
    from coprod_kg.query import parameter_sets
    return parameter_sets(query, endpoint)[0] if query.params else {}


def driver_endpoint_questions(k: int, corpus: Path, work: Path, limit: float) -> dict:
    """Every question of the corpus's queries/ (refreshed from this checkout) on the Oxigraph
    server holding the published graphs, with its first parameter value: `coprod-kg query
    --endpoint` (wall time of the whole command, its CPU) and the HTTP request alone (wall time,
    and the server's CPU for it). Each is stopped at QUESTION_LIMIT seconds."""
    import pyoxigraph as ox
    from coprod_kg.engines import Endpoint
    from coprod_kg.query import PREFIXES, bind_in_subselects, bind_params, discover
    db = work / f"oxigraph-{k}"
    if not (db / "CURRENT").is_file():
        return {"error": f"no Oxigraph database at {db}: run the stage publish_endpoint first"}
    each: dict = {}
    server = _oxigraph(db, timeout_s=QUESTION_LIMIT)
    try:
        url = f"{server.base}/query"
        endpoint = Endpoint(url, timeout=QUESTION_LIMIT + 5)
        exe = Path(sys.executable).with_name("coprod-kg")
        for query in discover(corpus / "queries"):
            entry: dict = {}
            try:
                params = _first_parameters(query, endpoint)
            except Exception as error:  # recorded, never fatal to the other questions
                each[query.name] = {"error": f"choosing a parameter value: {error}"}
                continue
            entry["params"] = params
            substitutions = {ox.Variable(n): t
                             for n, t in bind_params(query, endpoint, params).items()}
            before, started = server.cpu(), time.perf_counter()
            try:  # the HTTP request alone, as engines.run sends it
                answer = endpoint.query(bind_in_subselects(query.text, substitutions),
                                        prefixes=PREFIXES, substitutions=substitutions)
                if isinstance(answer, ox.QuerySolutions):
                    answer = list(answer)
                entry["http"] = {"wall": time.perf_counter() - started}
            except Exception as error:  # a timeout or a refusal, recorded
                entry["http"] = {"wall": time.perf_counter() - started,
                                 "error": " ".join(str(error).split())[:300]}
            entry["http"]["server cpu"] = server.cpu() - before
            if "error" in entry["http"]:  # the command would only wait as long again
                entry["cli"] = {"not run": "the HTTP request alone did not answer"}
            else:
                command = [str(exe), "query", query.name, "--endpoint", url, "--format", "csv",
                           "--timeout", f"{QUESTION_LIMIT:g}"]
                for name, value in params.items():
                    command += ["--param", f"{name}={value}"]
                cli = run_measured(command, QUESTION_LIMIT + 60, cwd=corpus)
                if "stopped" in cli:
                    entry["cli"] = {"stopped": cli["stopped"], "wall": cli["wall"]}
                else:
                    entry["cli"] = {"wall": cli["wall"], "cpu": cli["cpu"], "exit": cli["exit"]}
                    if cli["exit"]:
                        entry["cli"]["error"] = (cli["stderr"].strip().splitlines()
                                                 or ["failed"])[-1][:300]
                    else:
                        entry["rows"] = max(0, len(cli["stdout"].strip().splitlines()) - 1)
            wall = entry["http"]["wall"]
            entry["within target"] = "error" not in entry["http"] and wall < QUESTION_TARGET
            each[query.name] = entry
            print(f"    {query.name:32} http {wall:7.2f} s  cli {entry['cli'].get('wall', 0):7.2f} s"
                  f"  {'ok' if entry['within target'] else 'OVER ' + str(QUESTION_TARGET) + ' s'}",
                  flush=True)
        entry_peak = server.peak_mb()
    finally:
        server.stop()
    over = sorted(name for name, e in each.items() if not e.get("within target"))
    walls = [e["http"]["wall"] for e in each.values() if "http" in e]
    return {"each": each, "over target": over, "questions": len(each),
            "slowest http wall": max(walls) if walls else None, "server peak MB": entry_peak,
            "cpu": sum(e["http"]["server cpu"] for e in each.values() if "http" in e),
            "peak_mb": entry_peak, "queries at": _commit()}


def _commit() -> str:
    """The commit this checkout is at (with "+" if its queries/ differ from it), for the record of
    which questions were timed; "unknown" outside git."""
    def git(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
    try:
        head = git("rev-parse", "--short", "HEAD")
        changed = git("status", "--porcelain", "--", "queries")
    except OSError:
        return "unknown"
    if head.returncode:
        return "unknown"
    return head.stdout.strip() + ("+" if changed.stdout.strip() else "")


def _queries_named(entry: dict) -> str:
    if "queries at" in entry:
        return f"commit {entry['queries at']}"
    return "queries/"


QUESTION_LIMIT = 30.0  # seconds before a question on the server is stopped (the target is 10)


def _serve_requests(corpus: Path, endpoint) -> list[tuple[str, str, dict]]:
    """The mix of requests: a question URL (its first page, since its whole answer grows with K
    and passes the row cap from K = 100), an IRI page, a SPARQL ASK and a SPARQL SELECT."""
    from coprod_kg.query import discover
    queries = {q.name: q for q in discover(corpus / "queries")}
    question = queries.get("06-principle-outcome-paths") or next(iter(queries.values()))
    params = _first_parameters(question, endpoint)
    slug = question.name.split("-", 1)[1]
    studies = list(endpoint.query("SELECT ?s WHERE { ?s a <https://w3id.org/coprod-kg/ontology#ReviewedStudy> }"
                                  " ORDER BY ?s LIMIT 1"))
    study = studies[0]["s"].value.replace("https://w3id.org/coprod-kg", "")
    select = ("SELECT ?finding ?label WHERE { ?finding a <https://w3id.org/coprod-kg/ontology#Finding> ; "
              "<http://www.w3.org/2000/01/rdf-schema#label> ?label } LIMIT 50")
    ask = "ASK { ?s a <https://w3id.org/coprod-kg/ontology#ReviewedStudy> }"
    return [("question", f"/questions/{slug}", {**params, "page": "1", "format": "json"}),
            ("IRI page", study, {}),
            ("SPARQL ASK", "/sparql", {"query": ask}),
            ("SPARQL SELECT", "/sparql", {"query": select})]


SERVE_CLIENTS = 8
SERVE_REQUESTS = 50  # of each kind


def driver_serve_load(k: int, corpus: Path, work: Path, limit: float) -> dict:
    """`coprod-kg serve` on the corpus, then SERVE_REQUESTS requests of each kind of the mix
    (_serve_requests), shuffled, from SERVE_CLIENTS concurrent clients (httpx, a thread pool):
    p50 and p99 latency per kind and over all. Start-up (reasoning if the cache is cold, loading
    the store) is recorded apart."""
    import random
    import statistics
    from concurrent.futures import ThreadPoolExecutor
    import httpx
    from coprod_kg.engines import Endpoint
    exe = Path(sys.executable).with_name("coprod-kg")
    try:
        server = Server([str(exe), "serve", "--port", "{port}"], "/sparql?query=ASK%7B%7D",
                        corpus / "serve.log", within=limit, cwd=corpus)
    except RuntimeError as error:
        return {"error": str(error)[:300]}
    try:
        startup = {"wall": server.startup_wall, "cpu": server.cpu()}
        mix = _serve_requests(corpus, Endpoint(f"{server.base}/sparql", graph=None))
        jobs = [kind for kind in mix for _ in range(SERVE_REQUESTS)]
        random.Random(11).shuffle(jobs)
        before = server.cpu()
        with httpx.Client(base_url=server.base, timeout=60,
                          limits=httpx.Limits(max_connections=SERVE_CLIENTS)) as client:
            def one(job):
                kind, path, params = job
                started = time.perf_counter()
                response = client.get(path, params=params,
                                      headers={"Accept": "text/html" if kind == "IRI page"
                                               else "application/sparql-results+json"})
                took = time.perf_counter() - started
                return kind, took, response.status_code, (
                    "" if response.status_code == 200 else " ".join(response.text.split())[:200])

            started = time.perf_counter()
            with ThreadPoolExecutor(SERVE_CLIENTS) as pool:
                done = list(pool.map(one, jobs))
            elapsed = time.perf_counter() - started
        spent = server.cpu() - before
        peak = server.peak_mb()
    finally:
        server.stop()

    def percentiles(latencies):
        cuts = statistics.quantiles(latencies, n=100, method="inclusive")
        return {"p50": cuts[49], "p99": cuts[98], "n": len(latencies)}

    kinds = {kind: percentiles([t for name, t, *_ in done if name == kind]) for kind, *_ in mix}
    failures: dict = {}
    for kind, _, status, message in done:
        if status != 200:  # how many, and the server's reason for the first
            failure = failures.setdefault(f"{kind} {status}", {"n": 0, "reason": message})
            failure["n"] += 1
    overall = percentiles([t for _, t, *_ in done])
    return {"clients": SERVE_CLIENTS, "requests": len(done), "each": kinds, **overall,
            "requests per s": len(done) / elapsed, "failures": failures, "startup": startup,
            "cpu": spent, "peak_mb": peak, "paths": {kind: path for kind, path, _ in mix}}


def driver_warm_query(k: int, corpus: Path, work: Path, limit: float) -> dict:
    """The warm query against its floor, from benchmarks/warm_query.py when it is there: its
    ``prepare(folder)`` (makes the cache) if it has one, then ``measure(folder)`` (or the first of
    figures, warm_query, run). The worst ratio of a warm `coprod-kg query` to the bare process
    that opens the store and asks the same query (``warm_over_bare_process_wall`` of each
    question) is kept as ``ratio``, for the 1.5× target."""
    import importlib
    import inspect
    if not (ROOT / "benchmarks" / "warm_query.py").is_file():
        return {"note": "benchmarks/warm_query.py is not in this checkout"}
    module = importlib.import_module("warm_query")
    for name in ("measure", "figures", "warm_query", "run"):
        function = getattr(module, name, None)
        if callable(function):
            break
    else:
        return {"note": "benchmarks/warm_query.py has none of measure, figures, warm_query, run"}
    started = _cpu()
    if callable(getattr(module, "prepare", None)):
        module.prepare(corpus)
    takes = len(inspect.signature(function).parameters)
    figures = function(corpus) if takes else function()
    if not isinstance(figures, dict):
        return {"error": f"warm_query.{name} returned {type(figures).__name__}, not a dict"}
    ratios = [q.get("warm_over_bare_process_wall") for q in figures.get("questions", {}).values()
              if isinstance(q, dict)]
    ratios = [r for r in ratios if isinstance(r, (int, float))]
    entry = {"function": name, "figures": figures, "cpu": _cpu() - started,
             "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    if ratios:
        entry["ratio"] = max(ratios)
    return entry


DRIVER_STAGES = {name[len("driver_"):]: fn for name, fn in globals().items()
                 if name.startswith("driver_")}


def _stamp() -> str:
    """A digest of what a corpus is made from: corpus.py, the data and the ontology."""
    import hashlib
    digest = hashlib.sha256((ROOT / "benchmarks" / "corpus.py").read_bytes())
    for folder in ("data", "ontology"):
        for path in sorted((ROOT / folder).rglob("*")):
            if path.is_file():
                digest.update(path.relative_to(ROOT).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def corpus_for(k: int, work: Path) -> Path:
    """The corpus of ``k`` copies under ``work``, generated again only when its sources changed;
    its queries and checks are refreshed from this checkout every time (so new question files
    are timed without generating or reasoning again)."""
    import shutil
    from corpus import generate
    corpus, stamp = work / f"corpus-{k}", _stamp()
    marker = corpus / ".corpus-stamp"
    if not (marker.is_file() and marker.read_text() == stamp):
        generate(k, corpus)
        marker.write_text(stamp)
    for folder in ("queries",):
        shutil.rmtree(corpus / folder, ignore_errors=True)
        shutil.copytree(ROOT / folder, corpus / folder)
    return corpus


def _save(k: int, stage: str, entry: dict, meta: dict) -> dict:
    """Merge one stage's figures into RESULTS (read again first, so runs of other stages or other
    K in the meantime are kept) and return the whole."""
    from coprod_kg.atomic import write_atomic
    results = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {"runs": {}}
    runs = results["runs"].setdefault(str(k), {})
    runs.update(meta)
    runs[stage] = entry
    write_atomic(RESULTS, json.dumps(results, indent=1, sort_keys=True) + "\n")
    return results


# The stages a run without --stages measures at each K (the others only when named).
def default_stages(k: int, owlrl_max: int, pyshacl_max: int, build_max: int,
                   rdflib_turtle_max: int, serve_max: int) -> list[str]:
    chosen = [s for s in STAGES if not (
        (s == "reason_owlrl" and k > owlrl_max) or (s == "validate_pyshacl" and k > pyshacl_max)
        or (s in ("build_cli", "build_cli_rules") and k > build_max)
        or (s in ("export_turtle_rdflib", "reason_turtle_rdflib") and k > rdflib_turtle_max))]
    chosen += ["publish_endpoint", "endpoint_questions", "warm_query"]
    if k <= serve_max:
        chosen.append("serve_load")
    return chosen


def run_all(ks: list[int], owlrl_max: int, pyshacl_max: int, build_max: int, rdflib_turtle_max: int,
            limit: float, work: Path, only: list[str] | None = None, skip: tuple = (),
            serve_max: int = 100) -> dict:
    """Measure the stages at each K, each merged into RESULTS as soon as it is measured."""
    results = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {"runs": {}}
    work.mkdir(parents=True, exist_ok=True)
    for k in ks:
        corpus = corpus_for(k, work)
        chosen = [s for s in (only or default_stages(k, owlrl_max, pyshacl_max, build_max,
                                                     rdflib_turtle_max, serve_max))
                  if s not in skip]
        for stage in chosen:
            load = os.getloadavg()
            started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
            if stage in DRIVER_STAGES:
                try:
                    entry = DRIVER_STAGES[stage](k, corpus, work, limit)
                except Exception as error:  # recorded; the other stages still run
                    entry = {"error": f"{type(error).__name__}: {error}"[:400]}
            else:
                entry = measure(stage, corpus, limit)
            entry.update({"load average": load, "measured": started})
            results = _save(k, stage, entry, {"load": load, "started": started})
            shown = {key: v for key, v in entry.items() if key != "each"}
            print(f"K={k:<5} {stage:28} {json.dumps(shown)[:200]}", flush=True)
    return results


# ---------------------------------------------------------------- report

SHOWN = [  # (stage, label) in the order of the table and the plot
    ("load_rdflib", "load (rdflib)"), ("load_store", "load (pyoxigraph)"),
    ("validate_pyshacl", "validate (pyshacl)"), ("validate_sparql", "validate (shapes as SPARQL)"),
    ("reason_owlrl", "reason (owlrl)"), ("reason_rules", "reason (rule engine)"),
    ("checks", "all checks"), ("check_not_exists", "finding-without-quote in its old NOT EXISTS form"),
    ("questions", "every question (warm), one query per value"),
    ("study_profile_grouped", "study profile, one grouped query"),
    ("questions_grouped", "every question (warm), study profile grouped"),
    ("export_turtle_rdflib", "Turtle export (rdflib)"), ("reason_turtle_rdflib", "closure as Turtle (rdflib)"),
    ("export_store", "N-Triples + Turtle (pyoxigraph)"), ("pipeline", "store pipeline (what build does)"),
    ("build_cli", "coprod-kg build (pyshacl, owlrl)"),
    ("build_cli_rules", "coprod-kg build (default engines)"),
    ("publish_endpoint", "coprod-kg publish to an Oxigraph server"),
    ("endpoint_questions", "every question on the Oxigraph server (server CPU)"),
    ("serve_load", "coprod-kg serve, 200 requests from 8 clients (server CPU)"),
    ("warm_query", "warm query (benchmarks/warm_query.py)"),
]
# Rows that are a reference engine or a form the project replaced, measured for comparison.
REFERENCE = {"load_rdflib", "validate_pyshacl", "reason_owlrl", "check_not_exists", "questions",
             "export_turtle_rdflib", "reason_turtle_rdflib", "build_cli"}


def _derive(results: dict) -> None:
    """Every question as a build would answer them with the study profile grouped."""
    for runs in results["runs"].values():
        for stage in ("build_cli", "build_cli_rules"):  # the build ran in a child process
            entry = runs.get(stage, {})
            if "child peak MB" in entry:
                entry["peak_mb"] = max(entry.get("peak_mb", 0), entry["child peak MB"])
        published = runs.get("publish_endpoint", {})
        if "cpu" not in runs.get("reason_rules", {}) and "reason cpu" in published:
            # the rule engine's closure as `coprod-kg publish` computed it (same call, same store)
            runs["reason_rules"] = {"cpu": published["reason cpu"], "peak_mb": published["peak_mb"],
                                    "derived": "publish"}
        if "cpu" not in runs.get("load_store", {}) and "asserted triples" in published:
            runs.setdefault("load_store", {})["triples"] = published["asserted triples"]
        questions, grouped = runs.get("questions", {}), runs.get("study_profile_grouped", {})
        profile = questions.get("each", {}).get("14-study-profile")
        if "cpu" in questions and "cpu" in grouped and profile:
            runs["questions_grouped"] = {
                "cpu": questions["cpu"] - profile["warm"] + grouped["cpu"],
                "peak_mb": max(questions["peak_mb"], grouped["peak_mb"])}
            for key in ("measured", "cpu counts"):
                if key in questions and key in grouped:
                    runs["questions_grouped"][key] = questions[key]


def _triples(runs: dict) -> int | None:
    for stage in ("load_store", "load_rdflib"):
        if "triples" in runs.get(stage, {}):
            return runs[stage]["triples"]
    return runs.get("publish_endpoint", {}).get("asserted triples")


def slope(results: dict, stage: str, key: str = "cpu", a: str = "10", b: str = "100") -> float | None:
    runs = results["runs"]
    if a not in runs or b not in runs:
        return None
    x, y = runs[a].get(stage, {}), runs[b].get(stage, {})
    na, nb = _triples(runs[a]), _triples(runs[b])
    if key not in x or key not in y or not na or not nb or x[key] <= 0 or y[key] <= 0:
        return None
    if _provenance(stage, x) != _provenance(stage, y) or not _provenance(stage, x)[1]:
        return None  # not measured the same way, or without the queries' own CPU
    return math.log(y[key] / x[key]) / math.log(nb / na)


def _provenance(stage: str, entry: dict) -> tuple:
    return ("measured" in entry or bool(entry.get("derived")),
            stage not in WORKER_STAGES or "cpu counts" in entry)


def _cell(entry: dict) -> str:
    if "stopped" in entry:
        return f"**stopped {entry['stopped']}**"
    if "error" in entry:
        return "error"
    if "cpu" not in entry:
        return "not run" if not entry.get("note") else "not available"
    mark = " †" if entry.get("derived") == "publish" else "" if "measured" in entry else " ‡"
    if not mark and entry.get("stage") in WORKER_STAGES and "cpu counts" not in entry:
        mark = " §"
    return f"{entry['cpu']:.2f} s / {entry['peak_mb']:.0f} MB{mark}"


# Stages whose queries run in forked workers: figures taken before the workers' CPU was
# counted (no "cpu counts" key) are marked.
WORKER_STAGES = {"checks", "questions", "study_profile_grouped", "pipeline", "questions_grouped"}


def _ks(results: dict) -> list[str]:
    return sorted(results["runs"], key=int)


def _slope_text(value: float | None) -> str:
    return f"{value:.2f}" if value is not None else ""


def write_report(results: dict) -> None:
    from coprod_kg.atomic import write_atomic
    _derive(results)
    ks = _ks(results)
    runs = results["runs"]
    lines = [
        "# Benchmarks: growth with the size of the corpus", "",
        "Measured by `benchmarks/growth.py` on this 2-core machine, from corpora written by "
        "`benchmarks/corpus.py`: the report's 15 studies with their findings, codings, quotes and "
        "citations copied K times under new IRIs, the ontology, shapes and concept schemes once. "
        "The figures are kept in `benchmarks/growth.json`; this page and the plot are drawn from "
        "it. The corpora and the Oxigraph databases are kept in `../bench-data/` (outside the "
        "checkout; `COPROD_BENCH_DATA` or `--work` moves them), so one stage at one K can be "
        "measured again cheaply:", "",
        "```sh",
        "python3 tasks.py bench --growth                        # every stage at K = 1, 10, 100",
        "python3 benchmarks/growth.py run --stage build_cli_rules --k 100   # one stage, one K",
        "python3 benchmarks/growth.py run --stage publish_endpoint endpoint_questions --k 1000",
        "python3 benchmarks/growth.py run --stage endpoint_questions --k 1000  # the kept database,",
        "                                                       # this checkout's queries/",
        "python3 benchmarks/growth.py report                    # redraw this page and the plot",
        "```", "",
        "Each cell is the CPU seconds of the stage alone (user + system; not the loading it needs "
        "first, which is the `load` rows) and the peak memory of the process that ran it, its "
        "set-up included. Stages with a server count the server's CPU (every process of its "
        "session, from `/proc`). A stage past its time limit is killed with its process group and "
        "shown as stopped. The machine was **shared with other jobs** while these were measured, "
        "so wall times are longer than the CPU times, and each stage records the load average at "
        "its start (in `growth.json`).", ""]
    header = "| stage | " + " | ".join(f"K = {k} ({_triples(runs[k]) or 0:,} triples)" for k in ks) \
        + " | slope K=10→100 | slope K=100→1000 |"
    lines += [header, "|" + "---|" * (len(ks) + 3)]
    for stage, label in SHOWN:
        if not any(stage in runs[k] for k in ks):
            continue
        name = f"{label} *(reference)*" if stage in REFERENCE else label
        lines.append(f"| {name} | " + " | ".join(_cell({**runs[k].get(stage, {}), "stage": stage})
                                                 if stage in runs[k] else "not run" for k in ks)
                     + f" | {_slope_text(slope(results, stage))} | "
                     f"{_slope_text(slope(results, stage, a='100', b='1000'))} |")
    lines += ["", "*(reference)*: the reference engines (rdflib, pyshacl, owlrl) and the forms the "
              "project replaced (one query per study, the old `NOT EXISTS`), measured beside the "
              "defaults for comparison. The row `every question (warm), study profile grouped` is "
              "derived: the warm questions with the study profile's per-study time replaced by "
              f"the grouped query's. A question with more than {SAMPLE} parameter values is timed "
              f"on the first {SAMPLE} and scaled. †: measured inside `coprod-kg publish`, which "
              "loads the inputs into a pyoxigraph store and calls the same `rules.close` on it (the "
              "CPU between its line saying the asserted graph is sent and its line saying it has "
              "reasoned); the memory is the peak of the whole publish. ‡: kept from an earlier run "
              "(older code and queries, and the corpus before copies linked to the shared places "
              "and quotes), not yet measured again. §: measured before the benchmark counted the CPU of "
              "the forked query workers, so the queries themselves are missing from it.", ""]
    lines += _targets(results)
    lines += _endpoint_table(results)
    lines += _serve_table(results)
    lines += _notes(results)
    lines += _details(results)
    write_atomic(TABLE, "\n".join(lines) + "\n")
    _plot(results)


def _met(ok: bool | None) -> str:
    return "" if ok is None else (" — **met**" if ok else " — **not met**")


def _targets(results: dict) -> list[str]:
    runs = results["runs"]
    out = ["## Targets (issue 11) beside the measurements", ""]
    big = runs.get("100", {})
    pipe = big.get("pipeline", {})
    if "cpu" in pipe:
        first = pipe["validate+reason+checks+first query"]
        out.append(f"- K = 100, validate + reason + checks + first query under 120 s of CPU: "
                   f"**{first:.1f} s** (store pipeline){_met(first < 120)}.")
    build = big.get("build_cli_rules", {})
    if "cpu" in build:
        out.append(f"- K = 100, the whole `coprod-kg build` under 300 s of CPU and 4 GB: "
                   f"**{build['cpu']:.1f} s, {build['peak_mb']:.0f} MB** (exit {build.get('exit')})"
                   f"{_met(build['cpu'] < 300 and build['peak_mb'] < 4096 and not build.get('exit'))}.")
    elif "stopped" in build:
        spent = build.get("cpu at stop", 0)
        out.append(f"- K = 100, the whole `coprod-kg build` under 300 s of CPU: **stopped "
                   f"{build['stopped']}** of wall time"
                   + (f", after {spent:.0f} s of CPU" if spent >= 1 else "")
                   + (f" (last output: `{build['last output']}`)" if build.get("last output") else "")
                   + " — **not met**.")
    else:
        out.append("- K = 100, the whole `coprod-kg build`: not measured.")
    if "cpu" in pipe:
        out.append(f"- K = 100, peak memory of the store pipeline under 4 GB: "
                   f"**{pipe['peak_mb']:.0f} MB**{_met(pipe['peak_mb'] < 4096)}.")
    thousand = runs.get("1000", {})
    published, asked = thousand.get("publish_endpoint", {}), thousand.get("endpoint_questions", {})
    if "stopped" in published:
        out.append(f"- K = 1000, publish: **stopped {published['stopped']}**, after "
                   f"{published.get('cpu at stop', 0):.0f} s of its CPU; the server then held "
                   f"{published.get('asserted triples', 0):,} asserted and "
                   f"{published.get('inferred triples', 0):,} inferred triples.")
    elif "asserted triples" in published:
        out.append(f"- K = 1000, published to the Oxigraph server: **{published['asserted triples']:,} "
                   f"asserted and {published['inferred triples']:,} inferred triples** by "
                   f"`coprod-kg publish` in {published['cpu']:.0f} s of its CPU ({published['peak_mb']:.0f} MB peak; "
                   f"load, reason, send) and {published['server cpu']:.0f} s of the server's, "
                   f"{published['wall']:.0f} s wall; the database is {published['database MB']:,.0f} MB.")
    elif published:
        out.append(f"- K = 1000, publish: {published.get('error') or published.get('stopped')}.")
    else:
        out.append("- K = 1000, published to the Oxigraph server: not yet measured to the end "
                   "(`python3 benchmarks/growth.py run --stage publish_endpoint endpoint_questions "
                   "--k 1000`, then `growth.py report`).")
    if "each" in asked:
        each = asked["each"]
        within = [n for n, e in each.items() if e.get("within target")]
        over = [f"`{n}` " + (f"stopped at {QUESTION_LIMIT:g} s"
                             if "error" in e["http"] and e["http"]["wall"] >= QUESTION_LIMIT
                             else f"{e['http']['wall']:.1f} s" + (
                                 " (" + e["http"]["error"][:80] + ")" if "error" in e["http"] else ""))
                for n, e in sorted(each.items()) if not e.get("within target") and "http" in e]
        out.append(f"- K = 1000, every question answered on the server, each under 10 s: "
                   f"**{len(within)} of {len(each)} within 10 s**; slowest "
                   f"{asked['slowest http wall']:.1f} s" + (f"; over: {', '.join(over)}" if over else "")
                   + _met(len(within) == len(each)) + ".")
    else:
        out.append("- K = 1000, every question on the Oxigraph server: not measured.")
    warm = {k: runs[k].get("warm_query") for k in _ks(results) if runs[k].get("warm_query")}
    ratios = {k: e.get("ratio") for k, e in warm.items() if isinstance(e.get("ratio"), (int, float))}
    if ratios:
        out.append("- A warm query within 1.5× of the floor at every K: " + "; ".join(
            f"K = {k}: **{r:.2f}×**" for k, r in ratios.items()) + _met(all(r <= 1.5 for r in ratios.values())) + ".")
    else:
        notes = {e.get("note") or e.get("error") for e in warm.values()} - {None}
        out.append("- A warm query within 1.5× of the floor: not measured here"
                   + (f" ({'; '.join(sorted(notes))})" if notes else "") + ".")
    over = [label for stage, label in SHOWN if stage not in REFERENCE
            and (s := slope(results, stage)) is not None and s > 1.3]
    out.append("- Growth within 1.3× of linear from K = 10 to K = 100 (log-log slope ≤ 1.3), "
               "for the default stages measured the same way at both K: " + ("above: " + ", ".join(over) if over else
                                             "every one measured is") + _met(not over) + ".")
    small = runs.get("1", {}).get("build_cli_rules", {})
    if "cpu" in small:
        out.append(f"- The report's own `coprod-kg build` under 5 s of CPU, cold: **{small['cpu']:.1f} s**"
                   f"{_met(small['cpu'] < 5)}; the store pipeline does the same work in "
                   f"{runs['1'].get('pipeline', {}).get('cpu', float('nan')):.2f} s.")
    return out + [""]


def _endpoint_table(results: dict) -> list[str]:
    runs = results["runs"]
    ks = [k for k in _ks(results) if "each" in runs[k].get("endpoint_questions", {})]
    if not ks:
        return []
    out = ["## Every question on the Oxigraph server", "",
           "The graphs loaded by `coprod-kg publish --endpoint`, each question asked of the inferred "
           "graph with its first parameter value. Each cell: the wall time of the HTTP request "
           "alone (the server's CPU for it), then the wall time of the whole `coprod-kg query "
           f"--endpoint` command. A question is stopped at {QUESTION_LIMIT:g} s; over 10 s is in bold.", "",
           "| question | " + " | ".join(f"K = {k}" for k in ks) + " |", "|" + "---|" * (len(ks) + 1)]
    names = sorted({n for k in ks for n in runs[k]["endpoint_questions"]["each"]})
    for name in names:
        cells = []
        for k in ks:
            e = runs[k]["endpoint_questions"]["each"].get(name)
            if not e or "http" not in e:
                cells.append(e.get("error", "")[:60] if e else "")
                continue
            http = e["http"]
            text = f"{http['wall']:.2f} s ({http['server cpu']:.1f} s)"
            if "error" in http:  # the client's or the server's timeout, or a refusal
                stopped = "within" in http["error"] or http["wall"] >= QUESTION_LIMIT - 1
                text = f"{text} {'stopped' if stopped else 'error'}"
            if not e.get("within target"):
                text = f"**{text}**"
            cli = e.get("cli", {})
            cells.append(f"{text}; CLI {cli['wall']:.1f} s" if "wall" in cli else text)
        out.append(f"| {name} | " + " | ".join(cells) + " |")
    return out + [""]


def _serve_table(results: dict) -> list[str]:
    runs = results["runs"]
    ks = [k for k in _ks(results) if "p50" in runs[k].get("serve_load", {})]
    if not ks:
        return []
    kinds = sorted({kind for k in ks for kind in runs[k]["serve_load"]["each"]})
    out = ["## `coprod-kg serve` under load", "",
           f"{SERVE_REQUESTS} requests of each kind, shuffled, from {SERVE_CLIENTS} concurrent clients "
           "(httpx in a thread pool) against `coprod-kg serve` with its defaults (2 query workers). "
           "Latency p50 / p99 in seconds. Start-up (reading or reasoning the closure, loading the "
           "store) is apart.", "",
           "| K | " + " | ".join(kinds) + " | all | requests/s | failed | start-up wall |",
           "|" + "---|" * (len(kinds) + 5)]
    for k in ks:
        e = runs[k]["serve_load"]
        cells = [f"{e['each'][kind]['p50']:.3f} / {e['each'][kind]['p99']:.3f}" if kind in e["each"]
                 else "" for kind in kinds]
        failed = sum(f["n"] if isinstance(f, dict) else f for f in e.get("failures", {}).values())
        out.append(f"| {k} | " + " | ".join(cells) + f" | {e['p50']:.3f} / {e['p99']:.3f} | "
                   f"{e['requests per s']:.1f} | {failed} | {e['startup']['wall']:.0f} s |")
    reasons = [f"K = {k}, {name}: {f['n']} × \"{f['reason']}\"" for k in ks
               for name, f in sorted(runs[k]["serve_load"].get("failures", {}).items())
               if isinstance(f, dict) and f.get("reason")]
    if reasons:
        out += ["", "Refused requests, with the server's reason: " + "; ".join(reasons) + "."]
    example = runs[ks[-1]]["serve_load"].get("paths", {})
    if example:
        out += ["", "The mix: " + "; ".join(f"{kind} `{path}`" for kind, path in example.items())
                + " (the SPARQL requests are a `LIMIT 50` SELECT of findings and their labels, "
                "and an ASK for a reviewed study)."]
    return out + [""]


def _figure(results: dict, k: str, stage: str, key: str = "cpu") -> str:
    entry = results["runs"].get(k, {}).get(stage, {})
    value = entry.get(key)
    if not isinstance(value, (int, float)):
        return "not measured"
    mark = ("" if "measured" in entry or entry.get("derived") else " ‡") + (
        " §" if stage in WORKER_STAGES and "measured" in entry and "cpu counts" not in entry else "")
    return f"{value:.2f} s{mark}"


def _question_slope_value(results: dict, name: str, a: str = "10", b: str = "100") -> float | None:
    runs = results["runs"]
    try:
        x = runs[a]["questions"]["each"][name]["warm"]
        y = runs[b]["questions"]["each"][name]["warm"]
        return math.log(y / x) / math.log(_triples(runs[b]) / _triples(runs[a]))
    except (KeyError, ZeroDivisionError, TypeError, ValueError):
        return None


def _notes(results: dict) -> list[str]:
    f = lambda *a: _figure(results, *a)  # noqa: E731
    runs = results["runs"]
    steep = sorted((name, s) for name in {n for k in runs for n in runs[k].get("questions", {}).get("each", {})}
                   if (s := _question_slope_value(results, name)) is not None and s > 1.3)
    out = ["## What the figures say", "",
           "- **Reasoning.** The rule engine (`rules.close`, the OWL RL rules the ontology uses as "
           f"SPARQL updates on pyoxigraph) took {f('1', 'reason_rules')}, {f('10', 'reason_rules')}, "
           f"{f('100', 'reason_rules')} and {f('1000', 'reason_rules')} at K = 1, 10, 100 and 1000; "
           f"owlrl took {f('1', 'reason_owlrl')} and {f('10', 'reason_owlrl')} at K = 1 and 10 for the "
           "same closure (tests/test_rules.py compares them triple for triple).",
           "- **Validation.** pyshacl took " + f('10', 'validate_pyshacl') + " at K = 10 and "
           + f('100', 'validate_pyshacl') + " at K = 100; the shapes as SPARQL took "
           + f('10', 'validate_sparql') + " and " + f('100', 'validate_sparql') + ".",
           "- **The old `FILTER NOT EXISTS` form of `finding-without-quote`** took "
           f"{f('10', 'check_not_exists')} at K = 10 and {f('100', 'check_not_exists')} at K = 100, "
           "quadratic; the check is written with `MINUS` and is one of the `all checks` row.",
           "- **The study profile** answered once per study grows with the square of the corpus "
           "(one query per study, each scanning the corpus); one query with the study free, "
           "split by study (`batch.answer_grouped`), took "
           f"{f('10', 'study_profile_grouped')} at K = 10 and {f('100', 'study_profile_grouped')} at "
           "K = 100 for the same rows (tests/test_batch.py).",
           "- **Questions above a slope of 1.3** from K = 10 to K = 100 on the embedded store "
           "(the `Each question` table" + ("" if all("measured" in runs.get(k, {}).get("questions", {})
                                                     for k in ("10", "100")) else
                                            ", figures of the earlier run ‡") + "): " + (", ".join(f"`{n}` ({s:.2f})" for n, s in steep)
                                            if steep else "none") + ".",
           ]
    out.append(
        "- **Publishing millions of triples.** `coprod-kg publish` sends each graph in batches "
        f"({200_000:,} triples by default). With one transaction per batch the Oxigraph server "
        "slowed as its database grew: at K = 1000 it had taken in about two thirds of the "
        "asserted graph (1.0 of 1.5 GB of N-Triples) after 20 minutes, mostly compacting its "
        "database. With `--no-transaction` (Oxigraph's bulk loader, not atomic) the whole "
        "asserted graph went in within about 10 minutes on the same loaded machine; the benchmark "
        "publishes that way.")
    checks = runs.get("1", {}).get("checks", {})
    if checks.get("each") and "measured" in checks:
        per = checks["cpu"] / len(checks["each"])
        out.append(
            f"- **Every query runs in a forked worker** (`coprod_kg.worker`, so that it can be "
            f"killed at its timeout), and at K = 1 that costs about {per:.2f} s of CPU per query "
            f"(the `all checks` row: {checks['cpu']:.2f} s for {len(checks['each'])} checks, the "
            "forked children counted), where the same checks run in the calling process take "
            "about a millisecond each (four of them timed apart on the same corpus). Build answers "
            "several dozen queries and pays this for each; the stages count it for that reason.")
    thousand = runs.get("1000", {}).get("endpoint_questions", {})
    if thousand.get("over target"):
        out.append("- **At K = 1000 on the Oxigraph server**, over 10 s: "
                   + ", ".join(f"`{n}`" for n in thousand["over target"])
                   + f" (the queries of {_queries_named(thousand)}, measured "
                   f"{thousand.get('measured', '')}); re-time them after a change with "
                   "`growth.py run --stage endpoint_questions --k 1000`, which reuses the kept "
                   "database.")
    return out + [""]


def _details(results: dict) -> list[str]:
    runs = results["runs"]
    ks = [k for k in _ks(results) if runs[k].get("questions", {}).get("each")
          or runs[k].get("checks", {}).get("each")]
    out = ["## Each question and check on the embedded store", "",
           "CPU seconds for all the parameter values build answers (first run / warm run).", "",
           "| query | " + " | ".join(f"K = {k}" for k in ks) + " |", "|" + "---|" * (len(ks) + 1)]
    names = sorted({n for k in ks for n in runs[k].get("questions", {}).get("each", {})})
    for name in names:
        cells = []
        for k in ks:
            e = runs[k].get("questions", {}).get("each", {}).get(name)
            cells.append("" if not e else f"**stopped {e['stopped']}**" if "stopped" in e
                         else f"{e['cold']:.3f} / {e['warm']:.3f}")
        out.append(f"| {name} | " + " | ".join(cells) + " |")
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
    if argv[:1] == ["merge"]:  # figures of separate runs (--results), stage by stage, into RESULTS
        from coprod_kg.atomic import write_atomic
        merged = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {"runs": {}}
        for path in argv[1:]:
            for k, runs in json.loads(Path(path).read_text())["runs"].items():
                merged["runs"].setdefault(k, {}).update(runs)
        write_atomic(RESULTS, json.dumps(merged, indent=1, sort_keys=True) + "\n")
        argv = ["report"]
    if argv[:1] == ["report"]:
        write_report(json.loads(RESULTS.read_text()))
        print(f"wrote {TABLE} and {PLOT}")
        return 0
    if argv[:1] == ["run"]:  # `growth.py run --stage X --k 100` reads better; the same thing
        argv = argv[1:]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    every = sorted([*STAGES, *DRIVER_STAGES])
    parser.add_argument("--k", type=int, nargs="+", default=[1, 10, 100])
    parser.add_argument("--owlrl-max", type=int, default=10)
    parser.add_argument("--pyshacl-max", type=int, default=100)
    parser.add_argument("--build-max", type=int, default=100)
    parser.add_argument("--rdflib-turtle-max", type=int, default=100)
    parser.add_argument("--serve-max", type=int, default=100)
    parser.add_argument("--limit", type=float, default=LIMIT, help="seconds before a stage is stopped")
    parser.add_argument("--work", type=Path, default=WORK,
                        help=f"where the corpora and the Oxigraph databases are kept (default {WORK})")
    parser.add_argument("--stages", "--stage", nargs="+", choices=every,
                        help="measure only these stages, keeping the other figures")
    parser.add_argument("--skip", nargs="+", choices=every, default=[], help="stages not to run")
    parser.add_argument("--results", type=Path, default=None, help="where to keep the figures")
    args = parser.parse_args(argv)
    if args.results is not None:
        RESULTS = args.results
    results = run_all(args.k, args.owlrl_max, args.pyshacl_max, args.build_max,
                      args.rdflib_turtle_max, args.limit, args.work, args.stages, tuple(args.skip),
                      args.serve_max)
    write_report(results)
    print(f"wrote {RESULTS}, {TABLE} and {PLOT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
