"""Forward-chain the OWL 2 RL rules over a pyoxigraph store, to a fixpoint, without rdflib.

The rules are the OWL 2 RL/RDF rules (W3C OWL 2 Profiles, section 4.3) that can add triples to a
consistent graph, written once each as a SPARQL update whose WHERE clause reads the axioms from the
store itself. Nothing here names a term of the coprod ontology: whatever subclass, sub-property,
domain, range, inverse, symmetric, transitive, chain, restriction, intersection, union or
equivalence axioms the TBox holds, they drive the rules, including axioms about blank-node
properties. Rules that only need one pattern per axiom (transitive properties, property chains of
any length) are generated from the axioms present at each round, so a chain added or removed in
the ontology needs no code change.

The rounds repeat until a round adds nothing, and the evaluation is semi-naive: every rule inserts
only triples the store does not hold yet, and also puts them in a named graph of what this round
added (the delta). From the second round on, the rules that read the data (the instance rules and
the property chains, with the axioms fixed) join one data pattern at a time against the previous
round's delta instead of the whole store, so a round costs what it adds, not what the store
holds. On the delta, a rule that concludes a typing reads its distinct (node, class) pairs
first and looks each one up, rather than asking ``FILTER NOT EXISTS``, which Oxigraph answers by
reading every typing in the store. A round after one that added an axiom (a triple in the RDF,
RDFS or OWL vocabulary) reads the whole store again. The cheap rules (the schema rules,
intersections, unions, transitivity and equality) read the whole store every round. The number
of rounds is bounded by the depth of the derivations (five for this ontology), not by the size of
the data.

After the fixpoint, one step that is not OWL RL adds the quote each claim shows
(``coprod:shownQuote``, see shown.py), which ``reason.reason_owlrl`` adds to owlrl's closure too.

What the rules infer equals owlrl's closure (``reason.reason``) triple for triple once the same
noise is taken out: ``is_noise`` here is ``reason.is_noise`` on pyoxigraph terms. Two kinds of
owlrl conclusion a store cannot hold are never made: a literal as subject (always noise) and a
blank node as predicate; a chain on a blank-node property concludes the named super-properties of
that property directly, which is what owlrl's closure keeps.

The equality rules (``owl:sameAs``, functional and inverse-functional properties, max
cardinality 1) run only when the store holds one of those terms, because they cost a pass over
every triple per round.
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import pyoxigraph as ox

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
OWL = "http://www.w3.org/2002/07/owl#"
XSD = "http://www.w3.org/2001/XMLSchema#"

# The noise of reason.is_noise, spelled as strings so this module needs no rdflib.
BUILTIN_PREFIXES = (OWL, RDF, RDFS, XSD)
TRIVIAL_PREDICATES = {OWL + "sameAs", OWL + "equivalentClass", OWL + "equivalentProperty",
                      RDFS + "subClassOf", RDFS + "subPropertyOf"}
TRIVIAL_TYPES = {OWL + "Thing", RDFS + "Resource", OWL + "NamedIndividual"}
KEPT_BUILTIN_TYPES = {OWL + "Class", OWL + "ObjectProperty", OWL + "DatatypeProperty"}
RDF_TYPE = RDF + "type"

PREFIXES = {"rdf": RDF, "rdfs": RDFS, "owl": OWL}

# One SPARQL update per OWL 2 RL rule, named as in the W3C tables. Conclusions that are always
# noise (x sameAs x, c subClassOf c, owl:Nothing subClassOf c) are left out; a conclusion that
# would put a blank node in the predicate position is filtered by isIRI.
SCHEMA_RULES = {
    "scm-cls": "INSERT { ?c rdfs:subClassOf owl:Thing } WHERE { ?c a owl:Class }",
    "scm-sco": "INSERT { ?a rdfs:subClassOf ?c } WHERE "
               "{ ?a rdfs:subClassOf ?b . ?b rdfs:subClassOf ?c }",
    "scm-eqc1": "INSERT { ?a rdfs:subClassOf ?b . ?b rdfs:subClassOf ?a } WHERE "
                "{ ?a owl:equivalentClass ?b }",
    "scm-eqc2": "INSERT { ?a owl:equivalentClass ?b } WHERE "
                "{ ?a rdfs:subClassOf ?b . ?b rdfs:subClassOf ?a }",
    "scm-spo": "INSERT { ?a rdfs:subPropertyOf ?c } WHERE "
               "{ ?a rdfs:subPropertyOf ?b . ?b rdfs:subPropertyOf ?c }",
    "scm-eqp1": "INSERT { ?a rdfs:subPropertyOf ?b . ?b rdfs:subPropertyOf ?a } WHERE "
                "{ ?a owl:equivalentProperty ?b }",
    "scm-eqp2": "INSERT { ?a owl:equivalentProperty ?b } WHERE "
                "{ ?a rdfs:subPropertyOf ?b . ?b rdfs:subPropertyOf ?a }",
    "scm-dom1": "INSERT { ?p rdfs:domain ?c2 } WHERE { ?p rdfs:domain ?c1 . ?c1 rdfs:subClassOf ?c2 }",
    "scm-dom2": "INSERT { ?p1 rdfs:domain ?c } WHERE { ?p2 rdfs:domain ?c . ?p1 rdfs:subPropertyOf ?p2 }",
    "scm-rng1": "INSERT { ?p rdfs:range ?c2 } WHERE { ?p rdfs:range ?c1 . ?c1 rdfs:subClassOf ?c2 }",
    "scm-rng2": "INSERT { ?p1 rdfs:range ?c } WHERE { ?p2 rdfs:range ?c . ?p1 rdfs:subPropertyOf ?p2 }",
    "scm-hv": "INSERT { ?c1 rdfs:subClassOf ?c2 } WHERE { ?c1 owl:hasValue ?i ; owl:onProperty ?p1 . "
              "?c2 owl:hasValue ?i ; owl:onProperty ?p2 . ?p1 rdfs:subPropertyOf ?p2 }",
    "scm-svf1": "INSERT { ?c1 rdfs:subClassOf ?c2 } WHERE { ?c1 owl:someValuesFrom ?y1 ; "
                "owl:onProperty ?p . ?c2 owl:someValuesFrom ?y2 ; owl:onProperty ?p . "
                "?y1 rdfs:subClassOf ?y2 }",
    "scm-svf2": "INSERT { ?c1 rdfs:subClassOf ?c2 } WHERE { ?c1 owl:someValuesFrom ?y ; "
                "owl:onProperty ?p1 . ?c2 owl:someValuesFrom ?y ; owl:onProperty ?p2 . "
                "?p1 rdfs:subPropertyOf ?p2 }",
    "scm-avf1": "INSERT { ?c1 rdfs:subClassOf ?c2 } WHERE { ?c1 owl:allValuesFrom ?y1 ; "
                "owl:onProperty ?p . ?c2 owl:allValuesFrom ?y2 ; owl:onProperty ?p . "
                "?y1 rdfs:subClassOf ?y2 }",
    "scm-avf2": "INSERT { ?c2 rdfs:subClassOf ?c1 } WHERE { ?c1 owl:allValuesFrom ?y ; "
                "owl:onProperty ?p1 . ?c2 owl:allValuesFrom ?y ; owl:onProperty ?p2 . "
                "?p1 rdfs:subPropertyOf ?p2 }",
    "scm-int": "INSERT { ?c rdfs:subClassOf ?ci } WHERE "
               "{ ?c owl:intersectionOf/rdf:rest*/rdf:first ?ci }",
    "scm-uni": "INSERT { ?ci rdfs:subClassOf ?c } WHERE { ?c owl:unionOf/rdf:rest*/rdf:first ?ci }",
}

INSTANCE_RULES = {
    "cax-sco": "INSERT { ?x a ?c2 } WHERE { ?c1 rdfs:subClassOf ?c2 . ?x a ?c1 }",
    "prp-dom": "INSERT { ?x a ?c } WHERE { ?p rdfs:domain ?c . ?x ?p ?y }",
    "prp-rng": "INSERT { ?y a ?c } WHERE { ?p rdfs:range ?c . ?x ?p ?y FILTER (!isLiteral(?y)) }",
    "prp-spo1": "INSERT { ?x ?p2 ?y } WHERE "
                "{ ?p1 rdfs:subPropertyOf ?p2 FILTER (isIRI(?p2) && ?p1 != ?p2) ?x ?p1 ?y }",
    "prp-inv1": "INSERT { ?y ?p2 ?x } WHERE "
                "{ ?p1 owl:inverseOf ?p2 FILTER isIRI(?p2) ?x ?p1 ?y FILTER (!isLiteral(?y)) }",
    "prp-inv2": "INSERT { ?y ?p1 ?x } WHERE "
                "{ ?p1 owl:inverseOf ?p2 FILTER isIRI(?p1) ?x ?p2 ?y FILTER (!isLiteral(?y)) }",
    "prp-symp": "INSERT { ?y ?p ?x } WHERE "
                "{ ?p a owl:SymmetricProperty FILTER isIRI(?p) ?x ?p ?y FILTER (!isLiteral(?y)) }",
    "cls-hv1": "INSERT { ?x ?p ?v } WHERE "
               "{ ?c owl:hasValue ?v ; owl:onProperty ?p FILTER isIRI(?p) ?x a ?c }",
    "cls-hv2": "INSERT { ?x a ?c } WHERE { ?c owl:hasValue ?v ; owl:onProperty ?p . ?x ?p ?v }",
    "cls-svf1": "INSERT { ?x a ?c } WHERE { ?c owl:someValuesFrom ?d ; owl:onProperty ?p "
                "FILTER (?d != owl:Thing) ?x ?p ?y . ?y a ?d }",
    "cls-svf2": "INSERT { ?x a ?c } WHERE "
                "{ ?c owl:someValuesFrom owl:Thing ; owl:onProperty ?p . ?x ?p ?y }",
    "cls-avf": "INSERT { ?y a ?d } WHERE { ?c owl:allValuesFrom ?d ; owl:onProperty ?p . "
               "?x a ?c . ?x ?p ?y FILTER (!isLiteral(?y)) }",
    # cls-int1: a node typed with every member of an intersection has the intersection's type.
    "cls-int1": "INSERT { ?x a ?c } WHERE { ?c owl:intersectionOf ?list . ?list rdf:first ?first . "
                "?x a ?first FILTER NOT EXISTS { ?list rdf:rest*/rdf:first ?member "
                "FILTER NOT EXISTS { ?x a ?member } } }",
    "cls-int2": "INSERT { ?x a ?ci } WHERE { ?c owl:intersectionOf/rdf:rest*/rdf:first ?ci . ?x a ?c }",
    "cls-uni": "INSERT { ?x a ?c } WHERE { ?c owl:unionOf/rdf:rest*/rdf:first ?ci . ?x a ?ci }",
}

EQUALITY_RULES = {
    "prp-fp": "INSERT { ?y1 owl:sameAs ?y2 } WHERE { ?p a owl:FunctionalProperty . "
              "?x ?p ?y1 . ?x ?p ?y2 FILTER (?y1 != ?y2 && !isLiteral(?y1)) }",
    "prp-ifp": "INSERT { ?x1 owl:sameAs ?x2 } WHERE { ?p a owl:InverseFunctionalProperty . "
               "?x1 ?p ?y . ?x2 ?p ?y FILTER (?x1 != ?x2) }",
    "cls-maxc2": "INSERT { ?y1 owl:sameAs ?y2 } WHERE { ?c owl:maxCardinality "
                 "\"1\"^^<http://www.w3.org/2001/XMLSchema#nonNegativeInteger> ; owl:onProperty ?p . "
                 "?x a ?c ; ?p ?y1, ?y2 FILTER (?y1 != ?y2 && !isLiteral(?y1)) }",
    "eq-sym": "INSERT { ?y owl:sameAs ?x } WHERE { ?x owl:sameAs ?y }",
    "eq-trans": "INSERT { ?x owl:sameAs ?z } WHERE { ?x owl:sameAs ?y . ?y owl:sameAs ?z }",
    "eq-rep-s": "INSERT { ?s2 ?p ?o } WHERE { ?s owl:sameAs ?s2 FILTER (?s != ?s2) ?s ?p ?o }",
    "eq-rep-p": "INSERT { ?s ?p2 ?o } WHERE "
                "{ ?p owl:sameAs ?p2 FILTER (?p != ?p2 && isIRI(?p2)) ?s ?p ?o }",
    "eq-rep-o": "INSERT { ?s ?p ?o2 } WHERE { ?o owl:sameAs ?o2 FILTER (?o != ?o2) ?s ?p ?o }",
}

EQUALITY_TRIGGERS = """ASK {
  { ?x owl:sameAs ?y } UNION { ?p a owl:FunctionalProperty } UNION
  { ?p a owl:InverseFunctionalProperty } UNION { ?c owl:maxCardinality ?n }
}"""

# The data patterns of the rules that read the data: semi-naive rounds join each of them in turn
# against the delta, the rule's other patterns (the axioms) against the whole store.
DATA_PATTERNS = {
    "cax-sco": ["?x a ?c1"],
    "prp-dom": ["?x ?p ?y"],
    "prp-rng": ["?x ?p ?y"],
    "prp-spo1": ["?x ?p1 ?y"],
    "prp-inv1": ["?x ?p1 ?y"],
    "prp-inv2": ["?x ?p2 ?y"],
    "prp-symp": ["?x ?p ?y"],
    "cls-hv1": ["?x a ?c"],
    "cls-hv2": ["?x ?p ?v"],
    "cls-svf1": ["?x ?p ?y", "?y a ?d"],
    "cls-svf2": ["?x ?p ?y"],
    "cls-avf": ["?x a ?c", "?x ?p ?y"],
}

# Named graphs the rounds keep their bookkeeping in (dropped before close returns).
DELTA = "urn:coprod-kg:rules:delta"
ADDED = "urn:coprod-kg:rules:added"
INFERRED = "urn:coprod-kg:rules:inferred"  # every triple the rules added, all rounds

# The axioms the rules read: triples with these predicates, and typings with these classes.
# A round after one that added such a triple reads the whole store again.
AXIOM_PREDICATES = [RDFS + local for local in ("subClassOf", "subPropertyOf", "domain", "range")] \
    + [OWL + local for local in ("equivalentClass", "equivalentProperty", "inverseOf", "hasValue",
                                 "onProperty", "someValuesFrom", "allValuesFrom", "intersectionOf",
                                 "unionOf", "propertyChainAxiom", "maxCardinality", "sameAs")] \
    + [RDF + "first", RDF + "rest"]
AXIOM_TYPES = [OWL + local for local in ("Class", "SymmetricProperty", "TransitiveProperty",
                                         "FunctionalProperty", "InverseFunctionalProperty")]


def _count(store: ox.Store, graph: str) -> int:
    """How many triples a named graph of the store holds."""
    query = f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"
    return int(next(iter(store.query(query)))["n"].value)


def _count_axioms(store: ox.Store) -> int:
    """How many axioms the graph of what this round added holds."""
    predicates = " ".join(f"<{p}>" for p in AXIOM_PREDICATES)
    types = " ".join(f"<{t}>" for t in AXIOM_TYPES)
    query = (f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{ADDED}> {{ {{ VALUES ?p {{ {predicates} }} "
             f"?s ?p ?o }} UNION {{ VALUES ?o {{ {types} }} ?s a ?o }} }} }}")
    return int(next(iter(store.query(query, prefixes=PREFIXES)))["n"].value)


_RULE = re.compile(r"INSERT \{ (?P<head>[^{}]*) \} WHERE \{ (?P<body>.*) \}", re.DOTALL)


def _split(update: str) -> tuple[list[str], str]:
    """The head triples and the body of one rule's update."""
    match = _RULE.fullmatch(update)
    if match is None:
        raise RuleError(f"cannot read the rule {update!r}")
    return [t.strip() for t in match.group("head").split(" . ")], match.group("body")


def guarded(update: str) -> list[str]:
    """A rule as updates that insert only what the store lacks, each triple into the default
    graph and into the graph of what this round added (one update per head triple)."""
    heads, body = _split(update)
    return [_insert_unless_held(head, body) for head in heads]


def _insert_unless_held(head: str, body: str) -> str:
    """Insert ``head`` (also into the round's graph) for each row of ``body`` the store lacks it
    for, asked as ``FILTER NOT EXISTS``."""
    return (f"INSERT {{ {head} . GRAPH <{ADDED}> {{ {head} }} }} WHERE {{ {body} "
            f"FILTER NOT EXISTS {{ {head} }} }}")


def on_delta(update: str, patterns: list[str]) -> list[str]:
    """A rule as semi-naive updates: one per data pattern, that pattern read from the delta."""
    heads, body = _split(update)
    variants = []
    for pattern in patterns:
        if body.count(pattern) != 1:
            raise RuleError(f"the pattern {pattern!r} is not once in the rule {update!r}")
        # The delta's pattern is read first, in a subquery of its own, then the rest joined to
        # what it binds: joined directly, the engine probes the delta once per axiom, and a
        # probe of a named graph costs in proportion to the whole store.
        variants.append(f"{{ SELECT * WHERE {{ GRAPH <{DELTA}> {{ {pattern} }} }} }} "
                        + body.replace(pattern, "{}"))
    return [_insert_lacking(head, variant) for head in heads for variant in variants]


def _insert_lacking(head: str, body: str) -> str:
    """The update that inserts ``head`` for each row of ``body`` where the store lacks it."""
    parts = head.split()
    if len(parts) != 3 or parts[1] not in ("a", "rdf:type", f"<{RDF_TYPE}>"):
        return _insert_unless_held(head, body)
    # A typing: each distinct (node, class) pair is looked up on its own. Oxigraph answers
    # FILTER NOT EXISTS { ?x a ?c } by reading every typing in the store, once per update, so
    # on the delta of a round that adds little it cost what the whole store holds: at K = 300
    # the domain and range rules took 107 of the 163 s, growing with the square of the corpus.
    subject, predicate, obj = parts
    names = " ".join(sorted(set(re.findall(r"[?][A-Za-z_0-9]+", head))))
    return (f"INSERT {{ {head} . GRAPH <{ADDED}> {{ {head} }} }} WHERE {{ "
            f"{{ SELECT DISTINCT {names} WHERE {{ {body} }} }} "
            f"OPTIONAL {{ {subject} {predicate} ?held_ FILTER (sameTerm(?held_, {obj})) }} "
            "FILTER (!BOUND(?held_)) }")


CHAINS = """SELECT DISTINCT ?list WHERE { ?head owl:propertyChainAxiom ?list }"""
TRANSITIVE = """SELECT DISTINCT ?p WHERE { ?p a owl:TransitiveProperty FILTER isIRI(?p) }"""

class RuleError(Exception):
    """The rules cannot run on this store (a malformed axiom, such as a broken list)."""


@dataclass
class Closure:
    """A store holding the asserted graph with its inferred triples, and how many were inferred."""

    store: ox.Store
    asserted: int
    inferred: int
    rounds: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


def is_noise(subject, predicate, obj) -> bool:
    """Tell whether an inferred triple is OWL bookkeeping; ``reason.is_noise`` on pyoxigraph terms."""
    if isinstance(subject, ox.Literal):
        return True
    if isinstance(subject, ox.NamedNode) and subject.value.startswith(BUILTIN_PREFIXES):
        return True
    if predicate.value in TRIVIAL_PREDICATES and subject == obj:
        return True
    if predicate.value == RDF_TYPE:
        if isinstance(obj, ox.Literal) or obj.value in TRIVIAL_TYPES:
            return True
        if isinstance(obj, ox.NamedNode) and obj.value.startswith(BUILTIN_PREFIXES) \
                and obj.value not in KEPT_BUILTIN_TYPES:
            return True
    return False


def _term(term) -> str:
    """A term as SPARQL text: IRIs and literals as themselves (never a blank node)."""
    if isinstance(term, ox.NamedNode):
        return f"<{term.value}>"
    raise RuleError(f"a property chain lists a blank node ({term}); only named properties "
                    "can be chained")


def _list_members(store: ox.Store, head) -> list:
    """The members of an RDF list, in order; raises RuleError for a broken or cyclic list."""
    first, rest, nil = ox.NamedNode(RDF + "first"), ox.NamedNode(RDF + "rest"), ox.NamedNode(RDF + "nil")
    members, seen, node = [], set(), head
    while node != nil:
        if node in seen:
            raise RuleError(f"the list {head} is cyclic")
        seen.add(node)
        firsts = [q.object for q in store.quads_for_pattern(node, first, None, ox.DefaultGraph())]
        rests = [q.object for q in store.quads_for_pattern(node, rest, None, ox.DefaultGraph())]
        if len(firsts) != 1 or len(rests) != 1:
            raise RuleError(f"the list {head} is malformed at {node}")
        members.append(firsts[0])
        node = rests[0]
    return members


def chain_rule(properties: list) -> str:
    """The prp-spo2 update for one chain, applied for every property declared with that chain.

    The chain is matched by its members, not by the list node, so the update can name chains on
    blank-node properties: such a property concludes its named super-properties directly.
    """
    if not properties:
        return ""
    steps, node = [], "?list"
    for index, prop in enumerate(properties):
        steps.append(f"{node} rdf:first {_term(prop)} ; rdf:rest ?r{index} .")
        node = f"?r{index}"
    steps.append(f"FILTER ({node} = rdf:nil)")
    path = " . ".join(f"?x{i} {_term(p)} ?x{i + 1}" for i, p in enumerate(properties))
    return (f"INSERT {{ ?x0 ?target ?x{len(properties)} }} WHERE {{ "
            "{ SELECT DISTINCT ?target WHERE { ?head owl:propertyChainAxiom ?list . "
            + " ".join(steps)
            + " ?head rdfs:subPropertyOf? ?target FILTER isIRI(?target) } } "
            f"{path} }}")


def chain_patterns(properties: list) -> list[str]:
    """The data patterns of ``chain_rule(properties)``: one per step of the chain."""
    return [f"?x{i} {_term(p)} ?x{i + 1}" for i, p in enumerate(properties)]


def _generated_rules(store: ox.Store, patterns: dict | None = None) -> dict[str, str]:
    """The per-axiom rules: one update per distinct chain and per transitive property.

    The data patterns of each chain rule are put in ``patterns`` under the rule's name."""
    rules = {}
    chains = set()
    for row in store.query(CHAINS, prefixes=PREFIXES):
        chains.add(tuple(_list_members(store, row["list"])))
    for chain in sorted(chains, key=lambda c: [t.value for t in c]):
        name = "prp-spo2 " + " ".join(p.value for p in chain)
        rules[name] = chain_rule(list(chain))
        if patterns is not None and rules[name]:
            patterns[name] = chain_patterns(list(chain))
    for row in store.query(TRANSITIVE, prefixes=PREFIXES):
        prop = row["p"].value
        rules[f"prp-trp {prop}"] = f"INSERT {{ ?x <{prop}> ?z }} WHERE {{ ?x <{prop}>+ ?z }}"
    return rules


def close(store: ox.Store, max_rounds: int = 100) -> Closure:
    """Add the OWL 2 RL closure of the store's default graph to it, in place, without noise.

    Triples that look like noise but were asserted stay. Raises RuleError when an axiom is
    malformed or the rules do not reach a fixpoint within ``max_rounds``. The rounds are
    semi-naive (see the module's description); the named graphs they use are dropped again.
    """
    try:
        return _close(store, max_rounds)
    finally:
        store.update(f"DROP SILENT GRAPH <{INFERRED}>")


def _close(store: ox.Store, max_rounds: int = 100) -> Closure:
    """``close``, leaving the inferred triples (noise taken out) also in the graph INFERRED."""
    seconds: dict[str, float] = {}
    asserted = len(store)
    equality = bool(store.query(EQUALITY_TRIGGERS, prefixes=PREFIXES))
    rounds, axioms_added = 0, False
    try:
        while True:
            rounds += 1
            if rounds > max_rounds:
                raise RuleError(f"the rules did not reach a fixpoint in {max_rounds} rounds")
            # The schema rules first, to their own fixpoint (they read only the axioms, which
            # are few); then the rules that read the data: on the delta, unless this is the
            # first round or an axiom was added since they last read the whole store.
            # (The schema rules add only axioms, so counting those tells whether they added any.)
            axioms = start = _count_axioms(store)
            while True:
                _apply(store, SCHEMA_RULES, {}, True, seconds)
                before, axioms = axioms, _count_axioms(store)
                if axioms == before:
                    break
            whole = rounds == 1 or axioms_added or axioms != start
            patterns = dict(DATA_PATTERNS)
            rules = {**_generated_rules(store, patterns), **INSTANCE_RULES}
            if equality:
                rules.update(EQUALITY_RULES)
            _apply(store, rules, patterns, whole, seconds)
            axioms_added = _count_axioms(store) != axioms
            store.update(f"DROP SILENT GRAPH <{DELTA}> ; ADD SILENT GRAPH <{ADDED}> TO GRAPH <{INFERRED}> ; "
                         f"MOVE SILENT GRAPH <{ADDED}> TO GRAPH <{DELTA}>")
            if not store.query(f"ASK {{ GRAPH <{DELTA}> {{ ?s ?p ?o }} }}"):
                break
    finally:
        store.update(f"DROP SILENT GRAPH <{DELTA}> ; DROP SILENT GRAPH <{ADDED}>")
    # Every inferred triple was new when it was added, so the noise among them is all the
    # noise to take out: noise that was asserted stays.
    inferred = ox.NamedNode(INFERRED)
    noise = [quad for quad in store.quads_for_pattern(None, None, None, inferred)
             if is_noise(quad.subject, quad.predicate, quad.object)]
    for quad in noise:
        store.remove(quad)
        store.remove(ox.Quad(quad.subject, quad.predicate, quad.object, ox.DefaultGraph()))
    # The one step that is not OWL RL: the quote each claim shows (shown.py), chosen once here
    # and not in every question, as reason.reason_owlrl does after owlrl.
    from .shown import add_to_store

    started = time.process_time()
    add_to_store(store, [inferred])
    seconds["shown quotes"] = time.process_time() - started
    return Closure(store, asserted, _count(store, INFERRED), rounds, seconds)


def _apply(store: ox.Store, rules: dict[str, str], patterns: dict[str, list[str]], whole: bool,
           seconds: dict[str, float]) -> None:
    """Run each rule once: whole, or on the delta where it has data patterns and ``whole`` is
    false; its CPU seconds are added to ``seconds`` under its name."""
    for name, update in rules.items():
        if not update:
            continue
        started = time.process_time()
        updates = guarded(update) if whole or name not in patterns \
            else on_delta(update, patterns[name])
        for text in updates:
            store.update(text, prefixes=PREFIXES)
        key = name.split(" ")[0]
        seconds[key] = seconds.get(key, 0.0) + time.process_time() - started


def load_store(paths: Iterable[Path]) -> ox.Store:
    """Bulk-load Turtle or N-Triples files into a new in-memory store (no rdflib involved).

    Raises InputError naming the file, line and column of a syntax error, and for an
    ``owl:imports`` (nothing is ever fetched), as ``load.parse_file`` does.
    """
    from .namespace import BASE
    from .project import InputError

    store = ox.Store()
    for path in paths:
        path = Path(path)
        fmt = ox.RdfFormat.N_TRIPLES if path.suffix == ".nt" else ox.RdfFormat.TURTLE
        try:
            store.bulk_load(path=str(path), format=fmt, base_iri=BASE)
        except SyntaxError as error:
            message = re.sub(r"^Parser error at line \d+ between columns \d+ and \d+: ", "",
                             str(getattr(error, "msg", error)))
            raise InputError(path, f"syntax error: {message}", error.lineno, error.offset) from None
        except OSError as error:
            raise InputError(path, f"cannot read file: {error.strerror or error}") from None
        for quad in store.quads_for_pattern(None, ox.NamedNode(OWL + "imports"), None):
            raise InputError(path, f"owl:imports {quad.object} is refused: coprod-kg never "
                             "fetches remote or local imports; put the axioms in the project's files")
    return store


def reason_files(paths: Iterable[Path]) -> Closure:
    """Load files into a store and add their closure: the whole reasoning step without rdflib.

    Raises InputError for a file that cannot be loaded, RuleError for a malformed axiom.
    """
    return close(load_store(paths))


def reason(asserted):
    """Return the OWL RL closure of an rdflib graph as a new rdflib graph (``reason.Closure``).

    The same interface as ``reason.reason``; ``asserted`` is left untouched.
    """
    from rdflib import Literal

    from .load import new_graph, to_pyoxigraph, to_rdflib
    from .reason import Closure as GraphClosure

    store = ox.Store()
    store.extend(ox.Quad(to_pyoxigraph(s), to_pyoxigraph(p), to_pyoxigraph(o))
                 for s, p, o in asserted)
    closure = close(store)
    # The store keeps numbers in canonical form ("3.40" becomes "3.4"); an inferred triple gets
    # back the lexical form of the asserted literal it was derived from, as owlrl keeps it.
    originals: dict = {}
    result = new_graph()
    for triple in asserted:
        result.add(triple)
        if isinstance(triple[2], Literal):
            originals.setdefault(_value_key(triple[2]), set()).add(triple[2])
    for quad in store:
        obj = to_rdflib(quad.object)
        if isinstance(obj, Literal):
            same = originals.get(_value_key(obj), ())
            if len(same) == 1:
                obj = next(iter(same))
        result.add((to_rdflib(quad.subject), to_rdflib(quad.predicate), obj))
    return GraphClosure(result, closure.asserted, closure.inferred)


def _value_key(literal) -> tuple:
    value = literal.value if literal.value is not None else str(literal)
    return (literal.datatype, literal.language, value)


def sorted_ntriples(store: ox.Store) -> bytes:
    """The store's default graph as sorted N-Triples with stable blank-node labels.

    Every load names blank nodes afresh, so each is relabelled from its content: a hash of its
    outgoing triples (following blank objects, as restrictions and lists nest), and where two
    share that, of their incoming ones too. That is linear in the triples that touch a blank
    node, where rdflib's canonicalisation is quadratic in the number of triples pointing at one
    blank node (every quote typed with the blank-node restriction). The same graph, loaded
    twice, gives the same bytes.
    """
    labels = stable_blank_labels(store)
    text = store.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=ox.DefaultGraph()).decode("utf-8")
    from .cache import ntriples_lines

    lines = set()
    for line in ntriples_lines(text):
        if "_:" in line:
            line = _relabel(line, labels)
        lines.add(line)
    return ("\n".join(sorted(lines)) + "\n").encode("utf-8")


_LABEL = re.compile(r"_:([A-Za-z0-9_\-.]+)")


def _relabel(line: str, labels: dict[str, str]) -> str:
    """Relabel the blank subject and object of one N-Triples line (never text in a literal)."""
    subject, rest = line.split(" ", 1)
    match = _LABEL.fullmatch(subject)
    if match:
        subject = "_:" + labels.get(match.group(1), match.group(1))
    head, _, last = rest[:-2].rpartition(" ")
    match = _LABEL.fullmatch(last)
    if match and rest.endswith(" ."):
        rest = f"{head} _:{labels.get(match.group(1), match.group(1))} ."
    return f"{subject} {rest}"


def stable_blank_labels(store: ox.Store) -> dict[str, str]:
    """A content-derived label for each blank node of the default graph (see sorted_ntriples)."""
    outgoing: dict = {}
    incoming: dict = {}
    query = "SELECT ?s ?p ?o WHERE { ?s ?p ?o FILTER (isBlank(?s) || isBlank(?o)) }"
    for row in store.query(query):
        subject, predicate, obj = row["s"], row["p"], row["o"]
        if isinstance(subject, ox.BlankNode):
            outgoing.setdefault(subject, []).append((predicate, obj))
            incoming.setdefault(subject, [])
        if isinstance(obj, ox.BlankNode):
            incoming.setdefault(obj, []).append((subject, predicate))
            outgoing.setdefault(obj, [])
    memo: dict = {}

    def describe(node, open_nodes: frozenset) -> str:
        if node in memo:
            return memo[node]
        if node in open_nodes:
            return "cycle"
        inner = open_nodes | {node}
        parts = sorted(f"{p} {describe(o, inner) if isinstance(o, ox.BlankNode) else o}"
                       for p, o in outgoing.get(node, ()))
        digest = hashlib.sha256("\n".join(parts).encode("utf-8")).hexdigest()
        memo[node] = digest
        return digest

    by_label: dict = {}
    for node in outgoing:
        by_label.setdefault(describe(node, frozenset()), []).append(node)
    tied = [node for nodes in by_label.values() if len(nodes) > 1 for node in nodes]
    colour = _refined_colours(tied, memo, outgoing, incoming)
    labels = {}
    for digest, nodes in by_label.items():
        if len(nodes) > 1:
            # Nodes alike in what they say are told apart by where they stand (refined over
            # their neighbours); nodes still alike then are interchangeable, so any order of
            # them gives the same triples.
            keyed = sorted((colour[node], node.value) for node in nodes)
            for index, (extra, value) in enumerate(keyed):
                labels[value] = f"b{digest[:16]}{extra[:8]}{index}"
        else:
            labels[nodes[0].value] = f"b{digest[:24]}"
    return labels


def _refined_colours(nodes: list, start: dict, outgoing: dict, incoming: dict) -> dict:
    """Colour refinement over both directions: a node's colour is the digest of its colour and
    its neighbours' colours, repeated until no more nodes are told apart."""
    colour = dict(start)

    def name(term) -> str:
        return colour[term] if isinstance(term, ox.BlankNode) else str(term)

    classes = -1
    while nodes:
        refined = {}
        for node in nodes:
            around = sorted([f"> {p} {name(o)}" for p, o in outgoing.get(node, ())]
                            + [f"< {name(s)} {p}" for s, p in incoming.get(node, ())])
            refined[node] = hashlib.sha256("\n".join([colour[node], *around]).encode("utf-8")).hexdigest()
        colour.update(refined)
        count = len(set(refined.values()))
        if count == classes:
            break
        classes = count
    return colour


def _dump(store: ox.Store) -> str:
    return store.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=ox.DefaultGraph()).decode("utf-8")


def _written_forms(asserted: list) -> dict[str, str]:
    """For each typed literal the store writes in another form than the data did ("3.4" for
    "3.40", "P1Y3M" for "P15M"), the form as written, where only one written form has that
    value (as ``reason`` maps them back)."""
    literals = list({t.object for t in asserted if isinstance(t.object, ox.Literal)
                     and not t.object.language and t.object.datatype.value != XSD + "string"})
    if not literals:
        return {}
    probe = ox.Store()
    predicate = ox.NamedNode("urn:coprod-kg:form")
    probe.extend(ox.Quad(ox.NamedNode(f"urn:coprod-kg:form:{index}"), predicate, literal)
                 for index, literal in enumerate(literals))
    written: dict[str, set] = {}
    for quad in probe:
        original = literals[int(quad.subject.value.rsplit(":", 1)[1])]
        written.setdefault(str(quad.object), set()).add(str(original))
    return {stored: next(iter(forms)) for stored, forms in written.items()
            if len(forms) == 1 and stored not in forms}


def close_with_forms(store: ox.Store, asserted: list) -> tuple[Closure, bytes]:
    """Add the closure to ``store`` (which holds exactly the triples ``asserted``) in place, and
    return it with the closure as sorted N-Triples with stable blank-node labels.

    The asserted triples are written with their lexical forms as parsed, and an inferred triple
    gets back the written form of the literal it was derived from, as ``reason`` gives them;
    everything stays on pyoxigraph, so no triple passes through rdflib. The inferred triples
    are read from the graph the rule engine keeps them in, not told apart from a second dump.
    """
    from .cache import ntriples_lines

    try:
        closure = _close(store)
        inferred = store.dump(format=ox.RdfFormat.N_TRIPLES,
                              from_graph=ox.NamedNode(INFERRED)).decode("utf-8")
    finally:
        store.update(f"DROP SILENT GRAPH <{INFERRED}>")
    labels = stable_blank_labels(store)
    forms = _written_forms(asserted)
    lines = set()
    for line in ntriples_lines(ox.serialize(asserted, format=ox.RdfFormat.N_TRIPLES).decode("utf-8")):
        lines.add(_relabel(line, labels) if "_:" in line else line)
    for line in ntriples_lines(inferred):
        if forms and '"' in line:
            subject, predicate, obj = line[:-2].split(" ", 2)
            if obj in forms:
                line = f"{subject} {predicate} {forms[obj]} ."
        lines.add(_relabel(line, labels) if "_:" in line else line)
    del inferred
    return closure, ("\n".join(sorted(lines)) + "\n").encode("utf-8")
