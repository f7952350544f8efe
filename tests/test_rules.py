"""The rule engine on pyoxigraph gives owlrl's closure, triple for triple, driven by the axioms alone."""

from __future__ import annotations

import importlib.util
from collections import Counter

import pyoxigraph as ox
import pytest
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF

from coprod_kg import reason as owlrl_reason
from coprod_kg import rules
from coprod_kg.load import load_project, to_pyoxigraph, to_rdflib
from coprod_kg.project import Project

from conftest import ROOT


def _corpus_module():
    spec = importlib.util.spec_from_file_location("corpus", ROOT / "benchmarks" / "corpus.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def owlrl_closure(loaded):
    return owlrl_reason.reason_owlrl(loaded.graph)


def test_closure_of_the_report_equals_owlrl(loaded, owlrl_closure):
    ours = rules.reason(loaded.graph)
    assert (ours.asserted, ours.inferred) == (owlrl_closure.asserted, owlrl_closure.inferred)
    assert set(ours.graph) == set(owlrl_closure.graph)


def test_reason_runs_the_rules_unless_owlrl_is_asked_for(loaded, monkeypatch):
    calls = []
    monkeypatch.setattr(rules, "reason", lambda graph: calls.append("rules"))
    monkeypatch.setattr(owlrl_reason, "reason_owlrl", lambda graph: calls.append("owlrl"))
    owlrl_reason.reason(loaded.graph)
    monkeypatch.setenv("COPROD_REASONER", "owlrl")
    owlrl_reason.reason(loaded.graph)
    assert calls == ["rules", "owlrl"]


def test_store_closure_needs_no_rdflib_and_gives_the_same_triples(project, owlrl_closure):
    closure = owlrl_closure
    store = rules.load_store(project.input_files())
    result = rules.close(store)
    assert result.inferred == closure.inferred
    # The store writes numbers canonically ("3.40" as "3.4") and rdflib rewrites durations ("P1W"
    # as "P7D"), so literals are compared by value; each load names blank nodes afresh, so
    # triples with blank nodes are compared by their shape.
    expected = ox.Store()
    expected.extend(ox.Quad(*map(to_pyoxigraph, t)) for t in closure.graph)
    assert _shapes(store) == _shapes(expected)
    assert result.rounds >= 2


def _shapes(store) -> Counter:
    def key(term):
        if isinstance(term, ox.BlankNode):
            return "_"
        if isinstance(term, ox.Literal):
            value = to_rdflib(term)
            return (term.datatype.value, term.language, value.value if value.value is not None
                    else term.value)
        return term.value
    return Counter(tuple(key(term) for term in (q.subject, q.predicate, q.object)) for q in store)


def test_closure_of_a_ten_fold_corpus_equals_owlrl(tmp_path):
    """K = 10 (70k asserted triples), as the issue asks; owlrl takes minutes here, once."""
    corpus = _corpus_module().generate(10, tmp_path / "corpus")
    asserted = load_project(Project(corpus)).graph
    ours = rules.reason(asserted)
    reference = owlrl_reason.reason_owlrl(asserted)
    assert ours.inferred == reference.inferred > 10 * 5000
    assert set(ours.graph) == set(reference.graph)


def test_noise_filter_agrees_with_reason_is_noise(loaded):
    """Every triple plain owlrl infers on the report is noise to one filter iff to the other."""
    import owlrl

    work = Graph()
    for triple in loaded.graph:
        work.add(triple)
    owlrl.DeductiveClosure(owlrl.OWLRL_Semantics, axiomatic_triples=False,
                           datatype_axioms=False).expand(work)
    checked = 0
    for s, p, o in work:
        theirs = owlrl_reason.is_noise((s, p, o))
        if isinstance(s, Literal):
            ours = rules.is_noise(ox.Literal(str(s)), to_pyoxigraph(p), to_pyoxigraph(o))
        else:
            ours = rules.is_noise(to_pyoxigraph(s), to_pyoxigraph(p), to_pyoxigraph(o))
        assert ours == theirs, (s, p, o)
        checked += theirs
    assert checked > 1000


EX = "http://example.org/"
TBOX = f"""
@prefix : <{EX}> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
:Person a owl:Class ; owl:equivalentClass :Human .
:Parent a owl:Class ; owl:equivalentClass [ a owl:Restriction ; owl:onProperty :hasChild ;
    owl:someValuesFrom :Person ] .
:Mother owl:intersectionOf ( :Parent :Woman ) .
:Adult owl:unionOf ( :Parent :Worker ) .
:Employer rdfs:subClassOf [ a owl:Restriction ; owl:onProperty :employs ; owl:allValuesFrom :Worker ] .
:Local rdfs:subClassOf [ a owl:Restriction ; owl:onProperty :livesIn ; owl:hasValue :town ] .
[ a owl:Restriction ; owl:onProperty :livesIn ; owl:hasValue :town ] rdfs:subClassOf :Resident .
:hasChild rdfs:domain :Parent ; rdfs:range :Person ; owl:inverseOf :hasParent .
:hasParent rdfs:subPropertyOf :relative .
:relative a owl:SymmetricProperty .
:ancestor a owl:TransitiveProperty .
:hasParent rdfs:subPropertyOf :ancestor .
:greatGrandparent owl:propertyChainAxiom ( :hasParent :hasParent :hasParent ) .
[] owl:propertyChainAxiom ( :hasChild :livesIn ) ; rdfs:subPropertyOf :familyIn .
:familyIn rdfs:domain :Rooted .
:name owl:equivalentProperty :label .
:id a owl:InverseFunctionalProperty .
"""
ABOX = f"""
@prefix : <{EX}> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
:ann :hasChild :bob ; a :Woman ; :name "Ann" .
:bob :hasChild :cat ; :livesIn :town .
:cat :hasChild :dan .
:dan a :Human .
:eve :employs :fay ; a :Employer .
:gus a :Local .
:hal :id "h1" . :hal2 :id "h1" .
:ivy owl:sameAs :ivy2 . :ivy2 :hasChild :jo .
"""


def test_rules_are_driven_by_whatever_axioms_the_tbox_holds():
    """Equivalence, restrictions both sides, intersections, unions, chains of three, a chain on a
    blank-node property, symmetric, transitive, inverse and equality: the same closure as owlrl."""
    graph = Graph()
    graph.parse(data=TBOX + ABOX, format="turtle")
    ours = rules.reason(graph)
    reference = owlrl_reason.reason_owlrl(graph)
    assert set(ours.graph) == set(reference.graph)
    inferred = ours.graph
    ex = lambda name: URIRef(EX + name)  # noqa: E731
    for triple in [(ex("ann"), RDF.type, ex("Mother")), (ex("ann"), RDF.type, ex("Adult")),
                   (ex("dan"), ex("greatGrandparent"), ex("ann")), (ex("fay"), RDF.type, ex("Worker")),
                   (ex("ann"), ex("familyIn"), ex("town")), (ex("ann"), RDF.type, ex("Rooted")),
                   (ex("gus"), ex("livesIn"), ex("town")), (ex("bob"), RDF.type, ex("Resident")),
                   (ex("ann"), ex("relative"), ex("bob")), (ex("dan"), ex("ancestor"), ex("ann")),
                   (ex("hal"), OWL.sameAs, ex("hal2")), (ex("ivy"), ex("hasChild"), ex("jo")),
                   (ex("ann"), ex("label"), Literal("Ann"))]:
        assert triple in inferred, triple
        assert triple not in graph


def test_a_chain_on_a_broken_list_is_refused():
    graph = Graph()
    graph.add((URIRef(EX + "p"), OWL.propertyChainAxiom, BNode("l")))
    graph.add((BNode("l"), RDF.first, URIRef(EX + "q")))
    with pytest.raises(rules.RuleError, match="malformed"):
        rules.reason(graph)


def test_the_asserted_graph_is_left_untouched(loaded):
    before = len(loaded.graph)
    ours = rules.reason(loaded.graph)
    assert len(loaded.graph) == before
    assert len(ours.graph) == before + ours.inferred


def test_sorted_ntriples_are_the_same_bytes_from_two_loads(project):
    """Each load names blank nodes afresh; the written closure must not depend on it."""
    first, second = (rules.load_store(project.input_files()) for _ in range(2))
    assert {q.subject for q in first if isinstance(q.subject, ox.BlankNode)} != \
        {q.subject for q in second if isinstance(q.subject, ox.BlankNode)}
    for store in (first, second):
        rules.close(store)
    text = rules.sorted_ntriples(first)
    assert text == rules.sorted_ntriples(second)
    again = ox.Store()
    again.load(text, format=ox.RdfFormat.N_TRIPLES)
    assert len(again) == len(first)


@pytest.mark.parametrize("name,expected", [
    ("syntax-error.ttl", "syntax-error.ttl:21:5: syntax error"),
    ("undefined-prefix.ttl", "undefined-prefix.ttl:7"),
    ("remote-import.ttl", "remote-import.ttl: owl:imports <http://example.org/other-ontology.ttl> is refused"),
])
def test_the_store_loader_names_the_file_of_bad_input(project, name, expected):
    from coprod_kg.project import InputError

    from conftest import CASES
    with pytest.raises(InputError) as raised:
        rules.load_store([*project.ontology_files, CASES / name])
    assert expected in str(raised.value)


def test_the_builds_closure_from_the_store_is_the_rule_engines_closure(loaded):
    """close_with_forms reasons on the store the data was loaded into and writes the closure as
    N-Triples: the same triples as rules.reason's rdflib closure, lexical forms as written
    (3.40 stays 3.40, P15M stays P15M), every line once and sorted, blank nodes labelled by
    content (the same bytes from a second load)."""
    import pyoxigraph as ox

    from coprod_kg.load import load_project, to_pyoxigraph
    from coprod_kg.rules import close_with_forms, reason

    def named(lines):
        return {line for line in lines if "_:" not in line}

    fresh = load_project(loaded_project(loaded))
    closure, data = close_with_forms(fresh.take_store(), fresh.triples())
    lines = data.decode("utf-8").split("\n")[:-1]
    assert lines == sorted(set(lines))
    expected = reason(loaded.graph).graph
    expected_lines = set(ox.serialize([ox.Triple(*map(to_pyoxigraph, t)) for t in expected],
                                      format=ox.RdfFormat.N_TRIPLES).decode("utf-8").split("\n")) - {""}
    assert named(lines) == named(expected_lines)
    assert len(lines) == len(expected_lines) == len(expected)
    assert closure.inferred == len(expected) - len(loaded.graph)
    assert any('"3.40"^^<http://www.w3.org/2001/XMLSchema#decimal>' in line for line in lines)
    again = load_project(loaded_project(loaded))
    assert close_with_forms(again.take_store(), again.triples())[1] == data


def loaded_project(loaded):
    from conftest import ROOT
    from coprod_kg.project import Project

    return Project(ROOT)
