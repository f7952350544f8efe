#!/usr/bin/env python3
"""Write a corpus shaped like the report's graph, K times its size, as a coprod-kg project.

    python3 benchmarks/corpus.py K OUT [--source ROOT]

The corpus is the project at ROOT (default: this checkout) with its evidence replicated K times:
copy 1 is the data as it is, and copies 2..K repeat every study, initiative, place, organisation,
finding, coding, mapping, placement, quote, endnote, citation marker, cited work and quality note
under new IRIs (``study/croydon-sun`` becomes ``study/croydon-sun--c0002``). What the report
defines once stays shared, written once: the ontology, the shapes, the concept schemes (with the
places) and outcomes (with the quotes they carry), the report node, its sections and its
principle-to-need mappings (copying those would
make every principle reach every outcome K times over, so the answer to the path question would
grow with K squared, which no real corpus does). So each copy links into the same principles,
outcomes and sections, as a new evaluation coded by a curator would.

One figure is changed, so that the corpus passes the checks the real data passes: Table 1 says in
how many studies each principle appears, and a corpus of K copies has K times as many studies, so
the prevalence figures (findings measured by ``measure:principle-prevalence``) are multiplied by
K. Nothing else is invented; the corpus is for measuring speed, never for answers.

Each copy is one Turtle file under ``data/copies/``; the queries and checks are copied as they are,
so ``coprod-kg build`` run inside OUT works on the corpus like on the report.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import pyoxigraph as ox

ROOT = Path(__file__).resolve().parents[1]
ID = "https://w3id.org/coprod-kg/id/"
COPROD = "https://w3id.org/coprod-kg/ontology#"
QUDT_VALUE = ox.NamedNode("http://qudt.org/schema/qudt/numericValue")
MEASURE = ox.NamedNode(COPROD + "measure")
PREVALENCE = ox.NamedNode(ID + "measure/principle-prevalence")
# The kinds of resource each copy renames; every other IRI is shared by all copies.
COPIED_KINDS = ("study", "initiative", "org", "place", "finding", "coding", "placement", "quote",
                "endnote", "citation", "work", "note")
SHARED_DATA = ("schemes.ttl", "outcomes.ttl")
PREFIXES = {"rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
            "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
            "xsd": "http://www.w3.org/2001/XMLSchema#", "coprod": COPROD,
            **{kind: f"{ID}{kind}/" for kind in COPIED_KINDS}}


def copied_files(source: Path) -> list[Path]:
    """The data files whose resources every copy repeats (all but the shared schemes)."""
    return [path for path in sorted((source / "data").rglob("*.ttl"))
            if path.relative_to(source / "data").as_posix() not in SHARED_DATA]


def _renamer(copy: int, shared: frozenset = frozenset()):
    """Rename the copied kinds' IRIs and the blank nodes for copy number ``copy``; an IRI that a
    shared file describes (a place of the schemes, a quote of the outcomes) keeps its name."""
    prefixes = tuple(f"{ID}{kind}/" for kind in COPIED_KINDS)
    suffix = f"--c{copy:04d}"

    def rename(term):
        if (copy > 1 and isinstance(term, ox.NamedNode) and term.value.startswith(prefixes)
                and term not in shared):
            return ox.NamedNode(term.value + suffix)
        if copy > 1 and isinstance(term, ox.BlankNode):
            return ox.BlankNode(f"{term.value}c{copy}")
        return term
    return rename


def _scaled(triples: list[ox.Triple], k: int) -> list[ox.Triple]:
    prevalence = {t.subject for t in triples if t.predicate == MEASURE and t.object == PREVALENCE}
    result = []
    for t in triples:
        if k > 1 and t.subject in prevalence and t.predicate == QUDT_VALUE:
            number = int(t.object.value) * k
            t = ox.Triple(t.subject, t.predicate, ox.Literal(str(number), datatype=t.object.datatype))
        result.append(t)
    return result


def generate(k: int, out: Path, source: Path = ROOT) -> Path:
    """Write the corpus of ``k`` copies into ``out`` (replaced if it exists); return ``out``."""
    if k < 1:
        raise ValueError("K must be 1 or more")
    if out.exists():
        shutil.rmtree(out)
    (out / "data" / "copies").mkdir(parents=True)
    shutil.copytree(source / "ontology", out / "ontology")
    shutil.copytree(source / "queries", out / "queries")
    shared = set()
    for name in SHARED_DATA:
        shutil.copy2(source / "data" / name, out / "data" / name)
        shared.update(quad.subject for quad in ox.parse(path=str(source / "data" / name),
                                                        format=ox.RdfFormat.TURTLE,
                                                        base_iri="https://w3id.org/coprod-kg/"))
    shared = frozenset(shared)
    triples = []
    for path in copied_files(source):
        for quad in ox.parse(path=str(path), format=ox.RdfFormat.TURTLE,
                             base_iri="https://w3id.org/coprod-kg/"):
            triples.append(ox.Triple(quad.subject, quad.predicate, quad.object))
    triples = _scaled(triples, k)
    for copy in range(1, k + 1):
        rename = _renamer(copy, shared)
        renamed = [ox.Triple(rename(t.subject), t.predicate, rename(t.object)) for t in triples]
        ox.serialize(renamed, output=str(out / "data" / "copies" / f"copy-{copy:04d}.ttl"),
                     format=ox.RdfFormat.TURTLE, prefixes=PREFIXES)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("k", type=int, help="how many copies of the studies")
    parser.add_argument("out", type=Path, help="the folder to write (replaced)")
    parser.add_argument("--source", type=Path, default=ROOT, help="the project to copy")
    args = parser.parse_args(argv)
    generate(args.k, args.out, args.source)
    print(f"wrote {args.out} with {args.k} copies")
    return 0


if __name__ == "__main__":
    sys.exit(main())
