"""The shapes checked as SPARQL on pyoxigraph report exactly what pyshacl reports."""

from __future__ import annotations

import pyoxigraph as ox
import pytest
from rdflib import Graph
from rdflib.namespace import SH

from coprod_kg import shacl_sparql
from coprod_kg.load import load, new_graph, to_pyoxigraph
from coprod_kg.project import ShapesError
from coprod_kg.validate import load_shapes, validate

from conftest import CASES
from test_load import case_header

SHAPE_CASES = [p for p in sorted(CASES.glob("*.ttl")) if case_header(p).get("exit") == "1"]


@pytest.fixture(scope="module")
def shapes(project):
    return load_shapes(project.shapes_file)


@pytest.fixture(scope="module")
def compiled(shapes):
    store = ox.Store()
    store.extend(ox.Quad(*map(to_pyoxigraph, t)) for t in shapes)
    return store, shacl_sparql.compile_shapes(store)


def pyshacl_results(graph: Graph, shapes: Graph, ontology: Graph, shapes_store) -> set:
    """pyshacl's results as (focus, path, component, severity, value, message)."""
    import pyshacl

    _, results, _ = pyshacl.validate(
        graph, shacl_graph=shapes, ont_graph=ontology, inference="none", abort_on_first=False,
        allow_infos=True, allow_warnings=True, advanced=False, do_owl_imports=False, inplace=False)
    reader = shacl_sparql._Shapes(shapes_store)
    found = set()
    # The report's results (sh:result), not the nested ones that explain a failed sh:node in
    # their parent's sh:detail.
    for result in results.objects(None, SH.result):
        def get(term):
            return results.value(result, term)
        path = get(SH.resultPath)
        value = get(SH.value)
        found.add((str(to_pyoxigraph(get(SH.focusNode))),
                   shacl_sparql.path_text(reader, to_pyoxigraph(path)) if path is not None else "",
                   str(get(SH.sourceConstraintComponent)),
                   shacl_sparql.SEVERITY_NAMES[str(get(SH.resultSeverity))],
                   str(to_pyoxigraph(value)) if value is not None else "",
                   str(get(SH.resultMessage))))
    return found


def sparql_results(graph: Graph, compiled) -> set:
    data = ox.Store()
    data.extend(ox.Quad(*map(to_pyoxigraph, t)) for t in graph)
    return {(r.focus, r.path, r.component, r.severity, r.value, r.message)
            for r in shacl_sparql.run(data, compiled[1])}


def test_the_report_conforms_for_both(project, loaded, shapes, compiled):
    ontology = loaded.part(project.ontology_files)
    assert pyshacl_results(loaded.graph, shapes, ontology, compiled[0]) == set()
    assert sparql_results(loaded.graph, compiled) == set()
    report = shacl_sparql.validate(loaded, shapes, ontology)
    assert report.conforms and report.problems == []


@pytest.mark.parametrize("path", SHAPE_CASES, ids=lambda p: p.name)
def test_each_bad_case_gets_pyshacls_results(project, shapes, compiled, path, monkeypatch):
    loaded = load([*project.input_files(), path])
    ontology = loaded.part(project.ontology_files)
    expected = pyshacl_results(loaded.graph, shapes, ontology, compiled[0])
    assert expected, "the case should break a shape"
    assert sparql_results(loaded.graph, compiled) == expected
    # And through the same report the CLI prints, whichever validator validate() is told to use.
    only = {path.resolve()}
    ours = shacl_sparql.validate(loaded, shapes, ontology, only)
    assert validate(loaded, shapes, ontology, only) == ours
    monkeypatch.setenv("COPROD_VALIDATOR", "pyshacl")
    assert validate(loaded, shapes, ontology, only) == ours


# Each update breaks the report's graph in one way that one constraint component catches.
MUTATIONS = {
    "minCount": "DELETE { ?f rdfs:label ?l } WHERE { { SELECT ?f ?l WHERE { ?f a coprod:Finding ; "
                "rdfs:label ?l } ORDER BY ?f LIMIT 1 } }",
    "maxCount": "INSERT { ?c coprod:status status:curated, status:stated } WHERE { { SELECT ?c WHERE "
                "{ ?c a coprod:PrincipleCoding } ORDER BY ?c LIMIT 2 } }",
    "class": "INSERT { ?f coprod:outcome study:croydon-sun ; coprod:hasQuote \"a quote\" } WHERE "
             "{ { SELECT ?f WHERE { ?f a coprod:Finding ; coprod:outcome ?o } ORDER BY ?f LIMIT 1 } }",
    "datatype": "INSERT { ?f coprod:sampleSize \"12\" ; coprod:timeframe 5 } WHERE "
                "{ { SELECT ?f WHERE { ?f a coprod:Finding } ORDER BY DESC(?f) LIMIT 1 } }",
    "in": "INSERT { ?f qudt:unit unit:KiloGM } WHERE { { SELECT ?f WHERE { ?f qudt:unit ?u } "
          "ORDER BY ?f LIMIT 1 } }",
    "pattern": "DELETE { ?p coprod:countryCode ?c } INSERT { ?p coprod:countryCode \"gb\" } WHERE "
               "{ { SELECT ?p ?c WHERE { ?p coprod:countryCode ?c } ORDER BY ?p LIMIT 1 } }",
    "uniqueLang": "INSERT { ?c skos:prefLabel \"another name\"@en } WHERE { { SELECT ?c WHERE "
                  "{ ?c a coprod:Principle } ORDER BY ?c LIMIT 1 } }",
    "range": "DELETE { ?s coprod:appendixOrder ?n } INSERT { ?s coprod:appendixOrder 16 } WHERE "
             "{ { SELECT ?s ?n WHERE { ?s coprod:appendixOrder ?n } ORDER BY ?s LIMIT 1 } }",
    "minInclusive": "INSERT { ?q coprod:sourceLine 0 } WHERE "
                    "{ { SELECT ?q WHERE { ?q a coprod:Quote } ORDER BY ?q LIMIT 1 } }",
    "length": "DELETE { ?q oa:exact ?t } INSERT { ?q oa:exact \"short\" } WHERE "
              "{ { SELECT ?q ?t WHERE { ?q oa:exact ?t } ORDER BY DESC(?q) LIMIT 1 } }",
    "inversePath": "DELETE { ?r coprod:reviewedStudy study:croydon-sun } WHERE "
                   "{ ?r coprod:reviewedStudy study:croydon-sun }",
    "or on a node": "DELETE { ?f coprod:aboutStudy ?s } WHERE { { SELECT ?f ?s WHERE "
                    "{ ?f coprod:aboutStudy ?s } ORDER BY ?f LIMIT 1 } }",
    "or of datatypes": "DELETE { ?f qudt:numericValue ?v } INSERT { ?f qudt:numericValue \"thirty\" } "
                       "WHERE { { SELECT ?f ?v WHERE { ?f qudt:numericValue ?v } ORDER BY ?f LIMIT 1 } }",
    "objects-of target": "INSERT { ?e biro:references <https://w3id.org/coprod-kg/id/work/unknown> } "
                         "WHERE { { SELECT ?e WHERE { ?e a coprod:Endnote } ORDER BY ?e LIMIT 1 } }",
    "subclass target": "DELETE { ?s rdfs:label ?l . ?s dcterms:title ?t } WHERE { { SELECT ?s WHERE "
                       "{ ?s a coprod:ReviewedStudy } ORDER BY DESC(?s) LIMIT 1 } "
                       "OPTIONAL { ?s rdfs:label ?l } OPTIONAL { ?s dcterms:title ?t } }",
}


@pytest.mark.parametrize("name", list(MUTATIONS))
def test_seeded_errors_get_pyshacls_results(project, loaded, shapes, compiled, name):
    graph = new_graph()
    for triple in loaded.graph:
        graph.add(triple)
    graph.update(MUTATIONS[name], initNs=dict(graph.namespaces()))
    assert set(graph) != set(loaded.graph), "the mutation should change the graph"
    expected = pyshacl_results(graph, shapes, loaded.part(project.ontology_files), compiled[0])
    assert expected, f"{name}: the mutation should break a shape"
    assert sparql_results(graph, compiled) == expected


def test_the_store_path_catches_durations_rdflib_rewrites(project):
    """Loaded without rdflib, "P1W"^^xsd:duration keeps its form, and it is not a valid
    xsd:duration (XSD has no week unit; STACK-NOTES). pyshacl never sees it: rdflib turns it
    into "P7D". Every other node conforms."""
    store = ox.Store()
    for path in project.input_files():
        store.bulk_load(path=str(path), format=ox.RdfFormat.TURTLE)
    results = shacl_sparql.validate_store(store, project.shapes_file)
    weeks = sum(p.read_text(encoding="utf-8").count('"P1W"^^xsd:duration') for p in project.data_files)
    assert len(results) == weeks
    for result in results:
        assert result.component == str(SH.DatatypeConstraintComponent)
        assert result.value.startswith('"P1W"^^')


def test_an_unsupported_component_is_refused(tmp_path):
    shapes = tmp_path / "shapes.ttl"
    shapes.write_text("@prefix sh: <http://www.w3.org/ns/shacl#> .\n"
                      "<urn:s> sh:targetClass <urn:C> ; sh:closed true .\n", encoding="utf-8")
    with pytest.raises(ShapesError, match="sh:closed"):
        shacl_sparql.validate_store(ox.Store(), shapes)
