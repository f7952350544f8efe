"""Turn a study file of the graph into a template (the data ``templates`` writes)."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from pathlib import Path

from rdflib import BNode, Literal, URIRef
from rdflib.namespace import RDF, XSD

from ..namespace import ID, PREFIXES
from ..project import InputError
from .locate import locate
from .profile import (HAS_QUOTE, IN_SECTION, KIND_ORDER, OA_EXACT, SOURCE_LINE,
                      Field, Profile, curie, kind_of, plural)
from .sources import Source


def render_value(field: Field, term):
    """A term as a template value: a slug, a number, a string, or an explicit mapping."""
    if isinstance(term, URIRef):
        if not field.iri_values:
            return {"iri": curie(term)}
        text = str(term)
        if field.namespace and text.startswith(field.namespace):
            rest = text[len(field.namespace):]
            if rest and "/" not in rest and "#" not in rest and ":" not in rest:
                return rest
        return curie(term)
    if not isinstance(term, Literal):
        raise InputError("(graph)", f"a blank node cannot be written in a template ({term})")
    lexical = str(term)
    if field.iri_values:
        return _explicit(term)
    if term.datatype == XSD.integer and str(int(lexical)) == lexical:
        return int(lexical)
    if term.datatype == XSD.decimal and "." in lexical and Decimal(lexical).is_finite():
        return Decimal(lexical)
    if term.language == field.lang and term.datatype == field.datatype and \
            not (field.numeric and term.datatype is None):
        return lexical
    return _explicit(term)


def _explicit(term: Literal) -> dict:
    if term.language:
        return {"value": str(term), "lang": term.language}
    if term.datatype is not None:
        return {"value": str(term), "datatype": curie(term.datatype)}
    return {"value": str(term)}


def quote_hints(source: Source | None, text: str, line: int | None,
                section: URIRef | None) -> dict:
    """The hints an importer needs to place this quote where it is (none when it is obvious)."""
    if source is None or not source.available:
        return {"section": _slug(section), "line": line}
    location = locate(source, text)
    matches = location.matches
    default = matches[0] if len(matches) == 1 else None
    if default is not None and default.line == line and \
            default.section is not None and default.section.iri == section:
        return {}
    in_section = [m for m in matches if any(s.iri == section and s.holds(m.line)
                                            for s in source.sections)]
    if len(in_section) == 1 and in_section[0].line == line:
        return {"section": _slug(section)}
    at_line = [m for m in matches if m.line == line]
    if at_line and at_line[0].section is not None and at_line[0].section.iri == section:
        return {"line": line}
    return {"section": _slug(section), "line": line}


def _slug(term) -> str | None:
    return None if term is None else str(term).rsplit("/", 1)[-1]


def export_study(loaded, profile: Profile, path: Path, source: Source | None) -> dict:
    """The template data of one study file: every triple it holds, placed under its node."""
    triples = loaded.by_file[path]
    typed = []
    for s, p, o in triples:
        if p == RDF.type and kind_of(s) and s not in typed:
            typed.append(s)
    nodes = set(typed)
    nested = {s for s, _, _ in triples if isinstance(s, BNode)}
    props = defaultdict(list)  # node -> [(key, field, value term)]
    leftovers = []
    for s, p, o in triples:
        if s in nodes or s in nested:
            if p != RDF.type:
                props[s].append((profile.fields[p], o))
            continue
        inverse = next((f for f in profile.fields.values() if f.inverse_of == p), None)
        if o in nodes and inverse is not None:
            props[o].append((inverse, s))
        else:
            leftovers.append(" ".join(t.n3() for t in (s, p, o)) + " .")
    quotes_here = [n for n in typed if kind_of(n)[0] == "quote"]
    emitted: set = set()
    sections: dict[str, list] = {}

    def entry_for(node) -> dict:
        if isinstance(node, BNode):
            kind, entry, cls = "", {}, None
        else:
            kind, slug = kind_of(node)
            entry, cls = {"slug": slug}, profile.kind(kind).cls
        types = [o for s, p, o in triples if s == node and p == RDF.type]
        if types != [cls] and (types or cls is not None):
            entry["type"] = [curie(t).removeprefix("coprod:") for t in types]
        grouped: dict = {}
        for info, value in props[node]:
            info = profile.field_in(kind, info)
            grouped.setdefault(info.key, (info, []))[1].append(value)
        if kind == "quote":
            text = next((v for i, v in props[node] if i.iri == OA_EXACT), None)
            line = next((v for i, v in props[node] if i.iri == SOURCE_LINE), None)
            section = next((v for i, v in props[node] if i.iri == IN_SECTION), None)
            if text is not None:
                entry["text"] = str(text)
                hints = quote_hints(source, str(text), int(line) if line is not None else None,
                                    section)
                entry.update({k: v for k, v in hints.items() if v is not None})
                for key in ("text", "line", "section"):
                    grouped.pop(key, None)
                if line is None:
                    entry.pop("line", None)
        for key, (info, values) in grouped.items():
            if any(isinstance(v, BNode) for v in values):
                rendered = [entry_for(v) if v in nested else render_value(info, v) for v in values]
                entry[key] = rendered[0] if len(rendered) == 1 and not info.multi else rendered
                continue
            if info.iri == HAS_QUOTE or info.namespace == ID + "quote/":
                rendered = []
                for value in values:
                    if value in quotes_here and value not in emitted:
                        emitted.add(value)
                        rendered.append(entry_for(value))
                    else:
                        rendered.append(render_value(info, value))
                entry[key] = rendered
                continue
            rendered = [render_value(info, v) for v in values]
            entry[key] = rendered[0] if len(rendered) == 1 and not info.multi else rendered
        return entry

    for kind in [*KIND_ORDER, *sorted({kind_of(n)[0] for n in typed} - set(KIND_ORDER))]:
        if kind == "quote":
            continue
        entries = [entry_for(n) for n in typed if kind_of(n)[0] == kind]
        if entries:
            sections[plural(kind)] = entries
    rest = [entry_for(q) for q in quotes_here if q not in emitted]
    if rest:
        sections["quotes"] = rest
    data = {"source": source.slug if source is not None else None, **sections}
    if leftovers:
        data["triples"] = leftovers
    return data


def source_of_file(loaded, path: Path, sources: dict) -> Source | None:
    """The source most of a file's quotes are taken from."""
    counts: dict = defaultdict(int)
    graph = loaded.graph
    for s, p, o in loaded.by_file[path]:
        if p == IN_SECTION:
            document = graph.value(o, URIRef("http://purl.org/dc/terms/isPartOf"))
            if document in sources:
                counts[document] += 1
    if not counts:
        return None
    return sources[max(counts, key=lambda d: (counts[d], str(d)))]


def study_file(loaded, project, slug: str) -> Path:
    """The data file that defines study:slug. Raises InputError naming the studies there are."""
    import difflib

    study = URIRef(PREFIXES["study"] + slug)
    for path, triples in loaded.by_file.items():
        if (study, RDF.type, URIRef(PREFIXES["coprod"] + "ReviewedStudy")) in triples:
            return path
    slugs = sorted(str(s).rsplit("/", 1)[-1] for s in loaded.graph.subjects(
        RDF.type, URIRef(PREFIXES["coprod"] + "ReviewedStudy")))
    close = difflib.get_close_matches(slug, slugs, n=1)
    hint = f"; did you mean `{close[0]}`?" if close else ""
    raise InputError(slug, f"no study `{slug}` in the graph{hint} (studies: {', '.join(slugs)})")


BLANK_KINDS = ("study", "initiative", "place", "finding", "coding", "placement")


def _wrap(text: str, width: int = 96, indent: str = "    ") -> list[str]:
    import textwrap

    return textwrap.wrap(text, width, subsequent_indent=indent, break_on_hyphens=False)


def blank_template(profile: Profile, sources: dict, slug: str) -> tuple[dict, dict, list[str]]:
    """An empty template for a new study: its data, end-of-line comments and header lines."""
    header = [f"coprod-kg study template for `{slug}`.",
              "Fill in the fields, delete the ones that do not apply (and the example entries you",
              f"do not need), then run: coprod-kg import {slug}.yaml",
              "Quotes are text pasted from the source: the importer finds their line and section.",
              "Values that name something in the graph are slugs (`networks`, not",
              "`principle:networks`); the allowed slugs are listed below. See docs/curation.md.",
              "", "Allowed values, from the graph:"]
    listed = set()
    for kind in BLANK_KINDS:
        kp = profile.kind(kind)
        for key in kp.fields:
            info = profile.field_for(key)
            if info is None or not info.allowed or info.iri == HAS_QUOTE or key in listed:
                continue
            listed.add(key)
            values = [render_value(info, v) for v in info.allowed]
            header += _wrap(f"  {key} ({info.allowed_name}): {', '.join(map(str, values))}",
                            indent="      ")
    data: dict = {"source": next(iter(sorted(s.slug for s in sources.values())), None)}
    comments: dict = {("source",): "The source the quotes come from: "
                      + ", ".join(sorted(s.slug for s in sources.values()))
                      + ";\nor a mapping describing a new source (slug, label, text, sections):"
                        " see docs/curation.md."}
    examples = {"study": slug, "initiative": slug, "place": slug + "-place",
                "finding": slug + "-finding-1", "coding": slug + "-networks",
                "placement": slug}
    for kind in BLANK_KINDS:
        kp = profile.kind(kind)
        entry: dict = {"slug": examples[kind]}
        path = (plural(kind), 0)
        comments[(*path, "slug")] = "required: lower-case words joined by hyphens"
        for key in kp.fields:
            info = profile.field_for(key)
            if info is None or info.inverse_of is not None:
                continue
            if info.iri == HAS_QUOTE:
                entry[key] = [{"text": ""}]
                comments[(*path, key)] = ("required; " if key in kp.required else "") + \
                    "one item per quote: `- text: pasted text` (or the slug of a quote)"
                continue
            entry[key] = [] if info.multi else None
            what = []
            if key in kp.required:
                what.append("required")
            if info.allowed:
                what.append(f"one of the {key} values listed at the top")
            elif info.numeric:
                what.append("a number")
            elif info.datatype is not None:
                what.append(f"a {curie(info.datatype)}")
            if info.label and not info.allowed:
                what.append(info.label)
            comments[(*path, key)] = "; ".join(what)
        if kind == "study":
            entry["evaluates"] = slug
        if kind == "coding":
            entry["codedStudy"] = slug
        if kind == "finding":
            entry["aboutStudy"] = slug
        data[plural(kind)] = [entry]
    return data, comments, header
