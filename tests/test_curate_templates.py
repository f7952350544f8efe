"""Templates: Turtle -> template -> Turtle is lossless for every study, in YAML and in xlsx;
new-study writes a template listing the allowed values; export-template writes an existing study."""

from __future__ import annotations

import pytest

from conftest import ROOT, SOURCE
from curate_helpers import run_cli

STUDIES = sorted((ROOT / "data" / "studies").glob("*.ttl"))
needs_text = pytest.mark.skipif(not SOURCE.is_file(), reason=f"the report's text is not at {SOURCE}")


@pytest.fixture(scope="module")
def profile(loaded, project):
    from coprod_kg.curate.profile import Profile
    from coprod_kg.validate import load_shapes

    return Profile(loaded.graph, loaded.part(project.ontology_files),
                   load_shapes(project.shapes_file))


def _round_trip(project, loaded, profile, study, tmp_path, fmt):
    from rdflib import Graph
    from rdflib.compare import graph_diff, isomorphic, to_isomorphic

    from coprod_kg.curate.exporter import export_study, source_of_file
    from coprod_kg.curate.importer import import_template
    from coprod_kg.curate.sources import sources_of
    from coprod_kg.curate.templates import dump_yaml, flatten_quotes, write_xlsx

    data = export_study(loaded, profile, study,
                        source_of_file(loaded, study, sources_of(loaded.graph, project.root)))
    template = tmp_path / f"{study.stem}.{fmt}"
    if fmt == "yaml":
        template.write_text(dump_yaml(data), encoding="utf-8")
    else:
        write_xlsx(flatten_quotes(data), template,
                   {f.key for f in profile.fields.values() if f.iri_values}, {})
    imported = import_template(project, template, write=False, check=False, loaded=loaded,
                                   replace=True)
    original = Graph()
    for triple in loaded.by_file[study]:
        original.add(triple)
    if not isomorphic(original, imported.graph):
        _, lost, gained = graph_diff(to_isomorphic(original), to_isomorphic(imported.graph))
        pytest.fail(f"lost {sorted(lost)[:5]}, gained {sorted(gained)[:5]}")
    assert imported.study_path.name == study.name  # re-importing rewrites the study's own file
    return data


@needs_text
@pytest.mark.parametrize("study", STUDIES, ids=[s.name for s in STUDIES])
def test_yaml_round_trip_is_lossless(project, loaded, profile, study, tmp_path):
    data = _round_trip(project, loaded, profile, study, tmp_path, "yaml")
    # Quotes are pasted text: lines are found by the importer, never written in the template.
    text = (tmp_path / f"{study.stem}.yaml").read_text()
    assert "sourceLine" not in text and "text:" in text
    assert data["source"] == "slay-stephens-2013"


@needs_text
@pytest.mark.parametrize("study", STUDIES, ids=[s.name for s in STUDIES])
def test_xlsx_round_trip_is_lossless(project, loaded, profile, study, tmp_path):
    _round_trip(project, loaded, profile, study, tmp_path, "xlsx")


def test_there_are_fifteen_studies_to_round_trip():
    assert len(STUDIES) == 15  # Appendix 1 of the review summarises 15 documents (line 41)


def test_new_study_lists_the_allowed_values(tmp_path):
    out = tmp_path / "riverside.yaml"
    code, stdout, _ = run_cli("--project", ROOT, "new-study", "riverside", "-o", out)
    assert code == 0 and f"wrote {out}" in stdout
    text = out.read_text()
    # The six principles of the review (lines 59-64), as slugs.
    assert "codedPrinciple (principle): assets, blurring-boundaries, capabilities, catalysts," in text
    assert "unit (unit): PERCENT, NUM, HR, DAY, WK, MO, YR, CCY_GBP, CCY_USD" in text
    assert "source: slay-stephens-2013" in text and "slug: riverside" in text
    assert "required" in text
    code, _, _ = run_cli("--project", ROOT, "new-study", "riverside", "-o", out)
    assert code == 2  # never overwrites without --force


@needs_text  # the importer places a template's quotes in the report's text
def test_an_untouched_blank_template_is_refused_with_what_is_missing(tmp_path):
    out = tmp_path / "blank.yaml"
    run_cli("--project", ROOT, "new-study", "blank", "-o", out)
    code, _, err = run_cli("--project", ROOT, "import", out, "--dry-run")
    assert code == 1
    assert "missing required field `label` of a study" in err
    assert "nothing written" in err


def test_new_study_as_a_workbook(tmp_path):
    from openpyxl import load_workbook

    out = tmp_path / "riverside.xlsx"
    code, _, _ = run_cli("--project", ROOT, "new-study", "riverside", "--format", "xlsx",
                         "-o", out)
    assert code == 0
    book = load_workbook(out)
    assert {"studies", "findings", "codings", "quotes", "allowed values"} <= set(book.sheetnames)
    header = [c.value for c in book["codings"][1]]
    assert {"slug", "codedPrinciple", "rationale", "hasQuote"} <= set(header)
    principle = book["codings"][1][header.index("codedPrinciple")]
    assert principle.comment is not None and principle.comment.text == "required"
    offered = {str(v.sqref): v.formula1 for v in book["codings"].data_validations.dataValidation}
    row = next(r for r in book["allowed values"].iter_rows(values_only=True)
               if r[0] == "codedPrinciple")
    # The six principles of the review (lines 59-64) are offered in a drop-down.
    assert set(filter(None, row[1:])) == {"assets", "capabilities", "mutuality", "networks",
                                          "blurring-boundaries", "catalysts"}
    assert any(key.startswith(principle.column_letter) for key in offered)


@needs_text
def test_export_template_writes_a_study(tmp_path):
    out = tmp_path / "croydon-sun.yaml"
    code, stdout, _ = run_cli("--project", ROOT, "export-template", "croydon-sun", "-o", out)
    assert code == 0
    text = out.read_text()
    # From the report, line 606: "A&E use decreased by 30 per cent after six months ..."
    assert "text: A&E use decreased by 30 per cent after six months" in text
    assert "numericValue: 30" in text and "unit: PERCENT" in text


def test_export_template_of_an_unknown_study_suggests_one(tmp_path):
    code, _, err = run_cli("--project", ROOT, "export-template", "croydon", "-o",
                           tmp_path / "x.yaml")
    assert code == 2 and "did you mean `croydon-sun`?" in err


def test_new_study_refuses_a_name_that_is_not_a_slug(tmp_path):
    code, _, err = run_cli("--project", ROOT, "new-study", "Riverside Network", "-o",
                           tmp_path / "x.yaml")
    assert code == 2 and "is not a slug" in err and not (tmp_path / "x.yaml").exists()


@needs_text
@pytest.mark.parametrize("fmt", ["yaml", "xlsx"])
def test_a_nested_blank_node_round_trips(project, loaded, tmp_path, fmt):
    """A structured value written as a blank node (as a figure node may be) survives the trip."""
    from coprod_kg.curate.profile import Profile
    from coprod_kg.load import load
    from coprod_kg.validate import load_shapes

    study = tmp_path / "11-croydon-sun.ttl"
    text = (ROOT / "data" / "studies" / "11-croydon-sun.ttl").read_text()
    text = text.replace("    coprod:hasQuote quote:croydon-sun-ae, quote:prevention-croydon-sun-ae .",
                        "    coprod:hasQuote quote:croydon-sun-ae, quote:prevention-croydon-sun-ae ;\n"
                        "    prov:wasDerivedFrom [ a prov:Entity ; qudt:numericValue 30 ;\n"
                        "        coprod:baselineValue 2.50 ; coprod:hasQuote quote:croydon-sun-ae ] .")
    text = text.replace("@prefix oa:", "@prefix prov: <http://www.w3.org/ns/prov#> .\n@prefix oa:")
    study.write_text(text)
    files = [f for f in project.input_files() if f.name != "11-croydon-sun.ttl"] + [study]
    grown = load(files)
    profile = Profile(grown.graph, grown.part(project.ontology_files),
                      load_shapes(project.shapes_file))
    _round_trip(project, grown, profile, study, tmp_path, fmt)
