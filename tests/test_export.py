"""Exports: each of the ten files (five formats, asserted and reasoned) parses in two engines other
than rdflib's writers to the very graph it came from, keeps every lexical form as written, and is
the same bytes in any process."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib
from rdflib import BNode, Dataset, Graph, Literal
from rdflib.compare import isomorphic

from coprod_kg.atomic import write_atomic
from coprod_kg.export import FORMATS, OX_FORMATS, serialise, void_description
from coprod_kg.load import to_pyoxigraph, to_rdflib

from conftest import ROOT

RDFLIB_FORMAT = {"turtle": "turtle", "ntriples": "nt", "rdfxml": "xml", "trig": "trig"}
BASE = "https://w3id.org/coprod-kg/"
KINDS = ["asserted", "inferred"]
CASES = [(fmt, kind) for kind in KINDS for fmt in sorted(FORMATS)]
CASE_IDS = [f"{fmt}-{kind}" for fmt, kind in CASES]


@pytest.fixture(autouse=True)
def keep_lexical_forms(monkeypatch):
    # rdflib's parsers would rewrite P15M to P1Y3M while reading the files back; compare the
    # lexical forms as the files hold them.
    monkeypatch.setattr(rdflib, "NORMALIZE_LITERALS", False)


@pytest.fixture(scope="module")
def graphs(loaded, closure):
    return {"asserted": loaded.graph, "inferred": closure.graph}


@pytest.fixture(scope="module")
def texts(loaded, closure, project):
    ontology = loaded.part(project.ontology_files)
    return {(fmt, kind): serialise(graph, fmt, ontology, loaded)
            for kind, graph in (("asserted", loaded.graph), ("inferred", closure.graph))
            for fmt in FORMATS}


def oxigraph_graph(text: str, fmt: str) -> Graph:
    """The triples pyoxigraph reads (for TriG: the union of its graphs), as an rdflib graph."""
    graph = Graph()
    for quad in ox.parse(text.encode(), format=OX_FORMATS[fmt], base_iri=BASE):
        graph.add((to_rdflib(quad.subject), to_rdflib(quad.predicate), to_rdflib(quad.object)))
    return graph


def second_parser_graph(text: str, fmt: str) -> Graph:
    """The same file read by an engine that did not write it: PyLD for JSON-LD, else rdflib."""
    if fmt == "jsonld":
        from pyld import jsonld

        def refuse(url, options=None):
            raise AssertionError(f"PyLD tried to load {url}")
        nquads = jsonld.to_rdf(json.loads(text), {"format": "application/n-quads",
                                                  "documentLoader": refuse})
        return Graph().parse(data=nquads, format="nt")
    if fmt == "trig":
        dataset = Dataset()
        dataset.parse(data=text, format="trig")
        union = Graph()
        for s, p, o, _ in dataset.quads((None, None, None, None)):
            union.add((s, p, o))
        return union
    return Graph().parse(data=text, format=RDFLIB_FORMAT[fmt])


@pytest.mark.parametrize("fmt,kind", CASES, ids=CASE_IDS)
def test_export_parses_in_pyoxigraph_to_the_same_graph(graphs, texts, fmt, kind):
    again = oxigraph_graph(texts[fmt, kind], fmt)
    assert len(again) == len(graphs[kind])
    assert isomorphic(again, graphs[kind])


# Debian's Jena (libapache-jena-java) and the jars it depends on. Its relocated Xerces classes
# look for their message bundles under xerces/, but the jar keeps them under
# org/apache/jena/ext/xerces/; a copy at the relocated path stops the "internal error" crash.
JENA_PACKAGES = ("libapache-jena-java", "libcommons-cli-java", "libcommons-codec-java",
                 "libcommons-compress-java", "libcommons-csv-java", "libcommons-io-java",
                 "libcommons-lang3-java", "libdexx-java", "libgoogle-gson-java", "libguava-java",
                 "libhttpclient-java", "libhttpcore-java", "libcommons-logging-java",
                 "libjackson2-core-java", "libjackson2-databind-java",
                 "libjackson2-annotations-java", "libjsonld-java", "libjsonp2-java",
                 "libprotobuf-java", "libthrift-java", "libtitanium-json-ld-java",
                 "libcaffeine-java")
JENA_SYNTAX = {"turtle": "turtle", "ntriples": "ntriples", "jsonld": "jsonld10", "trig": "trig",
               "rdfxml": "rdfxml"}


@pytest.fixture(scope="module")
def jena_classpath(tmp_path_factory):
    import shutil
    import zipfile

    core = Path("/usr/share/java/jena-core.jar")
    if not core.is_file() or not shutil.which("java") or not shutil.which("dpkg"):
        if os.environ.get("COPROD_REQUIRE_JENA"):
            pytest.fail("COPROD_REQUIRE_JENA is set but Debian's libapache-jena-java is missing")
        pytest.skip("needs Debian's libapache-jena-java and a JRE")
    fix = tmp_path_factory.mktemp("jena-xerces-bundles")
    with zipfile.ZipFile(core) as jar:
        for name in jar.namelist():
            if name.startswith("org/apache/jena/ext/xerces/") and not name.endswith(".class") \
                    and not name.endswith("/"):
                target = fix / "xerces" / name[len("org/apache/jena/ext/xerces/"):]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(jar.read(name))
    jars = []
    for package in JENA_PACKAGES:
        listed = subprocess.run(["dpkg", "-L", package], capture_output=True, text=True).stdout
        jars += [line for line in listed.splitlines() if line.startswith("/usr/share/java/")
                 and line.endswith(".jar") and not re.search(r"-\d[\d.]*\.jar$", line)]
    jars += ["/usr/share/java/slf4j-api.jar", "/usr/share/java/slf4j-simple.jar"]
    return ":".join([str(fix), *dict.fromkeys(j for j in jars if Path(j).is_file())])


def jena_graph(classpath: str, text: str, fmt: str, folder: Path) -> Graph:
    """The file as Jena's riot reads it (written back out by riot as N-Triples)."""
    source = folder / f"export{FORMATS[fmt][1]}"
    source.write_text(text, encoding="utf-8")
    done = subprocess.run(["java", "-cp", classpath, "riotcmd.riot", f"--syntax={JENA_SYNTAX[fmt]}",
                           "--output=nquads" if fmt == "trig" else "--output=ntriples",
                           str(source)], capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    graph = Graph()
    for quad in ox.parse(done.stdout, format=ox.RdfFormat.N_QUADS):
        graph.add((to_rdflib(quad.subject), to_rdflib(quad.predicate), to_rdflib(quad.object)))
    return graph


@pytest.mark.parametrize("fmt,kind", CASES, ids=CASE_IDS)
def test_export_parses_in_jena_to_the_same_graph(graphs, texts, jena_classpath, tmp_path, fmt,
                                                 kind):
    again = jena_graph(jena_classpath, texts[fmt, kind], fmt, tmp_path)
    assert len(again) == len(graphs[kind])
    assert isomorphic(again, graphs[kind])


@pytest.mark.parametrize("fmt,kind", CASES, ids=CASE_IDS)
def test_export_parses_in_a_second_engine_to_the_same_graph(graphs, texts, fmt, kind):
    again = second_parser_graph(texts[fmt, kind], fmt)
    assert len(again) == len(graphs[kind])
    assert isomorphic(again, graphs[kind])


def _literals(graph: Graph) -> set:
    return {(str(o), str(o.datatype or ""), o.language or "") for o in graph.objects()
            if isinstance(o, Literal)}


@pytest.fixture(scope="module")
def source_literals(project):
    """Every literal of the Turtle sources, read by pyoxigraph alone."""
    found = set()
    for path in project.input_files():
        for quad in ox.parse(path=str(path), format=ox.RdfFormat.TURTLE):
            if isinstance(quad.object, ox.Literal):
                found.add((quad.object.value, quad.object.datatype.value if not
                           quad.object.language else
                           "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString",
                           quad.object.language or ""))
    return found


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_every_literal_is_kept_as_written(texts, source_literals, fmt):
    exported = set()
    for (value, datatype, language) in _literals(oxigraph_graph(texts[fmt, "asserted"], fmt)):
        if language:
            datatype = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"
        elif not datatype:
            datatype = "http://www.w3.org/2001/XMLSchema#string"
        exported.add((value, datatype, language))
    assert exported == source_literals
    # A form rdflib would rewrite is among them: Holy Cross's return to the state is written 3.40
    # (line 341 prints "£3.40"), which rdflib's literals turn into 3.4.
    assert ("3.40", "http://www.w3.org/2001/XMLSchema#decimal", "") in exported


@pytest.mark.parametrize("kind", KINDS)
def test_trig_union_is_the_plain_export(texts, kind):
    union = oxigraph_graph(texts["trig", kind], "trig")
    plain = oxigraph_graph(texts["ntriples", kind], "ntriples")
    assert len(union) == len(plain)
    blanks = lambda g: {t for triple in g for t in triple if isinstance(t, BNode)}  # noqa: E731
    assert len(blanks(union)) == len(blanks(plain))
    assert isomorphic(union, plain)


def test_trig_holds_one_named_graph_per_source_file(loaded, texts):
    quads = list(ox.parse(texts["trig", "asserted"].encode(), format=ox.RdfFormat.TRIG))
    names = {quad.graph_name.value for quad in quads}
    assert "https://w3id.org/coprod-kg/graph/data/studies/11-croydon-sun" in names
    assert "https://w3id.org/coprod-kg/graph/ontology/coprod" in names
    assert len(names) == len(loaded.files)
    inferred = {q.graph_name.value for q in ox.parse(texts["trig", "inferred"].encode(),
                                                      format=ox.RdfFormat.TRIG)}
    assert inferred == names | {"https://w3id.org/coprod-kg/graph/inferred"}


@pytest.mark.parametrize("kind", KINDS)
def test_jsonld_is_json_ld_1_1_with_an_inline_context(texts, kind):
    from pyld import jsonld

    document = json.loads(texts["jsonld", kind])
    assert isinstance(document["@context"], dict)  # never a URL
    assert document["@context"]["aboutStudy"]["@id"].endswith("#aboutStudy")

    def refuse(url, options=None):
        raise AssertionError(f"PyLD tried to load {url}")
    expanded = jsonld.expand(document, {"documentLoader": refuse, "processingMode": "json-ld-1.1"})
    # Every @type is a string (an object inside @type is what made the old export invalid).
    for node in expanded:
        assert all(isinstance(t, str) for t in node.get("@type", []))
    assert '"aboutStudy"' in texts["jsonld", kind]
    # Instance IRIs compact to their prefixes, including where a property shares the name.
    assert '"outcome:reduced-isolation"' in texts["jsonld", kind]
    body = json.dumps({k: v for k, v in document.items() if k != "@context"})
    assert '"https://w3id.org/coprod-kg/id/' not in body


def test_rdfxml_refuses_a_character_xml_cannot_carry():
    graph = Graph()
    graph.add((rdflib.URIRef(BASE + "id/note/x"), rdflib.RDFS.label, Literal("a\x00b")))
    with pytest.raises(ValueError, match="U\\+0000.*RDF/XML|RDF/XML.*U\\+0000"):
        serialise(graph, "rdfxml")


def test_rdfxml_refuses_a_property_xml_cannot_name():
    graph = Graph()
    graph.add((rdflib.URIRef(BASE + "id/note/x"), rdflib.URIRef("https://example.org/p/1"),
               Literal("x")))
    with pytest.raises(ValueError, match="https://example.org/p/1"):
        serialise(graph, "rdfxml")
    assert "example.org/p/1" in serialise(graph, "turtle")


def test_rdfxml_keeps_carriage_returns_and_tabs():
    graph = Graph()
    graph.add((rdflib.URIRef(BASE + "id/note/x"), rdflib.RDFS.label, Literal("a\r\nb\tc")))
    again = oxigraph_graph(serialise(graph, "rdfxml"), "rdfxml")
    assert set(again.objects()) == {Literal("a\r\nb\tc")}
    assert set(second_parser_graph(serialise(graph, "rdfxml"), "rdfxml").objects()) == \
        {Literal("a\r\nb\tc")}


WRITE_ALL = """
import sys
from pathlib import Path
from coprod_kg.build import answer_all
from coprod_kg.cache import open_store, write_closure
from coprod_kg.export import FORMATS, serialise
from coprod_kg.load import load_project
from coprod_kg.project import Project
from coprod_kg.reason import reason
from coprod_kg.viz import draw_all

project, out = Project(Path(sys.argv[1])), Path(sys.argv[2])
loaded = load_project(project)
closure = reason(loaded.graph)
ontology = loaded.part(project.ontology_files)
for fmt, (_, suffix) in FORMATS.items():
    (out / f"asserted{suffix}").write_text(serialise(loaded.graph, fmt, ontology, loaded))
    (out / f"inferred{suffix}").write_text(serialise(closure.graph, fmt, ontology, loaded))
write_closure(project, closure.graph)
store = open_store(project)
draw_all(project, store, out / "viz", answer_all(project, store))
from coprod_kg.publish.ontodocs import write_docs
write_docs(ontology, closure.graph - ontology, "0", out / "docs")
"""


def _digests(folder: Path) -> dict:
    return {path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(folder.rglob("*")) if path.is_file()}


def test_exports_pictures_explorer_and_docs_are_the_same_bytes_in_fresh_processes(tmp_path):
    runs = []
    for seed in ("1", "4242"):
        out = tmp_path / f"seed-{seed}"
        (out / "viz").mkdir(parents=True)
        env = {**os.environ, "PYTHONHASHSEED": seed, "MPLBACKEND": "Agg"}
        runs.append((out, subprocess.Popen([sys.executable, "-c", WRITE_ALL, str(ROOT), str(out)],
                                           env=env, stderr=subprocess.PIPE, text=True)))
    digests = []
    for out, process in runs:
        _, err = process.communicate(timeout=600)
        assert process.returncode == 0, err
        digests.append(_digests(out))
    first, second = digests
    assert len([n for n in first if n.startswith(("asserted", "inferred"))]) == 10
    assert any(name.endswith("explorer.html") for name in first)
    assert any(name.endswith(".svg") for name in first) and any(name.endswith(".png") for name in first)
    assert "docs/index.html" in first and "docs/class/coprod-Finding.html" in first
    assert [name for name in first if first[name] != second.get(name)] == []
    assert first.keys() == second.keys()


def test_void_counts_match_the_files_they_describe(tmp_path, loaded, closure, project):
    from rdflib import URIRef

    ontology = loaded.part(project.ontology_files)
    files = {}
    for kind, graph in (("", loaded.graph), ("-inferred", closure.graph)):
        for fmt in ("turtle", "jsonld"):
            path = tmp_path / f"coprod-kg{kind}{FORMATS[fmt][1]}"
            write_atomic(path, serialise(graph, fmt, ontology, loaded))
            files[path.name] = path
    description = void_description(loaded.graph, files)
    void = "http://rdfs.org/ns/void#"
    dcat = "http://www.w3.org/ns/dcat#"
    counts = {str(s).rsplit("/", 1)[-1]: int(o) for s, o in
              description.subject_objects(URIRef(void + "triples"))}
    assert counts["asserted"] == len(loaded.graph)
    assert counts["inferred"] == len(closure.graph)
    for distribution in description.subjects(URIRef(dcat + "downloadURL")):
        url = description.value(distribution, URIRef(dcat + "downloadURL"))
        assert isinstance(url, URIRef)
        name = str(url).rsplit("/", 1)[-1]
        size = description.value(distribution, URIRef(dcat + "byteSize"))
        assert int(size) == files[name].stat().st_size
        assert description.value(distribution, URIRef(dcat + "mediaType")) is not None
        assert description.value(distribution, rdflib.DCTERMS.license) is not None
    assert (None, URIRef(void + "vocabulary"), URIRef("http://purl.org/vocab/vann/")) in description


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


@pytest.mark.parametrize("fmt", sorted(set(FORMATS) - {"trig"}))
def test_forms_rdflib_would_rewrite_survive_loading_and_export(tmp_path, fmt):
    from coprod_kg.load import load

    source = tmp_path / "forms.ttl"
    source.write_text('@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n'
                      '<https://w3id.org/coprod-kg/id/note/x> <https://example.org/v> 2.50 , '
                      '"P15M"^^xsd:duration , "007"^^xsd:integer , "1.0E2"^^xsd:double .\n')
    graph = load([source]).graph
    values = {o.value for o in oxigraph_graph(serialise(graph, fmt), fmt).objects()
              if isinstance(o, Literal) for o in [to_pyoxigraph(o)]}
    assert values == {"2.50", "P15M", "007", "1.0E2"}


def _pyld_compact(context):
    """PyLD's own compaction, expanding its input again as a plain call does."""
    from pyld import jsonld

    from coprod_kg.export import PYLD_OPTIONS

    class Plain:
        def compact(self, expanded):
            options = {k: v for k, v in PYLD_OPTIONS.items() if k != "skipExpansion"}
            return jsonld.compact(expanded, {"@context": context}, options)
    return Plain()


# One triple of every kind the compactor chooses a form for: language maps with several values
# in one language and a plain value, typed values under untyped terms, plain and typed values and
# blank nodes under properties typed @id, IRIs that are terms, IRIs that are prefixes, IRIs no
# prefix starts, and a prefix that is longer than another that also matches.
EVERY_KIND = """
@prefix coprod: <https://w3id.org/coprod-kg/ontology#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix outcome: <https://w3id.org/coprod-kg/id/outcome/> .
@prefix study: <https://w3id.org/coprod-kg/id/study/> .
outcome:x a coprod:Outcome , <https://example.org/Kind> ;
    skos:prefLabel "one"@en , "two"@en , "trois"@fr , "plain" , "typed"^^xsd:token ;
    rdfs:label "a label" , "un nom"@fr , "3"^^xsd:integer , "odd"^^<https://example.org/dt> ;
    coprod:aboutStudy study:s , _:b , "not an IRI" , outcome: , <https://example.org/elsewhere> ;
    coprod:countryCode <https://w3id.org/coprod-kg/id/place/uk> , "GB" ;
    owl:onProperty coprod:aboutStudy , rdfs:label ;
    <https://example.org/p> coprod:aboutStudy , outcome:x , _:b ;
    coprod:outcome outcome:y .
_:b rdfs:label "blank" ; coprod:aboutStudy _:b .
<https://w3id.org/coprod-kg/id/peer-support/p1> rdfs:seeAlso <https://w3id.org/coprod-kg/id/> .
<https://example.org/elsewhere> skos:prefLabel "elsewhere"@en ; coprod:aboutStudy study:s .
"""


def _compared(context, triples):
    from coprod_kg.export import Compactor, _jsonld

    compactor = Compactor(context)
    ours = _jsonld(triples, context, compactor)
    assert compactor.usable and not compactor.handed_to_pyld, "PyLD compacted it instead"
    assert ours == _jsonld(triples, context, _pyld_compact(context))
    return ours


@pytest.mark.parametrize("kind", KINDS)
def test_jsonld_compaction_is_pyld_s(graphs, loaded, project, kind):
    """The export's compactor gives the very text PyLD's plain compact gives (which also
    expands its input again), on the asserted and the reasoned graph."""
    from coprod_kg.export import _ox_triples, jsonld_context

    _compared(jsonld_context(loaded.part(project.ontology_files)), _ox_triples(graphs[kind]))


def test_jsonld_compaction_is_pyld_s_for_every_kind_of_value(loaded, project):
    from coprod_kg.export import _ox_triples, jsonld_context

    context = jsonld_context(loaded.part(project.ontology_files))
    ours = _compared(context, _ox_triples(Graph().parse(data=EVERY_KIND, format="turtle")))
    node = next(n for n in json.loads(ours)["@graph"] if n["@id"] == "outcome:x")
    assert node["prefLabel"] == {"en": ["one", "two"], "fr": "trois", "@none": "plain"}
    # An IRI that is a prefix's own IRI has no suffix to compact to, so it stays whole.
    assert {"study:s", "https://w3id.org/coprod-kg/id/outcome/"} <= set(node["aboutStudy"])
    assert node["coprod:aboutStudy"] == "not an IRI"


def test_jsonld_compactor_hands_other_contexts_to_pyld():
    """A context the compactor does not follow (here a default language) is PyLD's to apply."""
    from coprod_kg.export import Compactor, _jsonld, _ox_triples

    context = {"@language": "en", "label": {"@id": "http://www.w3.org/2000/01/rdf-schema#label"},
               "outcome": "https://w3id.org/coprod-kg/id/outcome/"}
    triples = _ox_triples(Graph().parse(data=EVERY_KIND, format="turtle"))
    compactor = Compactor(context)
    assert not compactor.usable
    assert _jsonld(triples, context, compactor) == _jsonld(triples, context,
                                                           _pyld_compact(context))
    assert compactor.handed_to_pyld == 1


def test_jsonld_nodes_sharing_an_identifier_are_ordered_by_their_text():
    from coprod_kg.export import _sort_nodes

    nodes = [{"@id": "b", "v": "2"}, {"@id": "a", "v": "9"}, {"@id": "b", "v": "1"},
             {"v": "0"}, {"@id": "a", "v": "10"}, {"@id": "c"}]
    _sort_nodes(nodes)
    assert nodes == [{"v": "0"}, {"@id": "a", "v": "10"}, {"@id": "a", "v": "9"},
                     {"@id": "b", "v": "1"}, {"@id": "b", "v": "2"}, {"@id": "c"}]
