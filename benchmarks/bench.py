#!/usr/bin/env python3
"""Measure coprod-kg's speed and print the medians (seconds). Not a test: targets are read by people.

    python3 tasks.py bench [--runs N]
    python3 tasks.py bench --growth [--k 1 10 100]    (benchmarks/growth.py: growth with K)

Measures, each as the median of N runs of a fresh process: the `import rdflib` floor, a cold
`build` (empty cache), a warm `query` for every question, `validate`, `reason`; and, in one
process, each question on pyoxigraph against rdflib's engine over the reasoned graph.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def timed(command: list[str], runs: int, before=None) -> float:
    samples = []
    for _ in range(runs):
        if before:
            before()
        start = time.perf_counter()
        subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def engines(runs: int) -> list[tuple[str, float, float]]:
    sys.path.insert(0, str(ROOT / "src"))
    from coprod_kg.cache import ensure_closure, open_store
    from coprod_kg.project import Project
    from coprod_kg.query import discover, parameter_sets, run, run_rdflib
    from rdflib import Graph

    project = Project(ROOT)
    store = open_store(project)
    graph = Graph().parse(ensure_closure(project), format="nt")
    rows = []
    for query in discover(project.queries_dir):
        params = parameter_sets(query, store)[0]
        fast, slow = [], []
        for _ in range(runs):
            start = time.perf_counter(); run(query, store, params); fast.append(time.perf_counter() - start)
            start = time.perf_counter(); run_rdflib(query, graph, params); slow.append(time.perf_counter() - start)
        rows.append((query.name, statistics.median(fast), statistics.median(slow)))
    return rows


def main() -> int:
    if "--growth" in sys.argv[1:]:
        # The growth benchmark over corpora K times the report (benchmarks/growth.py).
        sys.path.insert(0, str(ROOT / "benchmarks"))
        from growth import main as growth

        return growth([a for a in sys.argv[1:] if a != "--growth"])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--growth", action="store_true",
                        help="time every stage on corpora K times the report instead "
                             "(see benchmarks/growth.py --help)")
    args = parser.parse_args()
    cli = [str(BIN / "coprod-kg")]
    python = [sys.executable]
    print(f"medians of {args.runs} runs, seconds")
    floor = timed([*python, "-c", "import rdflib"], args.runs)
    print(f"{'import rdflib (floor)':40} {floor:7.3f}")
    cold = timed([*cli, "build"], max(1, args.runs // 2),
                 before=lambda: shutil.rmtree(ROOT / "build", ignore_errors=True))
    print(f"{'build, cold cache':40} {cold:7.3f}   target < 10")
    print(f"{'validate':40} {timed([*cli, 'validate'], args.runs):7.3f}")
    print(f"{'reason':40} {timed([*cli, 'reason'], max(1, args.runs // 2)):7.3f}")
    sys.path.insert(0, str(ROOT / "src"))
    from coprod_kg.project import Project
    from coprod_kg.query import discover

    worst = 0.0
    for query in discover(Project(ROOT).queries_dir):
        extra = []
        if query.params:
            extra = ["--param", {"principle": "principle=networks",
                                 "study": "study=croydon-sun"}[query.params[0].name]]
        seconds = timed([*cli, "query", query.name, *extra], args.runs)
        worst = max(worst, seconds)
        print(f"{'warm query ' + query.name:40} {seconds:7.3f}   {seconds / floor:4.2f}x floor")
    print(f"{'worst warm query / floor':40} {worst / floor:7.2f}   target <= 1.5")
    print("\nengine comparison in one process (median per query, seconds)")
    print(f"{'query':40} {'oxigraph':>9} {'rdflib':>9}")
    for name, fast, slow in engines(args.runs):
        print(f"{name:40} {fast:9.4f} {slow:9.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
