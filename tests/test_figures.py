"""Every figure the report prints is a typed value on a finding, beside a quote on its own line.

The list of figures is derived from the report's TEXT (lines 39-751: the body and Appendix 1),
not from the graph, so a figure nobody recorded is found. A figure is:

- every number written in digits (``13,104``, ``£5.75``, ``2 ½``, ``$10 million``, ``30 per cent``);
- every cardinal number word (``six``, ``Fifteen``), ``half``, ``twice``, ``double``, and
  ``a week`` / ``a year``, whose values are given in ``word_values``.

Excluded, each for a stated reason (``DIGIT_EXCLUSIONS`` and ``WORD_EXCLUSIONS``):

- years (1900-2099, and decades such as 1990s): dates, not quantities. The two founding dates the
  graph records as ``measure:date`` findings (1935, line 704; 2010, line 530) are kept as figures;
- references to the report's own parts: Figure N, Table N, page N, Appendix N, list and heading ordinals
  (``- 3.``, ``1. Co-production``), enumerations ``(1)``;
- endnote markers (``^{26,27}``; superscript digits are not ASCII digits and never match);
- counts of the report's own framework (six principles, three SDT needs, two clusters, three
  aspects of stigma...): they define the concept schemes, which hold them as members;
- ``one`` as a pronoun or determiner (``one of``, ``one another``, ``one-to-one``) and ``one centre``
  or ``one hospital``, which say which single site a figure comes from (``coprod:setting``);
- ``a year ago`` (line 554), which dates a hospital stay rather than measuring anything.

The lines before 39 (forewords) give only years; the endnotes after 751 give volumes, pages
and years of cited works, which are bibliographic data, not figures of the evidence.

A figure is held when some finding has a quote that starts on the figure's line, prints the
figure as the report does, and the finding carries the value as a typed number (value, baseline,
follow-up, sample size, amount invested, minimum, maximum) or, for a length of time, as a typed
xsd:duration (timeframe or duration value).
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from rdflib import Literal, URIRef
from rdflib.namespace import RDF, XSD

from coprod_kg.cli import main
from coprod_kg.namespace import COPROD, ID
from coprod_kg.quotes import normalise

from conftest import CASES, SOURCE
from test_data import printed_forms

QUDT = "http://qudt.org/schema/qudt/"
SCHEMA = "https://schema.org/"
OA_EXACT = URIRef("http://www.w3.org/ns/oa#exact")
FIRST, LAST = 39, 751

NUMERIC = {XSD.integer, XSD.decimal, XSD.nonNegativeInteger, XSD.positiveInteger, XSD.double,
           XSD.float, XSD.int}
VALUE_PROPERTIES = [URIRef(QUDT + "numericValue"), URIRef(COPROD + "baselineValue"),
                    URIRef(COPROD + "followUpValue"), URIRef(COPROD + "sampleSize"),
                    URIRef(COPROD + "perAmountInvested"), URIRef(SCHEMA + "minValue"),
                    URIRef(SCHEMA + "maxValue")]
DURATION_PROPERTIES = [URIRef(COPROD + "timeframeDuration"), URIRef(COPROD + "durationValue")]
# XSD duration lexical space (no week unit), years, months and days as this project writes them.
XSD_DURATION = re.compile(r"-?P(?=\d|T\d)(\d+Y)?(\d+M)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?")

WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
         "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14,
         "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
         "twenty": 20, "twice": 2, "double": 2, "half": 50}
WORD = re.compile(r"\b(?:(?P<word>" + "|".join(WORDS) + r")|(?P<article>a (?:week|year)))\b"
                  r"(?:[\s'’-]+(?P<next>[\w']+))?", re.I)
DIGITS = re.compile(r"(?<![\w.,/{£$])[£$]?(?P<number>\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)"
                    r"(?P<half> ?½)?(?P<million> million)?(?!\d)")
UNIT_AFTER = re.compile(r"^[\s-]*(?:and \w+ )?(?P<unit>month|year|week|day)s?\b", re.I)
DURATION_UNIT = {"month": "M", "year": "Y", "day": "D"}

FRAMEWORK = "a count of the report's own framework, held as the members of a concept scheme"
PRONOUN = "'one' as a pronoun or determiner, not a count"
SITE = "names the single site a figure comes from (coprod:setting), not a count"
WORD_EXCLUSIONS = {
    (57, "six principles"): FRAMEWORK, (91, "six principles"): FRAMEWORK,
    (98, "six aspects"): FRAMEWORK, (192, "three aspects"): FRAMEWORK,
    (213, "two aspects"): FRAMEWORK, (221, "two clusters"): FRAMEWORK,
    (225, "two domains"): FRAMEWORK, (227, "two of"): FRAMEWORK, (229, "three core"): FRAMEWORK,
    (231, "three psychological"): FRAMEWORK, (231, "two boxes"): FRAMEWORK,
    (243, "two sections"): FRAMEWORK, (250, "six core"): FRAMEWORK,
    (250, "three components"): FRAMEWORK, (270, "six core"): FRAMEWORK,
    (272, "three pillars"): FRAMEWORK, (276, "two main"): FRAMEWORK, (278, "three areas"): FRAMEWORK,
    (311, "two calculations"): FRAMEWORK, (642, "three broad"): FRAMEWORK,
    (60, "one that"): PRONOUN, (81, "one step"): PRONOUN, (129, "one aspect"): PRONOUN,
    (135, "one case"): PRONOUN, (143, "one to"): PRONOUN, (143, "one"): PRONOUN,
    (145, "one hand"): PRONOUN, (202, "one of"): PRONOUN, (227, "one framework"): PRONOUN,
    (229, "one of"): PRONOUN, (252, "one who"): PRONOUN, (262, "one of"): PRONOUN,
    (270, "one of"): PRONOUN, (272, "one of"): PRONOUN, (278, "one way"): PRONOUN,
    (588, "one another"): PRONOUN,
    (217, "one centre"): SITE, (217, "one hospital"): SITE, (486, "one hospital"): SITE,
    (490, "one centre"): SITE, (492, "one hospital"): SITE,
    (554, "a year ago"): "dates a stay in hospital rather than measuring it; kept in coprod:timeframe",
}
# Phrases whose figure is not the word's own value.
PHRASE_VALUES = {
    (100, "two examples"): [Decimal(13)],  # "appears in all but two examples": 13 of the 15
}
DATES_AS_FIGURES = {(530, "2010"), (704, "1935")}


def digit_excluded(line: str, match: re.Match) -> str | None:
    token = match.group("number")
    before, after = line[: match.start()], line[match.end():]
    if re.fullmatch(r"(19|20)\d\d", token) or after.startswith("s"):
        return "a year"
    if re.search(r"\b(Figure|Table|page|Appendix)\s+$", before):
        return "a reference to the report's own figure, table, page or appendix"
    if re.fullmatch(r"\s*-?\s*", before) and after.startswith("."):
        return "a list or heading ordinal"
    if before.endswith("(") and after.startswith(")"):
        return "an enumeration"
    return None


def duration_of(count: int, unit: str) -> Literal:
    if unit.lower() == "week":
        return Literal(f"P{7 * count}D", datatype=XSD.duration)
    if unit.lower() == "month" and count >= 12:
        return Literal(f"P{count // 12}Y{count % 12}M".replace("Y0M", "Y"), datatype=XSD.duration)
    return Literal(f"P{count}{DURATION_UNIT[unit.lower()]}", datatype=XSD.duration)


def figures_in_the_text():
    """(line, token as printed, accepted numbers, accepted durations) for each figure."""
    lines = SOURCE.read_text(encoding="utf-8").split("\n")
    found = []
    for number in range(FIRST, LAST + 1):
        line = lines[number - 1]
        for match in DIGITS.finditer(line):
            token = match.group("number")
            if digit_excluded(line, match) and (number, token) not in DATES_AS_FIGURES:
                continue
            value = Decimal(token.replace(",", ""))
            if match.group("half"):
                value += Decimal("0.5")
            if match.group("million"):
                value *= 10**6
            durations = []
            unit = UNIT_AFTER.match(line[match.end():])
            if unit and value == value.to_integral_value():
                durations.append(duration_of(int(value), unit.group("unit")))
            printed = match.group(0).lstrip("£$").strip()
            found.append((number, printed, [value], durations))
        for match in WORD.finditer(line):
            word = (match.group("word") or match.group("article")).lower()
            key = (number, f"{word} {(match.group('next') or '').lower()}".strip())
            if key in WORD_EXCLUSIONS:
                continue
            count = 1 if match.group("article") else WORDS[word]
            values = PHRASE_VALUES.get(key, [Decimal(count)])
            durations = []
            if match.group("article"):
                unit = match.group("article").split()[1]
            else:
                unit_match = UNIT_AFTER.match(line[match.end("word"):])
                unit = unit_match.group("unit") if unit_match else None
            if unit:
                durations.append(duration_of(count, unit))
            found.append((number, match.group("word") or match.group("article"), values, durations))
    return found


def printed_pattern(form: str) -> re.Pattern:
    """Match a figure as printed: a number not inside a longer number, a word not inside a word."""
    left = r"(?<![\w,.])" if form[0].isalpha() else r"(?<![\d,.])"
    right = r"(?!\w)" if form[-1].isalpha() else r"(?!\d)"
    return re.compile(left + re.escape(form) + right, re.I)


def held_figures(graph):
    """For each source line: the quotes starting on it, each with its findings' typed values."""
    by_line: dict[int, list[tuple[str, set[Decimal], list]]] = {}
    for finding in graph.subjects(RDF.type, URIRef(COPROD + "Finding")):
        numbers = {Decimal(str(v)) for p in VALUE_PROPERTIES for v in graph.objects(finding, p)
                   if isinstance(v, Literal) and v.datatype in NUMERIC and not v.ill_typed}
        durations = [v.value for p in DURATION_PROPERTIES for v in graph.objects(finding, p)
                     if isinstance(v, Literal) and v.datatype == XSD.duration
                     and XSD_DURATION.fullmatch(str(v))]
        for quote in graph.objects(finding, URIRef(COPROD + "hasQuote")):
            line = int(graph.value(quote, URIRef(COPROD + "sourceLine")))
            text = normalise(str(graph.value(quote, OA_EXACT)))
            by_line.setdefault(line, []).append((text, numbers, durations))
    return by_line


@pytest.fixture(scope="module")
def held(loaded):
    return held_figures(loaded.graph)


def test_figures_are_derived_from_the_text(source_text):
    figures = figures_in_the_text()
    assert len(figures) > 140
    listed = {(line, token.lower()) for line, token, _, _ in figures}
    # Spot checks written from the report, so a derivation that silently drops them fails.
    for line, token in [(632, "six"), (632, "nine"), (540, "a week"), (100, "four"),
                        (355, "half"), (550, "500"), (546, "13,104"), (490, "10"),
                        (506, "2 ½"), (105, "11"), (554, "19"), (704, "1935")]:
        assert (line, token) in listed, (line, token)
    for line, token in [(61, "3"), (98, "3"), (252, "10"), (678, "26"), (554, "a year"),
                        (588, "one"), (57, "six")]:
        assert (line, token) not in listed, (line, token)


def test_every_figure_in_the_text_is_a_typed_value_on_a_finding(held, source_text):
    missing = []
    for line, token, values, durations in figures_in_the_text():
        pattern = printed_pattern(token)
        ok = any(pattern.search(text) and (set(values) & numbers
                                           or any(d.value in found for d in durations))
                 for text, numbers, found in held.get(line, []))
        if not ok:
            missing.append(f"line {line}: {token!r} (as {values or ''} {[str(d) for d in durations]})")
    assert missing == []


def test_the_figure_test_catches_an_unrecorded_figure(held, source_text):
    """Remove the quote that holds Mosaic's range, and both of its ends go missing."""
    without = {line: entries for line, entries in held.items() if line != 632}
    lost = [(line, token) for line, token, values, durations in figures_in_the_text()
            if line == 632 and not any(set(values) & n for _, n, _ in without.get(line, []))]
    assert ("six" in {t.lower() for _, t in lost}) and ("nine" in {t.lower() for _, t in lost})


# ---------------------------------------------------------------- durations, ranges, qualifiers

def test_every_duration_is_a_valid_xsd_duration_written_one_way(loaded):
    graph = loaded.graph
    durations = [(s, o) for p in DURATION_PROPERTIES for s, o in graph.subject_objects(p)]
    assert len(durations) > 30
    bad = [f"{s} {o}" for s, o in durations
           if o.datatype != XSD.duration or not XSD_DURATION.fullmatch(str(o))
           or "W" in str(o) or re.search(r"(?<![\d])(1[2-9]|[2-9]\d)M", str(o).split("T")[0])]
    assert bad == []


def test_durations_are_written_one_way_in_the_source_files():
    """Read the lexical forms from the Turtle text itself: rdflib rewrites some (P1W to P7D)."""
    from conftest import ROOT

    written = [(path.name, lexical) for path in sorted((ROOT / "data").rglob("*.ttl"))
               for lexical in re.findall(r'"([^"]*)"\^\^xsd:duration', path.read_text(encoding="utf-8"))]
    assert len(written) > 30
    bad = [f"{name}: {lexical}" for name, lexical in written
           if not XSD_DURATION.fullmatch(lexical) or "W" in lexical
           or any(int(m) >= 12 for m in re.findall(r"(\d+)M", lexical.split("T")[0]))]
    assert bad == []


def test_a_weeks_stay_and_the_three_week_stay_are_durations_not_timeframes(loaded):
    graph = loaded.graph

    def finding(slug):
        return URIRef(f"{ID}finding/{slug}")
    duration = URIRef(COPROD + "durationValue")
    timeframe = URIRef(COPROD + "timeframeDuration")
    assert str(graph.value(finding("personalisation-forum-group-crisis-house-recovery"), duration)) == "P7D"
    # line 554: "Her last stay was over a year ago and only lasted three weeks"
    stay = finding("personalisation-forum-group-shorter-detention")
    assert str(graph.value(stay, duration)) == "P21D"
    assert graph.value(stay, timeframe) is None
    # line 554: "detention for the last 19 years" is its own finding
    history = finding("personalisation-forum-group-detention-history")
    assert Decimal(str(graph.value(history, URIRef(QUDT + "numericValue")))) == 19
    assert str(graph.value(history, timeframe)) == "P19Y"


def test_ranges_and_qualifiers_from_the_report(loaded):
    graph = loaded.graph
    f = lambda slug: URIRef(f"{ID}finding/{slug}")  # noqa: E731
    stat = URIRef(COPROD + "summaryStatistic")
    # line 632: "generally lasts between six and nine months"
    placement = f("mosaic-clubhouse-placement-length")
    assert int(graph.value(placement, URIRef(SCHEMA + "minValue"))) == 6
    assert int(graph.value(placement, URIRef(SCHEMA + "maxValue"))) == 9
    assert graph.value(placement, stat) == URIRef(f"{ID}qualifier/typical")
    # line 550: "the maximum has been 500 hours"
    assert graph.value(f("personalisation-forum-group-crisis-peak-hours"), stat) == \
        URIRef(f"{ID}qualifier/maximum")
    # line 355: "More than half the focus groups", as the peer-support "more than half" (line 694)
    for slug in ("shared-lives-confidence", "peer-support-workers-appreciated"):
        assert int(graph.value(f(slug), URIRef(QUDT + "numericValue"))) == 50
        assert graph.value(f(slug), URIRef(COPROD + "valueQualifier")) == \
            URIRef(f"{ID}qualifier/more-than")


def test_or_more_is_at_least_and_generally_is_typical(loaded):
    graph = loaded.graph
    f = lambda slug: URIRef(f"{ID}finding/{slug}")  # noqa: E731
    q = lambda slug: URIRef(f"{ID}qualifier/{slug}")  # noqa: E731
    # line 704: "A sponsor typically has been sober for a year or more": the year itself counts
    sponsor = f("helper-therapy-sponsor-sobriety")
    assert graph.value(sponsor, URIRef(COPROD + "valueQualifier")) == q("at-least")
    assert graph.value(sponsor, URIRef(COPROD + "summaryStatistic")) == q("typical")
    # line 506: "Courses are generally made up of six weekly sessions, each of 2 ½ hours"
    for slug in ("expert-patients-course-weeks", "expert-patients-session-hours"):
        assert graph.value(f(slug), URIRef(COPROD + "summaryStatistic")) == q("typical"), slug


def test_measures_fit_what_the_figure_counts(loaded):
    graph = loaded.graph
    measure = lambda slug: graph.value(URIRef(f"{ID}finding/{slug}"), URIRef(COPROD + "measure"))  # noqa: E731
    m = lambda slug: URIRef(f"{ID}measure/{slug}")  # noqa: E731
    # line 708: the benefits "more than double": a size of benefit, not a likelihood
    assert measure("helper-therapy-same-disease") == m("benefit-multiple")
    # lines 712, 714: "twice as likely": likelihoods
    assert measure("helper-therapy-sobriety-after-treatment") == m("likelihood-ratio")
    assert measure("helper-therapy-sobriety-bdd") == m("likelihood-ratio")
    # line 554: the last stay "only lasted three weeks": the length of one stay, not a count
    assert measure("personalisation-forum-group-shorter-detention") == m("length-of-stay")
    # line 482: "73 per cent of this group are in leadership positions" describes, it does not change
    assert graph.value(URIRef(f"{ID}finding/recovery-innovations-leadership"),
                       URIRef(COPROD + "direction")) == URIRef(f"{ID}direction/not-applicable")


# ---------------------------------------------------------------- the quote that prints the figure

def test_every_figure_has_one_figure_quote_that_prints_it(loaded):
    graph = loaded.graph
    figure_quote = URIRef(COPROD + "figureQuote")
    problems = []
    for finding in graph.subjects(RDF.type, URIRef(COPROD + "Finding")):
        value = graph.value(finding, URIRef(QUDT + "numericValue"))
        heads = [value] if value is not None else [
            v for p in ("baselineValue", "followUpValue") for v in graph.objects(finding, URIRef(COPROD + p))
        ] or [v for p in ("minValue", "maxValue") for v in graph.objects(finding, URIRef(SCHEMA + p))]
        if not heads:
            continue
        quotes = list(graph.objects(finding, figure_quote))
        if len(quotes) != 1:
            problems.append(f"{finding}: {len(quotes)} figure quotes")
            continue
        if (finding, URIRef(COPROD + "hasQuote"), quotes[0]) not in graph:
            problems.append(f"{finding}: its figure quote is not among its quotes")
        text = normalise(str(graph.value(quotes[0], OA_EXACT)))
        for head in heads:
            if not any(printed_pattern(form).search(text) for form in printed_forms(head)):
                problems.append(f"{finding}: figure quote does not print {head}")
    assert problems == []


# ---------------------------------------------------------------- places, perspectives

def test_every_monetary_figure_has_a_perspective(loaded):
    graph = loaded.graph
    money = {URIRef("http://qudt.org/vocab/unit/CCY_GBP"), URIRef("http://qudt.org/vocab/unit/CCY_USD")}
    findings = [f for f, u in graph.subject_objects(URIRef(QUDT + "unit")) if u in money]
    assert len(findings) >= 18
    assert [f for f in findings if graph.value(f, URIRef(COPROD + "perspective")) is None] == []
    holy = lambda slug: graph.value(URIRef(f"{ID}finding/holy-cross-{slug}"), URIRef(COPROD + "perspective"))  # noqa: E731
    assert holy("sroi") == URIRef(f"{ID}perspective/social")             # line 339: social value
    assert holy("return-to-state") == URIRef(f"{ID}perspective/state")   # line 341: to the state
    assert graph.value(URIRef(f"{ID}finding/holy-cross-value-of-time"), URIRef(COPROD + "valuationBasis")) \
        == URIRef(f"{ID}basis/london-living-wage")                        # line 343


def test_every_place_has_a_country(loaded):
    from rdflib.namespace import SKOS

    graph = loaded.graph
    country = URIRef(COPROD + "Country")
    places = set(graph.objects(None, URIRef("http://purl.org/dc/terms/spatial")))
    assert len(places) >= 15
    for place in places:
        assert any((p, RDF.type, country) in graph
                   for p in graph.transitive_objects(place, SKOS.broader)), place


def test_places_only_where_the_report_gives_them(loaded):
    graph = loaded.graph
    spatial = URIRef("http://purl.org/dc/terms/spatial")
    place = lambda slug: URIRef(f"{ID}place/{slug}")  # noqa: E731
    places = lambda kind, slug: set(graph.objects(URIRef(f"{ID}{kind}/{slug}"), spatial))  # noqa: E731
    # line 482: 72 per cent "of the Recovery Innovations Inc total workforce", not Arizona's
    assert places("finding", "recovery-innovations-workforce-share") == set()
    assert places("finding", "recovery-innovations-peers-employed") == {place("arizona")}
    # line 474: "five states in the USA and also in New Zealand"
    assert places("initiative", "recovery-innovations") == {place("united-states"), place("new-zealand")}
    # line 704: Akron, Ohio is where AA originated, so it places the founding, not the initiative
    assert places("initiative", "alcoholics-anonymous") == set()
    assert places("finding", "helper-therapy-founded") == {place("akron-ohio")}
    # line 182 gives the 28 per cent no place; the appendix (lines 504, 516) is the Wirral's
    assert places("finding", "expert-patients-new-friendships-body") == set()
    assert places("finding", "expert-patients-new-friendships") == {place("wirral")}


FIGURE_CASES = ["place-not-in-scheme.ttl", "place-without-country.ttl", "range-min-above-max.ttl",
                "money-without-perspective.ttl"]


@pytest.mark.parametrize("name", FIGURE_CASES)
def test_a_bad_figure_fails_validation_with_its_message(name, capsys):
    from test_load import case_header

    path = CASES / name
    assert main(["validate", str(path)]) == 1
    out, err = capsys.readouterr()
    assert case_header(path)["expect"] in out
    assert "Traceback" not in out + err
