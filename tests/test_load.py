"""The loader: every project file parses, every bad input fails with file and line, W3C suite."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from coprod_kg.cli import main
from coprod_kg.load import load, parse_file
from coprod_kg.project import InputError

from conftest import CASES, ROOT, W3C, ids

PROJECT_TTL = sorted((ROOT / "data").rglob("*.ttl")) + sorted((ROOT / "ontology").glob("*.ttl"))
BAD_TTL = sorted(CASES.glob("*.ttl"))


def case_header(path: Path) -> dict[str, str]:
    """The '# key: value' lines at the top of a case file."""
    header = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = re.match(r"^#\s*(\w+):\s*(.*)$", line)
        if match:
            header[match.group(1)] = match.group(2).strip()
        elif not line.startswith("#"):
            break
    return header


@pytest.mark.parametrize("path", PROJECT_TTL, ids=ids(PROJECT_TTL))
def test_project_file_parses(path):
    triples = parse_file(path)
    assert len(triples) > 10


def test_data_files_hold_no_tbox_axioms():
    from rdflib.namespace import OWL, RDFS

    data = load(sorted((ROOT / "data").rglob("*.ttl"))).graph
    axioms = [t for t in data if t[1] in (RDFS.subClassOf, RDFS.subPropertyOf, RDFS.domain,
                                          RDFS.range, OWL.propertyChainAxiom, OWL.inverseOf)]
    assert axioms == []


def test_data_prefixes_match_the_namespace_module():
    from coprod_kg.namespace import PREFIXES

    for path in sorted((ROOT / "data").rglob("*.ttl")):
        for prefix, iri in re.findall(r"^@prefix\s+([\w-]*):\s*<([^>]*)>", path.read_text(), re.M):
            assert PREFIXES.get(prefix) == iri, f"{path.name}: @prefix {prefix}: <{iri}>"


@pytest.mark.parametrize("path", [p for p in BAD_TTL if case_header(p).get("exit") == "2"],
                         ids=lambda p: p.name)
def test_bad_input_is_refused_with_file_and_line(path, capsys):
    header = case_header(path)
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert header["expect"] in err
    assert "Traceback" not in err


def test_bad_input_raises_input_error_with_location():
    with pytest.raises(InputError) as caught:
        parse_file(CASES / "undefined-prefix.ttl")
    assert caught.value.line == 7 and caught.value.path.name == "undefined-prefix.ttl"


def test_unreadable_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="cannot read file"):
        parse_file(tmp_path / "missing.ttl")
    binary = tmp_path / "binary.ttl"
    binary.write_bytes(b"\xff\xfe<a> <b> <c> .")
    with pytest.raises(InputError):
        parse_file(binary)


NEGATIVE = sorted((W3C / "negative").glob("*.ttl")) if W3C.is_dir() else []
POSITIVE = sorted((W3C / "positive").glob("*")) if W3C.is_dir() else []
needs_w3c = pytest.mark.skipif(not W3C.is_dir(), reason=f"W3C Turtle suite not found at {W3C}")


@needs_w3c
def test_w3c_suite_is_complete():
    assert len(NEGATIVE) == 94 and len(POSITIVE) == 219


@needs_w3c
@pytest.mark.parametrize("path", NEGATIVE, ids=ids(NEGATIVE))
def test_w3c_negative_syntax_is_rejected_with_file_and_line(path):
    with pytest.raises(InputError) as caught:
        parse_file(path)
    assert caught.value.path == path
    assert caught.value.line is not None and caught.value.line >= 1
    assert f"{path.name}:{caught.value.line}" in str(caught.value)


@needs_w3c
@pytest.mark.parametrize("path", POSITIVE, ids=ids(POSITIVE))
def test_w3c_positive_syntax_is_accepted(path):
    try:
        parse_file(path)
    except InputError as error:
        pytest.fail(str(error))


# ---------------------------------------------------------------- any character, any size

def test_a_bom_at_the_start_is_dropped():
    triples = parse_file(CASES / "bom-at-start.ttl")
    assert len(triples) == 1 and "\ufeff" not in str(triples[0][0])


def test_line_separators_and_controls_in_literals_load_as_written():
    from rdflib.namespace import Namespace

    (quote,) = [o for _, p, o in parse_file(CASES / "line-separators.ttl")
                if p == Namespace("http://www.w3.org/ns/oa#").exact]
    for char in "\u2028\u2029\x0c\x0b\x85\x1c\x1d\x1e\t\b\f\r\n\x00":
        assert char in str(quote), repr(char)


def test_the_project_data_holds_no_duration_in_weeks():
    # "P1W" is not an xsd:duration; the six per-week figures of the PFG and Mosaic studies are
    # written "P7D" (the same week, as XSD spells it).
    for path in sorted((ROOT / "data").rglob("*.ttl")):
        assert '"P1W"' not in path.read_text(), path.name


@pytest.mark.parametrize("lexical,datatype,problem", [
    ("P1W", "duration", "not the form"), ("P", "duration", "at least one number"),
    ("PT", "dayTimeDuration", "at least one number"), ("P1Y", "dayTimeDuration", "not the form"),
    ("P1D", "yearMonthDuration", "not the form"), ("2013-13-01", "date", "no month 13"),
    ("2013-02-29", "date", "no day 29"), ("2013-02-28T25:00:00", "dateTime", "out of range"),
    ("13", "gYear", "not the form"), ("2013-00", "gYearMonth", "no month 00"),
    ("1,5", "decimal", "not the form"), ("٣", "integer", "digits 0-9"),
    ("-1", "nonNegativeInteger", "out of the range"), ("0", "positiveInteger", "out of the range"),
    ("128", "byte", "out of the range"), ("yes", "boolean", "not the form"),
    ("1.0e", "double", "not the form"),
])
def test_invalid_lexical_forms_are_named(lexical, datatype, problem):
    from coprod_kg.lexical import XSD, lexical_problem

    assert problem in (lexical_problem(lexical, XSD + datatype) or "")


@pytest.mark.parametrize("lexical,datatype", [
    ("P7D", "duration"), ("-P1Y2M3DT4H5M6.5S", "duration"), ("PT36H", "dayTimeDuration"),
    ("P1Y6M", "yearMonthDuration"), ("2012-02-29", "date"), ("2000-02-29Z", "date"),
    ("2013-02-28T24:00:00", "dateTime"), ("2013-02-28T09:30:00.5+01:00", "dateTime"),
    ("2013", "gYear"), ("-0044", "gYear"), ("2013-02", "gYearMonth"), ("+1.5", "decimal"),
    (".5", "decimal"), ("-0", "integer"), ("255", "unsignedByte"), ("true", "boolean"),
    ("1", "boolean"), ("INF", "double"), ("1e3", "float"),
])
def test_valid_lexical_forms_pass(lexical, datatype):
    from coprod_kg.lexical import XSD, lexical_problem

    assert lexical_problem(lexical, XSD + datatype) is None


@pytest.mark.skipif(not hasattr(__import__("os"), "mkfifo"), reason="needs mkfifo")
def test_a_fifo_named_ttl_is_refused_without_hanging(tmp_path, capsys):
    import os
    import shutil

    root = tmp_path / "project"
    shutil.copytree(ROOT / "ontology", root / "ontology")
    shutil.copytree(ROOT / "data", root / "data")
    os.mkfifo(root / "data" / "pipe.ttl")
    for command in (["validate"], ["stats"]):
        assert main(["--project", str(root), *command]) == 2
        err = capsys.readouterr().err
        assert "pipe.ttl: not a regular file but a named pipe" in err and "Traceback" not in err


def test_a_folder_named_ttl_is_refused(tmp_path):
    (tmp_path / "folder.ttl").mkdir()
    with pytest.raises(InputError, match="not a regular file but a folder"):
        parse_file(tmp_path / "folder.ttl")


def _nested(kind: str, depth: int) -> bytes:
    if kind == "collections":
        body = b"(" * depth + b")" * depth
    else:
        body = b"[ :p " * depth + b":x " + b"] " * depth
    return b"@prefix : <http://example.org/> .\n:a :p " + body + b" .\n"


@pytest.mark.parametrize("kind,depth", [("collections", 50_000), ("blank-nodes", 20_000)])
def test_deep_nesting_is_refused_with_a_message(kind, depth, tmp_path, monkeypatch):
    path = tmp_path / f"nested-{kind}.ttl"
    path.write_bytes(_nested(kind, depth))
    with pytest.raises(InputError) as caught:
        parse_file(path)
    assert "levels of nested blank nodes or collections" in str(caught.value)
    assert "COPROD_KG_MAX_DEPTH" in str(caught.value) and path.name in str(caught.value)
    # Raised, the limit lets a deep file through (a smaller one, to keep the test quick).
    path.write_bytes(_nested(kind, 300))
    with pytest.raises(InputError, match="COPROD_KG_MAX_DEPTH"):
        parse_file(path)
    monkeypatch.setenv("COPROD_KG_MAX_DEPTH", "400")
    assert len(parse_file(path)) > 300


def test_a_long_collection_and_too_many_triples_are_refused(tmp_path, monkeypatch):
    path = tmp_path / "long-list.ttl"
    path.write_bytes(b"@prefix : <http://example.org/> .\n:a :p ("
                     + b" :x" * 20_000 + b" ) .\n")
    with pytest.raises(InputError, match="items in one collection.*COPROD_KG_MAX_LIST"):
        parse_file(path)
    monkeypatch.setenv("COPROD_KG_MAX_LIST", "30000")
    monkeypatch.setenv("COPROD_KG_MAX_TRIPLES", "1000")
    with pytest.raises(InputError, match="more than 1000 triples.*COPROD_KG_MAX_TRIPLES"):
        parse_file(path)


def test_a_file_past_the_size_limit_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "big.ttl"
    path.write_bytes(b"# " + b"x" * 5000 + b"\n")
    monkeypatch.setenv("COPROD_KG_MAX_BYTES", "1000")
    with pytest.raises(InputError, match="more than the limit of 1000.*COPROD_KG_MAX_BYTES"):
        parse_file(path)


def test_checks_and_validation_read_the_triples_without_an_rdflib_copy(project):
    from coprod_kg.load import load_project
    from coprod_kg.validate import curation_checks, load_shapes, validate

    loaded = load_project(project)
    unknown, problems, _ = curation_checks(project, loaded)
    report = validate(loaded, load_shapes(project.shapes_file), loaded.part(project.ontology_files))
    assert (unknown, problems, report.conforms) == ([], [], True)
    assert loaded._graph is None and loaded._by_file is None
    assert loaded.size() == len(loaded.graph) > 8000


def test_the_vocabulary_graph_uses_the_terms_the_whole_graph_uses(project):
    from rdflib.namespace import RDF

    from coprod_kg.load import load_project

    loaded = load_project(project)
    vocabulary = loaded.vocabulary()
    graph = loaded.graph
    assert len(vocabulary) < len(graph) / 10
    assert set(vocabulary.predicates()) == set(graph.predicates())
    assert set(vocabulary.objects(None, RDF.type)) == set(graph.objects(None, RDF.type))
