"""The quote each claim shows (coprod:shownQuote): chosen once after reasoning, the same by both
reasoners, and the one the questions used to choose for themselves."""

from __future__ import annotations

import pyoxigraph as ox
from rdflib import Graph, Literal, URIRef

from coprod_kg import reason as owlrl_reason
from coprod_kg import rules, shown
from coprod_kg.namespace import COPROD, ID

SHOWN = URIRef(COPROD + "shownQuote")


def _shown(graph) -> dict:
    return {claim: quote for claim, quote in graph.subject_objects(SHOWN)}


def test_a_figure_quote_is_shown_even_where_an_earlier_quote_stands(loaded):
    # Table 1's counts for "networks" stand on the row of counts (line 105: "Number of case
    # studies this appears in (15 studies reviewed)	11	13 ..."), which is the finding's figure
    # quote, though the finding also quotes the table's heading text on lines 100 and 104.
    closure = rules.reason(loaded.graph).graph
    finding = URIRef(ID + "finding/table1-networks")
    assert _shown(closure)[finding] == URIRef(ID + "quote/table1-row")
    lines = {int(closure.value(q, URIRef(COPROD + "sourceLine")))
             for q in closure.objects(finding, URIRef(COPROD + "hasQuote"))}
    assert 105 in lines and min(lines) < 105


def test_a_claim_without_a_figure_quote_shows_its_earliest(loaded):
    # The Mosaic Clubhouse's employability finding has no figure; its quotes start on lines 206
    # ("Other projects used time credits and volunteering schemes ...") and later.
    closure = rules.reason(loaded.graph).graph
    finding = URIRef(ID + "finding/mosaic-clubhouse-employability")
    chosen = _shown(closure)[finding]
    assert int(closure.value(chosen, URIRef(COPROD + "sourceLine"))) == 206
    assert len(set(closure.objects(finding, URIRef(COPROD + "hasQuote")))) > 1


def test_every_claim_with_a_quote_shows_exactly_one_of_its_own(loaded):
    closure = rules.reason(loaded.graph).graph
    has_quote = URIRef(COPROD + "hasQuote")
    claims = set(closure.subjects(has_quote, None))
    pairs = list(closure.subject_objects(SHOWN))
    assert {claim for claim, _ in pairs} == claims
    assert len(pairs) == len(claims)
    assert all((claim, has_quote, quote) in closure for claim, quote in pairs)


def test_both_reasoners_show_the_same_quotes(loaded):
    ours = _shown(rules.reason(loaded.graph).graph)
    reference = _shown(owlrl_reason.reason_owlrl(loaded.graph).graph)
    assert ours == reference and len(ours) > 600


def _claims(*triples) -> Graph:
    graph = Graph()
    for triple in triples:
        graph.add(triple)
    return graph


def test_ties_fall_to_the_least_iri_and_a_stated_choice_is_kept():
    a, b, c = (URIRef(f"{ID}quote/{name}") for name in ("b-second", "a-first", "c-third"))
    one, two = URIRef(ID + "finding/one"), URIRef(ID + "finding/two")
    has, line = URIRef(shown.HAS_QUOTE), URIRef(shown.SOURCE_LINE)
    graph = _claims((one, has, a), (one, has, b), (two, has, a), (two, has, c), (two, SHOWN, c),
                    (a, line, Literal(7)), (b, line, Literal(7)), (c, line, Literal(9)))
    assert shown.add_to_graph(graph) == 1
    assert _shown(graph) == {one: b, two: c}


def test_a_quote_without_a_line_is_never_shown_and_the_store_gets_the_same():
    quote, lineless = URIRef(ID + "quote/q"), URIRef(ID + "quote/no-line")
    claim = URIRef(ID + "finding/f")
    has, line = URIRef(shown.HAS_QUOTE), URIRef(shown.SOURCE_LINE)
    figure = URIRef(shown.FIGURE_QUOTE)
    triples = [(claim, has, quote), (claim, has, lineless), (claim, figure, lineless),
               (quote, line, Literal(12)), (lineless, line, Literal("twelve"))]
    graph = _claims(*triples)
    shown.add_to_graph(graph)
    assert _shown(graph) == {claim: quote}
    store = ox.Store()
    store.extend(ox.Quad(*(ox.NamedNode(t) if isinstance(t, URIRef) else ox.Literal(str(t))
                           for t in triple)) for triple in triples)
    assert shown.add_to_store(store) == 1
    assert [(q.subject.value, q.object.value)
            for q in store.quads_for_pattern(None, ox.NamedNode(SHOWN), None)] \
        == [(str(claim), str(quote))]
