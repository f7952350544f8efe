"""Materialise the OWL 2 RL closure of the graph with owlrl, on a copy, without the noise, and
add the quote each claim shows (``coprod:shownQuote``, see shown.py) as the rule engine does.

Two measured shortcuts keep owlrl at about 4 s instead of 10 s for this graph, and a test shows the
closure is the same triple for triple:

- owlrl's rule eq-ref adds ``x owl:sameAs x`` for every node of every triple, tripling the graph
  it loops over; those triples are noise we drop anyway, and when the data asserts no
  ``owl:sameAs`` the other equality rules cannot fire. So the equality rules run only on
  ``owl:sameAs`` and ``owl:AllDifferent`` triples.
- A literal-valued triple can only take part in an OWL RL rule through an axiom about its
  predicate (domain, sub-property, chain, inverse, functional, restriction). Literal triples of
  predicates with no such axiom (labels, definitions, quotes, rationales) are left out of the
  reasoning and put back afterwards.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import owlrl
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, RDFS, XSD

from .load import new_graph

# Statements about the built-in vocabularies are axioms of OWL and RDF, not knowledge about the
# evidence; owlrl restates many of them.
BUILTIN_PREFIXES = (str(OWL), str(RDF), str(RDFS), str(XSD))
TRIVIAL_PREDICATES = {OWL.sameAs, OWL.equivalentClass, OWL.equivalentProperty,
                      RDFS.subClassOf, RDFS.subPropertyOf}
TRIVIAL_TYPES = {OWL.Thing, RDFS.Resource, OWL.NamedIndividual}
PROPERTY_AXIOMS = (RDFS.domain, RDFS.subPropertyOf, OWL.equivalentProperty, OWL.inverseOf,
                   OWL.propertyChainAxiom, OWL.onProperty)
PROPERTY_TYPES = (OWL.FunctionalProperty, OWL.InverseFunctionalProperty)


@dataclass
class Closure:
    """The asserted graph with its inferred triples, and how many were inferred."""

    graph: Graph
    asserted: int
    inferred: int


class _OWLRLWithoutReflexiveSameAs(owlrl.OWLRL_Semantics):
    """owlrl's OWL RL rules, with the equality rules run only where they can fire."""

    def _equality(self, triple, cycle_num):
        _, predicate, obj = triple
        if predicate == OWL.sameAs or (predicate == RDF.type and obj == OWL.AllDifferent):
            super()._equality(triple, cycle_num)


def is_noise(triple) -> bool:
    """Tell whether an inferred triple is owlrl bookkeeping rather than knowledge."""
    subject, predicate, obj = triple
    if isinstance(subject, Literal):
        return True
    if isinstance(subject, URIRef) and str(subject).startswith(BUILTIN_PREFIXES):
        return True
    if predicate in TRIVIAL_PREDICATES and subject == obj:
        return True
    if predicate == RDF.type and (obj in TRIVIAL_TYPES or isinstance(obj, Literal)):
        return True
    if predicate == RDF.type and isinstance(obj, URIRef) and str(obj).startswith(BUILTIN_PREFIXES) \
            and obj not in (OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty):
        return True
    return False


def _axiomatised_properties(graph: Graph) -> set:
    properties = set()
    for axiom in PROPERTY_AXIOMS:
        for subject, obj in graph.subject_objects(axiom):
            properties.update((subject, obj))
    for kind in PROPERTY_TYPES:
        properties.update(graph.subjects(RDF.type, kind))
    return properties


def reason(asserted: Graph) -> Closure:
    """Return the OWL RL closure of ``asserted`` as a new graph; ``asserted`` is left untouched.

    The rule engine on pyoxigraph (``rules.reason``) computes it, the same closure about 10 to 30
    times faster; ``COPROD_REASONER=owlrl`` computes it with owlrl instead (``reason_owlrl``).
    """
    if os.environ.get("COPROD_REASONER", "rules") == "owlrl":
        return reason_owlrl(asserted)
    from .rules import reason as reason_by_rules

    return reason_by_rules(asserted)


def reason_owlrl(asserted: Graph) -> Closure:
    """The OWL RL closure of ``asserted`` computed by owlrl, the reference for the rule engine."""
    relevant = _axiomatised_properties(asserted)
    work = Graph()
    for triple in asserted:
        if isinstance(triple[2], Literal) and triple[1] not in relevant:
            continue
        work.add(triple)
    owlrl.DeductiveClosure(_OWLRLWithoutReflexiveSameAs, axiomatic_triples=False,
                           datatype_axioms=False).expand(work)
    result = new_graph()
    for triple in asserted:
        result.add(triple)
    inferred = 0
    for triple in work:
        if triple in result or is_noise(triple):
            continue
        result.add(triple)
        inferred += 1
    from .shown import add_to_graph

    inferred += add_to_graph(result)  # the quote each claim shows, as the rule engine adds it
    return Closure(result, len(asserted), inferred)


def plain_owlrl_closure(asserted: Graph) -> Graph:
    """The closure by owlrl's unmodified rules on the whole graph, noise removed (for tests)."""
    work = Graph()
    for triple in asserted:
        work.add(triple)
    owlrl.DeductiveClosure(owlrl.OWLRL_Semantics, axiomatic_triples=False,
                           datatype_axioms=False).expand(work)
    result = Graph()
    for triple in work:
        if triple in asserted or not is_noise(triple):
            result.add(triple)
    from .shown import add_to_graph

    add_to_graph(result)  # not OWL RL, but part of every closure this project makes
    return result
