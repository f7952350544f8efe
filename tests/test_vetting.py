"""The vetting of query texts: the terminal-based check agrees with rdflib's grammar and algebra
(the reference) on every shipped query and every refusal fixture, and on texts written to make
the two readings of "<" or of a glued word differ."""

from __future__ import annotations

import subprocess
import sys

import pytest

from coprod_kg.query import (QueryError, UnsafeQuery, inspect_text, inspect_text_rdflib,
                             parse_query_file)

from conftest import CASES, ROOT

SHIPPED = sorted((ROOT / "queries").glob("*.rq")) + sorted((ROOT / "queries" / "checks").glob("*.rq"))
FIXTURES = sorted((CASES / "network").glob("*.rq")) + sorted(CASES.glob("*.rq"))


def verdict(inspect, text):
    """The form, or the kind of refusal: UnsafeQuery and a plain QueryError (syntax) apart."""
    try:
        return inspect(text, "q.rq")
    except UnsafeQuery:
        return "unsafe"
    except QueryError:
        return "error"


@pytest.mark.parametrize("path", SHIPPED + FIXTURES, ids=[p.name for p in SHIPPED + FIXTURES])
def test_the_check_agrees_with_rdflib(path):
    text = parse_query_file(path).text.replace("PORT", "9")
    assert verdict(inspect_text, text) == verdict(inspect_text_rdflib, text)


def test_every_shipped_query_is_vetted_without_rdflib():
    names = [str(p) for p in SHIPPED]
    code = ("import sys; from pathlib import Path; from coprod_kg.query import inspect_text, "
            "parse_query_file\n"
            f"forms = {{inspect_text(parse_query_file(Path(p)).text, p) for p in {names!r}}}\n"
            "assert forms == {'SELECT'}, forms\n"
            "assert 'rdflib' not in sys.modules and 'pyparsing' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


HOSTILE = {
    # pyoxigraph reads "trueSERVICE" as the literal true and then SERVICE.
    "glued": "SELECT * WHERE { ?s ?p trueSERVICE <http://127.0.0.1:9/> { ?a ?b ?c } }",
    # Read as an IRI, <?b)SERVICE#> hides the keyword; read as less-than, # starts a comment.
    "less-than": "SELECT * WHERE { ?a ?b ?c FILTER(?a<?b)SERVICE#>\n<http://127.0.0.1:9/>{?x ?y ?z} }",
    "less-than-from": "SELECT(1<(2)AS?x)FROM#>\n<http://127.0.0.1:9/g>WHERE{}",
    "prefixed-from": "PREFIX ex: <http://127.0.0.1:9/> SELECT * FROM ex:g WHERE { ?s ?p ?o }",
    "named-from": "SELECT * FROM NAMED <http://127.0.0.1:9/g> WHERE { GRAPH ?g { ?s ?p ?o } }",
    "update": "DELETE WHERE { ?s ?p ?o }",
    "update-after-prologue": "PREFIX ex: <http://e/> INSERT DATA { ex:a ex:b ex:c }",
    "service-variable": "SELECT * WHERE { SERVICE ?e { ?s ?p ?o } }",
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_texts_are_refused_as_rdflib_refuses_them(name):
    text = HOSTILE[name]
    assert verdict(inspect_text, text) == verdict(inspect_text_rdflib, text)
    # rdflib, which does not cut "trueSERVICE" in two, refuses the glued text as a syntax error.
    assert verdict(inspect_text, text) == ("error" if name == "glued" else "unsafe")


HARMLESS = {
    "in-string": 'SELECT ?x WHERE { BIND("SERVICE <http://x> { }" AS ?x) }',
    "in-long-string": "SELECT ?x WHERE { BIND('''FROM\nSERVICE''' AS ?x) }",
    "in-comment": "SELECT * WHERE { ?s ?p ?o } # SERVICE <http://x> { }",
    "in-iri": "SELECT * WHERE { ?s <http://example.org/service#from> ?o }",
    "in-name": "PREFIX ex: <http://example.org/> SELECT * WHERE { ?s ex:service ?from }",
    "in-language-tag": 'SELECT * WHERE { ?s ?p "x"@service }',
    "less-than": "SELECT * WHERE { ?s ?p ?o FILTER(?o<3 && ?o>1) }",
    "ask": "ASK { ?s ?p ?o }",
    "construct": "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }",
}


@pytest.mark.parametrize("name", list(HARMLESS))
def test_keywords_in_data_are_harmless_as_rdflib_reads_them(name):
    text = HARMLESS[name]
    assert verdict(inspect_text, text) == verdict(inspect_text_rdflib, text)
    assert verdict(inspect_text, text) in ("SELECT", "ASK", "CONSTRUCT")


def test_a_deep_nesting_is_refused_not_crashed():
    text = "SELECT * WHERE " + "{" * 20000 + "?s ?p ?o" + "}" * 20000
    with pytest.raises(QueryError, match="nested too deeply"):
        inspect_text(text, "q.rq")


@pytest.mark.parametrize("case, where", [("malformed.rq", "malformed.rq:5:"),
                                         ("bad-syntax.rq", "bad-syntax.rq:7:")])
def test_a_syntax_error_names_the_line(case, where):
    query = parse_query_file(CASES / case)
    with pytest.raises(QueryError, match="SPARQL syntax error") as caught:
        inspect_text(query.text, case)
    assert str(caught.value).startswith(where)
