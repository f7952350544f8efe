"""The argument as data: one status per placement, the review's own synthesis, Table 1 cell by cell."""

from __future__ import annotations

import pyoxigraph as ox
import pytest

from coprod_kg.namespace import COPROD, ID
from coprod_kg.query import parse_query_file, run
from coprod_kg.tables import compact

from conftest import ROOT

CHECKS = ROOT / "queries" / "checks"
STATUS = ID + "status/"


def without(store, predicate):
    """A copy of ``store`` without the triples for which ``predicate(quad)`` is true."""
    copy = ox.Store()
    copy.bulk_extend([quad for quad in store if not predicate(quad)])
    return copy


def check_rows(store, name):
    return run(parse_query_file(CHECKS / f"{name}.rq"), store).rows


# ---------------------------------------------------------------- placements

def test_every_placement_has_one_status_and_what_that_status_needs(store):
    rows = store.query(f"""
        PREFIX coprod: <{COPROD}>
        SELECT ?link (COUNT(DISTINCT ?status) AS ?statuses) (SAMPLE(?status) AS ?one)
               (COUNT(DISTINCT ?quote) AS ?quotes) (COUNT(DISTINCT ?why) AS ?rationales) WHERE {{
            ?link a coprod:OutcomePlacement .
            OPTIONAL {{ ?link coprod:status ?status }}
            OPTIONAL {{ ?link coprod:hasQuote ?quote }}
            OPTIONAL {{ ?link coprod:rationale ?why }}
        }} GROUP BY ?link""")
    seen = 0
    for row in rows:
        seen += 1
        assert int(row["statuses"].value) == 1, row["link"]
        if row["one"].value == STATUS + "stated":
            assert int(row["quotes"].value) >= 1, f"{row['link']} is stated without a quote"
        else:
            assert int(row["rationales"].value) >= 1, f"{row['link']} is curated without a rationale"
    # One placement for every inTheme, expressesNeed and inComponent asserted in data/outcomes.ttl.
    shortcuts = {COPROD + name for name in ("inTheme", "expressesNeed", "inComponent")}
    asserted = [t for t in ox.parse(path=str(ROOT / "data" / "outcomes.ttl"))
                if t.predicate.value in shortcuts]
    assert len(asserted) > 40 and seen == len(asserted)


def test_the_stated_only_view_leaves_out_every_curated_placement(store):
    shown = {compact(row["placement"]) for row in
             run(parse_query_file(ROOT / "queries" / "21-stated-placements.rq"), store).rows}
    curated = {compact(row["link"].value) for row in store.query(f"""
        PREFIX coprod: <{COPROD}>
        SELECT ?link WHERE {{ ?link a coprod:OutcomePlacement ;
                                    coprod:status <{STATUS}curated> }}""")}
    assert curated and not shown & curated
    # The placements the issue names: the theme of reduced stigma is stated, its external
    # conditions placement is not; belonging is stated in its theme but curated under relatedness.
    assert "link:reduced-stigma--theme-stigma" in shown
    assert "link:reduced-stigma--wellbeing-external-conditions" in curated
    assert "link:sense-of-belonging--theme-social-networks" in shown
    assert "link:sense-of-belonging--need-relatedness" in curated


def test_reduced_stigma_is_stated_in_both_themes_the_report_puts_it_in(store):
    """Line 180 counts a reduced sense of stigma in the social networks theme; line 192 makes
    reduced stigma a common theme of its own. Both are stated placements, each with its line."""
    rows = run(parse_query_file(ROOT / "queries" / "21-stated-placements.rq"), store).rows
    lines = {}
    for row in rows:
        if compact(row["outcome"]) == "outcome:reduced-stigma" and row["kind"] == "theme":
            lines.setdefault(compact(row["target"]), set()).add(int(row["line"]))
    assert lines == {"theme:stigma": {192}, "theme:social-networks": {180}}  # the earliest quote


def test_the_placement_check_passes_on_the_graph(store):
    assert check_rows(store, "placement-without-shortcut") == []


def test_a_shortcut_without_its_placement_node_fails_the_check(store):
    link = ox.NamedNode(ID + "link/reduced-stigma--wellbeing-external-conditions")
    broken = without(store, lambda quad: quad.subject == link)
    rows = check_rows(broken, "placement-without-shortcut")
    flagged = {(compact(r["outcome"]), compact(r["target"])) for r in rows}
    # The outcome and the narrower outcomes that inherit the shortcut, and nothing else.
    assert ("outcome:reduced-stigma", "wellbeing:external-conditions") in flagged
    assert {target for _, target in flagged} == {"wellbeing:external-conditions"}
    assert ("outcome:reduced-stigma-from-staff", "wellbeing:external-conditions") in flagged


def test_a_placement_without_its_shortcut_fails_the_check(store):
    outcome = ox.NamedNode(ID + "outcome/volunteering")
    in_theme = ox.NamedNode(COPROD + "inTheme")
    broken = without(store, lambda quad: quad.subject == outcome and quad.predicate == in_theme)
    problems = {r["problem"] for r in check_rows(broken, "placement-without-shortcut")}
    assert "placement without a shortcut on the outcome" in problems


def test_a_stated_placement_without_a_quote_fails_the_check(store):
    link = ox.NamedNode(ID + "link/reduced-stigma--theme-stigma")
    has_quote = ox.NamedNode(COPROD + "hasQuote")
    broken = without(store, lambda quad: quad.subject == link and quad.predicate == has_quote)
    problems = {r["problem"] for r in check_rows(broken, "placement-without-shortcut")}
    assert problems == {"stated placement without a quote"}


def test_an_outcomes_own_status_no_longer_carries_placement_rationales(loaded):
    """A stated outcome has no rationale left: what was curated about it is on its link: nodes."""
    from rdflib import URIRef

    graph = loaded.graph
    status, rationale = URIRef(COPROD + "status"), URIRef(COPROD + "rationale")
    for name in ("reduced-stigma", "sense-of-belonging", "improved-employability",
                 "improved-confidence", "empowerment", "social-inclusion"):
        outcome = URIRef(ID + "outcome/" + name)
        assert graph.value(outcome, status) == URIRef(STATUS + "stated"), name
        assert graph.value(outcome, rationale) is None, name


# ---------------------------------------------------------------- Table 1, cell by cell

TABLE_1 = {"assets": 11, "capabilities": 13, "mutuality": 10, "networks": 12,
           "blurring-boundaries": 7, "catalysts": 5}  # line 105 of the report


def sensitivity(store):
    return run(parse_query_file(ROOT / "queries" / "22-table1-sensitivity.rq"), store).rows


def test_all_90_cells_are_judged_once_and_reproduce_table_1(store):
    rows = sensitivity(store)
    cells = [(compact(row["study"]), compact(row["principle"])) for row in rows]
    assert len(cells) == len(set(cells)) == 15 * 6  # one row per cell: 15 studies, 6 principles
    present = {}
    for row in rows:
        principle = compact(row["principle"])
        present[principle] = present.get(principle, 0) + (row["judgement"] == "present")
    assert present == {f"principle:{name}": n for name, n in TABLE_1.items()}


def swap_pairs(rows):
    """The swaps the answer describes: in each column, every uncertain present cell with every
    uncertain absent cell (the header says the partners are those rows of the same answer)."""
    uncertain = [row for row in rows if row["confidence"] == "uncertain"]
    return {(a["studyLabel"], b["studyLabel"], compact(a["principle"]))
            for a in uncertain for b in uncertain
            if a["principle"] == b["principle"] and a["judgement"] != b["judgement"]}


def test_only_uncertain_cells_of_opposite_judgement_in_one_column_swap(store):
    rows = sensitivity(store)
    by_cell = {(row["studyLabel"], compact(row["principle"])): row for row in rows}
    pairs = swap_pairs(rows)
    assert pairs
    for study, other, principle in pairs:
        mine, theirs = by_cell[(study, principle)], by_cell[(other, principle)]
        assert mine["confidence"] == theirs["confidence"] == "uncertain"
        assert mine["judgement"] != theirs["judgement"]
        assert (other, study, principle) in pairs  # a swap goes both ways
        # Swapping the two keeps the column's total, the only figure Table 1 prints (line 105).
        assert {mine["judgement"], theirs["judgement"]} == {"present", "absent"}
    # Each row counts its partners; a certain or probable cell has none.
    for row in rows:
        partners = sum(1 for study, _, principle in pairs
                       if (study, principle) == (row["studyLabel"], compact(row["principle"])))
        assert int(row["swapCandidates"]) == partners, (row["studyLabel"], row["principleLabel"])
        if row["confidence"] != "uncertain":
            assert partners == 0
    # An uncertain cell with no partner is one the totals force, and its rationale must say so.
    for row in rows:
        if row["confidence"] == "uncertain" and int(row["swapCandidates"]) == 0:
            assert "force" in row["rationale"], (row["studyLabel"], row["principleLabel"])


def test_the_cells_check_fails_when_a_cell_loses_its_judgement(store):
    cell = ox.NamedNode(ID + "coding/helper-therapy-networks")
    broken = without(store, lambda quad: quad.subject == cell)
    rows = check_rows(broken, "table1-cell-unjudged")
    assert [(compact(r["study"]), compact(r["principle"])) for r in rows] == \
        [("study:helper-therapy", "principle:networks")]


def test_the_cells_check_fails_when_present_and_coding_disagree(store):
    cell = ox.NamedNode(ID + "coding/personalisation-forum-group-catalysts")
    present = ox.NamedNode(COPROD + "principlePresent")
    broken = without(store, lambda quad: quad.subject == cell and quad.predicate == present)
    broken.add(ox.Quad(cell, present, ox.Literal("true", datatype=ox.NamedNode(
        "http://www.w3.org/2001/XMLSchema#boolean"))))
    problems = {r["problem"] for r in check_rows(broken, "table1-cell-unjudged")}
    assert problems == {"present is not the same as being a principle coding"}


# ---------------------------------------------------------------- the review's own synthesis

def labels_of(store, text):
    return {row["label"].value for row in store.query(f"PREFIX coprod: <{COPROD}>\n"
                                                         f"PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n{text}")}


def test_every_missing_figure_has_a_note(store):
    # Only captions survive for Figures 1, 2, 4 and 5 (lines 77, 186, 256, 297); Figure 3 is cited
    # at line 221 with no caption at all.
    found = labels_of(store, 'SELECT ?label WHERE { ?n coprod:noteKind "figure-missing" ; rdfs:label ?label }')
    assert {f"Figure {n}" for n in range(1, 6)} == {label[:8] for label in found}


def test_the_inclusion_criteria_are_both_kept_and_flagged(store):
    rows = list(store.query(f"""
        PREFIX coprod: <{COPROD}>
        PREFIX claim: <{ID}claim/>
        SELECT ?note WHERE {{
            ?note a coprod:Conflict ;
                  coprod:concerns claim:included-strong-or-evaluative, claim:included-impact-evaluation-only .
            claim:included-strong-or-evaluative coprod:conflictsWith claim:included-impact-evaluation-only .
        }}"""))
    assert len(rows) == 1


def test_the_missing_recommendations_are_noted_on_the_forewords_promise(store):
    found = labels_of(store, f"""PREFIX claim: <{ID}claim/>
        SELECT ?label WHERE {{ ?n coprod:concerns claim:foreword-recommendations ; rdfs:label ?label }}""")
    assert found == {"The foreword promises recommendations the report does not contain"}


def test_every_synthesis_claim_is_stated_in_the_report(store):
    rows = list(store.query(f"""
        PREFIX coprod: <{COPROD}>
        SELECT ?claim WHERE {{
            ?claim a coprod:SynthesisClaim .
            FILTER NOT EXISTS {{ ?claim coprod:status <{STATUS}stated> ; coprod:hasQuote ?q ;
                                       coprod:claimKind ?k ; coprod:claimTopic ?t }}
        }}"""))
    assert rows == []
    count = next(iter(store.query(f"PREFIX coprod: <{COPROD}>\nSELECT (COUNT(?c) AS ?n) "
                                  "WHERE { ?c a coprod:SynthesisClaim }")))["n"].value
    assert int(count) >= 70


# ---------------------------------------------------------------- the controlled lists page

def test_the_schemes_page_lists_every_scheme_and_concept(loaded):
    from rdflib.namespace import RDF, SKOS

    from coprod_kg.docs import _short

    page = (ROOT / "docs" / "schemes.md").read_text(encoding="utf-8")
    graph = loaded.graph
    schemes = set(graph.subjects(RDF.type, SKOS.ConceptScheme))
    assert len(schemes) >= 19
    for scheme in schemes:
        assert f"(`{_short(graph, scheme)}`)\n" in page, scheme
    for concept in set(graph.subjects(SKOS.inScheme, None)):
        assert f"| `{_short(graph, concept)}` |" in page, concept
    # Placements carry their own status: reduced stigma's theme is stated, its component curated.
    row = next(line for line in page.splitlines() if line.startswith("| `outcome:reduced-stigma` |"))
    assert "`theme:stigma` (stated, line 192)" in row
    assert "`wellbeing:external-conditions` (curated)" in row


def test_the_vocabulary_links_the_schemes_page():
    assert "(schemes.md)" in (ROOT / "docs" / "vocabulary.md").read_text(encoding="utf-8")


def test_the_schemes_pages_example_query_finds_figures_with_their_quotes(store, tmp_path):
    page = (ROOT / "docs" / "schemes.md").read_text(encoding="utf-8")
    example = page.split("```sparql\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "example.rq"
    path.write_text(example, encoding="utf-8")
    rows = run(parse_query_file(path), store).rows
    # Line 492: 'One hospital reported a 56 per cent reduction in re-hospitalisations'.
    assert any(row["value"] == 56 and row["line"] == 492 for row in rows)


def test_a_stale_schemes_page_fails_the_docs_check(tmp_path, capsys):
    import shutil

    from coprod_kg.cli import main

    for name in ("ontology", "data", "queries", "docs"):
        shutil.copytree(ROOT / name, tmp_path / name)
    shutil.copy(ROOT / "README.md", tmp_path / "README.md")
    if (ROOT / "build" / "cache").is_dir():  # the closure is keyed by the inputs: reuse it
        shutil.copytree(ROOT / "build" / "cache", tmp_path / "build" / "cache")
    assert main(["--project", str(tmp_path), "docs", "--check"]) == 0
    page = tmp_path / "docs" / "schemes.md"
    page.write_text(page.read_text(encoding="utf-8").replace("| `status:curated` |", "| `status:x` |"),
                    encoding="utf-8")
    capsys.readouterr()
    assert main(["--project", str(tmp_path), "docs", "--check"]) == 1
    assert "schemes.md" in capsys.readouterr().out
