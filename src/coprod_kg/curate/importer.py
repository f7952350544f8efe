"""Turn a template into a study file: resolve slugs and quotes, validate, then write atomically.

Nothing is written under ``data/`` unless the whole template resolves, every quote is found in
its source, and the new file passes the shapes with the rest of the graph loaded beside it.
"""

from __future__ import annotations

import difflib
import re
import tempfile
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDF, RDFS, XSD

from ..namespace import COPROD, ID, PREFIXES
from ..project import InputError, Project
from .locate import describe, locate
from .profile import (HAS_QUOTE, IN_SECTION, KIND_ORDER, OA_EXACT, SOURCE_LINE, Field, Profile,
                      curie, kind_of, plural)
from .sources import (SHARED_TEXT_FILE, SOURCE_DOCUMENT, TEXT_FILE, TEXT_SHA256, Section, Source,
                      SourceText, normalise, sha256_of, sources_of)
from .templates import DECIMAL, INTEGER, Document, TemplateError, read_template

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
FABIO_REPORT = URIRef("http://purl.org/spar/fabio/ReportDocument")
REPORT_SECTION = URIRef(COPROD + "ReportSection")
FIRST_LINE, LAST_LINE = URIRef(COPROD + "firstLine"), URIRef(COPROD + "lastLine")
CODED_FROM = URIRef(COPROD + "codedFrom")
SOURCE_FIELDS = {"slug", "label", "title", "creator", "issued", "publisher",
                 "bibliographicCitation", "text", "shared", "sha256", "sections", "comment"}


@dataclass
class Context:
    """The project graph without the file being replaced, and what the template defines."""

    project: Project
    loaded: object
    profile: Profile
    document: Document
    problems: list[str] = field(default_factory=list)
    defined: dict[URIRef, tuple] = field(default_factory=dict)  # node -> template path

    def fail(self, path: tuple, message: str) -> None:
        self.problems.append(f"{self.document.where(path)}: {message}")


@dataclass
class Imported:
    study: URIRef
    study_path: Path
    turtle: str
    source_files: dict[Path, bytes] = field(default_factory=dict)  # new source record and text
    graph: Graph | None = None


def _suggest(value: str, options: list[str]) -> str:
    close = difflib.get_close_matches(value, options, n=1, cutoff=0.6)
    return f"; did you mean `{close[0]}`?" if close else ""


# ---------------------------------------------------------------- values

def parse_iri(ctx: Context, info: Field, value, path: tuple) -> URIRef | None:
    if isinstance(value, dict) and set(value) == {"iri"}:
        value = value["iri"]
    if not isinstance(value, (str, int)):
        ctx.fail(path, f"`{info.key}` takes a slug, not {type(value).__name__} {value!r}")
        return None
    text = str(value).strip()
    if text.startswith("<") and text.endswith(">"):
        return URIRef(text[1:-1])
    prefix, colon, rest = text.partition(":")
    if colon and prefix in PREFIXES:
        return URIRef(PREFIXES[prefix] + rest)
    guess = URIRef(info.namespace + text) if info.namespace else None
    if info.allowed and guess not in info.allowed:
        named = [v for v in info.allowed if str(v).rsplit("/", 1)[-1] == text]
        if len(named) == 1:  # a slug that only one allowed value has, in another namespace
            return named[0]
    if guess is None:
        ctx.fail(path, f"`{text}`: write `{info.key}` values as prefix:slug")
    return guess


def check_iri(ctx: Context, info: Field, term: URIRef, path: tuple, shown: str) -> None:
    """An IRI value must be one of the field's allowed values, or be defined somewhere."""
    if info.allowed:
        if term in info.allowed or term in ctx.defined:
            return
        options = [str(v).rsplit("/", 1)[-1] if info.namespace and str(v).startswith(
            info.namespace) else curie(v) for v in info.allowed]
        listed = ", ".join(options) if len(options) <= 12 else \
            f"{len(options)} values; `coprod-kg new-study` lists them"
        name = info.allowed_name or info.key
        article = "an" if name[:1].lower() in "aeiou" else "a"
        ctx.fail(path, f"`{shown}` is not {article} {name}"
                       f"{_suggest(shown, options)} (allowed: {listed})")
        return
    if str(term).startswith(ID) and term not in ctx.defined and not ctx.profile.defined(term):
        kind = kind_of(term)
        ctx.fail(path, f"`{shown}` is not defined: no {kind[0] if kind else 'node'} "
                       f"{curie(term)} in the graph or in this template")


def parse_literal(ctx: Context, info: Field, value, path: tuple) -> Literal | None:
    if isinstance(value, dict):
        unknown = set(value) - {"value", "lang", "datatype"}
        if "value" not in value or unknown:
            ctx.fail(path, f"`{info.key}`: a typed value is {{value: ..., lang: ...}} or "
                           "{value: ..., datatype: ...}")
            return None
        if value.get("datatype"):
            prefix, _, rest = str(value["datatype"]).partition(":")
            datatype = URIRef(PREFIXES.get(prefix, "") + rest)
            return Literal(str(value["value"]), datatype=datatype)
        return Literal(str(value["value"]), lang=value.get("lang"))
    if isinstance(value, bool):
        value = "true" if value else "false"
    if isinstance(value, str) and info.numeric:
        if INTEGER.match(value.strip()):
            value = int(value)
        elif DECIMAL.match(value.strip()):
            value = Decimal(value.strip())
        else:
            ctx.fail(path, f"`{info.key}` takes a number, not {value!r}")
            return None
    if isinstance(value, int):
        if info.datatype not in (None, XSD.integer, XSD.decimal):
            return Literal(str(value), datatype=info.datatype)
        if not info.numeric and info.datatype is None and not info.lang:
            return Literal(str(value))
        return Literal(str(value), datatype=XSD.integer)
    if isinstance(value, Decimal):
        return Literal(str(value), datatype=XSD.decimal)
    if not isinstance(value, str):
        ctx.fail(path, f"`{info.key}` takes text, not {type(value).__name__}")
        return None
    if info.lang:
        return Literal(value, lang=info.lang)
    if info.datatype is not None:
        literal = Literal(value, datatype=info.datatype)
        if literal.ill_typed:
            ctx.fail(path, f"`{value}` is not a valid {curie(info.datatype)} for `{info.key}`")
            return None
        return literal
    return Literal(value)


# ---------------------------------------------------------------- the source

def resolve_source(ctx: Context, root: Path) -> tuple[Source | None, dict[Path, bytes], Graph]:
    """The template's source: an existing one by slug, or a new one described in the template."""
    spec = ctx.document.data.get("source")
    sources = sources_of(ctx.loaded.graph, ctx.project.root)
    record = Graph()
    if spec is None or spec == "":
        ctx.fail(("source",), "missing required field `source`: the slug of a source document "
                 f"({', '.join(s.slug for s in sources.values())}) or a new source's record")
        return None, {}, record
    if not isinstance(spec, dict):
        for source in sources.values():
            if str(spec) == source.slug:
                if not source.available:
                    ctx.fail(("source",), f"the text of source `{spec}` is not at {source.path}; "
                             "the importer needs it to place the quotes (set COPROD_SHARED)")
                elif source.sha256 and source.current_sha256() != source.sha256:
                    ctx.fail(("source",), f"the text of source `{spec}` has changed since it "
                             f"was coded: {source.path} has SHA-256 {source.current_sha256()}, "
                             f"the record says {source.sha256}")
                return source, {}, record
        ctx.fail(("source",), f"`{spec}` is not a source{_suggest(str(spec), [s.slug for s in sources.values()])}"
                 f" (sources: {', '.join(s.slug for s in sources.values())})")
        return None, {}, record
    for key in spec:
        if key not in SOURCE_FIELDS:
            ctx.fail(("source", key), f"`{key}` is not a field of a source"
                     f"{_suggest(key, sorted(SOURCE_FIELDS))} (fields: {', '.join(sorted(SOURCE_FIELDS))})")
    for key in ("slug", "label", "text"):
        if not spec.get(key):
            ctx.fail(("source",), f"a new source needs `{key}`")
    if ctx.problems:
        return None, {}, record
    slug = str(spec["slug"])
    if not SLUG.match(slug):
        ctx.fail(("source", "slug"), f"`{slug}` is not a slug: lower-case words joined by hyphens")
        return None, {}, record
    text_path = (ctx.document.path.parent / str(spec["text"])).resolve()
    if not text_path.is_file():
        ctx.fail(("source", "text"), f"no text file at {text_path}")
        return None, {}, record
    digest = sha256_of(text_path)
    if spec.get("sha256") is not None and str(spec["sha256"]) != digest:
        ctx.fail(("source", "sha256"), f"the text at {text_path} has changed since it was coded: "
                 f"its SHA-256 is {digest}, the template says {spec['sha256']}")
        return None, {}, record
    iri = URIRef(PREFIXES["source"] + slug)
    existing = sources.get(iri)
    if existing is not None and existing.available and existing.current_sha256() != digest:
        ctx.fail(("source", "text"), f"source `{slug}` already exists with a different text "
                 f"(SHA-256 {existing.current_sha256()}); give the new text its own slug")
        return None, {}, record
    shared = str(spec.get("shared", "")).lower() in ("true", "yes", "1")
    declared = f"source/{text_path.name}" if shared else f"data/sources/texts/{slug}.txt"
    files = {} if shared else {ctx.project.root / declared: text_path.read_bytes()}
    try:
        text = SourceText(text_path)
    except UnicodeDecodeError:
        ctx.fail(("source", "text"), f"{text_path} is not UTF-8 text")
        return None, {}, record
    sections = _sections(ctx, slug, spec.get("sections") or [], text)
    record.add((iri, RDF.type, SOURCE_DOCUMENT))
    record.add((iri, RDF.type, FABIO_REPORT))
    record.add((iri, RDFS.label, Literal(str(spec["label"]), lang="en")))
    record.add((iri, DCTERMS.title, Literal(str(spec.get("title") or spec["label"]), lang="en")))
    for key, prop in (("creator", DCTERMS.creator), ("publisher", DCTERMS.publisher),
                      ("bibliographicCitation", DCTERMS.bibliographicCitation)):
        values = spec.get(key) or []
        for value in values if isinstance(values, list) else [values]:
            record.add((iri, prop, Literal(str(value))))
    if spec.get("issued"):
        record.add((iri, DCTERMS.issued, Literal(str(spec["issued"]), datatype=XSD.gYear)))
    if spec.get("comment"):
        record.add((iri, RDFS.comment, Literal(str(spec["comment"]), lang="en")))
    record.add((iri, SHARED_TEXT_FILE if shared else TEXT_FILE, Literal(declared)))
    record.add((iri, TEXT_SHA256, Literal(digest)))
    for section in sections:
        record.add((section.iri, RDF.type, REPORT_SECTION))
        record.add((section.iri, RDFS.label, Literal(section.label, lang="en")))
        record.add((section.iri, DCTERMS.isPartOf, iri))
        record.add((section.iri, FIRST_LINE, Literal(section.first)))
        record.add((section.iri, LAST_LINE, Literal(section.last)))
    source = Source(iri, str(spec["label"]), declared, shared, text_path, digest, sections)
    source.__dict__["text"] = text
    return source, files, record


def _sections(ctx: Context, slug: str, specs: list, text: SourceText) -> list[Section]:
    """Sections from their headings: each runs from its heading to the line before the next."""
    last = max((i for i, line in enumerate(text.raw_lines, 1) if line.strip()), default=1)
    if not specs:
        return [Section(URIRef(PREFIXES["section"] + f"{slug}-text"), "Full text", 1, last)]
    starts = []
    for index, spec in enumerate(specs):
        path = ("source", "sections", index)
        if not isinstance(spec, dict) or not spec.get("slug") or not spec.get("heading"):
            ctx.fail(path, "a section needs a `slug` and its `heading` as printed in the text")
            continue
        heading = normalise(str(spec["heading"])).lstrip("# ").strip()
        lines = [n for n, line in enumerate(text.raw_lines, 1)
                 if normalise(line).lstrip("#").strip() == heading]
        if not lines:
            ctx.fail((*path, "heading"), f"no line of the text reads `{heading}`")
            continue
        starts.append((lines[0], str(spec["slug"]), str(spec.get("label") or heading)))
    starts.sort()
    sections = []
    for index, (first, section_slug, label) in enumerate(starts):
        end = starts[index + 1][0] - 1 if index + 1 < len(starts) else last
        sections.append(Section(URIRef(PREFIXES["section"] + section_slug), label, first, end))
    if starts and starts[0][0] > 1:
        sections.insert(0, Section(URIRef(PREFIXES["section"] + f"{slug}-front"), "Front matter",
                                   1, starts[0][0] - 1))
    return sections


# ---------------------------------------------------------------- nodes

def _entries(ctx: Context):
    """Every (kind, path, entry) of the template, with inline quotes unfolded."""
    kinds = {plural(k): k for k in {*KIND_ORDER, *ctx.profile.kinds}}
    for key, entries in ctx.document.data.items():
        if key in ("source", "triples"):
            continue
        if key not in kinds:
            ctx.fail((key,), f"`{key}` is not a section of a template"
                     f"{_suggest(key, sorted(kinds))} (sections: source, "
                     f"{', '.join(plural(k) for k in KIND_ORDER)})")
            continue
        if entries is None:
            continue
        if not isinstance(entries, list):
            ctx.fail((key,), f"`{key}` is a list of entries (each starting with `- slug: ...`)")
            continue
        for index, entry in enumerate(entries):
            if not isinstance(entry, dict):
                ctx.fail((key, index), f"each of `{key}` is a mapping of fields")
                continue
            yield kinds[key], (key, index), entry


def _quote_slug(owner: str, taken: set[str]) -> str:
    slug, n = owner, 2
    while slug in taken:
        slug, n = f"{owner}-{n}", n + 1
    taken.add(slug)
    return slug


def build_graph(ctx: Context, source: Source | None) -> tuple[Graph, URIRef | None]:
    """Resolve every entry into triples; problems go to ``ctx.problems``."""
    graph = Graph()
    entries = list(_entries(ctx))
    taken = {kind: set() for kind in ctx.profile.kinds}
    quotes = []  # (path, entry, owner slug)

    def register(kind: str, path: tuple, entry: dict, owner: str | None = None) -> URIRef | None:
        slug = entry.get("slug")
        if slug in (None, "") and kind == "quote" and owner:
            slug = _quote_slug(owner, taken.setdefault("quote", set()) |
                               {str(s).rsplit("/", 1)[-1] for s in
                                ctx.loaded.graph.subjects(RDF.type, URIRef(COPROD + "Quote"))})
            entry["slug"] = slug
        if slug in (None, ""):
            ctx.fail(path, f"missing required field `slug` (a {kind}'s name in its IRI: "
                           "lower-case words joined by hyphens)")
            return None
        slug = str(slug)
        if not SLUG.match(slug):
            ctx.fail((*path, "slug"), f"`{slug}` is not a slug: lower-case words joined by hyphens")
            return None
        iri = URIRef(ID + f"{kind}/{slug}")
        if iri in ctx.defined:
            ctx.fail((*path, "slug"), f"duplicate slug: {kind} `{slug}` is already defined at "
                                      f"{ctx.document.where(ctx.defined[iri])}")
            return None
        if (iri, RDF.type, None) in ctx.loaded.graph:
            origin = next((f for f, triples in ctx.loaded.by_file.items()
                           if any(t[0] == iri and t[1] == RDF.type for t in triples)), None)
            ctx.fail((*path, "slug"), f"duplicate slug: {kind} `{slug}` already exists in "
                                      f"{origin or 'the graph'}")
            return None
        ctx.defined[iri] = path
        taken.setdefault(kind, set()).add(slug)
        return iri

    nodes = []
    for kind, path, entry in entries:
        iri = register(kind, path, entry)
        if iri is not None:
            nodes.append((kind, path, entry, iri))
            for index, item in enumerate(_as_list(entry.get("hasQuote"))):
                if isinstance(item, dict):
                    qpath = (*path, "hasQuote", index) if isinstance(entry.get("hasQuote"), list) \
                        else (*path, "hasQuote")
                    qiri = register("quote", qpath, item, owner=str(entry.get("slug")))
                    if qiri is not None:
                        nodes.append(("quote", qpath, item, qiri))
    def add_fields(node, entry: dict, path: tuple, kind: str, kp) -> None:
        for key, value in entry.items():
            if key in ("slug", "type") or _empty(value):
                continue
            if kind == "quote" and key in ("line", "section"):
                continue
            info = ctx.profile.field_for(key)
            if info is not None:
                info = ctx.profile.field_in(kind, info)
            allowed_keys = kp.fields
            anywhere = info is not None and (kind == "" or info.domain is None) and \
                info.inverse_of is None
            if info is None or (key not in allowed_keys and ":" not in key and not anywhere):
                known = allowed_keys or sorted(ctx.profile.by_key)
                ctx.fail((*path, key), f"`{key}` is not a field of a {kind or 'nested node'}"
                         f"{_suggest(key, known)} (fields: {', '.join(allowed_keys or ['see the ontology'])})")
                continue
            quoting = info.iri == HAS_QUOTE or info.namespace == ID + "quote/"
            values = value if isinstance(value, list) else [value]
            for index, item in enumerate(values):
                vpath = (*path, key, index) if isinstance(value, list) else (*path, key)
                if quoting and isinstance(item, dict):
                    term = URIRef(ID + f"quote/{item.get('slug')}") if item.get("slug") else None
                    if term is None or term not in ctx.defined:
                        term = register("quote", vpath, item, owner=str(entry.get("slug") or
                                                                         path[0]))
                        if term is not None:
                            graph.add((term, RDF.type, URIRef(COPROD + "Quote")))
                            add_fields(term, item, vpath, "quote", ctx.profile.kind("quote"))
                            quotes.append((vpath, item, term))
                elif info.iri_values and isinstance(item, dict) and set(item) - {"iri"}:
                    term = BNode()  # a nested node, such as a structured figure
                    for name in _as_list(item.get("type")):
                        name = str(name)
                        typed = URIRef(COPROD + name) if ":" not in name else parse_iri(
                            ctx, Field(RDF.type, "type", True), name, (*vpath, "type"))
                        if typed is not None:
                            graph.add((term, RDF.type, typed))
                    add_fields(term, item, vpath, "", ctx.profile.kind(""))
                elif info.iri_values:
                    term = parse_iri(ctx, info, item, vpath)
                    if term is not None:
                        check_iri(ctx, info, term, vpath, str(item))
                else:
                    term = parse_literal(ctx, info, item, vpath)
                if term is None:
                    continue
                if info.inverse_of is not None:
                    graph.add((term, info.inverse_of, node))
                else:
                    graph.add((node, info.iri, term))

    study = None
    for kind, path, entry, iri in nodes:
        kp = ctx.profile.kind(kind)
        types = [kp.cls] if kp.cls is not None else []
        if entry.get("type"):
            types = []
            for name in _as_list(entry["type"]):
                name = str(name)
                term = URIRef(COPROD + name) if ":" not in name else parse_iri(
                    ctx, Field(RDF.type, "type", True), name, (*path, "type"))
                if term is not None:
                    types.append(term)
        for term in types:
            graph.add((iri, RDF.type, term))
        if kind == "study":
            study = iri if study is None else study
        required = ctx.profile.required_for(types) if entry.get("type") else set(kp.required)
        required -= {"line", "section", "hasQuote" if kind == "quote" else ""}
        for key in sorted(required):
            if _empty(entry.get(key)):
                info = ctx.profile.field_for(key)
                hint = f" ({info.definition})" if info and info.definition else ""
                ctx.fail(path, f"missing required field `{key}` of a {kind}{hint}")
        add_fields(iri, entry, path, kind, kp)
        if kind == "quote":
            quotes.append((path, entry, iri))
    for path, entry, iri in quotes:
        place_quote(ctx, graph, source, path, entry, iri)
    if study is None:
        ctx.fail(("studies",), "a template needs one entry under `studies`")
    elif source is not None and not any(graph.triples((None, URIRef(COPROD + "reviewedStudy"),
                                                       study))) \
            and (study, CODED_FROM, None) not in graph:
        graph.add((study, CODED_FROM, source.iri))
    for index, line in enumerate(_as_list(ctx.document.data.get("triples"))):
        if isinstance(line, dict):  # a spreadsheet row
            line = line.get("statement", "")
        try:
            graph.parse(data=str(line), format="nt")
        except Exception as error:  # rdflib raises several kinds for bad N-Triples
            ctx.fail(("triples", index), f"not an N-Triples statement: {error}")
    return graph, study


def place_quote(ctx: Context, graph: Graph, source: Source | None, path: tuple, entry: dict,
                iri: URIRef) -> None:
    """Locate a pasted quote in the source and record its line and section."""
    text = entry.get("text")
    if _empty(text):
        ctx.fail(path, "a quote needs its `text`, pasted from the source")
        return
    if source is None:
        return
    location = locate(source, str(text))
    if not location.found:
        ctx.fail((*path, "text"), describe(location, f"source `{source.slug}`"))
        return
    matches = location.matches
    section_hint, line_hint = entry.get("section"), entry.get("line")
    sections = {str(s.iri).rsplit("/", 1)[-1]: s for s in source.sections}
    chosen_section = None
    if not _empty(section_hint):
        chosen_section = sections.get(str(section_hint))
        if chosen_section is None:
            ctx.fail((*path, "section"), f"`{section_hint}` is not a section of `{source.slug}`"
                     f"{_suggest(str(section_hint), sorted(sections))}")
            return
        matches = [m for m in matches if chosen_section.holds(m.line)]
        if not matches:
            ctx.fail((*path, "section"), f"the quote is not in section `{section_hint}`; "
                     + describe(location, f"source `{source.slug}`"))
            return
    if not _empty(line_hint):
        matches = [m for m in matches if m.line == int(line_hint)]
        if not matches:
            ctx.fail((*path, "line"), f"the quote does not start on line {line_hint}; "
                     + describe(location, f"source `{source.slug}`"))
            return
    if len({m.line for m in matches}) > 1:
        ctx.fail((*path, "text"), f"the quote occurs {len(matches)} times in `{source.slug}` "
                 f"(lines {', '.join(str(m.line) for m in matches)}): add `section:` or `line:`")
        return
    match = matches[0]
    section = chosen_section or match.section
    if section is None:
        ctx.fail((*path, "text"), f"line {match.line} of `{source.slug}` is in no section")
        return
    graph.add((iri, OA_EXACT, Literal(str(text) if str(text) == normalise(str(text))
                                      else normalise(str(text)))))
    graph.add((iri, SOURCE_LINE, Literal(match.line)))
    graph.add((iri, IN_SECTION, section.iri))


def _as_list(value) -> list:
    return [] if value is None else value if isinstance(value, list) else [value]


def _empty(value) -> bool:
    return value is None or value == "" or value == []


# ---------------------------------------------------------------- Turtle

def to_turtle(graph: Graph, header: list[str]) -> str:
    """Serialise with the project's prefixes (only those used), behind a comment header."""
    used = {str(t) for triple in graph for t in triple if isinstance(t, URIRef)}
    out = Graph(bind_namespaces="none")
    for prefix, namespace in PREFIXES.items():
        if any(t.startswith(namespace) for t in used):
            out.bind(prefix, namespace, override=True, replace=True)
    for triple in graph:
        out.add(triple)
    body = out.serialize(format="turtle")
    return "".join(f"# {line}\n" if line else "#\n" for line in header) + "\n" + body


def next_study_path(project: Project, slug: str) -> Path:
    folder = project.root / "data" / "studies"
    numbers = [int(m.group(1)) for p in folder.glob("*.ttl") if (m := re.match(r"(\d+)-", p.name))]
    return folder / f"{max(numbers, default=0) + 1:02d}-{slug}.ttl"


def without(loaded, excluded: Path):
    """The loaded graph less one file, without parsing anything again."""
    from ..load import LoadedGraph, new_graph

    rest = LoadedGraph(new_graph())
    for path, triples in loaded.by_file.items():
        if path.resolve() == excluded.resolve():
            continue
        rest.by_file[path] = triples
        for triple in triples:
            rest.graph.add(triple)
            rest.origins.setdefault(triple[0], path)
    return rest


def import_template(project: Project, path: Path, write: bool = True, check: bool = True,
                    loaded=None, replace: bool = False) -> Imported:
    """Import a template into ``data/studies/NN-slug.ttl`` (and a new source into data/sources/).

    Raises TemplateError with every problem found, located in the template, or InputError for
    a file that cannot be read; nothing is written then.
    """
    from ..load import load
    from .checks import quote_problems, unknown_terms
    from .exporter import study_file
    from ..validate import validate

    from ..load import load_project
    from ..validate import load_shapes

    path = Path(path)
    loaded = loaded or load_project(project)
    shapes = load_shapes(project.shapes_file)
    profile = Profile(loaded.graph, loaded.part(project.ontology_files), shapes)
    # A node's extra classes (`type`) are IRIs and may be several, like any multi-valued link.
    iri_keys = {f.key for f in profile.fields.values() if f.iri_values} | {"type"}
    list_keys = {f.key for f in profile.fields.values() if f.multi} | {"type"}
    document = read_template(path, iri_keys, list_keys)
    study_slug = None
    studies = document.data.get("studies")
    if isinstance(studies, list) and studies and isinstance(studies[0], dict):
        study_slug = studies[0].get("slug")
    target = None
    if study_slug:
        try:
            target = study_file(loaded, project, str(study_slug))
        except InputError:
            target = None
    if target is not None:  # re-importing an exported study replaces its file
        if not replace:
            raise TemplateError([f"{document.where(('studies', 0, 'slug'))}: study "
                                 f"`{study_slug}` already exists in {target}; import with "
                                 "--replace to rewrite that file from this template"])
        loaded = without(loaded, target)
    ctx = Context(project, loaded, profile, document)
    source, source_files, record = resolve_source(ctx, project.root)
    if ctx.problems:
        raise TemplateError(ctx.problems)
    if len(record):
        for s in set(record.subjects()):
            if (s, RDF.type, None) in loaded.graph and source.iri != s:
                ctx.fail(("source",), f"duplicate slug: {curie(s)} already exists in "
                                      f"{loaded.origin(s)}")
    graph, study = build_graph(ctx, source)
    if ctx.problems:
        raise TemplateError(ctx.problems)
    study_slug = str(study).rsplit("/", 1)[-1]
    study_path = target or next_study_path(project, study_slug)
    header = [f"{study_path.name}: written by `coprod-kg import {path.name}`.",
              "Edit the template (`coprod-kg export-template " + study_slug + "`) and import it "
              "again with --replace rather than edit this file."]
    turtle = to_turtle(graph, header)
    files = dict(source_files)
    if len(record) and not (source.iri, None, None) in loaded.graph:
        files[project.root / "data" / "sources" / f"{source.slug}.ttl"] = to_turtle(
            record, [f"The source document {source.slug}: its record, text file, hash and "
                     "sections (written by `coprod-kg import`)."]).encode()
    # Validate the new files with the rest of the graph beside them, before writing anything.
    with tempfile.TemporaryDirectory() as scratch:
        if not check:
            return Imported(study, study_path, turtle, files, graph)
        written = []
        for target_path, content in [*files.items(), (study_path, turtle.encode())]:
            if target_path.suffix != ".ttl":
                continue
            temporary = Path(scratch) / target_path.name
            temporary.write_bytes(content)
            written.append((temporary, target_path))
        where = {}
        for node, tpath in ctx.defined.items():
            where[curie(node)] = document.where(tpath)
        full = load([*[f for f in loaded.by_file], *[t for t, _ in written]])
        only = {t.resolve() for t, _ in written}
        unknown = unknown_terms(full, full.part(project.ontology_files), [t for t, _ in written])
        problems = [f"{where.get(p.node, path)}: {p.node}: {p.message}" for p in unknown]
        sources = sources_of(full.graph, project.root)
        if source is not None:
            sources[source.iri] = source
        problems += [f"{where.get(p.node, path)}: {p.message}"
                     for p in quote_problems(full.graph, sources, full.origin, only)]
        if not problems:
            report = validate(full, shapes, full.part(project.ontology_files), only)
            problems += [f"{where.get(p.node, path)}: {p.node}"
                         f"{' (' + p.path + ')' if p.path else ''}: {p.message}"
                         for p in report.problems if p.severity == "violation"]
        if problems:
            raise TemplateError(sorted(set(problems)))
    imported = Imported(study, study_path, turtle, files, graph)
    if write:
        from ..atomic import write_atomic

        for target_path, content in files.items():
            write_atomic(target_path, content)
        write_atomic(study_path, turtle)
    return imported
