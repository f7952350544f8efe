"""Reasoning: a new graph, no noise, the same closure as plain owlrl, and the inferred paths."""

from __future__ import annotations

import pytest
from rdflib import Literal, URIRef
from rdflib.namespace import OWL

from coprod_kg.namespace import COPROD, ID
from coprod_kg.reason import plain_owlrl_closure, reason


def c(local):
    return URIRef(COPROD + local)


def node(kind, slug):
    return URIRef(f"{ID}{kind}/{slug}")


def test_reasoning_never_changes_the_asserted_graph(loaded, closure):
    assert closure.asserted == len(loaded.graph)
    assert len(closure.graph) == closure.asserted + closure.inferred
    assert closure.inferred > 1000
    assert (node("principle", "networks"), c("reachesOutcome"),
            node("outcome", "reduced-isolation")) not in loaded.graph


def test_the_closure_has_no_owlrl_noise(closure):
    assert not any(isinstance(s, Literal) for s in closure.graph.subjects())
    assert not any(s == o for s, o in closure.graph.subject_objects(OWL.sameAs))


def test_shortcuts_give_the_same_closure_as_plain_owlrl(loaded, closure):
    assert set(plain_owlrl_closure(loaded.graph)) == set(closure.graph)


# (principle, need, outcome, study): each chain is said in the report, and none is asserted.
SDT_PATHS = [
    # line 260: networks support relatedness; line 430: Retain Regain, reduced isolation
    ("networks", "relatedness", "reduced-isolation", "retain-regain"),
    # line 252: facilitating supports autonomy; Arizona PET participants felt more empowered
    ("catalysts", "autonomy", "empowerment", "recovery-innovations"),
    # line 262: capabilities support competence; Changing Minds increased formal learning
    ("capabilities", "competence", "engagement-in-learning", "changing-minds"),
]


@pytest.mark.parametrize("principle,need,outcome,study", SDT_PATHS, ids=[p[1] for p in SDT_PATHS])
def test_reasoning_infers_principle_need_outcome_study(loaded, closure, principle, need, outcome, study):
    graph = closure.graph
    p, n, o, s = (node("principle", principle), node("need", need), node("outcome", outcome),
                  node("study", study))
    inferred = [(p, c("supportsNeed"), n), (n, c("covers"), o), (o, c("evidencedBy"), s),
                (p, c("reachesOutcome"), o), (p, c("evidencedThrough"), s)]
    for triple in inferred:
        assert triple in graph, triple
        assert triple not in loaded.graph, f"{triple} should be inferred, not typed by hand"


def test_no_path_is_invented(closure):
    graph = closure.graph
    # Catalysts map only to autonomy, so they reach no relatedness outcome.
    assert (node("principle", "catalysts"), c("reachesOutcome"),
            node("outcome", "reduced-isolation")) not in graph
    # No study reports sobriety except the helper therapy summary.
    sobriety = set(graph.objects(node("outcome", "sobriety"), c("evidencedBy")))
    assert sobriety == {node("study", "helper-therapy")}


def test_narrower_outcomes_inherit_theme_and_need(closure):
    graph = closure.graph
    isolation = node("outcome", "reduced-isolation")
    assert (isolation, c("inTheme"), node("theme", "social-networks")) in graph
    assert (isolation, c("expressesNeed"), node("need", "relatedness")) in graph
    assert (isolation, c("inComponent"), node("wellbeing", "functioning")) in graph


def test_citations_of_findings_are_derived(closure):
    from rdflib.namespace import Namespace

    cito = Namespace("http://purl.org/spar/cito/")
    finding = node("finding", "croydon-sun-value-of-time")
    works = set(closure.graph.objects(finding, cito.citesAsEvidence))
    assert works, "a finding whose quote carries marker 12 cites the work of endnote 12"
