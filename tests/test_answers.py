"""Answers an analyst ranks and filters on: the SROI ranking, the countries, the quote for each figure.

Expected values are written from the report (lines given), not from what the queries print.
"""

from __future__ import annotations

import re

import pytest

from coprod_kg.query import find_query, run
from coprod_kg.tables import compact

from conftest import ROOT
from test_data import printed_forms
from test_figures import printed_pattern

QUERIES = ROOT / "queries"


def answer(store, name, params=None):
    return run(find_query(QUERIES, name), store, params).rows


def test_the_sroi_ranking_lists_no_study_twice(store):
    rows = [r for r in answer(store, "monetary-figures") if r["rank"] is not None]
    studies = [compact(r["study"]) for r in rows]
    assert len(studies) == len(set(studies))
    # Lines 381, 522, 339: £8.78, £6.09 and over £5.75 of social value per £1.
    assert [(compact(r["rank"]), s, compact(r["value"])) for r, s in zip(rows, studies)] == [
        ("1", "study:changing-minds", "8.78"), ("2", "study:expert-patients", "6.09"),
        ("3", "study:holy-cross", "5.75")]
    assert {compact(r["perspective"]) for r in rows} == {"social"}


def test_the_return_to_the_state_is_shown_with_its_perspective(store):
    """Line 341: 'Isolating the value created to the state ... more than £3.40 for every £1'."""
    rows = [r for r in answer(store, "monetary-figures")
            if compact(r["finding"]) == "finding:holy-cross-return-to-state"]
    assert [(compact(r["perspective"]), compact(r["rank"]), compact(r["line"])) for r in rows] == \
        [("the state", "", "341")]


def test_the_evidence_comes_from_four_countries(store):
    """UK (Appendix 1 throughout), US (lines 464, 474, 704), New Zealand (474), Australia (456, 462, 672)."""
    rows = answer(store, "evidence-by-country")
    assert {compact(r["country"]) for r in rows} == {
        "place:united-kingdom", "place:united-states", "place:new-zealand", "place:australia"}


MONEY_OR_FIGURE_QUERIES = ["monetary-figures", "prevention", "skills-and-employment",
                           "capacity-hours", "stigma", "evidence-by-country", "qualified-figures"]


@pytest.mark.parametrize("name", MONEY_OR_FIGURE_QUERIES)
def test_every_row_with_a_figure_shows_the_quote_that_prints_it(store, name):
    rows = answer(store, name)
    assert rows
    problems = []
    for row in rows:
        assert row["line"] is not None and row["section"], row
        value = row.get("value")
        if value is None:
            continue
        text = re.sub(r"\s+", " ", str(row["quote"]))
        if not any(printed_pattern(form).search(text) for form in printed_forms(value)):
            problems.append(f"{compact(row.get('finding'))}: {value} not in {text[:60]!r}")
    assert problems == []


# Written apart from the question's query: each (note, claim) pair, and the texts of the claim's
# own quotes.
NOTE_CLAIMS = """
PREFIX coprod: <https://w3id.org/coprod-kg/ontology#>
SELECT ?note ?concerns WHERE { ?note a coprod:QualityNote ; coprod:concerns ?concerns }
"""
CLAIM_QUOTES = """
PREFIX coprod: <https://w3id.org/coprod-kg/ontology#>
PREFIX oa: <http://www.w3.org/ns/oa#>
SELECT ?concerns ?text WHERE {
  ?note coprod:concerns ?concerns . ?concerns coprod:hasQuote|coprod:figureQuote ?q . ?q oa:exact ?text .
}
"""


def test_a_note_shows_only_a_quote_of_the_claim_it_concerns(store):
    """A claim with no quote (a concept scheme, say) gets no quote, not every quote of the graph."""
    rows = answer(store, "conflicts-and-quality")
    pairs = {(compact(r["note"]), compact(r["concerns"])) for r in rows if r["concerns"]}
    expected = {(compact(s["note"].value), compact(s["concerns"].value)) for s in store.query(NOTE_CLAIMS)}
    assert pairs == expected
    assert len([r for r in rows if r["concerns"]]) == len(expected)  # one row per note and claim
    own: dict[str, set] = {}
    for s in store.query(CLAIM_QUOTES):
        own.setdefault(compact(s["concerns"].value), set()).add(s["text"].value)
    for row in rows:
        if row["quote"] is not None:
            assert str(row["quote"]) in own.get(compact(row["concerns"]), set()), row
    # Line 430 prints Retain Regain's 98 per cent; the conflict note shows it (line 182 the 90).
    retain = [r for r in rows if compact(r["note"]) == "note:retain-regain-isolation"]
    assert {compact(r["line"]) for r in retain} >= {"182", "430"}


def test_the_study_profile_gives_the_initiative_one_row_and_each_quote_its_own_section(store):
    """Line 588 (Appendix 1, Croydon SUN): 'Croydon Service User Network (SUN) is a support
    network developed for and by people with longstanding behavioural or emotional issues
    (personality disorders) in Croydon.' The initiative is one row, and it quotes nothing, so it
    has no line or section. The 30 per cent fall in A&E use is printed in the study's appendix
    entry, line 606: 'A&E use decreased by 30 per cent after six months of members being part of
    the network.' (Line 217, in 'Prevention', restates it; the row shows the appendix's own.)"""
    rows = answer(store, "study-profile", {"study": "croydon-sun"})
    initiative = [r for r in rows if r["aspect"] == "2 initiative"]
    assert len(initiative) == 1
    [row] = initiative
    assert row["item"] == "Croydon Service User Network (SUN)"
    assert "Croydon" in row["detail"] and "personality disorders" in row["detail"]
    assert (row["quote"], row["line"], row["section"]) == (None, None, None)
    assert [r for r in rows if r["section"] is not None and r["quote"] is None] == []
    fall = [r for r in rows if r["aspect"] == "4 finding" and compact(r["value"]) == "30"]
    assert [(compact(r["line"]), r["section"].startswith("Appendix 1"), "30 per cent" in r["quote"])
            for r in fall] == [("606", True, True)]
