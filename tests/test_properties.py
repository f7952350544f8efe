"""Property-based tests: any literal survives load, cache and export; mutated Turtle makes the
loader raise its own error, naming the file and line. Bounded so CI stays fast."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coprod_kg import export
from coprod_kg.load import LoadedGraph, load_sources, parse_bytes
from coprod_kg.project import InputError, Project, Source

from conftest import ROOT

BOUNDED = settings(max_examples=int(__import__("os").environ.get("COPROD_KG_EXAMPLES", 60)), deadline=None,
                   suppress_health_check=[HealthCheck.function_scoped_fixture,
                                          HealthCheck.too_slow])
S = "https://w3id.org/coprod-kg/id/quote/property-test"
P = "http://www.w3.org/ns/oa#exact"
# Characters that str.splitlines() takes for line ends: each must survive as data.
LINE_BREAKERS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
texts = st.one_of(
    st.text(max_size=300),  # any Unicode scalar value (hypothesis leaves out surrogates)
    st.text(alphabet=st.sampled_from(LINE_BREAKERS + "\x00\t\b\"\\'a é"), max_size=50),
    st.text(max_size=20).map(lambda t: t * 500),  # long ones
)


def turtle_string(text: str, escape_all: bool) -> str:
    """``text`` as a Turtle string: the escapes Turtle needs, or every character as \\u."""
    if escape_all:
        return '"' + "".join(f"\\U{ord(c):08X}" for c in text) + '"'
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") \
        .replace("\r", "\\r") + '"'


def document(text: str, escape_all: bool = False) -> bytes:
    return f"<{S}> <{P}> {turtle_string(text, escape_all)} .\n".encode("utf-8")


@BOUNDED
@given(text=texts, escape_all=st.booleans())
def test_any_literal_loads_as_written(text, escape_all):
    (triple,) = parse_bytes(Path("literal.ttl"), document(text, escape_all))
    assert str(triple[2]) == text


@BOUNDED
@given(text=texts)
def test_any_literal_survives_the_closure_cache(text, tmp_path_factory):
    from coprod_kg.cache import open_store, write_closure

    root = tmp_path_factory.mktemp("cache")
    loaded = load_sources([Source(root / "literal.ttl", document(text))])
    project = Project(root)
    store = open_store(project, write_closure(project, loaded.graph, "k"))
    assert [quad.object.value for quad in store] == [text]


# RDF/XML cannot carry C0 controls other than tab, line feed and carriage return (XML 1.0), nor
# U+FFFE and U+FFFF: the exporter must refuse or escape them, which branch `linked` handles.
XML_SAFE = st.text(alphabet=st.characters(blacklist_categories=("Cs",),
                                          blacklist_characters="".join(
                                              chr(c) for c in range(32) if c not in (9, 10, 13))
                                          + "\ufffe\uffff"), max_size=200)


def _read_back(fmt: str, data: str) -> list[str]:
    import rdflib

    graph = rdflib.Dataset() if fmt == "trig" else rdflib.Graph()
    graph.parse(data=data, format={"turtle": "turtle", "ntriples": "nt", "jsonld": "json-ld",
                                   "trig": "trig", "rdfxml": "xml"}[fmt])
    quads = graph.quads((None, None, None, None)) if fmt == "trig" else \
        ((s, p, o, None) for s, p, o in graph)
    return [str(o) for s, p, o, _ in quads if str(p) == P]


@pytest.mark.parametrize("fmt", [
    "turtle", "jsonld", "trig", "ntriples",
])
@BOUNDED
@given(text=texts)
def test_any_literal_survives_every_export(fmt, text):
    loaded = load_sources([Source(ROOT / "data" / "literal.ttl", document(text))])
    written = export.serialise(loaded.graph, fmt, loaded=loaded)
    assert _read_back(fmt, written) == [text]


@BOUNDED
@given(text=XML_SAFE)
def test_any_xml_safe_literal_survives_rdf_xml(text):
    loaded = load_sources([Source(ROOT / "data" / "literal.ttl", document(text))])
    written = export.serialise(loaded.graph, "rdfxml", loaded=loaded)
    back = _read_back("rdfxml", written)
    # An XML parser turns a raw carriage return into a line feed unless it was escaped.
    assert back == [text] or back == [text.replace("\r\n", "\n").replace("\r", "\n")]


BASE_DOCUMENT = """@prefix coprod: <https://w3id.org/coprod-kg/ontology#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix oa: <http://www.w3.org/ns/oa#> .
@prefix quote: <https://w3id.org/coprod-kg/id/quote/> .

quote:a a coprod:Quote ;
    oa:exact "Planned hospital visits decreased from 725 to 596.\\n" ;
    coprod:sourceLine "1234"^^xsd:integer ;
    coprod:timeframeDuration "P6M"^^xsd:duration ;
    coprod:accessed "2013-02-28"^^xsd:date ;
    coprod:year "2013"^^xsd:gYear ;
    coprod:share 0.25 ;
    coprod:parts ( quote:b [ oa:exact 'nested' ] ) .
""".encode()


@st.composite
def mutated(draw):
    data = bytearray(BASE_DOCUMENT)
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        kind = draw(st.sampled_from(["insert", "delete", "replace"]))
        byte = draw(st.sampled_from(list(b'"\'\\<>[](){};.,:#^@_ \n\r\t0aPZ-') +
                                    [0, 0xC3, 0xEF, 0xFF]))
        if kind == "insert":
            data[at:at] = bytes([byte])
        elif at < len(data):
            data[at:at + 1] = b"" if kind == "delete" else bytes([byte])
    return bytes(data)


@BOUNDED
@given(data=mutated())
def test_mutated_turtle_raises_only_the_loaders_error_with_file_and_line(data):
    path = Path("mutated.ttl")
    try:
        parse_bytes(path, data)
    except InputError as error:
        assert error.path == path
        assert error.line is not None and 1 <= error.line <= data.count(b"\n") + 1, str(error)
        assert str(error).startswith(f"mutated.ttl:{error.line}")


def test_the_base_document_of_the_mutations_is_valid():
    assert len(parse_bytes(Path("base.ttl"), BASE_DOCUMENT)) == 13
    assert isinstance(load_sources([Source(Path("base.ttl"), BASE_DOCUMENT)]), LoadedGraph)
