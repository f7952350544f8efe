"""Every quote in data/ is a verbatim span of the report, on the line and in the section it says."""

from __future__ import annotations

from coprod_kg.quotes import OA_EXACT, check_quotes


def test_every_quote_is_verbatim_at_its_line_and_section(loaded, source_text):
    problems = check_quotes(loaded.graph, source_text)
    assert [str(p) for p in problems] == []


def test_there_are_quotes_to_check(loaded):
    assert len(set(loaded.graph.subjects(OA_EXACT))) > 400


def test_an_altered_quote_is_caught(loaded, source_text):
    from rdflib import Graph, Literal, URIRef

    graph = Graph()
    quote = URIRef("https://w3id.org/coprod-kg/id/quote/croydon-sun-ae")
    for triple in loaded.graph.triples((quote, None, None)):
        graph.add(triple)
    section = next(graph.objects(quote, URIRef("https://w3id.org/coprod-kg/ontology#inSection")))
    for triple in loaded.graph.triples((section, None, None)):
        graph.add(triple)
    assert check_quotes(graph, source_text) == []
    graph.set((quote, OA_EXACT, Literal("A&E use decreased by 40 per cent after six months")))
    assert len(check_quotes(graph, source_text)) == 1
