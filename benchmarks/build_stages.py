#!/usr/bin/env python3
"""Time each stage of ``coprod-kg build`` on one project, with CPU and peak memory.

    .venv/bin/python benchmarks/build_stages.py PROJECT [--profile FILE]

PROJECT is a checkout or a corpus written by ``benchmarks/corpus.py K OUT``. Its ``build/`` is
removed first, so the build is cold (the closure is reasoned again). Queries run with no time
limit, so a slow question is measured rather than stopped. Each stage is reported with its CPU
seconds (this process and the query workers it forked and waited for), wall seconds, and the
peak resident memory of the build so far at the end of the stage (the workers are forks that
share its pages).
With ``--profile`` a cProfile of the parent process, in CPU seconds, is written there.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import time
from pathlib import Path


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project", type=Path)
    parser.add_argument("--profile", type=Path, help="write a cProfile of the build here")
    parser.add_argument("--questions", action="store_true",
                        help="also print each question's CPU seconds as it is answered")
    args = parser.parse_args(argv)

    from coprod_kg.build import build
    from coprod_kg.project import find_project
    from coprod_kg.query import set_limits

    project = find_project(args.project, strict=True)
    shutil.rmtree(project.build_dir, ignore_errors=True)
    set_limits(timeout=float("inf"))
    marks = [("starting (vetting the queries)", _cpu(), time.perf_counter(), _peak_mb())]
    args_verbose = args.questions

    question = [None, 0.0]

    def progress(stage, *args, **_kwargs):
        if marks[-1][0] != stage:
            stage_, cpu, wall, _ = marks[-1]
            now = (stage, _cpu(), time.perf_counter(), _peak_mb())
            print(f"  {stage_:40s} {now[1] - cpu:8.1f} CPU s {now[2] - wall:8.1f} wall s "
                  f"{now[3]:6.0f} MB peak",
                  flush=True)
            marks.append(now)
        if args_verbose and stage == "answering the questions" and len(args) >= 3:
            # Called after each answer: the first call for a question follows its (grouped) run.
            name = str(args[2]).split(" ")[0]
            if name != question[0]:
                start = question[1] if question[0] is not None else marks[-1][1]
                print(f"    {name:38s} {_cpu() - start:8.1f} CPU s", flush=True)
                question[:] = [name, _cpu()]

    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile(time.process_time)  # CPU seconds: the machine is shared
        profiler.enable()
    code, summary = build(project, echo=lambda message: None, progress=progress)
    if profiler:
        profiler.disable()
        profiler.dump_stats(args.profile)
    marks.append(("end", _cpu(), time.perf_counter(), _peak_mb()))
    print(f"{project.root}: exit {code}, {summary.asserted} asserted triples, "
          f"{summary.inferred} inferred, {len(summary.answers)} answers")
    print(f"{'stage':42s} {'CPU s':>8s} {'wall s':>8s} {'peak MB':>8s}")
    for (stage, cpu, wall, _), (_, next_cpu, next_wall, peak) in zip(marks, marks[1:]):
        print(f"{stage:42s} {next_cpu - cpu:8.1f} {next_wall - wall:8.1f} {peak:8.0f}")
    print(f"{'whole build':42s} {marks[-1][1] - marks[0][1]:8.1f} {marks[-1][2] - marks[0][2]:8.1f}")
    print(f"peak resident memory: {_peak_mb():.0f} MB")
    return code


if __name__ == "__main__":
    sys.exit(main())
