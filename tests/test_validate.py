"""SHACL validation: the project conforms; each broken case fails with its message."""

from __future__ import annotations

import pytest

from coprod_kg.cli import main
from coprod_kg.validate import load_shapes, validate

from conftest import CASES
from test_load import case_header

SHAPE_CASES = [p for p in sorted(CASES.glob("*.ttl")) if case_header(p).get("exit") == "1"]


def test_the_whole_graph_conforms(project, loaded):
    report = validate(loaded, load_shapes(project.shapes_file), loaded.part(project.ontology_files))
    assert report.problems == []
    assert report.conforms


def test_validation_leaves_the_graph_untouched(project, loaded):
    before = len(loaded.graph)
    validate(loaded, load_shapes(project.shapes_file), loaded.part(project.ontology_files))
    assert len(loaded.graph) == before


@pytest.mark.parametrize("path", SHAPE_CASES, ids=lambda p: p.name)
def test_shape_case_fails_with_its_message(path, capsys):
    assert main(["validate", str(path)]) == 1
    out = capsys.readouterr().out
    assert case_header(path)["expect"] in out
    assert out.startswith(str(path))  # every problem line names the file first


def test_validating_one_good_file_reports_only_that_file(project, capsys):
    study = project.root / "data" / "studies" / "11-croydon-sun.ttl"
    assert main(["validate", str(study)]) == 0
    assert "conforms: 1 file(s)" in capsys.readouterr().out


def test_missing_file_is_a_usage_error(capsys):
    assert main(["validate", "no/such/file.ttl"]) == 2
    assert "no such file" in capsys.readouterr().err
