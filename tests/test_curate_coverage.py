"""coprod-kg coverage: every number of a source is held by a finding or excluded with a reason."""

from __future__ import annotations

import re

import pytest

from conftest import ROOT, SOURCE
from curate_helpers import run_cli

needs_text = pytest.mark.skipif(not SOURCE.is_file(), reason=f"the report's text is not at {SOURCE}")


@needs_text
def test_coverage_of_the_review_reports_nothing_uncovered():
    code, out, _ = run_cli("--project", ROOT, "coverage", "slay-stephens-2013")
    assert code == 0, out
    assert re.search(r"numbers in `slay-stephens-2013`: \d+ held, \d+ excluded, 0 uncovered", out)


@needs_text
def test_coverage_names_the_finding_that_holds_a_figure():
    _, out, _ = run_cli("--project", ROOT, "coverage", "slay-stephens-2013")
    # Line 606: "A&E use decreased by 30 per cent after six months ..." (Croydon SUN).
    assert re.search(r"line  606\s+30\s+held\s+.*finding:croydon-sun-ae", out)
    # Line 604: "Hospital bed day use decreased from 330 to 162 days".
    assert re.search(r"line  604\s+330\s+held", out) and re.search(r"line  604\s+162\s+held", out)
    # Line 41, the methodology: "only 15 were strong enough examples".
    assert re.search(r"line   41\s+15\s+held", out)


@needs_text
def test_coverage_gives_the_reason_of_an_exclusion():
    _, out, _ = run_cli("--project", ROOT, "coverage", "slay-stephens-2013")
    assert re.search(r"line  102\s+1\s+excluded\s+Table 1, a caption", out)
    assert re.search(r"line  754\s+2009\s+excluded\s+a year", out)


@needs_text
def test_a_number_nothing_accounts_for_is_uncovered(tmp_path, monkeypatch):
    from conftest import SHARED
    from curate_helpers import copy_project

    monkeypatch.setenv("COPROD_SHARED", str(SHARED))
    root = copy_project(tmp_path / "project")
    exclusions = root / "data" / "sources" / "slay-stephens-2013-exclusions.yaml"
    text = exclusions.read_text()
    exclusions.write_text(text.replace('  - {line: 102, number: "1", reason: "Table 1, a caption"}\n', ""))
    code, out, _ = run_cli("--project", root, "coverage", "slay-stephens-2013", "--uncovered")
    assert code == 1
    assert re.search(r"line  102\s+1\s+uncovered", out) and "1 uncovered" in out


def test_a_malformed_exclusion_is_named(tmp_path):
    from coprod_kg.curate.coverage import read_exclusions
    from coprod_kg.project import InputError

    path = tmp_path / "x-exclusions.yaml"
    path.write_text("exclusions:\n  - {line: 3}\n")
    with pytest.raises(InputError, match=r"line 2, column 5: each exclusion needs a `reason`"):
        read_exclusions(path)
