"""The path graph and the pictures: known paths, counts per edge, nothing invented, files written."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import networkx as nx
import pytest

from coprod_kg.paths import build_graph, paths, rolled_up, strongest, studies_of
from coprod_kg.query import QueryError


@pytest.fixture(scope="module")
def graph(store):
    return build_graph(store)


def test_networks_reach_reduced_isolation_through_relatedness(graph):
    rows = paths(graph, "networks", "reduced-isolation")
    assert [(r.via, r.outcome) for r in rows] == [("need:relatedness", "outcome:reduced-isolation")]
    # Line 182 (90 per cent, body) and line 430 (98 per cent, appendix): Retain Regain.
    studies = {s["study"] for s in rows[0].studies}
    assert studies == {"study:retain-regain"}
    findings = {f["finding"] for s in rows[0].studies for f in s["findings"]}
    assert len(findings) == 2  # the conflicting pair, both kept
    assert rows[0].steps[0].status == "stated"


def test_each_sdt_need_has_an_evidenced_path(graph):
    expected = {  # (principle, need, outcome, a study the report names for it)
        ("networks", "need:relatedness", "outcome:new-friendships", "study:expert-patients"),  # line 516
        ("catalysts", "need:autonomy", "outcome:empowerment", "study:recovery-innovations"),  # line 480
        ("capabilities", "need:competence", "outcome:engagement-in-learning", "study:changing-minds"),  # line 373
    }
    for principle, need, outcome, study in expected:
        rows = [r for r in paths(graph, principle) if r.via == need and r.outcome == outcome]
        assert rows and study in {s["study"] for s in rows[0].studies}


def test_edge_counts_are_distinct_studies(graph):
    outcome = "outcome:improved-self-esteem"
    edge = graph.edges["wellbeing:personal-resources", outcome]
    assert edge["studies"] == len(studies_of(graph, outcome)) >= 5
    for source, target, data in graph.edges(data=True):
        if data["kind"] == "evidenced-by":
            assert data["studies"] == 1 and data["findings"]


def test_no_path_is_invented(graph):
    # Catalysts map only to autonomy (line 252), so they reach no relatedness outcome.
    assert all(r.via == "need:autonomy" for r in paths(graph, "catalysts"))
    assert paths(graph, "catalysts", "reduced-isolation") == []
    # Every study on every path has a finding on that exact outcome.
    for row in paths(graph):
        for study in row.studies:
            assert study["findings"]


def test_which_principles_reach_an_outcome(graph):
    principles = {r.principle for r in paths(graph, outcome="reduced-isolation")}
    assert principles == {"principle:networks", "principle:mutuality"}


def test_strongest_paths_are_ranked_by_studies(graph):
    top = strongest(graph, 5)
    counts = [len(r.studies) for r in top]
    assert counts == sorted(counts, reverse=True) and counts[0] >= 7


def test_unknown_names_list_the_choices(graph):
    with pytest.raises(QueryError, match="choose one of: assets, blurring-boundaries"):
        paths(graph, "kindness")
    with pytest.raises(QueryError, match="unknown outcome"):
        paths(graph, "networks", "happiness")


def test_rolled_up_graph_keeps_studies_and_shrinks_outcomes(graph):
    rolled = rolled_up(graph)
    outcomes = [n for n, d in rolled.nodes(data=True) if d["kind"] == "outcome"]
    assert 5 < len(outcomes) < len([n for n, d in graph.nodes(data=True) if d["kind"] == "outcome"])
    assert {n for n, d in rolled.nodes(data=True) if d["kind"] == "study"} == \
        {n for n, d in graph.nodes(data=True) if d["kind"] == "study"}


def test_pictures_and_network_files(store, project, tmp_path):
    from coprod_kg.viz import draw_all

    written = {p.name for p in draw_all(project, store, tmp_path)}
    assert {"paths.svg", "paths.png", "gap-map.svg", "gap-map.png", "paths.graphml",
            "paths.gexf", "explorer.html"} <= written
    svg = ET.parse(tmp_path / "gap-map.svg").getroot()
    assert svg.tag.endswith("svg")
    assert nx.read_graphml(tmp_path / "paths.graphml").number_of_edges() > 50
    assert nx.read_gexf(tmp_path / "paths.gexf").number_of_nodes() > 30
    first = (tmp_path / "paths.svg").read_bytes()
    draw_all(project, store, tmp_path)
    assert (tmp_path / "paths.svg").read_bytes() == first, "the SVG must be deterministic"


def test_paths_command(store, capsys):
    from coprod_kg.cli import main

    assert main(["paths", "--principle", "networks", "--outcome", "reduced-isolation",
                 "--summary"]) == 0
    assert "retain-regain" in capsys.readouterr().out
    assert main(["paths", "--principle", "kindness"]) == 2
    assert "choose one of" in capsys.readouterr().err
    assert main(["paths"]) == 2
