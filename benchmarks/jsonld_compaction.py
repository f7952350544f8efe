#!/usr/bin/env python3
"""Time the JSON-LD export's compaction against PyLD's own on one project, and check they agree.

    .venv/bin/python benchmarks/jsonld_compaction.py [PROJECT]

PROJECT is a checkout or a corpus written by ``benchmarks/corpus.py K OUT`` (default: this
checkout). Prints the CPU seconds of ``export.Compactor`` and of PyLD's ``compact`` (given the
same expanded input, without expanding it again) on the asserted graph, and whether the two
texts are the same.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    from pyld.jsonld import JsonLdProcessor

    from coprod_kg.export import PYLD_OPTIONS, Compactor, _jsonld, _ox_triples, jsonld_context
    from coprod_kg.load import load_project
    from coprod_kg.project import find_project

    project = find_project(Path(argv[0]) if argv else Path(__file__).resolve().parents[1],
                           strict=True)
    loaded = load_project(project)
    context = jsonld_context(loaded.part(project.ontology_files))
    triples = _ox_triples(loaded.graph)

    class PyLD:
        def compact(self, expanded):
            return JsonLdProcessor().compact(expanded, {"@context": context}, dict(PYLD_OPTIONS))

    started = time.process_time()
    ours = _jsonld(triples, context, Compactor(context))
    middle = time.process_time()
    theirs = _jsonld(triples, context, PyLD())
    ended = time.process_time()
    print(f"{project.root}: {len(triples)} triples")
    print(f"  export.Compactor   {middle - started:8.2f} CPU s")
    print(f"  PyLD compact       {ended - middle:8.2f} CPU s")
    print(f"  same text: {ours == theirs}")
    return 0 if ours == theirs else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
