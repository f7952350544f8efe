"""Materialise the OWL 2 RL closure of the graph with owlrl, on a copy, without the noise."""

from __future__ import annotations

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


@dataclass
class Closure:
    """The asserted graph with its inferred triples, and how many were inferred."""

    graph: Graph
    asserted: int
    inferred: int


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


def reason(asserted: Graph) -> Closure:
    """Return the OWL RL closure of ``asserted`` as a new graph; ``asserted`` is left untouched."""
    work = Graph()
    for triple in asserted:
        work.add(triple)
    owlrl.DeductiveClosure(owlrl.OWLRL_Semantics, axiomatic_triples=False,
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
    return Closure(result, len(asserted), inferred)
