"""The ontology as HTML: one page per class, property and concept, with examples from the data.

Pages are rendered by Jinja2 with autoescaping on, so any label or definition, whatever it
holds, shows as text. Links between pages are relative, so the folder works offline.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from jinja2 import Environment, select_autoescape
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, SKOS

from ..namespace import PREFIXES

EXAMPLES = 5
KIND_OF = {OWL.Class: "class", OWL.ObjectProperty: "property", OWL.DatatypeProperty: "property",
           OWL.AnnotationProperty: "property"}
KIND_TITLE = {"class": "Classes", "property": "Properties", "concept": "Concepts"}


@dataclass
class Term:
    iri: URIRef
    kind: str                    # class, property or concept
    curie: str
    label: str
    definition: str
    page: str                    # path relative to the docs root
    facts: list[tuple[str, list]] = field(default_factory=list)   # (heading, [link or text])
    examples: list[tuple] = field(default_factory=list)           # (subject, predicate, object)


def curie(term) -> str:
    """``coprod:Finding`` for a term under a known prefix, else the IRI."""
    text = str(term)
    best = ""
    for prefix, namespace in PREFIXES.items():
        if text.startswith(namespace) and len(namespace) > len(best):
            best, chosen = namespace, prefix
    return f"{chosen}:{text[len(best):]}" if best else text


def _slug(term) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", curie(term).replace(":", "-")).strip("-") or "term"


def _text(graph: Graph, node, *predicates) -> str:
    for predicate in predicates:
        values = sorted((v for v in graph.objects(node, predicate) if isinstance(v, Literal)),
                        key=lambda v: (v.language != "en", str(v)))
        if values:
            return str(values[0])
    return ""


def collect_terms(ontology: Graph, data: Graph) -> list[Term]:
    """Every named class and property of the ontology and every SKOS concept of the data."""
    terms: dict[URIRef, Term] = {}
    for kind_class, kind in KIND_OF.items():
        for node in ontology.subjects(RDF.type, kind_class):
            if isinstance(node, URIRef) and node not in terms:
                terms[node] = Term(node, kind, curie(node), "", "", "")
    for node in data.subjects(RDF.type, SKOS.Concept):
        if isinstance(node, URIRef) and node not in terms:
            terms[node] = Term(node, "concept", curie(node), "", "", "")
    both = ontology + data
    for term in terms.values():
        term.label = _text(both, term.iri, RDFS.label, SKOS.prefLabel) or term.curie
        term.definition = _text(both, term.iri, SKOS.definition, RDFS.comment)
        term.page = f"{term.kind}/{_slug(term.iri)}.html"
    return sorted(terms.values(), key=lambda t: (t.kind, t.curie))


def _fill(terms: list[Term], ontology: Graph, data: Graph) -> None:
    by_iri = {t.iri: t for t in terms}

    def ref(node):
        if node in by_iri:
            return {"href": by_iri[node].page, "text": by_iri[node].curie}
        if isinstance(node, Literal):
            return {"text": str(node)}
        return {"text": curie(node) if isinstance(node, URIRef) else "(blank node)"}

    def related(node, predicate, inverse=False):
        found = ontology.subjects(predicate, node) if inverse else ontology.objects(node, predicate)
        return [ref(n) for n in sorted(found, key=str) if not isinstance(n, BNode)]

    for term in terms:
        node = term.iri
        if term.kind == "class":
            facts = [("Subclass of", related(node, RDFS.subClassOf)),
                     ("Subclasses", related(node, RDFS.subClassOf, inverse=True)),
                     ("Domain of", related(node, RDFS.domain, inverse=True)),
                     ("Range of", related(node, RDFS.range, inverse=True))]
            term.examples = [(ref(m), ref(RDF.type), ref(node))
                             for m in _members(ontology, data, node)[:EXAMPLES]]
        elif term.kind == "property":
            kinds = [ref(k) for k in sorted(ontology.objects(node, RDF.type), key=str)]
            facts = [("Kind", kinds), ("Domain", related(node, RDFS.domain)),
                     ("Range", related(node, RDFS.range)),
                     ("Sub-property of", related(node, RDFS.subPropertyOf)),
                     ("Inverse of", related(node, OWL.inverseOf)),
                     ("Derived through chains", _chains(ontology, node))]
            uses = sorted(((s, o) for s, o in data.subject_objects(node)
                           if not isinstance(s, BNode)), key=lambda so: (str(so[0]), str(so[1])))
            term.examples = [(ref(s), ref(node), ref(o)) for s, o in uses[:EXAMPLES]]
        else:
            facts = [("In scheme", [ref(s) for s in sorted(data.objects(node, SKOS.inScheme), key=str)]),
                     ("Broader", [ref(b) for b in sorted(data.objects(node, SKOS.broader), key=str)]),
                     ("Narrower", [ref(n) for n in sorted(data.subjects(SKOS.broader, node), key=str)]),
                     ("Types", [ref(t) for t in sorted(data.objects(node, RDF.type), key=str)])]
            uses = sorted(((s, p) for s, p in data.subject_predicates(node)
                           if p not in (SKOS.broader, RDF.type) and not isinstance(s, BNode)),
                          key=lambda sp: (str(sp[1]), str(sp[0])))
            term.examples = [(ref(s), ref(p), ref(node)) for s, p in _varied(uses, 1)]
        term.facts = [(heading, items) for heading, items in facts if items]


def _members(ontology: Graph, data: Graph, node) -> list:
    """The named members of a class, its own first: those of none of its named subclasses.

    In the reasoned graph a class holds every member of its subclasses too (a SynthesisClaim is
    a Finding), and their IRIs may sort first; the page should show the class's own kind first.
    """
    below = {c for c in ontology.transitive_subjects(RDFS.subClassOf, node)
             if c != node and isinstance(c, URIRef)}
    members = sorted((m for m in data.subjects(RDF.type, node) if isinstance(m, URIRef)), key=str)
    own = [m for m in members if not any((m, RDF.type, c) in data for c in below)]
    mixed = set(members) - set(own)
    return own + [m for m in members if m in mixed]


def _varied(rows: list[tuple], column: int) -> list[tuple]:
    """Up to EXAMPLES sorted rows, taking one per distinct value of ``column`` first."""
    seen, first, rest = set(), [], []
    for row in rows:
        (rest if row[column] in seen else first).append(row)
        seen.add(row[column])
    return (first + rest)[:EXAMPLES]


def _chains(ontology: Graph, node) -> list[dict]:
    from rdflib.collection import Collection

    chains = []
    for head in ontology.objects(node, OWL.propertyChainAxiom):
        steps = [curie(step) for step in Collection(ontology, head)]
        chains.append({"text": " ∘ ".join(steps)})
    return sorted(chains, key=lambda c: c["text"])


PAGE = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ term.label }} ({{ term.curie }}) · coprod-kg ontology {{ version }}</title>
<link rel="stylesheet" href="{{ root }}style.css"></head>
<body><main>
<p><a href="{{ root }}index.html">coprod-kg ontology {{ version }}</a> › {{ kind_title }}</p>
<h1>{{ term.label }}</h1>
<p class="iri"><code>{{ term.curie }}</code> · <code>{{ term.iri }}</code></p>
{% if term.definition %}<p class="definition">{{ term.definition }}</p>{% endif %}
{% if term.facts %}<dl>
{% for heading, items in term.facts %}<dt>{{ heading }}</dt>
<dd>{% for item in items %}{% if item.href %}<a href="{{ root }}{{ item.href }}">{{ item.text }}</a>{% else %}<code>{{ item.text }}</code>{% endif %}{% if not loop.last %}, {% endif %}{% endfor %}</dd>
{% endfor %}</dl>{% endif %}
<h2>Examples from the data</h2>
{% if term.examples %}<table><thead><tr><th scope="col">subject</th><th scope="col">property</th><th scope="col">value</th></tr></thead><tbody>
{% for row in term.examples %}<tr>{% for cell in row %}<td>{% if cell.href %}<a href="{{ root }}{{ cell.href }}">{{ cell.text }}</a>{% else %}{{ cell.text }}{% endif %}</td>{% endfor %}</tr>
{% endfor %}</tbody></table>
{% else %}<p>The data does not use this term yet.</p>{% endif %}
</main></body></html>
"""

INDEX = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>coprod-kg ontology {{ version }}</title><link rel="stylesheet" href="style.css"></head>
<body><main>
<h1>coprod-kg ontology {{ version }}</h1>
<p><code>{{ ontology_iri }}</code>{% if version_iri %} (version <code>{{ version_iri }}</code>){% endif %}</p>
{% if description %}<p>{{ description }}</p>{% endif %}
{% for kind, terms in groups %}<h2>{{ kind }} ({{ terms|length }})</h2>
<ul>{% for term in terms %}<li><a href="{{ term.page }}">{{ term.label }}</a> <code>{{ term.curie }}</code></li>
{% endfor %}</ul>
{% endfor %}
</main></body></html>
"""

STYLE = """body { font-family: system-ui, sans-serif; line-height: 1.5; color: #1a1a1a; }
main { max-width: 60rem; margin: 0 auto; padding: 1rem; }
code { font-size: 0.9em; overflow-wrap: anywhere; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #999; padding: 0.25rem 0.5rem; text-align: left; vertical-align: top; }
a { color: #0645ad; }
dt { font-weight: bold; }
"""


def render(ontology: Graph, data: Graph, version: str) -> dict[str, str]:
    """Every page of the documentation: relative path -> HTML text."""
    environment = Environment(autoescape=select_autoescape(default=True, default_for_string=True),
                              trim_blocks=True, keep_trailing_newline=True)
    terms = collect_terms(ontology, data)
    _fill(terms, ontology, data)
    page = environment.from_string(PAGE)
    pages = {"style.css": STYLE}
    for term in terms:
        pages[term.page] = page.render(term=term, version=version, root="../",
                                       kind_title=KIND_TITLE[term.kind])
    header = next(iter(ontology.subjects(RDF.type, OWL.Ontology)), None)
    groups = [(KIND_TITLE[kind], [t for t in terms if t.kind == kind])
              for kind in ("class", "property", "concept")]
    pages["index.html"] = environment.from_string(INDEX).render(
        version=version, ontology_iri=str(header or ""), groups=groups,
        version_iri=str(ontology.value(header, OWL.versionIRI) or "") if header else "",
        description=_text(ontology, header, URIRef("http://purl.org/dc/terms/description"))
        if header else "")
    return pages


def write_docs(ontology: Graph, data: Graph, version: str, out: Path) -> list[Path]:
    """Write the pages under ``out`` (atomically, file by file)."""
    from ..atomic import write_atomic

    return [write_atomic(out / name, text)
            for name, text in sorted(render(ontology, data, version).items())]
