"""Exports: every format round-trips, is deterministic, parses in pyoxigraph, writes atomically."""

from __future__ import annotations

import json
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Graph
from rdflib.compare import isomorphic

from coprod_kg.atomic import write_atomic
from coprod_kg.export import FORMATS, serialise, void_description

RDFLIB_FORMAT = {"turtle": "turtle", "ntriples": "nt", "jsonld": "json-ld", "rdfxml": "xml"}
OX_FORMAT = {"turtle": ox.RdfFormat.TURTLE, "ntriples": ox.RdfFormat.N_TRIPLES,
             "jsonld": ox.RdfFormat.JSON_LD, "rdfxml": ox.RdfFormat.RDF_XML,
             "trig": ox.RdfFormat.TRIG}


@pytest.fixture(scope="module")
def texts(loaded):
    return {fmt: serialise(loaded.graph, fmt, loaded.graph, loaded) for fmt in FORMATS}


@pytest.mark.parametrize("fmt", sorted(RDFLIB_FORMAT))
def test_export_round_trips_to_an_isomorphic_graph(loaded, texts, fmt):
    again = Graph().parse(data=texts[fmt], format=RDFLIB_FORMAT[fmt])
    assert isomorphic(again, loaded.graph)


def test_trig_holds_one_named_graph_per_source_file(loaded, texts):
    quads = list(ox.parse(texts["trig"], format=ox.RdfFormat.TRIG))
    names = {quad.graph_name.value for quad in quads}
    assert "https://w3id.org/coprod-kg/graph/data/studies/11-croydon-sun" in names
    assert "https://w3id.org/coprod-kg/graph/ontology/coprod" in names
    assert len(names) == len(loaded.files)
    union = Graph().parse(data="\n".join(str(ox.Triple(q.subject, q.predicate, q.object)) + " ."
                                          for q in quads), format="nt")
    assert isomorphic(union, loaded.graph)


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_export_is_deterministic(loaded, texts, fmt):
    assert serialise(loaded.graph, fmt, loaded.graph, loaded) == texts[fmt]


@pytest.mark.parametrize("fmt", sorted(OX_FORMAT))
def test_export_parses_in_pyoxigraph(loaded, texts, fmt):
    quads = ox.parse(texts[fmt], format=OX_FORMAT[fmt], base_iri="https://w3id.org/coprod-kg/")
    # A triple stated in two files is one quad in each file's named graph, so count triples.
    triples = {(str(q.subject), str(q.predicate), str(q.object)) for q in quads}
    assert len(triples) == len(loaded.graph)


def test_jsonld_keys_read_as_names(texts):
    document = json.loads(texts["jsonld"])
    assert "@context" in document
    assert document["@context"]["aboutStudy"]["@id"].endswith("#aboutStudy")
    assert '"aboutStudy"' in texts["jsonld"]


def test_inferred_export_round_trips(closure, loaded):
    text = serialise(closure.graph, "turtle", loaded.graph)
    assert isomorphic(Graph().parse(data=text, format="turtle"), closure.graph)


def test_void_describes_the_dataset(loaded):
    description = void_description(loaded.graph, {"coprod-kg.ttl": Path("coprod-kg.ttl")},
                                   len(loaded.graph))
    text = serialise(description, "turtle")
    assert "void:triples" in text and str(len(loaded.graph)) in text
    assert "<http://www.w3.org/2004/02/skos/core#>" in text  # a vocabulary it uses
    assert "creativecommons.org/licenses/by-nc-nd/3.0" in text


def test_an_interrupted_write_leaves_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "out.ttl"
    target.write_text("old")

    def fail(*args, **kwargs):
        raise OSError("disk full")
    monkeypatch.setattr("os.replace", fail)
    with pytest.raises(OSError):
        write_atomic(target, "new content")
    assert target.read_text() == "old"
    assert list(tmp_path.iterdir()) == [target]
