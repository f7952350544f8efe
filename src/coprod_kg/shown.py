"""The quote an answer shows for a claim: ``coprod:shownQuote``, added to the reasoned graph.

A claim (a finding, a coding, a figure, a note's subject) can have many quotes, and an answer
prints one beside it: the claim's figure quote (``coprod:figureQuote``, the quote whose text prints
its figure) where it has one, else its earliest quote, by source line and then by IRI, so that the
choice is the same on every engine and every run. A claim whose data already states a
``coprod:shownQuote`` keeps the one it states.

Choosing that quote inside a question costs a grouped pass over every quote of the graph, for
every question that shows one: at 1,000 times the report, most of the time of the slowest
questions. So the choice is made once, here, after reasoning, on the closure either reasoner made
(the rule engine's store or owlrl's graph), and both give the same triples. ``shownQuote`` is a
sub-property of ``coprod:hasQuote``, so what the closure already holds covers everything OWL RL
concludes from the added triples: the closure stays closed.
"""

from __future__ import annotations

from typing import Callable, Hashable, Iterable

from .namespace import COPROD

SHOWN = COPROD + "shownQuote"
HAS_QUOTE = COPROD + "hasQuote"
FIGURE_QUOTE = COPROD + "figureQuote"
SOURCE_LINE = COPROD + "sourceLine"

Pairs = Iterable[tuple[Hashable, Hashable]]


def choose(figure_quotes: Pairs, quotes: Pairs, lines: dict, iri: Callable[[Hashable], str | None],
           stated: set) -> list[tuple[Hashable, Hashable]]:
    """The (claim, quote) pairs to add: for each claim not in ``stated``, the least of its
    figure quotes, else of its quotes, by (line, IRI). ``lines`` maps a quote to its line (an
    int); a quote without one, or that is not an IRI (``iri`` gives None), is never shown."""
    best: dict = {}
    for rank, pairs in ((0, figure_quotes), (1, quotes)):
        for claim, quote in pairs:
            if claim in stated:
                continue
            line, name = lines.get(quote), iri(quote)
            if line is None or name is None:
                continue
            key = (rank, line, name)
            if claim not in best or key < best[claim][0]:
                best[claim] = (key, quote)
    return [(claim, quote) for claim, (_, quote) in best.items()]


def _integer(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:  # a malformed line the shapes report; the quote is not shown
        return None


def add_to_store(store, graphs: Iterable = ()) -> int:
    """Add the shown quotes to a pyoxigraph store's default graph, and to each of ``graphs`` (the
    rule engine's graph of what it inferred); return how many were added."""
    import pyoxigraph as ox

    def pairs(predicate: str):
        for quad in store.quads_for_pattern(None, ox.NamedNode(predicate), None, ox.DefaultGraph()):
            yield quad.subject, quad.object

    lines = {}
    for quote, line in pairs(SOURCE_LINE):
        if isinstance(line, ox.Literal) and (number := _integer(line.value)) is not None:
            lines[quote] = min(number, lines.get(quote, number))
    stated = {claim for claim, _ in pairs(SHOWN)}
    chosen = choose(pairs(FIGURE_QUOTE), pairs(HAS_QUOTE), lines,
                    lambda term: term.value if isinstance(term, ox.NamedNode) else None, stated)
    shown = ox.NamedNode(SHOWN)
    targets = [ox.DefaultGraph(), *graphs]
    store.extend(ox.Quad(claim, shown, quote, graph)
                 for claim, quote in chosen for graph in targets)
    return len(chosen)


def add_to_graph(graph) -> int:
    """Add the shown quotes to an rdflib graph; return how many were added."""
    from rdflib import Literal, URIRef

    def pairs(predicate: str):
        return graph.subject_objects(URIRef(predicate))

    lines = {}
    for quote, line in pairs(SOURCE_LINE):
        if isinstance(line, Literal) and (number := _integer(str(line))) is not None:
            lines[quote] = min(number, lines.get(quote, number))
    stated = {claim for claim, _ in pairs(SHOWN)}
    chosen = choose(list(pairs(FIGURE_QUOTE)), list(pairs(HAS_QUOTE)), lines,
                    lambda term: str(term) if isinstance(term, URIRef) else None, stated)
    shown = URIRef(SHOWN)
    for claim, quote in chosen:
        graph.add((claim, shown, quote))
    return len(chosen)
