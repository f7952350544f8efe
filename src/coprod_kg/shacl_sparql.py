"""Check the SHACL core constraints as SPARQL over a pyoxigraph store, one query per constraint.

The shapes graph is read generically: every node shape and property shape, its targets
(``sh:targetClass`` with subclasses, ``sh:targetNode``, ``sh:targetSubjectsOf``,
``sh:targetObjectsOf``), its path (IRIs, inverse, sequence, alternative and repeated paths) and
its constraints become SELECT queries over the data store, so each constraint costs one join over
the graph instead of one evaluation per focus node. The components handled are ``sh:class``,
``sh:datatype`` (with a check that the lexical form is valid for the datatype), ``sh:nodeKind``,
``sh:minCount``, ``sh:maxCount``, ``sh:in``, ``sh:hasValue``, ``sh:pattern``, the four range
components, ``sh:minLength``, ``sh:maxLength``, ``sh:uniqueLang``, ``sh:or``, ``sh:and``,
``sh:not``, ``sh:xone``, ``sh:node`` and ``sh:sparql`` SELECT constraints (run once, with the
focus nodes joined in; a node shape's result names its focus node as its value, as in SHACL 5.3.2).
A shape using any other component is refused with ShapesError rather than checked in part.

pyshacl stays the reference (``validate.validate``); the tests show both report the same focus
node, path, component and severity on every bad-input case and on the report's graph.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from .project import ShapesError

SH = "http://www.w3.org/ns/shacl#"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
XSD = "http://www.w3.org/2001/XMLSchema#"
PREFIXES = {"rdf": RDF, "rdfs": RDFS, "sh": SH, "xsd": XSD}
SEVERITY_NAMES = {SH + "Violation": "violation", SH + "Warning": "warning", SH + "Info": "info"}

# Datatypes whose lexical forms the engine can check by casting (XSD casts fail on bad forms).
CASTABLE = {"integer", "decimal", "double", "float", "boolean", "dateTime", "date", "time",
            "duration", "dayTimeDuration", "yearMonthDuration", "nonNegativeInteger",
            "positiveInteger", "negativeInteger", "nonPositiveInteger", "long", "int", "short",
            "byte", "unsignedLong", "unsignedInt", "unsignedShort", "unsignedByte"}
INTEGER_SUBTYPES = {"nonNegativeInteger": ">= 0", "positiveInteger": "> 0",
                    "negativeInteger": "< 0", "nonPositiveInteger": "<= 0"}
NODE_KINDS = {
    "IRI": "isIRI({v})", "BlankNode": "isBlank({v})", "Literal": "isLiteral({v})",
    "BlankNodeOrIRI": "(isBlank({v}) || isIRI({v}))",
    "BlankNodeOrLiteral": "(isBlank({v}) || isLiteral({v}))",
    "IRIOrLiteral": "(isIRI({v}) || isLiteral({v}))",
}
# Shape-describing predicates that are not constraints.
NOT_CONSTRAINTS = {"targetClass", "targetNode", "targetSubjectsOf", "targetObjectsOf", "path",
                   "property", "message", "severity", "name", "description", "order", "group",
                   "deactivated", "defaultValue", "flags", "declare", "prefixes"}
SUPPORTED = {"class", "datatype", "nodeKind", "minCount", "maxCount", "in", "hasValue",
             "pattern", "minInclusive", "maxInclusive", "minExclusive", "maxExclusive",
             "minLength", "maxLength", "uniqueLang", "or", "and", "not", "xone", "node", "sparql"}


class Unsupported(ShapesError):
    """A shape uses a component the translator does not check (pyshacl may)."""


@dataclass(frozen=True, order=True)
class Result:
    """One validation result: the focus node, the path, the failing value and why."""

    focus: str
    path: str
    component: str
    severity: str
    message: str
    value: str = ""
    shape: str = ""
    cls: str = ""  # the sh:class a ClassConstraintComponent result's value is not of


class _Shapes:
    """Read access to the shapes graph held in a pyoxigraph store."""

    def __init__(self, store: ox.Store):
        self.store = store

    def objects(self, subject, local: str) -> list:
        predicate = ox.NamedNode(SH + local) if ":" not in local else ox.NamedNode(local)
        return [q.object for q in self.store.quads_for_pattern(subject, predicate, None)]

    def value(self, subject, local: str):
        found = self.objects(subject, local)
        if len(found) > 1:
            raise ShapesError(f"shape {subject} has {len(found)} values for sh:{local}")
        return found[0] if found else None

    def members(self, head) -> list:
        members, node, seen = [], head, set()
        nil = ox.NamedNode(RDF + "nil")
        while node != nil:
            if node in seen:
                raise ShapesError(f"the list {head} in the shapes is cyclic")
            seen.add(node)
            first = self.objects(node, RDF + "first")
            rest = self.objects(node, RDF + "rest")
            if len(first) != 1 or len(rest) != 1:
                raise ShapesError(f"the list {head} in the shapes is malformed")
            members.append(first[0])
            node = rest[0]
        return members

    def local_predicates(self, subject) -> set[str]:
        return {q.predicate.value[len(SH):] for q in self.store.quads_for_pattern(subject, None, None)
                if q.predicate.value.startswith(SH)}


def sparql_term(term) -> str:
    """A term as SPARQL text (blank nodes are refused: a query cannot name one)."""
    if isinstance(term, ox.NamedNode):
        return f"<{term.value}>"
    if isinstance(term, ox.Literal):
        text = term.value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        if term.language:
            return f'"{text}"@{term.language}'
        return f'"{text}"^^<{term.datatype.value}>'
    raise ShapesError(f"a shape names the blank node {term}, which a query cannot match")


def path_text(shapes: _Shapes, path) -> str:
    """A SHACL property path as a SPARQL property path."""
    if isinstance(path, ox.NamedNode):
        return f"<{path.value}>"
    if not isinstance(path, ox.BlankNode):
        raise ShapesError(f"sh:path {path} is not a SHACL property path")
    for local, template in (("inversePath", "^({})"), ("zeroOrMorePath", "({})*"),
                            ("oneOrMorePath", "({})+"), ("zeroOrOnePath", "({})?")):
        inner = shapes.value(path, local)
        if inner is not None:
            return template.format(path_text(shapes, inner))
    alternatives = shapes.value(path, "alternativePath")
    if alternatives is not None:
        return "(" + "|".join(path_text(shapes, p) for p in shapes.members(alternatives)) + ")"
    if shapes.objects(path, RDF + "first"):
        return "(" + "/".join(path_text(shapes, p) for p in shapes.members(path)) + ")"
    raise ShapesError(f"sh:path {path} is not a SHACL property path")


def _literal_ok(datatype: str, v: str) -> str:
    """An expression true when ``v`` is a literal of ``datatype`` with a valid lexical form."""
    test = f"(isLiteral({v}) && DATATYPE({v}) = <{datatype}>"
    local = datatype[len(XSD):] if datatype.startswith(XSD) else ""
    if local in CASTABLE:
        cast = "integer" if local in INTEGER_SUBTYPES else local
        check = f"COALESCE(isLiteral(xsd:{cast}(STR({v}))), false)"
        if local in INTEGER_SUBTYPES:
            check = f"COALESCE(xsd:integer(STR({v})) {INTEGER_SUBTYPES[local]}, false)"
        test += f" && {check}"
    if datatype == RDF + "langString":
        test = f"(isLiteral({v}) && LANG({v}) != \"\""
    return test + ")"


class _Translator:
    def __init__(self, shapes: _Shapes):
        self.shapes = shapes
        self.counter = 0

    def value_test(self, shape, v: str) -> list[tuple[str, str]]:
        """(component, expression true when ``v`` passes) for the value-type constraints."""
        s = self.shapes
        tests = []
        for cls in s.objects(shape, "class"):
            tests.append(("ClassConstraintComponent",
                          f"EXISTS {{ {v} rdf:type/rdfs:subClassOf* {sparql_term(cls)} }}"))
        for datatype in s.objects(shape, "datatype"):
            tests.append(("DatatypeConstraintComponent", _literal_ok(datatype.value, v)))
        for kind in s.objects(shape, "nodeKind"):
            tests.append(("NodeKindConstraintComponent",
                          NODE_KINDS[kind.value[len(SH):]].format(v=v)))
        for listed in s.objects(shape, "in"):
            members = s.members(listed)
            tests.append(("InConstraintComponent", "(" + " || ".join(
                f"sameTerm({v}, {sparql_term(m)})" for m in members) + ")" if members else "false"))
        for pattern in s.objects(shape, "pattern"):
            flags = s.value(shape, "flags")
            regex = sparql_term(ox.Literal(pattern.value))
            extra = f", {sparql_term(ox.Literal(flags.value))}" if flags is not None else ""
            tests.append(("PatternConstraintComponent",
                          f"(!isBlank({v}) && REGEX(STR({v}), {regex}{extra}))"))
        for local, op in (("minInclusive", ">="), ("maxInclusive", "<="),
                          ("minExclusive", ">"), ("maxExclusive", "<")):
            for bound in s.objects(shape, local):
                tests.append((local[0].upper() + local[1:] + "ConstraintComponent",
                              f"COALESCE({v} {op} {sparql_term(bound)}, false)"))
        for local, op in (("minLength", ">="), ("maxLength", "<=")):
            for bound in s.objects(shape, local):
                tests.append((local[0].upper() + local[1:] + "ConstraintComponent",
                              f"(!isBlank({v}) && STRLEN(STR({v})) {op} {int(bound.value)})"))
        for listed in s.objects(shape, "or"):
            options = [self.conforms(member, v) for member in s.members(listed)]
            tests.append(("OrConstraintComponent", "(" + " || ".join(options) + ")"))
        for listed in s.objects(shape, "and"):
            parts = [self.conforms(member, v) for member in s.members(listed)]
            tests.append(("AndConstraintComponent", "(" + " && ".join(parts) + ")"))
        for listed in s.objects(shape, "xone"):
            options = [self.conforms(member, v) for member in s.members(listed)]
            counted = " + ".join(f"IF({option}, 1, 0)" for option in options) or "0"
            tests.append(("XoneConstraintComponent", f"(({counted}) = 1)"))
        for other in s.objects(shape, "node"):
            tests.append(("NodeConstraintComponent", self.conforms(other, v)))
        for negated in s.objects(shape, "not"):
            tests.append(("NotConstraintComponent", f"!{self.conforms(negated, v)}"))
        return tests

    def conforms(self, shape, v: str) -> str:
        """An expression true when the node ``v`` conforms to ``shape`` (for sh:or, sh:and, sh:not)."""
        self.check_supported(shape)
        if self.shapes.objects(shape, "sparql"):
            raise ShapesError(f"shape {shape}: sh:sparql inside sh:or/sh:and/sh:not is not supported")
        s = self.shapes
        path = s.value(shape, "path")
        parts = []
        if path is None:
            parts += [test for _, test in self.value_test(shape, v)]
            for prop in s.objects(shape, "property"):
                parts.append(self.conforms(prop, v))
            return "(" + " && ".join(parts or ["true"]) + ")"
        p = path_text(s, path)
        self.counter += 1
        x = f"?inner{self.counter}"
        for count in s.objects(shape, "minCount"):
            parts.append(f"EXISTS {{ SELECT (COUNT(DISTINCT {x}) AS {x}n) WHERE {{ {v} {p} {x} }} "
                         f"HAVING (COUNT(DISTINCT {x}) >= {int(count.value)}) }}"
                         if int(count.value) > 1 else f"EXISTS {{ {v} {p} {x} }}")
        for count in s.objects(shape, "maxCount"):
            parts.append(f"NOT EXISTS {{ SELECT {v} WHERE {{ {v} {p} {x} }} GROUP BY {v} "
                         f"HAVING (COUNT(DISTINCT {x}) > {int(count.value)}) }}")
        for value in s.objects(shape, "hasValue"):
            parts.append(f"EXISTS {{ {v} {p} {sparql_term(value)} }}")
        tests = [test for _, test in self.value_test(shape, x)]
        if tests:
            parts.append(f"NOT EXISTS {{ {v} {p} {x} FILTER (!({' && '.join(tests)})) }}")
        return "(" + " && ".join(parts or ["true"]) + ")"

    def check_supported(self, shape) -> None:
        unknown = self.shapes.local_predicates(shape) - SUPPORTED - NOT_CONSTRAINTS - {
            "inversePath", "alternativePath", "zeroOrMorePath", "oneOrMorePath", "zeroOrOnePath"}
        if unknown:
            names = ", ".join(f"sh:{name}" for name in sorted(unknown))
            raise Unsupported(f"shape {shape} uses {names}, which the SPARQL validator does not "
                              "check; validate with pyshacl (COPROD_VALIDATOR=pyshacl)")


def _targets(shapes: _Shapes, shape) -> list[str]:
    """The target patterns of a shape, each binding ?this."""
    patterns = []
    for cls in shapes.objects(shape, "targetClass"):
        patterns.append(f"?this rdf:type/rdfs:subClassOf* {sparql_term(cls)} .")
    nodes = shapes.objects(shape, "targetNode")
    if nodes:
        patterns.append("VALUES ?this { " + " ".join(sparql_term(n) for n in nodes) + " }")
    for prop in shapes.objects(shape, "targetSubjectsOf"):
        patterns.append(f"?this {sparql_term(prop)} ?target_ .")
    for prop in shapes.objects(shape, "targetObjectsOf"):
        patterns.append(f"?target_ {sparql_term(prop)} ?this .")
    return patterns


def _focus(targets: list[str]) -> str:
    return "{ SELECT DISTINCT ?this WHERE { " + " UNION ".join("{ " + t + " }" for t in targets) + " } }"


@dataclass
class _Query:
    shape: object
    component: str
    path: str
    text: str
    message: str
    severity: str
    node_shape: bool = False  # a shape without sh:path: its value node is the focus node
    cls: str = ""  # for sh:class, the class the values must have


def _message(shapes: _Shapes, shape, parent=None) -> str:
    for node in (shape, parent):
        if node is not None:
            found = shapes.objects(node, "message")
            if found:
                return found[0].value
    return ""


def _severity(shapes: _Shapes, shape) -> str:
    found = shapes.value(shape, "severity")
    return SEVERITY_NAMES.get(found.value, "violation") if found is not None else "violation"


def _prefix_lines(shapes: _Shapes, constraint) -> str:
    lines = []
    for holder in shapes.objects(constraint, "prefixes"):
        for declaration in shapes.objects(holder, "declare"):
            prefix = shapes.value(declaration, "prefix")
            namespace = shapes.value(declaration, "namespace")
            lines.append(f"PREFIX {prefix.value}: <{namespace.value}>")
    return "\n".join(lines)


def compile_shapes(shapes_store: ox.Store) -> list[_Query]:
    """Translate every active shape of the shapes graph into SPARQL SELECT queries.

    Raises ShapesError for a component the translator does not handle or a malformed shape.
    """
    shapes = _Shapes(shapes_store)
    translator = _Translator(shapes)
    queries: list[_Query] = []
    shape_nodes = set()
    for local in ("targetClass", "targetNode", "targetSubjectsOf", "targetObjectsOf"):
        for quad in shapes_store.quads_for_pattern(None, ox.NamedNode(SH + local), None):
            shape_nodes.add(quad.subject)
    for shape in sorted(shape_nodes, key=str):
        if _deactivated(shapes, shape):
            continue
        focus = _focus(_targets(shapes, shape))
        translator.check_supported(shape)
        queries += _shape_queries(shapes, translator, shape, focus, None)
        for prop in shapes.objects(shape, "property"):
            if not _deactivated(shapes, prop):
                translator.check_supported(prop)
                queries += _shape_queries(shapes, translator, prop, focus, None)
    return queries


def _deactivated(shapes: _Shapes, shape) -> bool:
    flag = shapes.value(shape, "deactivated")
    return flag is not None and flag.value == "true"


def _shape_queries(shapes: _Shapes, translator: _Translator, shape, focus: str, parent) -> list[_Query]:
    path = shapes.value(shape, "path")
    message = _message(shapes, shape, parent)
    severity = _severity(shapes, shape)
    queries = []
    if path is None:
        value_pattern, path_key, p = "BIND (?this AS ?value)", "", None
    else:
        p = path_text(shapes, path)
        value_pattern, path_key = f"?this {p} ?value .", p
    classes = iter(shapes.objects(shape, "class"))
    for component, test in translator.value_test(shape, "?value"):
        cls = next(classes).value if component == "ClassConstraintComponent" else ""
        queries.append(_Query(shape, component, path_key,
                              f"SELECT DISTINCT ?this ?value WHERE {{ {focus} {value_pattern} "
                              f"FILTER (!({test})) }}", message, severity, cls=cls))
    if p is not None:
        for count in shapes.objects(shape, "minCount"):
            n = int(count.value)
            text = (f"SELECT ?this WHERE {{ {focus} FILTER NOT EXISTS {{ ?this {p} ?value }} }}"
                    if n == 1 else
                    f"SELECT ?this WHERE {{ {focus} OPTIONAL {{ ?this {p} ?value }} }} "
                    f"GROUP BY ?this HAVING (COUNT(DISTINCT ?value) < {n})")
            queries.append(_Query(shape, "MinCountConstraintComponent", path_key, text, message,
                                  severity))
        for count in shapes.objects(shape, "maxCount"):
            queries.append(_Query(shape, "MaxCountConstraintComponent", path_key,
                                  f"SELECT ?this WHERE {{ {focus} ?this {p} ?value }} GROUP BY ?this "
                                  f"HAVING (COUNT(DISTINCT ?value) > {int(count.value)})",
                                  message, severity))
        for unique in shapes.objects(shape, "uniqueLang"):
            if unique.value == "true":
                queries.append(_Query(shape, "UniqueLangConstraintComponent", path_key,
                                      f"SELECT DISTINCT ?this WHERE {{ {focus} ?this {p} ?value, ?other "
                                      "FILTER (?value != ?other && LANG(?value) != \"\" && "
                                      "LANG(?value) = LANG(?other)) }", message, severity))
    for value in shapes.objects(shape, "hasValue"):
        text = (f"SELECT ?this WHERE {{ {focus} FILTER NOT EXISTS {{ ?this {p} {sparql_term(value)} }} }}"
                if p is not None else
                f"SELECT ?this WHERE {{ {focus} FILTER (!sameTerm(?this, {sparql_term(value)})) }}")
        queries.append(_Query(shape, "HasValueConstraintComponent", path_key, text, message,
                              severity))
    for constraint in shapes.objects(shape, "sparql"):
        select = shapes.value(constraint, "select")
        if select is None:
            raise ShapesError(f"the sh:sparql constraint of {shape} has no sh:select")
        body = select.value.replace("$this", "?this")
        match = re.search(r"\bWHERE\s*\{", body, re.IGNORECASE)
        if match is None:
            raise ShapesError(f"the sh:sparql constraint of {shape} has no WHERE clause")
        text = (_prefix_lines(shapes, constraint) + "\n" + body[:match.end()] + f" {focus} "
                + body[match.end():])
        queries.append(_Query(shape, "SPARQLConstraintComponent", path_key, text,
                              _message(shapes, constraint, None) or message, severity,
                              node_shape=path is None))
    return queries


def _show(term) -> str:
    """A term in N-Triples form, or "" for none."""
    return "" if term is None else str(term)


def _plain(term) -> str:
    """A term as a message shows it: an IRI or a literal's lexical form."""
    return "" if term is None else term.value


def _fill(template: str, row) -> str:
    """Substitute {?var} and {$var} in a message with the row's values."""
    def value(match):
        name = match.group(1)
        try:
            bound = row[name]
        except (KeyError, IndexError):
            return match.group(0)
        return _plain(bound) if bound is not None else match.group(0)
    return re.sub(r"\{[?$]([A-Za-z_][A-Za-z0-9_]*)\}", value, template)


def run(data: ox.Store, queries: list[_Query]) -> list[Result]:
    """Run compiled shapes over a data store; return every result, sorted."""
    results = set()
    for query in queries:
        try:
            solutions = data.query(query.text, prefixes=PREFIXES)
        except SyntaxError as error:
            raise ShapesError(f"shape {query.shape}: the generated query does not parse: {error}") from None
        variables = [v.value for v in solutions.variables]
        for row in solutions:
            value = row["value"] if "value" in variables else None
            if value is None and query.node_shape and query.component == "SPARQLConstraintComponent":
                value = row["this"]  # SHACL 5.3.2: a node shape's value node is its focus node
            path = query.path
            if "path" in variables and row["path"] is not None:
                path = f"<{row['path'].value}>"
            results.add(Result(focus=_show(row["this"]), path=path, component=SH + query.component,
                               severity=query.severity, message=_fill(query.message, row),
                               value=_show(value), shape=str(query.shape), cls=query.cls))
    return sorted(results)


def validate_store(data: ox.Store, shapes_file: Path) -> list[Result]:
    """Validate a data store (ontology included) against a shapes file, without rdflib.

    Raises ShapesError for shapes the translator cannot check, SyntaxError for a shapes file that
    does not parse.
    """
    shapes = ox.Store()
    shapes.bulk_load(path=str(shapes_file), format=ox.RdfFormat.TURTLE)
    return run(data, compile_shapes(shapes))


def validate(loaded, shapes, ontology=None, only_files=None):
    """The SPARQL twin of ``validate.validate``: the same report from the same arguments.

    ``shapes`` is an rdflib graph as ``validate.load_shapes`` returns it; the data graph is the
    loaded graph with the ontology beside it, as pyshacl reads them.
    """
    from rdflib import URIRef

    from .curate.checks import scheme_hint
    from .load import to_pyoxigraph
    from .validate import Problem, ValidationReport, _short

    data = _data_store(loaded, ontology)
    shapes_store = ox.Store()
    shapes_store.extend(ox.Quad(*map(to_pyoxigraph, t)) for t in shapes)
    try:
        queries = compile_shapes(shapes_store)
    except ShapesError as error:
        where = getattr(shapes, "coprod_source", "the SHACL shapes")
        if not isinstance(error, Unsupported):
            # Malformed shapes: let the reference judge them, so that the refusal is pyshacl's
            # own (validate_with_pyshacl raises ShapesError naming the file when it cannot load them).
            from .validate import validate_with_pyshacl

            validate_with_pyshacl(loaded, shapes, ontology, only_files)
        raise ShapesError(f"{where}: {error}") from None
    # Terms are shown with the loaded graph's prefixes; the rdflib graph itself is made only if
    # a class result needs its hint (scheme_hint reads the scheme's members).
    shown = loaded if hasattr(loaded, "namespace_manager") else loaded.graph
    problems = set()
    for result in run(data, queries):
        focus = _from_text(result.focus)
        value = _from_text(result.value) if result.value.startswith("<") else None
        culprit = value if value is not None and loaded.origin(value) else focus
        origin = loaded.origin(culprit)
        if only_files is not None and (origin is None or origin.resolve() not in only_files):
            continue
        path = URIRef(result.path[1:-1]) if re.fullmatch(r"<[^<>]*>", result.path) else None
        message = result.message
        if message and result.cls and isinstance(value, URIRef):
            message += scheme_hint(loaded.graph, value, URIRef(result.cls))  # as validate._not_in_scheme
        problems.add(Problem(
            file=str(origin) if origin else "(no file)", node=_short(shown, culprit),
            message=message or "violates a shape",
            path=_short(shown, path) if path is not None else "", severity=result.severity))
    ordered = sorted(problems)
    return ValidationReport(conforms=not any(p.severity == "violation" for p in ordered),
                            problems=ordered)


def _data_store(loaded, ontology=None) -> ox.Store:
    """The loaded graph's own store (read, never changed) when the ontology is part of what was
    loaded, as in a build; else a new store of both."""
    from .load import to_pyoxigraph

    if getattr(loaded, "ox_by_file", None) and len(loaded.store()) == loaded.size():
        data = loaded.store()
        extra = [] if ontology is None else [
            quad for quad in (ox.Quad(*map(to_pyoxigraph, t)) for t in ontology) if quad not in data]
        if not extra:
            return data
    data = ox.Store()
    data.extend(ox.Quad(*map(to_pyoxigraph, t)) for t in loaded.graph)
    if ontology is not None:
        data.extend(ox.Quad(*map(to_pyoxigraph, t)) for t in ontology)
    return data


def _from_text(text: str):
    """An IRI or blank node written by ``_show``, back as an rdflib term."""
    from rdflib import BNode, URIRef

    if text.startswith("<"):
        return URIRef(text[1:-1])
    if text.startswith("_:"):
        return BNode(text[2:])
    raise ValueError(f"not a node: {text}")
