"""Generate the documentation that must not drift: the query table, the vocabulary, the CLI help."""

from __future__ import annotations

import re
from pathlib import Path

from .project import Project

QUERY_START, QUERY_END = "<!-- queries:start -->", "<!-- queries:end -->"
STATS_START, STATS_END = "<!-- stats:start -->", "<!-- stats:end -->"
PATHS_START, PATHS_END = "<!-- paths-picture:start -->", "<!-- paths-picture:end -->"
GAP_START, GAP_END = "<!-- gap-picture:start -->", "<!-- gap-picture:end -->"


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


def _alt(text: str) -> str:
    return text.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")


def picture_blocks(project: Project) -> dict[tuple[str, str], str]:
    """The README's pictures with their alt text, and the sentence on the gap map, counted from
    the graph (the same words as each SVG's <desc>), so that no count or cell can drift."""
    from .cache import open_store
    from .paths import build_graph, rolled_up
    from .viz import count_word, gap_description, gap_map_data, path_description

    store = open_store(project)
    gap = gap_map_data(store)
    paths = f"![{_alt(path_description(rolled_up(build_graph(store))))}](docs/img/paths.svg)\n"
    principles, groups = count_word(len(gap["principles"])), len(gap["groups"])
    gaps = (f"The evidence gap map: {principles} principles against {groups} outcome groups.\n"
            "Each cell counts the studies coded with the principle that report an outcome in the\n"
            "group; a red 0 is a real gap (the graph holds no such evidence), and a hatched circle\n"
            "is filled only by curated codings or placements.\n\n"
            f"![{_alt(gap_description(gap))}](docs/img/gap-map.svg)\n")
    return {(PATHS_START, PATHS_END): paths, (GAP_START, GAP_END): gaps}


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

    def section(title: str, kinds, extra, own: bool = False) -> list[str]:
        terms = sorted({t for kind in kinds for t in graph.subjects(RDF.type, kind)
                        if isinstance(t, URIRef) and (not own or str(t).startswith(COPROD))},
                       key=lambda t: (not str(t).startswith(COPROD), str(t)))
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

    out += ["", "The controlled lists (every concept scheme, its concepts, and where each outcome is "
            "placed) are on [schemes.md](schemes.md).", ""]
    out += section("Classes", [OWL.Class], class_axioms)
    out += section("Object properties", [OWL.ObjectProperty], property_axioms)
    out += section("Datatype properties", [OWL.DatatypeProperty], property_axioms)
    # Only coprod's own: the others (skos:definition, dcterms:title...) are declared to annotate.
    out += section("Annotation properties", [OWL.AnnotationProperty], property_axioms,
                   own=True)
    return "\n".join(out).rstrip() + "\n"


FIGURE_QUERY = """PREFIX coprod: <https://w3id.org/coprod-kg/ontology#>
PREFIX qudt: <http://qudt.org/schema/qudt/>
PREFIX oa: <http://www.w3.org/ns/oa#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX measure: <https://w3id.org/coprod-kg/id/measure/>
PREFIX outcome: <https://w3id.org/coprod-kg/id/outcome/>
SELECT ?study ?finding ?value ?unit ?text ?line WHERE {
  ?finding coprod:measure measure:relative-change ;
           coprod:outcome/skos:broaderTransitive* outcome:reduced-hospitalisation ;
           coprod:aboutStudy ?study ; qudt:numericValue ?value ; qudt:unit ?unit ;
           coprod:hasQuote ?quote .
  ?quote oa:exact ?text ; coprod:sourceLine ?line .
}"""


def _cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def units(graph) -> list:
    """Each QUDT unit the findings use, with how many findings use it."""
    from rdflib import URIRef

    counts: dict = {}
    for unit in graph.objects(None, URIRef("http://qudt.org/schema/qudt/unit")):
        counts[unit] = counts.get(unit, 0) + 1
    return sorted(counts.items(), key=lambda item: str(item[0]))


def schemes_page(project: Project) -> str:
    """docs/schemes.md: every concept scheme of the data, its concepts, and outcome placements."""
    from rdflib import Literal, URIRef
    from rdflib.namespace import RDF, RDFS, SKOS

    from .load import load_project
    from .namespace import COPROD

    graph = load_project(project).graph
    coprod = lambda name: URIRef(COPROD + name)  # noqa: E731
    short = lambda term: f"`{_short(graph, term)}`"  # noqa: E731

    def text(term, *predicates) -> str:
        for predicate in predicates:
            values = sorted(str(v) for v in graph.objects(term, predicate)
                            if isinstance(v, Literal) and v.language in (None, "en"))
            if values:
                return values[0]
        return ""

    placements: dict = {}
    for link in graph.subjects(RDF.type, coprod("OutcomePlacement")):
        outcome, target = graph.value(link, coprod("placesOutcome")), graph.value(link, coprod("placedIn"))
        status = graph.value(link, coprod("status"))
        lines = sorted(int(graph.value(q, coprod("sourceLine"))) for q in graph.objects(link, coprod("hasQuote")))
        where = f"{status.split('/')[-1] if status else '?'}"
        if lines and status and status.endswith("/stated"):
            where += f", line {lines[0]}"
        placements.setdefault(outcome, []).append(f"{short(target)} ({where})")

    schemes = sorted(graph.subjects(RDF.type, SKOS.ConceptScheme), key=str)
    out = ["# The controlled lists of coprod-kg", "",
           "Generated from `data/*.ttl` by `coprod-kg docs`; do not edit by hand. Every controlled "
           "list is a SKOS concept scheme; this page lists each scheme and every concept in it, with "
           "the IRI to use in a query (the prefixes are on [vocabulary.md](vocabulary.md)).", "",
           "## Writing a query for a figure", "",
           "Every figure the report prints is a `coprod:Finding`: `coprod:aboutStudy` names the study "
           "(or `coprod:aboutReview` the report itself), `coprod:outcome` an outcome and "
           "`coprod:measure` a measure from the lists below, `qudt:numericValue` the number and "
           "`qudt:unit` its unit, with `coprod:baselineValue`, `coprod:followUpValue`, "
           "`coprod:valueQualifier`, `coprod:direction` and `coprod:timeframe` where the report gives "
           "them. `coprod:hasQuote` leads to the verbatim `oa:exact` text and its `coprod:sourceLine`. "
           "Narrower outcomes sit under broader ones with `skos:broader`, so ask for "
           "`coprod:outcome/skos:broaderTransitive*` to include them; narrower outcomes inherit the "
           "placements of broader ones. For example, every relative change in hospital use, with "
           "the quote behind it:",
           "", "```sparql", FIGURE_QUERY, "```", "",
           "Every claim carries `coprod:status`: `status:stated` (the report says it; the quotes show "
           "where) or `status:curated` (a curator inferred it; `coprod:rationale` says why). An "
           "outcome's own status covers the outcome and its place under its broader outcome: stated "
           "when the report's synthesis names it there. Each of its theme, need and component "
           "placements is a `coprod:OutcomePlacement` (`link:` node) with its own status, shown in "
           "the placements column below; an inherited placement is stated only if the broader "
           "placement and every outcome on the way down are stated.", "",
           "Units in use on findings (QUDT): "
           + ", ".join(f"`{_short(graph, u)}` ({n})" for u, n in units(graph)) + ".", "",
           "## The schemes", ""]
    out += [f"- [{text(s, SKOS.prefLabel, RDFS.label)}](#{_short(graph, s).replace(':', '')}) "
            f"({short(s)})" for s in schemes]
    for scheme in schemes:
        concepts = sorted(set(graph.subjects(SKOS.inScheme, scheme)),
                          key=lambda c: (text(c, SKOS.notation).zfill(4), str(c)))
        has_placements = any(c in placements for c in concepts)
        out += ["", f'<a id="{_short(graph, scheme).replace(":", "")}"></a>', "",
                f"### {text(scheme, SKOS.prefLabel, RDFS.label)} ({short(scheme)})", "",
                _cell(text(scheme, SKOS.definition, RDFS.comment)), "",
                f"{len(concepts)} concepts."
                + (" Placements: theme, need or component, then status (and the line of the "
                   "report that states it)." if has_placements else ""), ""]
        header = ["concept", "label", "definition", "notation", "broader"]
        if has_placements:
            header.append("placements")
        out += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for concept in concepts:
            broader = ", ".join(sorted(short(b) for b in graph.objects(concept, SKOS.broader)))
            row = [short(concept), _cell(text(concept, SKOS.prefLabel, RDFS.label)),
                   _cell(text(concept, SKOS.definition)), _cell(text(concept, SKOS.notation)), broader]
            if has_placements:
                row.append("; ".join(sorted(placements.get(concept, []))))
            out.append("| " + " | ".join(row) + " |")
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
    text = replace_between(readme.read_text(encoding="utf-8"), QUERY_START, QUERY_END,
                           query_table(project))
    text = replace_between(text, STATS_START, STATS_END, stats_table(project))
    for (start, end), block in picture_blocks(project).items():
        text = replace_between(text, start, end, block)
    return {
        readme: text,
        project.root / "docs" / "vocabulary.md": vocabulary_page(project),
        project.root / "docs" / "schemes.md": schemes_page(project),
        project.root / "docs" / "cli.md": cli_reference(),
    }
