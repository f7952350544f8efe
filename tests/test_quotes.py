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


def test_citation_markers_follow_their_quotes(loaded, source_text):
    """A quote that carries citation:note-N is followed in the report by the superscript N."""
    import re

    from rdflib import URIRef

    from coprod_kg.namespace import COPROD
    from coprod_kg.quotes import normalise

    superscripts = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789")
    misplaced = []
    pairs = list(loaded.graph.subject_objects(URIRef(COPROD + "hasCitationMarker")))
    assert len(pairs) > 40
    for quote, marker in pairs:
        number = int(str(marker).rsplit("-", 1)[1])
        text = normalise(str(loaded.graph.value(quote, OA_EXACT)))
        start = source_text.text.find(text)
        after = source_text.text[start + len(text): start + len(text) + 80]
        match = re.match(r"[^⁰¹²³⁴⁵⁶⁷⁸⁹^]{0,60}?([⁰¹²³⁴⁵⁶⁷⁸⁹]+|\^\{[\d,]+\})", after)
        printed = set()
        if match:
            token = match.group(1)
            printed = ({int(n) for n in token[2:-1].split(",")} if token.startswith("^")
                       else {int(token.translate(superscripts))})
        if number not in printed:
            misplaced.append(f"{quote} carries marker {number} but is followed by {after[:40]!r}")
    assert misplaced == []
