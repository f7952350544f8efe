"""The ontology checked by engines other than owlrl: OWL API profiles, HermiT and Pellet.

Needs a JDK and owlready2. Without them the Java checks skip, unless COPROD_REQUIRE_JAVA is set
(as .ci/run sets it), where they fail instead.
"""

from __future__ import annotations

import os
import shutil

import pytest
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, XSD

from coprod_kg.load import load
from coprod_kg.namespace import COPROD, ID
from coprod_kg.reason import reason

from conftest import CASES

try:
    import owlready2  # noqa: F401
    HAVE_OWLREADY = True
except ImportError:
    HAVE_OWLREADY = False

JAVA = bool(shutil.which("java") and shutil.which("javac")) and HAVE_OWLREADY
if not JAVA and os.environ.get("COPROD_REQUIRE_JAVA"):
    raise RuntimeError("COPROD_REQUIRE_JAVA is set but java, javac or owlready2 is missing")
needs_java = pytest.mark.skipif(not JAVA, reason="needs java, javac and owlready2")


@pytest.fixture(scope="module")
def owl():
    from coprod_kg.publish import owl

    return owl


@needs_java
def test_the_ontology_is_inside_owl2_rl_and_dl(owl, project):
    assert owl.check_profiles(project.ontology_files) == []


@needs_java
def test_the_data_leaves_the_profiles_only_by_annotation_literals(owl, project, loaded):
    violations = owl.check_profiles(project.input_files())
    assert [v for v in violations if v.profile == owl.DL] == []
    assert all(owl.is_annotation_datatype_use(v) for v in violations), violations
    # One violation per distinct (subject, property, literal) of those two datatypes.
    outside = {(s, p, o) for s, p, o in loaded.graph if isinstance(o, Literal)
               and o.datatype in (XSD.duration, XSD.gYear)}
    assert len(violations) == len(outside)


@needs_java
@pytest.mark.parametrize("scope", ["ontology", "ontology+data"])
@pytest.mark.parametrize("reasoner", ["hermit", "pellet"])
def test_dl_reasoners_find_the_graph_consistent(owl, project, reasoner, scope):
    files = project.ontology_files if scope == "ontology" else project.input_files()
    result = owl.run_reasoner(files, reasoner)
    assert result.error == ""
    assert result.consistent
    assert result.unsatisfiable == []


# (fixture, reasoners run, what the output must name)
BROKEN = [
    ("owl-langstring-range.ttl", "pellet", ['INCONSISTENT', 'rationale range string']),
    ("owl-langstring-range.ttl", "hermit", ['INCONSISTENT']),
    ("owl-blank-chain.ttl", "hermit", ["not regular", "UseOfUndeclaredObjectProperty",
                                        "owl-fixture#evidencesValue"]),
    ("owl-duration-range.ttl", "pellet", ["UseOfIllegalDataRange",
                                          "DataPropertyRange(<https://example.org/owl-fixture#"
                                          "timeframeDuration> xsd:duration)"]),
    ("owl-unsatisfiable.ttl", "hermit", ["unsatisfiable classes: "
                                         "https://example.org/owl-fixture#CuratedStatedFinding"]),
    ("owl-unsatisfiable.ttl", "pellet", ["unsatisfiable classes: "
                                         "https://example.org/owl-fixture#CuratedStatedFinding"]),
]


@needs_java
@pytest.mark.parametrize("name,reasoner,expected", BROKEN, ids=[f"{b[0]}-{b[1]}" for b in BROKEN])
def test_each_check_fails_on_a_broken_ontology(owl, capsys, name, reasoner, expected):
    code = owl.main(["--ontology", str(CASES / "owl" / name), "--data", "--reasoner", reasoner])
    out = capsys.readouterr().out
    assert code == 1, out
    for text in expected:
        assert text in out


@needs_java
def test_the_checks_pass_on_the_project(owl, capsys, project):
    assert owl.main(["--project", str(project.root), "--reasoner", "hermit"]) == 0
    out = capsys.readouterr().out
    assert "ontology + data: hermit: consistent, 0 unsatisfiable classes" in out


def test_every_property_the_data_uses_is_declared(loaded, project):
    ontology = loaded.part(project.ontology_files)
    declared = {s for kind in (OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty)
                for s in ontology.subjects(RDF.type, kind)}
    builtin = (str(RDF), "http://www.w3.org/2000/01/rdf-schema#", str(OWL))
    used = {p for p in loaded.part(project.data_files).predicates()
            if not str(p).startswith(builtin)}
    assert used - declared == set()


def test_no_property_is_both_object_and_datatype(loaded, project):
    ontology = loaded.part(project.ontology_files)
    objects = set(ontology.subjects(RDF.type, OWL.ObjectProperty))
    data = set(ontology.subjects(RDF.type, OWL.DatatypeProperty))
    annotations = set(ontology.subjects(RDF.type, OWL.AnnotationProperty))
    assert objects & data == set() and objects & annotations == set() and data & annotations == set()


def test_no_chain_or_restriction_hangs_on_a_blank_node(loaded, project):
    ontology = loaded.part(project.ontology_files)
    assert [s for s in ontology.subjects(OWL.propertyChainAxiom) if isinstance(s, BNode)] == []
    assert list(ontology.subjects(RDF.type, OWL.Restriction)) == []


def _links(graph: Graph) -> set:
    """The closure's statements about the evidence: IRI subjects and objects, no axioms."""
    return {(s, p, o) for s, p, o in graph
            if str(s).startswith(ID) and not isinstance(o, BNode)}


def _chains(graph: Graph) -> dict:
    from rdflib.collection import Collection

    return {(prop, tuple(Collection(graph, head))): head
            for prop, head in graph.subject_objects(OWL.propertyChainAxiom)}


def _without(graph: Graph, removed: Graph) -> Graph:
    """``graph`` less the triples of ``removed``, chains (RDF lists) matched by their steps."""
    result = Graph()
    for triple in graph:
        result.add(triple)
    gone = set(_chains(removed))
    for (prop, steps), head in _chains(graph).items():
        if (prop, steps) not in gone:
            continue
        result.remove((prop, OWL.propertyChainAxiom, head))
        node = head
        while node != RDF.nil:
            following = graph.value(node, RDF.rest)
            result.remove((node, None, None))
            node = following
    for triple in removed:
        if not any(isinstance(t, BNode) for t in triple):
            result.remove(triple)
    return result


def test_the_rewrite_kept_the_meaning_of_the_closure(project, loaded, closure):
    """The closure of ontology 0.1.0 (rebuilt from today's) and today's hold the same links."""
    additions = load([CASES / "owl" / "ontology-0.2.0-additions.ttl"]).graph
    old_axioms = load([CASES / "owl" / "ontology-0.1.0-axioms.ttl"]).graph
    old = _without(loaded.graph, additions)
    assert len(old) < len(loaded.graph)
    assert not _chains(old).keys() & _chains(additions).keys()
    for triple in old_axioms:
        old.add(triple)
    before = _links(reason(old).graph)
    after = _links(closure.graph)
    assert after - before == set(), "0.2.0 infers links 0.1.0 did not"
    assert before - after == set(), "0.2.0 lost links 0.1.0 inferred"
    # The derived shortcuts are all there, by name (each comes from a chain that moved or not).
    for local in ("evidencesValue", "evidencesOutcome", "evidencedBy", "inComponent",
                  "reachesOutcome", "evidencedThrough", "exhibitsPrinciple", "supportsNeed"):
        assert any(True for _ in closure.graph.triples((None, URIRef(COPROD + local), None))), local


def test_every_quote_is_inferred_to_be_quoted_from_the_review(closure):
    quotes = set(closure.graph.subjects(RDF.type, URIRef(COPROD + "Quote")))
    report = URIRef(ID + "report/slay-stephens-2013")
    quoted = set(closure.graph.subjects(URIRef("http://www.w3.org/ns/prov#wasQuotedFrom"), report))
    assert len(quotes) > 400 and quotes <= quoted
    # And no quote is typed with a blank node (the old restriction put an object in JSON-LD @type).
    assert not any(isinstance(o, BNode) for q in quotes for o in closure.graph.objects(q, RDF.type))
