"""A 16th study, from an invented evaluation, imported from its YAML and xlsx templates into a
copy of the project: it passes validate, check and build with no edit to shapes or checks, and
shows in the answers, the paths, the gap map and the explorer. Bad templates write nothing."""

from __future__ import annotations

import csv
import re
import shutil

import pytest

from conftest import ROOT, SHARED
from curate_helpers import CURATE_CASES, FIXTURES, copy_project, run_cli, snapshot

STUDY = "riverside-peer-network"


@pytest.fixture(scope="module")
def grown(tmp_path_factory):
    """A copy of the project with the invented study imported from YAML and built."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COPROD_SHARED", str(SHARED))
        root = copy_project(tmp_path_factory.mktemp("grown") / "project")
        code, out, err = run_cli("--project", root, "import", FIXTURES / "riverside.yaml")
        assert code == 0, err
        yield root, out


def test_import_writes_the_study_the_source_and_its_text(grown):
    from coprod_kg.curate.sources import sha256_of

    root, out = grown
    study = root / "data" / "studies" / f"16-{STUDY}.ttl"
    text = root / "data" / "sources" / "texts" / "riverside-evaluation.txt"
    record = root / "data" / "sources" / "riverside-evaluation.ttl"
    assert f"wrote {study}" in out and study.is_file() and record.is_file()
    assert text.read_bytes() == (FIXTURES / "riverside-evaluation.txt").read_bytes()
    assert sha256_of(text) in record.read_text()
    turtle = study.read_text()
    assert "@prefix principle: <https://w3id.org/coprod-kg/id/principle/>" in turtle
    # Lines found by the importer, as they stand in the invented text.
    assert re.search(r"quote:riverside-crisis-visits a coprod:Quote ;\s+oa:exact [^\n]+\s+"
                     r"coprod:inSection section:riverside-findings ;\s+coprod:sourceLine 15 \.",
                     turtle)


def test_the_copy_still_has_the_repositorys_shapes_and_checks(grown):
    root, _ = grown
    assert (root / "ontology" / "shapes.ttl").read_bytes() == (ROOT / "ontology" / "shapes.ttl").read_bytes()
    for check in (ROOT / "queries" / "checks").glob("*.rq"):
        assert (root / "queries" / "checks" / check.name).read_bytes() == check.read_bytes()


def test_the_sixteenth_study_passes_validate_check_and_build(grown, monkeypatch):
    monkeypatch.setenv("COPROD_SHARED", str(SHARED))
    root, _ = grown
    code, out, _ = run_cli("--project", root, "validate")
    assert code == 0, out
    code, out, _ = run_cli("--project", root, "check")
    assert code == 0, out
    assert "FAIL" not in out
    code, out, err = run_cli("--project", root, "build")
    assert code == 0, err
    assert "reviewed studies: 16" in out


@pytest.fixture(scope="module")
def built(grown):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COPROD_SHARED", str(SHARED))
        root, _ = grown
        if not (root / "build" / "report.md").is_file():
            code, _, err = run_cli("--project", root, "build")
            assert code == 0, err
        yield root


def _rows(path):
    with path.open(encoding="utf-8") as stream:
        return list(csv.DictReader(stream))


def test_it_shows_in_the_answers_with_its_source(built):
    answers = built / "build" / "answers"
    rows = _rows(answers / "25-studies-by-source.csv")
    ours = [r for r in rows if r["study"].endswith(f"/study/{STUDY}")]
    assert len(ours) == 1 and ours[0]["source"].endswith("/source/riverside-evaluation")
    assert sum(r["source"].endswith("/report/slay-stephens-2013") for r in rows) == 15
    profile = _rows(answers / f"14-study-profile--{STUDY}.csv")
    assert any(r["aspect"] == "4 finding" and "120 to 75" in r["item"] for r in profile)


def test_stats_count_the_studies_of_each_source(built):
    code, out, _ = run_cli("--project", built, "stats")
    assert code == 0
    assert "studies from slay-stephens-2013: 15" in out  # Appendix 1's 15 documents (line 41)
    assert "studies from riverside-evaluation: 1" in out


def test_table1_still_counts_only_the_reviews_studies(built):
    rows = {r["name"]: r for r in _rows(built / "build" / "answers" / "01-principle-prevalence.csv")}
    # Table 1 (line 105): networks in 12 of the 15 studies; the invented study is coded networks.
    assert rows["Networks"]["reported"] == rows["Networks"]["reconstructed"] == "12"


def test_it_shows_in_the_paths(built):
    code, out, _ = run_cli("--project", built, "paths", "--outcome", "reduced-isolation",
                           "--summary")
    assert code == 0 and STUDY in out


def test_it_shows_in_the_gap_map_and_the_explorer(built):
    from coprod_kg.cache import open_store
    from coprod_kg.project import Project
    from coprod_kg.viz import gap_map_data

    data = gap_map_data(open_store(Project(built)))
    cells = [c for c in data["cells"] if f"study:{STUDY}" in c["studies"]]
    assert {c["principle"] for c in cells} >= {"principle:networks"}
    page = (built / "build" / "explorer.html").read_text(encoding="utf-8")
    assert "Riverside Peer Network" in page


def test_coverage_of_the_new_source_holds_every_figure(built):
    code, out, _ = run_cli("--project", built, "coverage", "riverside-evaluation")
    assert code == 0, out
    # The invented text prints 64, 120, 75, 2,400 and 50; each is on a finding.
    for line, token in ((13, "64"), (15, "120"), (15, "75"), (17, "2,400"), (21, "50")):
        assert re.search(rf"line\s+{line}\s+{token}\s+held\s+finding:riverside-", out), token
    assert "0 uncovered" in out


def test_the_xlsx_template_gives_the_same_study(tmp_path, monkeypatch, grown):
    from rdflib import Graph
    from rdflib.compare import isomorphic

    from coprod_kg.curate.importer import import_template
    from coprod_kg.project import Project

    monkeypatch.setenv("COPROD_SHARED", str(SHARED))
    root = copy_project(tmp_path / "project")
    from_xlsx = import_template(Project(root), FIXTURES / "riverside.xlsx", write=True)
    from_yaml = Graph().parse(grown[0] / "data" / "studies" / f"16-{STUDY}.ttl")
    assert isomorphic(from_xlsx.graph, from_yaml)
    assert (root / "data" / "studies" / f"16-{STUDY}.ttl").is_file()


def test_reimporting_the_exported_study_rewrites_its_own_file(grown, tmp_path, monkeypatch):
    from rdflib import Graph
    from rdflib.compare import isomorphic

    monkeypatch.setenv("COPROD_SHARED", str(SHARED))
    root = copy_project(tmp_path / "project")
    shutil.rmtree(root / "data")
    shutil.copytree(grown[0] / "data", root / "data")
    target = root / "data" / "studies" / f"16-{STUDY}.ttl"
    before = Graph().parse(target)
    template = tmp_path / "again.yaml"
    assert run_cli("--project", root, "export-template", STUDY, "-o", template)[0] == 0
    code, _, err = run_cli("--project", root, "import", template)
    assert code == 1 and "already exists" in err and "--replace" in err
    code, out, err = run_cli("--project", root, "import", template, "--replace")
    assert code == 0, err
    assert isomorphic(before, Graph().parse(target))
    assert not (root / "data" / "studies" / f"17-{STUDY}.ttl").exists()


# ---------------------------------------------------------------- bad input

CASES = sorted(CURATE_CASES.glob("*.yaml")) + sorted(CURATE_CASES.glob("*.xlsx"))


def _expected(case):
    if case.suffix == ".yaml":
        return re.search(r"^# expect: (.*)$", case.read_text(), re.M).group(1)
    from openpyxl import load_workbook

    notes = [row[0] for row in load_workbook(case)["read me"].iter_rows(values_only=True)]
    return next(n for n in notes if n and n.startswith("expect: "))[len("expect: "):]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_a_bad_template_is_refused_with_where_and_nothing_is_written(case, tmp_path, monkeypatch):
    monkeypatch.setenv("COPROD_SHARED", str(SHARED))
    root = copy_project(tmp_path / "project")
    before = snapshot(root / "data")
    code, out, err = run_cli("--project", root, "import", case)
    assert code != 0
    assert _expected(case) in err
    located = re.search(rf"{re.escape(str(case))}(:\d+:\d+|: line \d+, column \d+|: sheet '\w+')",
                        err)
    assert located, err
    assert snapshot(root / "data") == before


def test_every_failure_mode_has_its_case():
    names = {c.stem for c in CASES}
    assert names == {"missing-required-field", "unknown-slug", "percentage-over-100",
                     "quote-not-in-source", "duplicate-slug", "merged-header", "empty-header",
                     "yaml-syntax-error", "changed-source-hash"}


def test_a_bad_cell_is_named_by_sheet_row_and_cell(tmp_path, monkeypatch):
    from openpyxl import load_workbook

    monkeypatch.setenv("COPROD_SHARED", str(SHARED))
    book = load_workbook(FIXTURES / "riverside.xlsx")
    sheet = book["codings"]
    header = [c.value for c in sheet[1]]
    column = header.index("codedPrinciple")
    cell = sheet.cell(row=2, column=column + 1)
    assert cell.value == "networks"
    cell.value = "network"
    bad = FIXTURES.parent / "riverside" / "bad-cell.xlsx"
    template = tmp_path / "bad-cell.xlsx"
    book.save(template)
    shutil.copy(FIXTURES / "riverside-evaluation.txt", tmp_path)
    code, _, err = run_cli("--project", ROOT, "import", template, "--dry-run")
    assert code == 1
    assert (f"sheet 'codings', row 2, cell {cell.column_letter}2: `network` is not a principle; "
            "did you mean `networks`?") in err
    assert not bad.exists()


def test_the_imported_file_is_the_same_bytes_in_every_process(tmp_path):
    import os
    import subprocess
    import sys

    written = []
    for seed in ("1", "2"):
        root = copy_project(tmp_path / f"project-{seed}")
        env = {**os.environ, "PYTHONHASHSEED": seed, "COPROD_SHARED": str(SHARED)}
        subprocess.run([sys.executable, "-m", "coprod_kg", "--project", str(root), "import",
                        str(FIXTURES / "riverside.yaml")], check=True, env=env,
                       capture_output=True)
        written.append((root / "data" / "studies" / f"16-{STUDY}.ttl").read_bytes())
    assert written[0] == written[1]
