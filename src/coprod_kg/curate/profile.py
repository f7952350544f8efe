"""What each kind of node may carry, read from the ontology, the shapes and the data.

Nothing here lists properties by hand: a property that a branch adds to the ontology or starts
using in the data becomes a template field with its own key, value form and allowed values.
For each property the profile records whether its values are IRIs (and in which namespace they
usually are, so that a template can write ``networks`` for ``principle:networks``) or literals
(and their usual language tag or datatype); for each kind of node (the ``kind`` of its IRI,
``finding``, ``coding`` ...) its usual class, its fields and which of them the shapes require.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from rdflib import Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import OWL, RDF, RDFS, SH, SKOS, XSD

from ..namespace import COPROD, ID, INSTANCE_KINDS, PREFIXES

OA_EXACT = URIRef("http://www.w3.org/ns/oa#exact")
SOURCE_LINE = URIRef(COPROD + "sourceLine")
IN_SECTION = URIRef(COPROD + "inSection")
HAS_QUOTE = URIRef(COPROD + "hasQuote")
NUMERIC = {XSD.integer, XSD.decimal}
# The quote fields a curator writes by another name: the text, and the hints the locator uses.
QUOTE_KEYS = {OA_EXACT: "text", SOURCE_LINE: "line", IN_SECTION: "section"}
KIND_ORDER = ("study", "initiative", "org", "place", "finding", "coding", "placement", "mapping",
              "note", "quote")


def plural(kind: str) -> str:
    return {"study": "studies"}.get(kind, kind + "s")


def kind_of(term) -> tuple[str, str] | None:
    """The kind and slug of an instance IRI (``…/id/finding/x`` -> ("finding", "x"))."""
    text = str(term)
    if not isinstance(term, URIRef) or not text.startswith(ID):
        return None
    kind, _, slug = text[len(ID):].partition("/")
    if kind not in INSTANCE_KINDS or not slug or "/" in slug or "#" in slug:
        return None
    return kind, slug


def namespace_of(term) -> str:
    text = str(term)
    cut = max(text.rfind("/"), text.rfind("#"))
    return text[: cut + 1]


def curie(term) -> str:
    text = str(term)
    best = None
    for prefix, namespace in PREFIXES.items():
        if text.startswith(namespace) and (best is None or len(namespace) > len(PREFIXES[best])):
            local = text[len(namespace):]
            if local and "/" not in local and "#" not in local:
                best = prefix
    return f"{best}:{text[len(PREFIXES[best]):]}" if best else f"<{text}>"


def local_name(term) -> str:
    return str(term)[len(namespace_of(term)):]


@dataclass
class Field:
    """One property as a template field."""

    iri: URIRef
    key: str
    iri_values: bool
    namespace: str | None = None  # the usual namespace of IRI values
    lang: str | None = None  # the usual language tag of literal values
    datatype: URIRef | None = None  # the usual datatype (None: a plain string)
    multi: bool = False
    inverse_of: URIRef | None = None  # written on the other node: (value, inverse_of, node)
    allowed: list[URIRef] | None = None  # sh:in, or the instances of the range class
    allowed_name: str = ""  # what an allowed value is ("principle", "unit")
    label: str = ""
    definition: str = ""
    domain: URIRef | None = None

    @property
    def numeric(self) -> bool:
        return self.datatype in NUMERIC


@dataclass
class KindProfile:
    kind: str
    cls: URIRef | None
    fields: list[str] = field(default_factory=list)  # keys, in a sensible order
    required: set[str] = field(default_factory=set)


class Profile:
    """The template fields of every property and kind, computed from graph and shapes."""

    def __init__(self, graph: Graph, ontology: Graph, shapes: Graph):
        self.graph = graph
        self.fields: dict[URIRef, Field] = {}
        self.by_key: dict[str, Field] = {}
        self.kinds: dict[str, KindProfile] = {}
        self._kind_objects: dict = defaultdict(Counter)
        self._build(graph, ontology, shapes)

    # ------------------------------------------------------------ construction

    def _build(self, graph: Graph, ontology: Graph, shapes: Graph) -> None:
        objects = defaultdict(Counter)
        literals = defaultdict(Counter)
        counts = defaultdict(Counter)
        used_on = defaultdict(Counter)  # kind -> property -> uses
        types = defaultdict(Counter)  # kind -> class -> nodes
        for s, p, o in graph:
            kind = kind_of(s)
            if p == RDF.type:
                if kind:
                    types[kind[0]][o] += 1
                continue
            counts[p][s] += 1
            if kind:
                used_on[kind[0]][p] += 1
            if isinstance(o, Literal):
                literals[p][(o.language, o.datatype)] += 1
            else:
                objects[p][namespace_of(o)] += 1
                if kind:
                    self._kind_objects[(kind[0], p)][namespace_of(o)] += 1
        order = {}
        for index, (s, _, _) in enumerate(ontology.triples((None, RDF.type, None))):
            order.setdefault(s, index)
        declared = {s for s, o in ontology.subject_objects(RDF.type)
                    if o in (OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty,
                             RDF.Property)}
        properties = (set(counts) | declared) - {RDF.type}
        inverses = {}
        for a, b in ontology.subject_objects(OWL.inverseOf):
            inverses[a], inverses[b] = b, a
        locals_ = Counter(local_name(p) for p in properties)
        shape_info = self._shape_info(shapes)
        self._by_class = shape_info.pop("by class")
        for prop in sorted(properties, key=lambda p: (order.get(p, 10**6), str(p))):
            name = local_name(prop)
            key = QUOTE_KEYS.get(prop) or (name if locals_[name] == 1 else curie(prop))
            is_iri = (sum(objects[prop].values()) > sum(literals[prop].values())
                      if prop in counts else
                      (prop, RDF.type, OWL.ObjectProperty) in ontology)
            info = Field(prop, key, is_iri, multi=any(n > 1 for n in counts.get(prop, {}).values()),
                         label=str(ontology.value(prop, RDFS.label) or ""),
                         definition=str(ontology.value(prop, SKOS.definition) or ""),
                         domain=ontology.value(prop, RDFS.domain))
            if is_iri:
                if objects[prop]:
                    info.namespace = objects[prop].most_common(1)[0][0]
            elif literals[prop]:
                (info.lang, info.datatype), _ = max(
                    literals[prop].items(), key=lambda item: (item[1], str(item[0])))
            else:
                rng = ontology.value(prop, RDFS.range)
                if rng is not None and str(rng).startswith(str(XSD)) and rng != XSD.string:
                    info.datatype = URIRef(XSD.integer) if "Integer" in str(rng) else rng
                elif rng is None:
                    info.lang = "en"
            if prop not in counts and prop in inverses and inverses[prop] in counts:
                info.inverse_of = inverses[prop]
                info.namespace = Counter(namespace_of(s) for s in graph.subjects(
                    info.inverse_of, None)).most_common(1)[0][0]
            allowed, cls = shape_info.get(prop, (None, None))
            if allowed is None:
                cls = cls or ontology.value(prop, RDFS.range)
                if cls is not None and is_iri:
                    members = sorted(set(graph.subjects(RDF.type, cls)))
                    allowed = members or None
            if allowed:
                info.allowed = allowed
                kinds = {kind_of(v)[0] if kind_of(v) else None for v in allowed}
                info.allowed_name = (kinds.pop().replace("-", " ") if len(kinds) == 1 and
                                     None not in kinds else
                                     str(ontology.value(cls, RDFS.label) or "") if cls is not None
                                     else local_name(prop))
                if info.namespace is None:
                    info.namespace = Counter(namespace_of(v) for v in allowed).most_common(1)[0][0]
            self.fields[prop] = info
            self.by_key[key] = info
        for prop, info in self.fields.items():  # inverse fields sit on the node they point to
            if info.inverse_of is not None:
                domain = ontology.value(info.inverse_of, RDFS.range)
                for kind, classes in types.items():
                    if domain in classes:
                        used_on[kind][prop] += 1
        required = shape_info.get("required", {})
        self.required_by_class = {cls: {self.fields[p].key for p in props if p in self.fields}
                                  for cls, props in required.items()}
        for kind in sorted(set(types) | set(used_on)):
            cls = types[kind].most_common(1)[0][0] if types[kind] else None
            props = [p for p in self.fields if used_on[kind][p]]
            for p, domain in ontology.subject_objects(RDFS.domain):
                derived = (p, OWL.propertyChainAxiom, None) in ontology
                if domain == cls and p in self.fields and p not in props and not derived:
                    props.append(p)
            for p in required.get(cls, ()):
                if p in self.fields and p not in props:
                    props.append(p)
            first = {RDFS.label: 0, SKOS.altLabel: 1, OA_EXACT: 0}
            props.sort(key=lambda p: first.get(p, 2))  # stable: the ontology's order otherwise
            keys = [self.fields[p].key for p in props]
            self.kinds[kind] = KindProfile(kind, cls, keys,
                                           {self.fields[p].key for p in required.get(cls, ())
                                            if p in self.fields})

    @staticmethod
    def _shape_info(shapes: Graph) -> dict:
        """sh:in lists and sh:class per path, and the paths each target class requires."""
        info: dict = {}
        by_class: dict = {}
        required: dict = defaultdict(set)
        for shape, cls in shapes.subject_objects(SH.targetClass):
            for prop_shape in shapes.objects(shape, SH.property):
                path = shapes.value(prop_shape, SH.path)
                if not isinstance(path, URIRef):
                    continue
                minimum = shapes.value(prop_shape, SH.minCount)
                if minimum is not None and int(minimum) >= 1:
                    required[cls].add(path)
                values = shapes.value(prop_shape, SH["in"])
                allowed = list(Collection(shapes, values)) if values is not None else None
                klass = shapes.value(prop_shape, SH["class"])
                old = info.get(path, (None, None))
                info[path] = (allowed or old[0], klass or old[1])
                mine = by_class.get((cls, path), (None, None))
                by_class[(cls, path)] = (allowed or mine[0], klass or mine[1])
        info["required"] = required
        info["by class"] = by_class
        return info

    # ------------------------------------------------------------ lookups

    def field_for(self, key: str) -> Field | None:
        found = self.by_key.get(key)
        if found is None and ":" in key:
            prefix, _, rest = key.partition(":")
            if prefix in PREFIXES:
                return self.fields.get(URIRef(PREFIXES[prefix] + rest))
        return found

    def field_in(self, kind: str, info: Field) -> Field:
        """The field as it is used on one kind of node: its usual namespace and allowed values there.

        (``skos:broader`` of a place names a place; of an outcome, an outcome.)
        """
        from dataclasses import replace

        if not info.iri_values or not kind:
            return info
        cls = self.kind(kind).cls
        used = self._kind_objects.get((kind, info.iri))
        namespace = used.most_common(1)[0][0] if used else info.namespace
        allowed, klass = self._by_class.get((cls, info.iri), (None, None))
        if allowed is None and klass is not None:
            allowed = sorted(set(self.graph.subjects(RDF.type, klass))) or None
        if allowed is None and klass is None:
            same = info.allowed and namespace and any(str(v).startswith(namespace)
                                                      for v in info.allowed)
            allowed = info.allowed if same or not used else None
        if namespace == info.namespace and allowed == info.allowed:
            return info
        name = info.allowed_name
        if allowed and allowed != info.allowed:
            kinds = {kind_of(v)[0] if kind_of(v) else None for v in allowed}
            name = kinds.pop().replace("-", " ") if len(kinds) == 1 and None not in kinds \
                else info.key
        return replace(info, namespace=namespace, allowed=allowed, allowed_name=name)

    def required_for(self, classes: list[URIRef]) -> set[str]:
        """The fields the shapes require of a node of these classes."""
        return set().union(*(self.required_by_class.get(c, set()) for c in classes))

    def kind(self, kind: str) -> KindProfile:
        return self.kinds.get(kind) or KindProfile(kind, None)

    def defined(self, term: URIRef) -> bool:
        return (term, None, None) in self.graph
