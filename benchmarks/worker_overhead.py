#!/usr/bin/env python3
"""What running each query in a killable worker costs: the same question answered in-process and
through worker.call (fork, pipe, pickle, reap), on the report's warm store.

Run: .venv/bin/python benchmarks/worker_overhead.py [ROUNDS]
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

from coprod_kg import worker
from coprod_kg.cache import open_store
from coprod_kg.project import Project
from coprod_kg.query import _oxigraph_answer, find_query, remember_verdicts, run

ROOT = Path(__file__).resolve().parents[1]


def timed(work, rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        work()
        times.append((time.perf_counter() - started) * 1000)
    return times


def main(rounds: int) -> None:
    project = Project(ROOT)
    remember_verdicts(project.cache_dir / "verdicts")
    store = open_store(project)
    print(f"store: {len(store)} triples; {rounds} rounds each; milliseconds")
    for name in ("principle-prevalence", "study-profile"):
        query = find_query(project.queries_dir, name)
        params = {"study": "croydon-sun"} if query.params else {}
        run(query, store, params)  # warm the verdict cache
        from coprod_kg.query import bind_params
        import pyoxigraph as ox

        subs = {ox.Variable(k): v for k, v in bind_params(query, store, params).items()}
        rows = [
            ("in process", lambda: _oxigraph_answer(store, query, subs, 100_000)),
            ("worker", lambda: worker.call(_oxigraph_answer, store, query, subs, 100_000,
                                           timeout=30)),
            ("query.run (worker, checks, binding)", lambda: run(query, store, params)),
        ]
        for label, work in rows:
            times = timed(work, rounds)
            print(f"  {name:22} {label:38} median {statistics.median(times):6.2f}  "
                  f"p90 {sorted(times)[int(0.9 * len(times))]:6.2f}")
    times = timed(lambda: worker.call(int, 1, timeout=30), rounds)
    print(f"  {'(empty work)':22} {'worker':38} median {statistics.median(times):6.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 50)
