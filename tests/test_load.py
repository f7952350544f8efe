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
