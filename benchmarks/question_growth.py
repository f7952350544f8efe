#!/usr/bin/env python3
"""Time every question (and, with --checks, every check) on corpora K times the report.

    .venv/bin/python benchmarks/question_growth.py [--k 1 10 100] [--checks] [--only NAME ...]

Each corpus comes from ``benchmarks/corpus.py`` and is reasoned the way ``benchmarks/growth.py``
does it (``rules.load_store`` then ``rules.close``); both are kept under ``--work`` (default
``/tmp/coprod-kg-question-growth``) with a digest of what they were made from, so a second run
only times, and a change to the generator, the data or the ontology makes them again. The
queries timed are this checkout's, not the corpus's copies, so a rewritten query is timed on the
same stores.

Each question runs with its first parameter value (as ``query.parameter_sets`` lists them) on the
embedded pyoxigraph store, in this process, every row read. A run under 2 s is repeated and the
faster run kept. The table gives seconds per K and the log-log slope from the second-largest K to
the largest (1.0 is linear; the target is at most 1.3, and under 1 s at K = 100).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))


def reasoned_store(k: int, work: Path):
    """The reasoned store of the corpus of ``k`` copies, made once and kept as N-Triples."""
    import pyoxigraph as ox

    from coprod_kg import rules
    from coprod_kg.atomic import write_atomic
    from coprod_kg.project import Project
    import corpus

    from growth import _stamp

    folder = work / f"k{k}"
    closure, marker, stamp = folder / "closure.nt", folder / ".corpus-stamp", _stamp()
    store = ox.Store()
    # A kept closure is used only while the generator, the data and the ontology it came from
    # are unchanged; otherwise the corpus is generated and reasoned again.
    if closure.is_file() and marker.is_file() and marker.read_text() == stamp:
        store.bulk_load(path=str(closure), format=ox.RdfFormat.N_TRIPLES)
        return store
    corpus.generate(k, folder)
    store = rules.load_store(Project(folder).input_files())
    rules.close(store)
    write_atomic(closure, rules.sorted_ntriples(store))
    write_atomic(marker, stamp)
    return store


def time_query(query, store) -> tuple[float, int]:
    """Seconds to answer ``query`` (first parameter value) and read every row; and the rows."""
    import pyoxigraph as ox

    from coprod_kg.query import PREFIXES, bind_params, parameter_sets

    sets = parameter_sets(query, store)
    params = sets[0] if sets else {}
    bindings = bind_params(query, store, params)
    substitutions = {ox.Variable(name): term for name, term in bindings.items()}
    best, rows = math.inf, 0
    for attempt in range(2):
        started = time.perf_counter()
        answer = store.query(query.text, prefixes=PREFIXES, substitutions=substitutions)
        rows = sum(1 for _ in answer) if isinstance(answer, ox.QuerySolutions) else 1
        took = time.perf_counter() - started
        best = min(best, took)
        if took >= 2.0:
            break
    return best, rows


def slope(small: float, large: float, k_small: int, k_large: int) -> float:
    return math.log(max(large, 1e-6) / max(small, 1e-6)) / math.log(k_large / k_small)


def main(argv: list[str] | None = None) -> int:
    from coprod_kg.query import discover

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, nargs="+", default=[1, 10, 100])
    parser.add_argument("--checks", action="store_true", help="time the checks too")
    parser.add_argument("--only", nargs="+", default=[], help="names (or parts of names) to time")
    parser.add_argument("--work", type=Path, default=Path("/tmp/coprod-kg-question-growth"))
    args = parser.parse_args(argv)
    ks = sorted(set(args.k))
    queries = discover(ROOT / "queries")
    if args.checks:
        queries += discover(ROOT / "queries" / "checks")
    if args.only:
        queries = [q for q in queries if any(part in q.name for part in args.only)]
    args.work.mkdir(parents=True, exist_ok=True)
    seconds: dict[str, dict[int, float]] = {q.name: {} for q in queries}
    rows: dict[str, dict[int, int]] = {q.name: {} for q in queries}
    for k in ks:
        started = time.perf_counter()
        store = reasoned_store(k, args.work)
        print(f"K={k}: {len(store)} triples reasoned ({time.perf_counter() - started:.1f} s)",
              file=sys.stderr, flush=True)
        for query in queries:
            seconds[query.name][k], rows[query.name][k] = time_query(query, store)
            print(f"  {query.name}: {seconds[query.name][k]:.3f} s, {rows[query.name][k]} rows",
                  file=sys.stderr, flush=True)
        del store
    head = " ".join(f"{'K=' + str(k):>9}" for k in ks)
    tail = f"  slope K={ks[-2]}..{ks[-1]}" if len(ks) > 1 else ""
    print(f"{'question':<32} {head}{tail}   rows at K={ks[-1]}")
    for query in queries:
        times = seconds[query.name]
        cells = " ".join(f"{times[k]:>8.3f}s" for k in ks)
        grow = f"  {slope(times[ks[-2]], times[ks[-1]], ks[-2], ks[-1]):>13.2f}" if len(ks) > 1 else ""
        print(f"{query.name:<32} {cells}{grow}   {rows[query.name][ks[-1]]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
