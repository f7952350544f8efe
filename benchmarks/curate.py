#!/usr/bin/env python3
"""Measure the curation stages and print the medians (seconds). Not a test.

    .venv/bin/python benchmarks/curate.py [--runs N]

In one process, after loading the project once: the checks run before the shapes (unknown terms,
every quote against its source), `locate` of a sentence that is not in the source (the fuzzy
search), exporting and re-importing every study (no validation), and `coverage` of the review;
then, each in a fresh process, `coprod-kg import --dry-run` of the invented study.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def median(action, runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    import tempfile

    from coprod_kg.curate import checks
    from coprod_kg.curate.coverage import coverage, exclusions_path, read_exclusions
    from coprod_kg.curate.exporter import export_study, source_of_file
    from coprod_kg.curate.importer import import_template
    from coprod_kg.curate.locate import locate
    from coprod_kg.curate.profile import Profile
    from coprod_kg.curate.sources import find_source, sources_of
    from coprod_kg.curate.templates import dump_yaml
    from coprod_kg.load import load_project
    from coprod_kg.project import Project
    from coprod_kg.validate import load_shapes

    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    project = Project(ROOT)
    loaded = load_project(project)
    source = find_source(loaded.graph, ROOT, "slay-stephens-2013")
    if not source.available:
        sys.exit(f"the review's text is not at {source.path}")
    print(f"checks before the shapes (all quotes): {median(lambda: checks.run(project, loaded), runs):.2f}")
    print(f"locate, not found (nearest passage):   "
          f"{median(lambda: locate(source, 'A&E use fell by 40 per cent after six months'), runs):.3f}")
    profile = Profile(loaded.graph, loaded.part(project.ontology_files),
                      load_shapes(project.shapes_file))
    sources = sources_of(loaded.graph, ROOT)
    folder = Path(tempfile.mkdtemp())

    def round_trip():
        for study in sorted((ROOT / "data" / "studies").glob("*.ttl")):
            template = folder / f"{study.stem}.yaml"
            template.write_text(dump_yaml(export_study(loaded, profile, study,
                                                       source_of_file(loaded, study, sources))))
            import_template(project, template, write=False, check=False, loaded=loaded,
                                   replace=True)

    print(f"round trip of the 15 studies (YAML):   {median(round_trip, runs):.2f}")
    exclusions = read_exclusions(exclusions_path(project, source))
    print(f"coverage of the review:                {median(lambda: coverage(loaded.graph, source, exclusions), runs):.2f}")
    fixture = ROOT / "tests" / "fixtures" / "riverside" / "riverside.yaml"
    command = [sys.executable, "-m", "coprod_kg", "--project", str(ROOT), "import", str(fixture),
               "--dry-run"]
    print(f"import --dry-run, fresh process:       "
          f"{median(lambda: subprocess.run(command, check=True, capture_output=True), runs):.2f}")


if __name__ == "__main__":
    main()
