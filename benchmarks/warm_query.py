#!/usr/bin/env python3
"""Time a warm ``coprod-kg query`` beside the floor, on corpora K times the report.

    .venv/bin/python benchmarks/warm_query.py [--k 1 10 100] [--runs 5] [--corpora DIR]
    .venv/bin/python benchmarks/warm_query.py --folder DIR [--runs 5]   # a project as it is

For each K the corpus is written by ``benchmarks/corpus.py`` into ``DIR/kK`` (kept, and reused
when it is there with its cache; K = 1000 is measured only when asked for or when its corpus is
there already). The cache is made once (``--prepare``: a cold ``coprod-kg query``, which reasons
and makes the on-disk store, or ``coprod-kg reason`` / ``coprod-kg build``), then every question
is asked once more to settle the cache (after waiting out ``stamps.RACY_NS``, so that each leaves
its warm plan). Then, for a few questions, in that order each run:

- **warm**: ``coprod-kg query NAME`` in a fresh process (CPU: the child's user + system time;
  wall: from start to exit);
- **floor**: the same query, its parameters bound, on the store already open in this process
  (``Store.query``, every row read): what answering costs once nothing is loaded;
- **bare process**: a fresh Python that imports pyoxigraph, opens the store read-only and runs
  the same query: the floor of any fresh process;
- **start-up**: ``coprod-kg --version`` in a fresh process, for scale.

With ``--folder`` the project in DIR (this checkout, say, or a copy of a kept corpus) is measured
as it is instead, its cache made by the first warm query if it is not there. Each figure is the
median of ``--runs`` runs. The ratios are warm / floor and warm / bare process.
:func:`measure` returns the figures as a dict (``benchmarks/growth.py`` may import it).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

# Questions whose own cost grows about linearly with K (08-prevention, for one, grows with K
# squared, past the 30 s timeout at K = 100: a matter for the query, not for opening the store).
QUESTIONS = [("01-principle-prevalence", {}), ("12-capacity-hours", {}),
             ("06-principle-outcome-paths", {"principle": "networks"}),
             ("18-evidence-by-country", {})]
TIMEOUT = "600"  # seconds; the figures are about opening the store, not about the limit

BARE = """
import sys, pyoxigraph as ox
from coprod_kg.namespace import PREFIXES
store = ox.Store.read_only(sys.argv[1])
subs = {ox.Variable(k): ox.NamedNode(v) for k, v in (a.split("=", 1) for a in sys.argv[3:])}
rows = sum(1 for _ in store.query(open(sys.argv[2]).read(), prefixes=PREFIXES, substitutions=subs))
print(rows)
"""


def _cli() -> list[str]:
    exe = Path(sys.executable).with_name("coprod-kg")
    return [str(exe)] if exe.is_file() else [sys.executable, "-m", "coprod_kg"]


def _environment() -> dict:
    """The children's environment: with their bytecode cached (outside the checkout), as an
    installed coprod-kg has it, even where PYTHONDONTWRITEBYTECODE is set here."""
    import tempfile

    environment = dict(os.environ)
    environment.pop("PYTHONDONTWRITEBYTECODE", None)
    environment["PYTHONPYCACHEPREFIX"] = os.path.join(tempfile.gettempdir(),
                                                      "coprod-kg-bench-pycache")
    return environment


def _child_run(command: list[str], cwd: Path) -> tuple[float, float, str]:
    """Run a command in a fresh process: its CPU seconds (user + system), wall seconds, and
    its standard output. Raises RuntimeError if it fails."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=_environment())
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}): {done.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall, done.stdout


def corpus_for(k: int, corpora: Path) -> Path:
    """The corpus of K copies under ``corpora`` (written if it is not there)."""
    import corpus

    folder = corpora / f"k{k}"
    if not (folder / "ontology" / "coprod.ttl").is_file():
        corpus.generate(k, folder)
    return folder


def prepare(folder: Path, how: str = "query") -> dict:
    """Make the cache of a corpus once; return how long that took."""
    command = {"query": [*_cli(), "query", QUESTIONS[0][0], "--format", "csv", "--timeout",
                         TIMEOUT],
               "reason": [*_cli(), "reason"], "build": [*_cli(), "build"]}[how]
    cpu, wall, _ = _child_run(command, folder)
    return {"how": how, "cpu": round(cpu, 3), "wall": round(wall, 3)}


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 4)


def measure(folder: Path, runs: int = 5, questions=QUESTIONS, echo=None) -> dict:
    """Warm query, floor, bare process and start-up figures of a corpus whose cache is made
    (``echo``, if given, is called with a line of figures as each question is done)."""
    import pyoxigraph as ox

    from coprod_kg.cache import store_path
    from coprod_kg.namespace import PREFIXES
    from coprod_kg.project import Project
    from coprod_kg.query import bind_params, find_query

    from coprod_kg.stamps import RACY_NS

    project = Project(folder.resolve())
    # The warm path trusts no file changed within RACY_NS (a cache made just now, say): let the
    # cache settle first, so that the settling queries below leave their plans (warm.py).
    time.sleep(RACY_NS / 1e9 + 0.1)
    for name, params in questions:  # settle the cache (and the page cache) once
        _child_run([*_cli(), "query", name, *_params(params), "--format", "csv", "--timeout",
                    TIMEOUT], folder)
    store_folder = store_path(project)
    if not store_folder.is_dir():
        raise RuntimeError(f"{store_folder}: no store after a warm query")
    store = ox.Store.read_only(str(store_folder))
    figures = {"triples": len(store), "store": str(store_folder), "questions": {}}
    start = [_child_run([*_cli(), "--version"], folder) for _ in range(runs)]
    figures["startup"] = {"cpu": _median([c for c, _, _ in start]),
                          "wall": _median([w for _, w, _ in start])}
    for name, params in questions:
        query = find_query(project.queries_dir, name)
        bindings = bind_params(query, store, params)
        subs = {ox.Variable(k): v for k, v in bindings.items()}
        warm, floor, bare = [], [], []
        rows = None
        for _ in range(runs):
            warm.append(_child_run([*_cli(), "query", name, *_params(params), "--format",
                                    "csv", "--timeout", TIMEOUT], folder)[:2])
            cpu0, wall0 = time.process_time(), time.perf_counter()
            rows = sum(1 for _ in store.query(query.text, prefixes=PREFIXES, substitutions=subs))
            floor.append((time.process_time() - cpu0, time.perf_counter() - wall0))
            bare.append(_child_run([sys.executable, "-c", BARE, str(store_folder),
                                    str(query.path), *(f"{k}={v.value}" for k, v in
                                                       bindings.items())], folder)[:2])
        entry = {"rows": rows}
        for label, timings in (("warm", warm), ("floor", floor), ("bare_process", bare)):
            entry[label] = {"cpu": _median([c for c, _ in timings]),
                            "wall": _median([w for _, w in timings])}
        for label in ("floor", "bare_process"):
            for key in ("cpu", "wall"):
                base = entry[label][key]
                entry[f"warm_over_{label}_{key}"] = round(entry["warm"][key] / base, 2) \
                    if base > 0 else None
        figures["questions"][name] = entry
        if echo is not None:
            echo(f"{folder.name} {name}: " + json.dumps(entry, sort_keys=True))
    return figures


def _params(params: dict) -> list[str]:
    return [item for key, value in params.items() for item in ("--param", f"{key}={value}")]


def run_all(ks: list[int], corpora: Path, runs: int = 5, how: str = "query") -> dict:
    """Figures for every K, keyed by K (as a string)."""
    results = {}
    for k in ks:
        folder = corpus_for(k, corpora)
        prepared = prepare(folder, how)
        figures = measure(folder, runs, echo=lambda line: print(line, flush=True))
        figures["prepare"] = prepared
        results[str(k)] = figures
        print(table({str(k): figures}), flush=True)
    return results


def table(results: dict) -> str:
    lines = ["| K | triples | question | rows | warm CPU / wall s | floor CPU / wall s | "
             "bare process CPU / wall s | warm / floor (CPU, wall) | warm / bare (CPU, wall) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for k, figures in results.items():
        for name, e in figures["questions"].items():
            lines.append(
                f"| {k} | {figures['triples']} | {name} | {e['rows']} | "
                f"{e['warm']['cpu']:.3f} / {e['warm']['wall']:.3f} | "
                f"{e['floor']['cpu']:.4f} / {e['floor']['wall']:.4f} | "
                f"{e['bare_process']['cpu']:.3f} / {e['bare_process']['wall']:.3f} | "
                f"{e['warm_over_floor_cpu']}, {e['warm_over_floor_wall']} | "
                f"{e['warm_over_bare_process_cpu']}, {e['warm_over_bare_process_wall']} |")
        lines.append(f"| {k} | | start-up (`coprod-kg --version`) | | "
                     f"{figures['startup']['cpu']:.3f} / {figures['startup']['wall']:.3f} "
                     f"| | | | |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, nargs="+", help="copies of the report (default: 1 10 "
                        "100, and 1000 where its corpus is there)")
    parser.add_argument("--runs", type=int, default=5, help="runs of each figure (median)")
    parser.add_argument("--corpora", type=Path, default=ROOT / "build" / "corpora",
                        help="where the corpora are kept (default: build/corpora)")
    parser.add_argument("--prepare", choices=("query", "reason", "build"), default="query",
                        help="how the cache is made once (default: a cold query)")
    parser.add_argument("--folder", type=Path, help="measure the project in this folder as it "
                        "is, instead of the corpora")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)
    if args.folder is not None:
        results = {args.folder.name: measure(args.folder, args.runs,
                                             echo=lambda line: print(line, flush=True))}
    else:
        ks = args.k or [1, 10, 100] + ([1000] if (args.corpora / "k1000").is_dir() else [])
        results = run_all(ks, args.corpora, args.runs, args.prepare)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
