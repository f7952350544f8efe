"""The graph holds what the report says: its studies, Table 1, its figures and its conflicts.

Every expected value below is copied from the report (its line is given), not from the code.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from rdflib import Literal, URIRef
from rdflib.namespace import RDF

from coprod_kg.namespace import COPROD, ID

QUDT = "http://qudt.org/schema/qudt/"
UNIT = "http://qudt.org/vocab/unit/"


def c(local):
    return URIRef(COPROD + local)


def node(kind, slug):
    return URIRef(f"{ID}{kind}/{slug}")


def number(term) -> Decimal | None:
    return None if term is None else Decimal(str(term))


def findings_about(graph, study):
    return set(graph.subjects(c("aboutStudy"), node("study", study)))


def matches(graph, finding, value=None, unit=None, measure=None, baseline=None, follow_up=None,
            qualifier=None, sample=None):
    checks = [
        (value, number(graph.value(finding, URIRef(QUDT + "numericValue")))),
        (baseline, number(graph.value(finding, c("baselineValue")))),
        (follow_up, number(graph.value(finding, c("followUpValue")))),
        (sample, number(graph.value(finding, c("sampleSize")))),
    ]
    if any(want is not None and got != Decimal(str(want)) for want, got in checks):
        return False
    if unit and graph.value(finding, URIRef(QUDT + "unit")) != URIRef(UNIT + unit):
        return False
    if measure and graph.value(finding, c("measure")) != node("measure", measure):
        return False
    if qualifier and graph.value(finding, c("valueQualifier")) != node("qualifier", qualifier):
        return False
    return True


# (study, expected attributes, where the report says it)
FIGURES = [
    ("holy-cross", dict(value="5.75", unit="CCY_GBP", measure="sroi-ratio", qualifier="more-than"), "line 339"),
    ("holy-cross", dict(value="3.40", unit="CCY_GBP", measure="sroi-ratio", qualifier="more-than"), "line 341"),
    ("holy-cross", dict(value=137119, unit="CCY_GBP"), "line 343"),
    ("shared-lives", dict(value=50, unit="PERCENT", measure="proportion-of-focus-groups", qualifier="more-than"), "line 355"),
    ("changing-minds", dict(value="8.78", unit="CCY_GBP", measure="sroi-ratio"), "line 381"),
    ("changing-minds", dict(value=77, unit="PERCENT"), "line 377"),
    ("changing-minds", dict(value=44, unit="PERCENT"), "line 377"),
    ("changing-minds", dict(value=27, unit="PERCENT"), "line 377"),
    ("changing-minds", dict(value=48, unit="PERCENT"), "line 377"),
    ("changing-minds", dict(value=139966, unit="CCY_GBP"), "line 385"),
    ("changing-minds", dict(value=19938, unit="CCY_GBP"), "line 387"),
    ("changing-minds", dict(value=28582, unit="CCY_GBP"), "line 389"),
    ("changing-minds", dict(value=22257, unit="CCY_GBP"), "line 391"),
    ("changing-minds", dict(value=74047, unit="CCY_GBP"), "line 393"),
    ("retain-regain", dict(value=98, unit="PERCENT"), "line 430"),
    ("retain-regain", dict(value=90, unit="PERCENT"), "line 182"),
    ("retain-regain", dict(value=87, unit="PERCENT"), "line 431"),
    ("retain-regain", dict(value=70, unit="PERCENT", qualifier="more-than"), "line 434"),
    ("local-area-coordination", dict(value=146186, unit="CCY_GBP"), "line 452"),
    ("local-area-coordination", dict(value=119922, unit="CCY_GBP"), "line 452"),
    ("local-area-coordination", dict(value=82, unit="PERCENT"), "line 452"),
    ("local-area-coordination", dict(value=33, unit="CCY_GBP"), "line 452"),
    ("local-area-coordination", dict(value=92, unit="CCY_GBP"), "line 452"),
    ("recovery-innovations", dict(value=89, unit="PERCENT"), "line 482"),
    ("recovery-innovations", dict(value=247, unit="NUM"), "line 482"),
    ("recovery-innovations", dict(value=72, unit="PERCENT"), "line 482"),
    ("recovery-innovations", dict(value=73, unit="PERCENT"), "line 482"),
    ("recovery-innovations", dict(value=36, unit="PERCENT"), "line 486"),
    ("recovery-innovations", dict(value=48, unit="PERCENT"), "line 486"),
    ("recovery-innovations", dict(baseline=25, follow_up=10, unit="PERCENT"), "line 490"),
    ("recovery-innovations", dict(value=10000000, unit="CCY_USD", qualifier="approximately"), "line 490"),
    ("recovery-innovations", dict(value=56, unit="PERCENT"), "lines 492 and 217"),
    ("recovery-innovations", dict(value=15, unit="PERCENT"), "line 217"),
    ("recovery-innovations", dict(value=95, unit="PERCENT"), "line 494"),
    ("recovery-innovations", dict(value=77, unit="PERCENT", sample=120), "line 494"),
    ("recovery-innovations", dict(value=70, unit="HR"), "line 474"),
    ("expert-patients", dict(value=24, unit="PERCENT"), "line 512"),
    ("expert-patients", dict(value=16, unit="PERCENT"), "line 513"),
    ("expert-patients", dict(value=27, unit="PERCENT"), "line 515"),
    ("expert-patients", dict(value=28, unit="PERCENT"), "lines 516 and 182"),
    ("expert-patients", dict(value=212255, unit="CCY_GBP"), "line 520"),
    ("expert-patients", dict(value="6.09", unit="CCY_GBP", measure="sroi-ratio"), "line 522"),
    ("personalisation-forum-group", dict(value=13104, unit="HR"), "lines 546 and 313"),
    ("personalisation-forum-group", dict(value=250000, unit="CCY_GBP", qualifier="approximately"), "line 546"),
    ("personalisation-forum-group", dict(value=252, unit="HR"), "line 548"),
    ("personalisation-forum-group", dict(value=500, unit="HR"), "line 550"),
    ("personalisation-forum-group", dict(value=16, unit="NUM"), "lines 538 and 217"),
    ("personalisation-forum-group", dict(value=60, qualifier="more-than"), "line 530"),
    ("croydon-sun", dict(baseline=725, follow_up=596), "line 600"),
    ("croydon-sun", dict(baseline=414, follow_up=286), "line 602"),
    ("croydon-sun", dict(baseline=330, follow_up=162, unit="DAY"), "line 604"),
    ("croydon-sun", dict(value=30, unit="PERCENT"), "lines 606 and 217"),
    ("mosaic-clubhouse", dict(value=444, unit="HR", measure="paid-hours"), "lines 630 and 302"),
    ("mosaic-clubhouse", dict(value=849, unit="HR", measure="unpaid-hours"), "lines 630 and 302"),
    ("peer-support-workers", dict(value=300, qualifier="more-than"), "line 672"),
    ("peer-support-workers", dict(value=50, unit="PERCENT"), "line 674"),
    ("peer-support-workers", dict(value=15, unit="PERCENT"), "line 674"),
    ("peer-support-workers", dict(sample=14), "line 694"),
    ("helper-therapy", dict(value=2, measure="likelihood-ratio"), "line 712"),
    ("helper-therapy", dict(value=1935), "line 704"),
    ("up2us", dict(value=6), "line 724"),
]


@pytest.mark.parametrize("study,expected,where", FIGURES,
                         ids=[f"{s}-{w.replace(' ', '')}-{i}" for i, (s, _, w) in enumerate(FIGURES)])
def test_figure_from_the_report_is_in_the_graph(loaded, study, expected, where):
    graph = loaded.graph
    candidates = findings_about(graph, study)
    assert candidates, f"no findings about {study}"
    assert any(matches(graph, f, **expected) for f in candidates), \
        f"{study}: no finding with {expected} ({where})"


def test_every_study_with_figures_is_sampled():
    sampled = {study for study, _, _ in FIGURES}
    # Wandsworth and Budgets and beyond print no figures (lines 395-413, 562-585); Shared Lives
    # prints one, "More than half the focus groups" (line 355).
    assert sampled == {
        "holy-cross", "shared-lives", "changing-minds", "retain-regain", "local-area-coordination",
        "recovery-innovations", "expert-patients", "personalisation-forum-group", "croydon-sun",
        "mosaic-clubhouse", "peer-support-workers", "helper-therapy", "up2us"}


def test_the_fifteen_studies_in_appendix_order(loaded):
    graph = loaded.graph
    studies = set(graph.subjects(RDF.type, c("ReviewedStudy")))
    orders = sorted(int(graph.value(s, c("appendixOrder"))) for s in studies)
    assert orders == list(range(1, 16))
    report = node("report", "slay-stephens-2013")
    assert set(graph.objects(report, c("reviewedStudy"))) == studies


@pytest.mark.parametrize("value,where", [(24, "long list"), (15, "included"), (5, "specialists")])
def test_methodology_figures(loaded, value, where):
    graph = loaded.graph
    report = node("report", "slay-stephens-2013")
    found = [f for f in graph.subjects(c("aboutReview"), report)
             if graph.value(f, c("measure")) == node("measure", "review-scope")
             and number(graph.value(f, URIRef(QUDT + "numericValue"))) == value]
    assert found, f"line 41: {where} = {value}"


# Table 1 (line 105): Assets 11, Capabilities 13, Mutuality 10, Networks 12, Blurring 7, Catalysts 5.
TABLE_1 = {"assets": 11, "capabilities": 13, "mutuality": 10, "networks": 12,
           "blurring-boundaries": 7, "catalysts": 5}


def test_per_study_codings_reproduce_table_1(loaded):
    graph = loaded.graph
    counts = {}
    for principle in TABLE_1:
        codings = graph.subjects(c("codedPrinciple"), node("principle", principle))
        counts[principle] = len({graph.value(coding, c("codedStudy")) for coding in codings})
    assert counts == TABLE_1


def test_table_1_is_recorded_as_the_report_states_it(loaded):
    graph = loaded.graph
    stated = {}
    for finding in graph.subjects(c("measure"), node("measure", "principle-prevalence")):
        principle = str(graph.value(finding, c("concernsPrinciple"))).rsplit("/", 1)[-1]
        stated[principle] = int(graph.value(finding, URIRef(QUDT + "numericValue")))
    assert stated == TABLE_1


def test_every_coding_has_status_rationale_and_quote(loaded):
    graph = loaded.graph
    codings = list(graph.subjects(RDF.type, c("PrincipleCoding")))
    assert len(codings) == sum(TABLE_1.values())
    for coding in codings:
        assert graph.value(coding, c("status")) in (node("status", "stated"), node("status", "curated"))
        assert graph.value(coding, c("rationale")) is not None
        assert graph.value(coding, c("hasQuote")) is not None


@pytest.mark.parametrize("study,values,where", [
    ("retain-regain", {90, 98}, "isolation: 90 per cent (line 182) against 98 per cent (line 430)"),
    ("recovery-innovations", {15, None}, "hospitalisation: reduced by 15 per cent (line 217) "
                                         "against 25 to below 10 per cent (line 490)"),
])
def test_self_contradictions_are_kept_and_flagged(loaded, study, values, where):
    graph = loaded.graph
    pairs = [(a, b) for a, b in graph.subject_objects(c("conflictsWith"))
             if a in findings_about(graph, study)]
    assert pairs, where
    seen = set()
    for a, b in pairs:
        for finding in (a, b):
            seen.add(number(graph.value(finding, URIRef(QUDT + "numericValue"))))
        notes = set(graph.subjects(c("concerns"), a)) & set(graph.subjects(c("concerns"), b))
        assert any((n, RDF.type, c("Conflict")) in graph for n in notes), where
    assert {int(v) if v is not None else None for v in seen} >= values


def test_endnotes_and_markers(loaded):
    graph = loaded.graph
    endnotes = {int(graph.value(e, c("printedNumber")))
                for e in graph.subjects(RDF.type, c("Endnote"))}
    markers = {int(graph.value(m, c("printedNumber")))
               for m in graph.subjects(RDF.type, c("CitationMarker"))}
    assert endnotes == set(range(1, 42))  # the list stops at 41 (line 795)
    assert markers == set(range(1, 43))   # the text prints markers up to 42 (line 714)
    marker_42 = node("citation", "note-42")
    assert graph.value(marker_42, c("printedEndnote")) is None
    assert graph.value(marker_42, c("resolvesToEndnote")) == node("endnote", "41")


def test_principle_definitions_are_the_reports(loaded, source_text):
    from rdflib.namespace import SKOS

    graph = loaded.graph
    for principle in TABLE_1:
        definition = str(graph.value(node("principle", principle), SKOS.definition))
        assert source_text.lines_of(definition), principle


# ---------------------------------------------------------------- figures against quotes and source

NUMBER_WORDS = {1: ["one", "a year"], 2: ["two", "twice", "double"], 3: ["three"], 4: ["four"],
                5: ["five"], 6: ["six"], 7: ["seven"], 8: ["eight"], 9: ["nine"],
                10: ["ten"], 15: ["fifteen"], 16: ["sixteen"], 19: ["nineteen"], 50: ["half"]}


def printed_forms(value) -> set[str]:
    """The ways the report prints a number: 13,104; 2½; $10 million; twice; half."""
    value = Decimal(str(value))
    if value == value.to_integral_value():
        whole = int(value)
        forms = {str(whole), f"{whole:,}", *NUMBER_WORDS.get(whole, [])}
        if whole >= 10**6 and whole % 10**6 == 0:
            forms.add(f"{whole // 10**6} million")
        return forms
    forms = {format(value.normalize(), "f"), f"{value:.2f}"}
    if value % 1 == Decimal("0.5"):
        forms.add(f"{int(value)} ½")
    return forms


def test_every_figure_is_printed_in_one_of_its_quotes(loaded):
    import re

    from rdflib.namespace import RDF

    graph = loaded.graph
    exact = URIRef("http://www.w3.org/ns/oa#exact")
    missing = []
    for finding in graph.subjects(RDF.type, c("Finding")):
        text = " ".join(str(graph.value(q, exact)) for q in graph.objects(finding, c("hasQuote")))
        for prop in (URIRef(QUDT + "numericValue"), c("baselineValue"), c("followUpValue"),
                     c("sampleSize")):
            for value in graph.objects(finding, prop):
                if not any(re.search(r"(?<![\d,.])" + re.escape(form) + r"(?!\d)", text, re.I)
                           for form in printed_forms(value)):
                    missing.append(f"{finding} {prop}: {value}")
    assert missing == []


# The check that every figure printed in the report's text is recorded, typed, on a finding with
# a quote on the figure's own line is tests/test_figures.py; it derives the figures from the text.
