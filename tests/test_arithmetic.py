"""The report's arithmetic, recomputed by the checks; its conflicts, each a note on the right findings.

Every expected number here is worked out from the report's own figures (lines given).
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, SKOS

from coprod_kg.namespace import COPROD, ID
from coprod_kg.query import parse_query_file, run_rdflib

from conftest import CASES, ROOT
from test_load import case_header

CHECKS = ROOT / "queries" / "checks"
ARITHMETIC = ["weekly-yearly-disagree", "hourly-rates-disagree", "share-disagrees",
              "component-exceeds-total"]
FIXTURES = sorted((CASES / "checks").glob("*.ttl"))


def c(local):
    return URIRef(COPROD + local)


def node(kind, slug):
    return URIRef(f"{ID}{kind}/{slug}")


def without(graph: Graph, *subjects) -> Graph:
    copy = Graph()
    for triple in graph:
        if triple[0] not in subjects:
            copy.add(triple)
    return copy


def check(name):
    return parse_query_file(CHECKS / f"{name}.rq")


def test_every_arithmetic_check_has_a_failing_fixture():
    assert {case_header(p)["check"] for p in FIXTURES} == set(ARITHMETIC)


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_fixture_makes_its_check_fail(path):
    header = case_header(path)
    graph = Graph().parse(path, format="turtle")
    rows = run_rdflib(check(header["check"]), graph).rows
    assert len(rows) == int(header["rows"]), rows


@pytest.mark.parametrize("name", ARITHMETIC)
def test_arithmetic_check_passes_on_the_project(name, loaded):
    assert run_rdflib(check(name), loaded.graph).rows == []


def test_weekly_hours_multiply_up_to_the_yearly_hours(loaded):
    """Line 548: 252 hours a week; line 546: 13,104 hours a year; 252 x 52 = 13,104."""
    graph = loaded.graph
    week = graph.value(node("finding", "personalisation-forum-group-hours-per-week"),
                       URIRef("http://qudt.org/schema/qudt/numericValue"))
    year = graph.value(node("finding", "personalisation-forum-group-hours-per-year"),
                       URIRef("http://qudt.org/schema/qudt/numericValue"))
    assert (int(week), int(year)) == (252, 13104) and 252 * 52 == 13104
    altered = without(graph)
    altered.set((node("finding", "personalisation-forum-group-hours-per-week"),
                 URIRef("http://qudt.org/schema/qudt/numericValue"),
                 Literal(240)))
    assert len(run_rdflib(check("weekly-yearly-disagree"), altered).rows) == 1


def test_the_reports_two_hourly_rates_are_caught_and_noted(loaded):
    """£250,000 / 13,104 h = £19.08 an hour (line 546); over £10,000 / 500 h = over £20 (line 550)."""
    note = node("note", "personalisation-forum-group-hourly-value")
    graph = loaded.graph
    assert (note, RDF.type, c("QualityNote")) in graph
    rows = run_rdflib(check("hourly-rates-disagree"), without(graph, note)).rows
    assert len(rows) == 1
    rates = sorted(round(Decimal(str(rows[0][r])), 2) for r in ("rate1", "rate2"))
    assert rates == [Decimal("19.08"), Decimal("20.00")]


def test_the_staffing_share_is_the_staffing_over_the_budget(loaded):
    """Line 452: £119,922 of £146,186 is 82.03 per cent, printed as 82."""
    share = node("finding", "local-area-coordination-staffing-share")
    graph = loaded.graph
    assert graph.value(share, c("shareNumerator")) == node("finding", "local-area-coordination-staffing-cost")
    assert graph.value(share, c("shareDenominator")) == node("finding", "local-area-coordination-budget")
    assert round(Decimal(119922) / Decimal(146186) * 100, 2) == Decimal("82.03")


# ---------------------------------------------------------------- conflicts

def notes_on(graph, finding):
    return set(graph.subjects(c("concerns"), finding))


def conflict_between(graph, a, b):
    return [n for n in notes_on(graph, a) & notes_on(graph, b) if (n, RDF.type, c("Conflict")) in graph]


def test_made_or_sustained_against_made_and_sustained_is_a_conflict(loaded):
    """Line 182: 'made or sustained new friendships'; line 516: 'made and sustained'."""
    graph = loaded.graph
    body = node("finding", "expert-patients-new-friendships-body")
    appendix = node("finding", "expert-patients-new-friendships")
    assert conflict_between(graph, body, appendix)
    assert (body, c("conflictsWith"), appendix) in graph or (appendix, c("conflictsWith"), body) in graph
    lines = {f: {int(graph.value(q, c("sourceLine"))) for q in graph.objects(f, c("hasQuote"))}
             for f in (body, appendix)}
    assert lines == {body: {182}, appendix: {516}}


def test_the_year_long_note_covers_what_line_315_names(loaded):
    """Line 315 names A&E attendance and unplanned hospital attendance, not bed days (line 604)."""
    graph = loaded.graph
    note = node("note", "croydon-sun-timeframe")
    concerned = set(graph.objects(note, c("concerns")))
    assert {node("finding", "croydon-sun-ae"), node("finding", "croydon-sun-unplanned-visits"),
            node("finding", "croydon-sun-avoided-costs")} <= concerned
    assert node("finding", "croydon-sun-bed-days") not in concerned


def test_figures_that_differ_in_kind_have_their_own_outcomes_and_measures(loaded):
    graph = loaded.graph
    f = lambda slug, prop: graph.value(node("finding", slug), c(prop))  # noqa: E731
    pairs = [("croydon-sun-planned-visits", "croydon-sun-unplanned-visits", "outcome"),   # 600, 602
             ("recovery-innovations-seclusion", "recovery-innovations-restraint", "outcome"),  # 486
             ("changing-minds-earnings", "changing-minds-benefits", "outcome"),          # 385, 387
             ("recovery-innovations-states", "recovery-innovations-training-states", "measure")]  # 474
    for a, b, prop in pairs:
        assert f(a, prop) != f(b, prop), (a, b)
        assert graph.value(f(a, prop), SKOS.broader) == graph.value(f(b, prop), SKOS.broader)


def test_six_hours_from_each_person_is_42_people_and_is_noted(loaded):
    """Line 548: six hours each, 252 hours a week, so 42 people; line 530: over 60 members."""
    assert 252 / 6 == 42
    note = node("note", "personalisation-forum-group-hours-per-person")
    concerned = set(loaded.graph.objects(note, c("concerns")))
    assert {node("finding", "personalisation-forum-group-hours-per-person"),
            node("finding", "personalisation-forum-group-hours-per-week"),
            node("finding", "personalisation-forum-group-members")} <= concerned


def test_every_example_claim_is_noted_for_exactly_the_studies_it_misses(store, loaded):
    """Line 268: personal resources 'occurred in every example we reviewed'."""
    from coprod_kg.query import run
    from coprod_kg.tables import compact

    path = ROOT / "tests" / "cases" / "checks" / "studies-without-personal-resources.rq"
    missing = {compact(r["study"]) for r in run(parse_query_file(path), store).rows}
    note = node("note", "personal-resources-every-example")
    noted = {compact(s) for s in loaded.graph.objects(note, c("concerns"))
             if str(s).startswith(f"{ID}study/")}
    assert missing and missing == noted
