"""Serialise the graph for other linked-data tools: deterministic bytes, lexical forms as written.

pyoxigraph writes every format (rdflib's JSON-LD and RDF/XML writers order output by Python hash
order, and rdflib rewrites some lexical forms). Blank nodes get content-derived labels, and
triples are sorted before writing, so the same graph gives the same bytes in any process.
JSON-LD is pyoxigraph's expanded form compacted with an inline context, as PyLD compacts it
(``Compactor``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
from rdflib import BNode, Graph, URIRef
from rdflib.namespace import OWL, RDF

from .formats import EXPORT_FORMATS
from .load import LoadedGraph, new_graph, to_pyoxigraph
from .namespace import BASE, COPROD, PREFIXES

FORMATS = EXPORT_FORMATS
INFERRED_GRAPH = BASE + "graph/inferred"
OX_FORMATS = {"turtle": ox.RdfFormat.TURTLE, "ntriples": ox.RdfFormat.N_TRIPLES,
              "jsonld": ox.RdfFormat.JSON_LD, "trig": ox.RdfFormat.TRIG,
              "rdfxml": ox.RdfFormat.RDF_XML}
# XML 1.0 cannot carry these code points at all, not even as character references.
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
# An RDF/XML property element is a QName, so the property IRI must end in an XML NCName.
XML_LOCAL_NAME = re.compile("[A-Za-z_\u00c0-\ufffd][\\w.\\-\u00b7\u00c0-\ufffd]*$")


def _blank_labels(triples: list) -> dict[str, str]:
    """A label derived from the triples around it for each blank node of ``triples`` (keyed by
    the node's current label): ``rules.stable_blank_labels`` on the triples that mention a blank
    node, linear in them (rdflib's canonicalisation is quadratic in the triples pointing at one
    blank node)."""
    with_blanks = [ox.Quad(t.subject, t.predicate, t.object) for t in triples
                   if isinstance(t.subject, ox.BlankNode) or isinstance(t.object, ox.BlankNode)]
    if not with_blanks:
        return {}
    from .rules import stable_blank_labels

    store = ox.Store()
    store.extend(with_blanks)
    return stable_blank_labels(store)


def blank_node_labels(graph: Graph) -> dict:
    """Map each blank node of an rdflib graph to a label derived from the triples around it."""
    triples = [ox.Triple(*(to_pyoxigraph(term) for term in t)) for t in graph
               if isinstance(t[0], BNode) or isinstance(t[2], BNode)]
    return {BNode(old): BNode(new) for old, new in _blank_labels(triples).items()}


def canonical(graph: Graph) -> Graph:
    """A copy whose blank nodes have stable, content-derived labels."""
    labels = blank_node_labels(graph)
    result = new_graph()
    for triple in graph:
        result.add(tuple(labels.get(t, t) if isinstance(t, BNode) else t for t in triple))
    return result


def _term_key(term) -> tuple:
    # Blank nodes, then literals, then IRIs, each by its text: the order rdflib's terms sort in.
    if isinstance(term, ox.Literal):
        return (1, term.value, term.datatype.value, term.language or "")
    return (0 if isinstance(term, ox.BlankNode) else 2, term.value, "", "")


def _relabelled(term, labels: dict):
    if isinstance(term, ox.BlankNode):
        return ox.BlankNode(labels.get(term.value, term.value))
    return term


def _relabel_triple(triple, labels: dict):
    if not labels:
        return triple
    subject, object_ = triple.subject, triple.object
    if not (isinstance(subject, ox.BlankNode) or isinstance(object_, ox.BlankNode)):
        return triple  # most triples: nothing to relabel, so no new triple
    return ox.Triple(_relabelled(subject, labels), triple.predicate, _relabelled(object_, labels))


def _sorted(triples) -> list:
    return sorted(triples, key=lambda t: (_term_key(t.subject), _term_key(t.predicate),
                                          _term_key(t.object)))


def _ox_triples(graph: Graph, labels: dict | None = None) -> list:
    """The triples of an rdflib graph as pyoxigraph triples, blank nodes relabelled, sorted."""
    triples = [ox.Triple(*(to_pyoxigraph(term) for term in t)) for t in graph]
    return _sorted(_relabel_triple(t, _blank_labels(triples) if labels is None else labels)
                   for t in triples)


def jsonld_context(ontology: Graph) -> dict:
    """A JSON-LD context that turns coprod: properties into plain keys (``aboutStudy``)."""
    context: dict = {prefix: iri for prefix, iri in PREFIXES.items()}
    context.update({"label": str(PREFIXES["rdfs"]) + "label",
                    "prefLabel": {"@id": PREFIXES["skos"] + "prefLabel", "@container": "@language"},
                    "exact": PREFIXES["oa"] + "exact"})
    for term, kind in sorted(ontology.subject_objects(RDF.type)):
        if not isinstance(term, URIRef) or not str(term).startswith(COPROD):
            continue
        name = str(term)[len(COPROD):]
        if name in PREFIXES:
            # A term named like an instance prefix (coprod:outcome, outcome:) would stop that
            # prefix compacting IRIs; the property keeps its coprod: form instead.
            continue
        if kind == OWL.ObjectProperty:
            context[name] = {"@id": str(term), "@type": "@id"}
        elif kind in (OWL.DatatypeProperty, OWL.AnnotationProperty):
            context[name] = {"@id": str(term)}
    return dict(sorted(context.items()))


def _refuse_remote(url, options=None):
    raise ValueError(f"JSON-LD processing tried to load {url}; coprod-kg never fetches contexts")


PYLD_OPTIONS = {"documentLoader": _refuse_remote, "processingMode": "json-ld-1.1",
                "skipExpansion": True}
# The term definitions the compactor below follows; any other makes it hand the document to PyLD.
_MAPPING_KEYS = {"reverse", "protected", "_prefix", "_term_has_colon", "@id", "@type", "@container"}
_GEN_DELIMS = re.compile(r"[:/?#\[\]@]")


class _Unusual(Exception):
    """Input or context outside what ``Compactor`` follows: PyLD compacts it instead."""


class Compactor:
    """JSON-LD 1.1 compaction of pyoxigraph's expanded JSON-LD with one fixed context, giving
    PyLD's output for that input, in time linear in the triples.

    pyoxigraph writes flat node objects: an ``@id`` and, per property IRI, a list of node
    references (``{"@id": ...}``) and value objects (``@value`` with an optional ``@type`` or
    ``@language``). For those, compaction is three choices, each PyLD's own: the term for a
    property, which depends only on the property and the kind of value (an IRI, which language,
    which datatype); how an IRI with no value compacts (the shortest prefix form); and how a value
    is written under its term. PyLD makes the first choice once per property and kind of value
    and this class remembers it; the IRI form follows PyLD's rule for a context whose terms have
    no colon (a prefix term whose IRI starts the IRI, the shortest and then least such form); the
    value forms are those of PyLD's value compaction for terms typed ``@id`` or not typed, with
    or without a language map. A context or a node outside that (a keyword alias, ``@vocab``, a
    default language, a scoped context, ``@list``, an ``@type`` key) goes to PyLD whole. A test
    compares the two on the report's graphs and on a graph of every kind of value.
    """

    def __init__(self, context: dict):
        from pyld.jsonld import JsonLdProcessor

        captured = {}

        class Capturing(JsonLdProcessor):
            def _compact(self, active_ctx, active_property, element, options):
                captured.setdefault("active", active_ctx)
                captured.setdefault("options", options)
                return super()._compact(active_ctx, active_property, element, options)

        self.context = context
        self.processor = Capturing()
        self.processor.compact([], {"@context": context}, dict(PYLD_OPTIONS))
        self.active, self.options = captured["active"], captured["options"]
        self.mappings = self.active["mappings"]
        self.terms: dict = {}  # (property, kind of value) -> (term, language map?, @set?, @type)
        self.iris: dict = {}  # IRI -> its compact form as a node identifier
        self.vocab_iris: dict = {}  # IRI -> its compact form as a datatype
        self.usable = self._usable()
        self.handed_to_pyld = 0  # documents compacted by PyLD instead
        self.term_iris = {m["@id"] for m in self.mappings.values() if m}
        prefixes = [(m["@id"], term) for term, m in self.mappings.items() if m and m["_prefix"]]
        self.by_prefix: dict[str, list[str]] = {}
        for iri, term in prefixes:
            self.by_prefix.setdefault(iri, []).append(term)
        # Every prefix ending in a delimiter lets an IRI's candidates be found at its delimiters.
        self.at_delimiters = all(_GEN_DELIMS.fullmatch(iri[-1:]) for iri, _ in prefixes)
        self.prefixes = prefixes

    def _usable(self) -> bool:
        if any(key in self.active for key in ("@vocab", "@base", "@language", "@direction",
                                              "previousContext", "@propagate")):
            return False
        for term, mapping in self.mappings.items():
            if (mapping is None or ":" in term or term.startswith("@")
                    or set(mapping) - _MAPPING_KEYS or mapping["reverse"]
                    or mapping["_term_has_colon"] or not mapping.get("@id")
                    or mapping["@id"].startswith("@")
                    or mapping.get("@type", "@id") != "@id"
                    or list(mapping.get("@container", [])) not in ([], ["@language"], ["@set"])):
                return False
        return True

    def compact(self, expanded: list) -> dict:
        """The compacted document of ``expanded`` (pyoxigraph's JSON-LD, parsed)."""
        if self.usable and isinstance(expanded, list) and len(expanded) > 1:
            try:
                return {"@context": self.context, "@graph": [self._node(n) for n in expanded]}
            except _Unusual:
                pass
        self.handed_to_pyld += 1
        from pyld.jsonld import JsonLdProcessor

        return JsonLdProcessor().compact(expanded, {"@context": self.context}, dict(PYLD_OPTIONS))

    def _node(self, element) -> dict:
        if not isinstance(element, dict) or not isinstance(element.get("@id"), str):
            raise _Unusual
        out: dict = {}
        for prop, values in sorted(element.items()):
            if prop == "@id":
                out["@id"] = self.iri(values)
                continue
            if prop.startswith("@") or not isinstance(values, list) or not values:
                raise _Unusual
            for value in values:
                term, language_map, as_set, typed = self._term(prop, value)
                if "@id" in value:
                    compacted = self.iri(value["@id"])
                    item = compacted if typed else {"@id": compacted}
                elif len(value) == 1:
                    item = value["@value"]
                elif "@type" in value:
                    item = {"@type": self._vocab_iri(value["@type"]), "@value": value["@value"]}
                else:
                    item = {"@language": value["@language"], "@value": value["@value"]}
                if language_map:
                    if isinstance(item, dict) and "@value" in item:
                        item = item["@value"]
                    _add(out.setdefault(term, {}), value.get("@language") or "@none", item,
                         as_set)
                else:
                    _add(out, term, item, as_set)
        return out

    def _term(self, prop: str, value) -> tuple:
        if not isinstance(value, dict):
            raise _Unusual
        if "@id" in value:
            if len(value) != 1 or not isinstance(value["@id"], str):
                raise _Unusual
            # PyLD's choice for a reference looks at whether the IRI is itself a term's.
            kind = ("@id", value["@id"] if value["@id"] in self.term_iris else None)
        else:
            if not isinstance(value.get("@value"), str) or len(value) > 2 or (
                    len(value) == 2 and not ("@type" in value or "@language" in value)):
                raise _Unusual
            kind = ("@type", value["@type"]) if "@type" in value else (
                ("@language", value["@language"]) if "@language" in value else ("@value",))
        key = (prop, kind)
        known = self.terms.get(key)
        if known is None:
            term = self.processor._compact_iri(self.active, prop, value, vocab=True)
            mapping = self.mappings.get(term) or {}
            container = list(mapping.get("@container", []))
            known = (term, "@language" in container, "@set" in container,
                     mapping.get("@type") == "@id")
            self.terms[key] = known
        return known

    def _vocab_iri(self, iri: str) -> str:
        known = self.vocab_iris.get(iri)
        if known is None:
            known = self.vocab_iris[iri] = self.processor._compact_iri(self.active, iri,
                                                                      vocab=True)
        return known

    def iri(self, iri: str) -> str:
        """An IRI as a node identifier: the shortest (then least) prefix:suffix form whose
        prefix term is a prefix and which is not itself a term, else PyLD's answer."""
        known = self.iris.get(iri)
        if known is not None:
            return known
        if self.at_delimiters:
            starts = [iri[:m.end()] for m in _GEN_DELIMS.finditer(iri)]
            found = [(start, term) for start in starts for term in self.by_prefix.get(start, ())]
        else:
            found = [(start, term) for start, term in self.prefixes if iri.startswith(start)]
        best = None
        for start, term in found:
            if start == iri:
                continue
            curie = f"{term}:{iri[len(start):]}"
            if curie not in self.mappings and (best is None or
                                               (len(curie), curie) < (len(best), best)):
                best = curie
        if best is None:
            best = self.processor._compact_iri(self.active, iri, vocab=False,
                                               base=self.options.get("base", ""))
        self.iris[iri] = best
        return best


def _add(subject: dict, key: str, item, as_set: bool) -> None:
    """PyLD's add_value: a second value under a key makes it a list."""
    if key in subject:
        if not isinstance(subject[key], list):
            subject[key] = [subject[key]]
        subject[key].append(item)
    else:
        subject[key] = [item] if as_set else item


def _sort_nodes(graph: list) -> None:
    """Order nodes by identifier, and nodes that share one by their JSON text: sorted by
    identifier, then each run of one identifier by text (most runs are one node long)."""
    identifier = lambda node: str(node.get("@id", ""))  # noqa: E731
    graph.sort(key=identifier)
    start = 0
    while start < len(graph):
        end = start + 1
        while end < len(graph) and identifier(graph[end]) == identifier(graph[start]):
            end += 1
        if end - start > 1:
            graph[start:end] = sorted(graph[start:end],
                                      key=lambda node: json.dumps(node, sort_keys=True))
        start = end


def _jsonld(triples: list, context: dict, compactor=None) -> str:
    # pyoxigraph writes expanded JSON-LD already, so no expansion is needed before compacting.
    expanded = json.loads(ox.serialize(triples, format=ox.RdfFormat.JSON_LD))
    compacted = (compactor or Compactor(context)).compact(expanded)
    graph = compacted.get("@graph")
    if isinstance(graph, list):
        _sort_nodes(graph)
    return json.dumps(compacted, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _rdfxml(triples: list) -> str:
    _check_xml(triples)
    text = ox.serialize(triples, format=ox.RdfFormat.RDF_XML, prefixes=dict(PREFIXES)).decode()
    # The writer emits carriage returns raw, and XML parsers read those as line feeds.
    return text.replace("\r", "&#13;") + ("" if text.endswith("\n") else "\n")


def _check_xml(triples: list) -> None:
    """Raise ValueError for the first triple RDF/XML cannot write. Each distinct property and
    text is looked at once; only where one fails are the triples gone through in order, so the
    message names the same first triple as a triple-by-triple check."""
    properties, texts = set(), set()
    for subject, predicate, object_ in triples:
        properties.add(predicate.value)
        texts.add(subject.value)
        texts.add(object_.value)
    if all(XML_LOCAL_NAME.search(name) for name in properties) and not NOT_XML.search(
            "".join(properties) + "".join(texts)):
        return
    for triple in triples:
        if not XML_LOCAL_NAME.search(triple.predicate.value):
            raise ValueError(
                f"RDF/XML cannot write the property {triple.predicate}: an RDF/XML property "
                "must end in an XML name (a letter or _ then letters, digits, ., - or _). Export "
                "as Turtle, N-Triples, TriG or JSON-LD instead.")
        for term in triple:
            found = NOT_XML.search(term.value)
            if found:
                raise ValueError(
                    f"RDF/XML cannot carry the character U+{ord(found.group()):04X} found in "
                    f"{term} (in the triple about {triple.subject}); XML 1.0 has no way to "
                    "write it. Export as Turtle, N-Triples, TriG or JSON-LD instead, or remove it.")


def serialise(graph: Graph, fmt: str, ontology: Graph | None = None,
              loaded: LoadedGraph | None = None) -> str:
    """Serialise ``graph`` in one of FORMATS; the same graph always gives the same text.

    TriG puts each source file's triples in a named graph, so it needs ``loaded``; ``graph`` must
    then be ``loaded.graph`` or a closure computed from it (blank nodes are matched by identity).
    Raises ValueError for an unknown format, or for text RDF/XML cannot carry.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    triples = [ox.Triple(*(to_pyoxigraph(term) for term in t)) for t in graph]
    return dict(_write(triples, [fmt], ontology if ontology is not None else graph, loaded))[fmt]


def serialise_loaded(loaded: LoadedGraph, formats: list[str],
                     ontology: Graph) -> Iterator[tuple[str, str]]:
    """The asserted graph of ``loaded`` in each of ``formats``, from the triples pyoxigraph parsed
    (no rdflib copy), labelled and sorted once: the same text as ``serialise(loaded.graph, ...)``.

    Each format's text is yielded as ``(format, text)`` as soon as it is made, so a caller that
    writes it out before asking for the next holds one text at a time, not all of them."""
    return _write(loaded.triples(), formats, ontology, loaded, all_stated=True)


def _write(triples: list, formats: list[str], ontology, loaded,
           all_stated: bool = False) -> Iterator[tuple[str, str]]:
    for fmt in formats:
        if fmt not in FORMATS:
            raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return _texts(triples, formats, ontology, loaded, all_stated)


def _texts(triples: list, formats: list[str], ontology, loaded,
           all_stated: bool) -> Iterator[tuple[str, str]]:
    labels = _blank_labels(triples)
    ordered = None
    for fmt in formats:
        if fmt == "trig":
            yield fmt, _trig(triples, loaded, labels, all_stated)
            continue
        if ordered is None:
            ordered = _sorted(_relabel_triple(t, labels) for t in triples)
        if fmt == "ntriples":
            from .cache import ntriples_lines

            lines = ntriples_lines(ox.serialize(ordered, format=ox.RdfFormat.N_TRIPLES).decode())
            yield fmt, "\n".join(sorted(set(lines))) + "\n"
            del lines
        elif fmt == "jsonld":
            yield fmt, _jsonld(ordered, jsonld_context(ontology))
        elif fmt == "rdfxml":
            yield fmt, _rdfxml(ordered)
        else:
            text = ox.serialize(ordered, format=OX_FORMATS[fmt], prefixes=dict(PREFIXES)).decode()
            yield fmt, text if text.endswith("\n") else text + "\n"
            del text


def file_graph_iri(path: Path, root: Path) -> URIRef:
    return URIRef(BASE + "graph/" + path.resolve().relative_to(root).with_suffix("").as_posix())


def _trig(triples: list, loaded: LoadedGraph | None, labels: dict,
          all_stated: bool = False) -> str:
    """TriG with one named graph per source file, and one for inferred triples.

    Each of ``triples`` goes in the graph of every file that states it, or else in the
    inferred graph, so the union of the named graphs is the graph itself. ``all_stated`` says
    that ``triples`` are exactly the triples the files state (``loaded.triples()``), so none is
    inferred and none need be looked up.
    """
    if loaded is None:
        raise ValueError("TriG export needs the per-file origins of the triples")
    root = _common_root(loaded.files)
    present = None if all_stated else set(triples)
    graphs: dict[str, list] = {}
    stated: set = set()
    for path in loaded.files:
        stated_here = loaded.ox_by_file.get(path)
        if stated_here is None:  # a LoadedGraph made without pyoxigraph's triples
            stated_here = [ox.Triple(*(to_pyoxigraph(t) for t in triple))
                           for triple in loaded.by_file[path]]
        here = set(stated_here)
        if present is not None:
            here = [triple for triple in here if triple in present]
            stated.update(here)
        graphs.setdefault(str(file_graph_iri(path, root)), []).extend(here)
    if present is not None and len(stated) < len(present):
        graphs.setdefault(INFERRED_GRAPH, []).extend(present - stated)
    # Quads in order of graph name, then of the text of subject, predicate and object: each
    # graph sorted apart, the text of each subject and property made once.
    texts: dict = {}

    def text(term) -> str:
        known = texts.get(term)
        if known is None:
            known = texts[term] = str(term)
        return known

    quads = []
    for name in sorted(graphs):
        graph = ox.NamedNode(name)
        members = [_relabel_triple(t, labels) for t in graphs[name]]
        members.sort(key=lambda t: (text(t.subject), text(t.predicate), str(t.object)))
        quads += [ox.Quad(t.subject, t.predicate, t.object, graph) for t in members]
    written = ox.serialize(quads, format=ox.RdfFormat.TRIG, prefixes=dict(PREFIXES)).decode()
    return written if written.endswith("\n") else written + "\n"


def _common_root(files: list[Path]) -> Path:
    resolved = [path.resolve() for path in files]
    root = resolved[0].parent
    while not all(path.is_relative_to(root) for path in resolved):
        root = root.parent
    return root


def void_description(graph: Graph, files: dict[str, Path], triples: int | None = None) -> Graph:
    """A VoID and DCAT description of written export files (counts and sizes read from them).

    ``triples`` is accepted for old callers and ignored: each file is counted.
    """
    from .publish.void import describe

    return describe(list(files.values()), graph)
