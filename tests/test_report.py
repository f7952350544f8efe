"""The report in layers: a one-page summary with the report's headline figures, one page per
question, Markdown and HTML, no repeated quotes and no leaked sort keys."""

from __future__ import annotations

import re

import pytest


@pytest.fixture(scope="module")
def written(project, store, tmp_path_factory):
    from coprod_kg.build import answer_all, write_report
    from coprod_kg.query import run_checks

    out = tmp_path_factory.mktemp("report")
    answers = answer_all(project, store)
    write_report(out, answers, run_checks(store, project.checks_dir), store)
    return out


def test_the_summary_is_one_page_with_the_headlines(written):
    summary = (written / "report.md").read_text()
    assert len(summary) < 12_000  # one page, not the 462 KB of before
    headings = re.findall(r"^## (.*)$", summary, re.M)
    assert headings[:5] == ["Table 1: how often each principle appears",
                            "Social return on investment, ranked", "Prevention: acute service use before and after",
                            "Where the report contradicts itself", "What the evidence does not cover"]
    # Table 1 (line 102): Capabilities in 13 studies, Catalysts in 5, with stated and curated.
    assert "| Capabilities | 13 | 13 |" in summary and "| Catalysts | 5 | 5 |" in summary
    assert "curated" in summary.split("## Social")[0]
    # SROI: Changing Minds £8.78 for every £1 (line 381), EPP £6.09 (line 522), Holy Cross £5.75 (line 339).
    sroi = summary.split("## Social return on investment, ranked")[1].split("##")[0]
    assert sroi.index("£8.78") < sroi.index("£6.09") < sroi.index("£5.75")
    # Croydon SUN bed days 330 to 162 (line 604); A&E down 30 per cent (line 606).
    assert "| 330 days | 162 days |" in summary and "30%" in summary
    assert "Retain Regain: 98 or 90 per cent reported reduced isolation?" in summary
    # Only the Personalisation Forum Group, whose catalysts cell is absent, reports members able to
    # keep up a caring role (line 556); Wandsworth, a catalysts study, reports belonging (line 404).
    assert "Catalysts and able to continue caring for others" in summary
    assert "Catalysts and sense of belonging" not in summary


def test_one_page_per_question_in_markdown_and_html(written, project):
    names = {p.stem for p in (project.queries_dir).glob("*.rq")}
    assert {p.stem for p in (written / "report").glob("*.md")} == names
    assert {p.stem for p in (written / "report").glob("*.html")} == names
    summary = (written / "report.md").read_text()
    for name in names:
        assert f"(report/{name}.md)" in summary
    html = (written / "report.html").read_text()
    assert 'href="report/24-outcome-evidence.html"' in html and 'href="explorer.html"' in html


def test_no_repeated_quote_and_no_sort_key(written):
    profile = (written / "report" / "14-study-profile.md").read_text()
    assert not re.search(r"\| [1-5] (study|initiative|principle|finding|citation) \|", profile)
    for page in (written / "report").glob("*.md"):
        for table in re.split(r"\n\n", page.read_text()):
            rows = [line for line in table.splitlines() if line.startswith("| ")][1:]
            assert len(rows) == len(set(rows)), f"{page.name}: a row is printed twice"
