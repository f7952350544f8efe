"""Generate the documentation that must not drift: the query table, the vocabulary, the CLI help."""

from __future__ import annotations

import re
from pathlib import Path

from .project import Project

QUERY_START, QUERY_END = "<!-- queries:start -->", "<!-- queries:end -->"
STATS_START, STATS_END = "<!-- stats:start -->", "<!-- stats:end -->"


def query_table(project: Project) -> str:
    """A Markdown table of every report question and check, read from the .rq headers."""
    from .query import discover

    lines = ["| query | question | report section | parameters |", "|---|---|---|---|"]
    for query in discover(project.queries_dir):
        params = ", ".join(f"`{p.name}` ({p.kind})" for p in query.params) or "-"
        lines.append(f"| `{query.name}`: {query.title} | {query.question} | {query.section} | "
                     f"{params} |")
    lines += ["", "Quality checks (`coprod-kg check`; each passes if it returns no rows):", "",
              "| check | problem | fix | severity |", "|---|---|---|---|"]
    for check in discover(project.checks_dir):
        header = check.header
        lines.append(f"| `{check.name}` | {header.get('problem', '')} | {header.get('fix', '')} "
                     f"| {header.get('severity', 'error')} |")
    return "\n".join(lines) + "\n"


def replace_between(text: str, start: str, end: str, content: str) -> str:
    """``text`` with what stands between the markers replaced by ``content``.

    Raises ValueError if the markers are missing.
    """
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    if not pattern.search(text):
        raise ValueError(f"README.md lacks the {start} ... {end} markers")
    return pattern.sub(lambda _: f"{start}\n{content}{end}", text)


def stats_table(project: Project) -> str:
    """What the graph holds, counted from the reasoned store."""
    from .build import count_instances
    from .cache import open_store

    store = open_store(project)
    lines = ["| | count |", "|---|---|"]
    lines += [f"| {name} | {number} |" for name, number in count_instances(store).items()]
    lines.append(f"| triples, asserted and inferred | {len(store)} |")
    return "\n".join(lines) + "\n"


def _short(graph, term) -> str:
    try:
        return term.n3(graph.namespace_manager)
    except Exception:  # an IRI that cannot be shortened is shown whole
        return f"<{term}>"


def vocabulary_page(project: Project) -> str:
    """docs/vocabulary.md: namespace, prefixes, and every class and property of the ontology."""
    from rdflib import URIRef
    from rdflib.namespace import OWL, RDF, RDFS, SKOS

    from .load import load
    from .namespace import COPROD, ID, ONTOLOGY_IRI, PREFIXES

    graph = load(project.ontology_files).graph
    ontology = URIRef(ONTOLOGY_IRI)
    version = graph.value(ontology, OWL.versionIRI)
    out = ["# The coprod-kg vocabulary", "",
           "Generated from `ontology/coprod.ttl` by `coprod-kg docs`; do not edit by hand.", "",
           f"- Ontology: `{ONTOLOGY_IRI}` (version `{version}`)",
           f"- Terms: `{COPROD}` (preferred prefix `coprod:`)",
           f"- Instances: `{ID}<kind>/<slug>`, one prefix per kind (below)",
           "- The base is a w3id.org permanent identifier that is not registered yet: the IRIs "
           "are stable names but do not resolve today.", "",
           "## Prefixes", "", "| prefix | namespace |", "|---|---|"]
    out += [f"| `{prefix}:` | `{iri}` |" for prefix, iri in sorted(PREFIXES.items())]

    def describe(term) -> str:
        label = graph.value(term, RDFS.label) or ""
        definition = graph.value(term, SKOS.definition) or ""
        return f"{label}: {definition}".replace("|", "\\|")

    def section(title: str, kinds, extra) -> list[str]:
        terms = sorted({t for kind in kinds for t in graph.subjects(RDF.type, kind)
                        if isinstance(t, URIRef)}, key=lambda t: (not str(t).startswith(COPROD), str(t)))
        rows = [f"## {title}", "", "| term | meaning | axioms |", "|---|---|---|"]
        for term in terms:
            rows.append(f"| `{_short(graph, term)}` | {describe(term)} | {extra(term)} |")
        return rows + [""]

    def class_axioms(term) -> str:
        parents = [f"`{_short(graph, p)}`" for p in graph.objects(term, RDFS.subClassOf)
                   if isinstance(p, URIRef)]
        return "subclass of " + ", ".join(sorted(parents)) if parents else ""

    def property_axioms(term) -> str:
        bits = []
        for name, predicate in (("domain", RDFS.domain), ("range", RDFS.range),
                                ("sub-property of", RDFS.subPropertyOf),
                                ("inverse of", OWL.inverseOf)):
            values = sorted(f"`{_short(graph, v)}`" for v in graph.objects(term, predicate)
                            if isinstance(v, URIRef))
            if values:
                bits.append(f"{name} {', '.join(values)}")
        for chain in graph.objects(term, OWL.propertyChainAxiom):
            steps = " ∘ ".join(f"`{_short(graph, s)}`" for s in graph.items(chain))
            bits.append(f"chain {steps}")
        return "; ".join(bits)

    out += [""]
    out += section("Classes", [OWL.Class], class_axioms)
    out += section("Object properties", [OWL.ObjectProperty], property_axioms)
    out += section("Datatype properties", [OWL.DatatypeProperty], property_axioms)
    return "\n".join(out).rstrip() + "\n"


def cli_reference() -> str:
    """docs/cli.md: the real --help of every command."""
    import contextlib
    import io
    import os

    from .cli import COMMANDS, main

    def help_of(argv: list[str]) -> str:
        buffer = io.StringIO()
        saved = os.environ.get("COLUMNS")
        os.environ["COLUMNS"] = "100"  # argparse wraps to the terminal; fix the width
        try:
            with contextlib.redirect_stdout(buffer):
                main([*argv, "--help"])
        finally:
            if saved is None:
                del os.environ["COLUMNS"]
            else:
                os.environ["COLUMNS"] = saved
        return buffer.getvalue().rstrip()

    out = ["# coprod-kg command reference", "",
           "Generated from the real `--help` by `coprod-kg docs`; do not edit by hand.", "",
           "```", help_of([]), "```", ""]
    for name in COMMANDS:
        out += [f"## coprod-kg {name}", "", "```", help_of([name]), "```", ""]
    return "\n".join(out).rstrip() + "\n"


def generated_files(project: Project) -> dict[Path, str]:
    """Every generated document and its expected content."""
    readme = project.root / "README.md"
    return {
        readme: replace_between(
            replace_between(readme.read_text(encoding="utf-8"), QUERY_START, QUERY_END,
                            query_table(project)),
            STATS_START, STATS_END, stats_table(project)),
        project.root / "docs" / "vocabulary.md": vocabulary_page(project),
        project.root / "docs" / "cli.md": cli_reference(),
    }
