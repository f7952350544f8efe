"""Answers for people and for programs: plain headers, unit symbols, no IRIs unless asked, tables
that fit the terminal, spreadsheets, and output that is safe where it is opened."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from coprod_kg.query import Query, Result
from coprod_kg.tables import figure, header, render, safe_cell

HOSTILE = '=HYPERLINK("http://x","<img src=x onerror=alert(1)>")'


def result(rows, columns):
    return Result(Query(Path("t.rq"), "", {"title": "t"}), columns, rows)


def test_units_are_symbols_and_headers_plain_words():
    assert figure(30, "http://qudt.org/vocab/unit/PERCENT") == "30%"
    assert figure(3500, "unit:CCY_GBP") == "£3,500"
    assert figure(10000000, "unit:CCY_USD") == "$10,000,000"
    assert figure(3, "unit:WK") == "3 weeks" and figure(330, "unit:DAY") == "330 days"
    assert figure(2, "unit:NUM") == "2" and figure(12, "unit:HR") == "12 hours"
    assert header("studyLabel") == "study" and header("followUp") == "follow up"
    assert header("perAmountInvested") == "per amount invested"


def test_identifier_columns_show_only_with_ids():
    rows = [{"study": "https://w3id.org/coprod-kg/id/study/croydon-sun", "studyLabel": "Croydon SUN",
             "value": 30, "unit": "http://qudt.org/vocab/unit/PERCENT"}]
    table = render(result(rows, ["study", "studyLabel", "value", "unit"]), "table", width=80)
    assert "study:croydon-sun" not in table and "Croydon SUN" in table and "30%" in table
    assert "PERCENT" not in table
    with_ids = render(result(rows, ["study", "studyLabel", "value", "unit"]), "table", ids=True, width=80)
    assert "study:croydon-sun" in with_ids


@pytest.mark.parametrize("width", [80, 120])
@pytest.mark.parametrize("name", ["monetary-figures", "conflicts-and-quality", "prevention"])
def test_tables_fit_the_terminal_and_wrap_instead_of_cutting(width, name, store):
    from coprod_kg.query import find_query, run

    from conftest import ROOT

    answer = run(find_query(ROOT / "queries", name), store)
    text = render(answer, "table", width=width)
    assert max(len(line) for line in text.splitlines()) <= width
    assert "…" not in text
    if width == 120:  # wide enough for whole words: the longest quote is all there, wrapped
        longest = max((str(r.get("quote") or r.get("comment")) for r in answer.rows), key=len)
        words = text.split()
        assert all(word in words for word in longest.split()[-8:])
    # Every figure keeps its quote and the line it stands on, whole, at either width (a word
    # longer than half the terminal, such as a URL, may fold across lines).
    words = set(text.split())
    for row in answer.rows:
        if row.get("quote"):
            whole = {w for w in str(row["quote"]).split() if len(w) <= width // 2}
            assert whole <= words, row["quote"]
            assert str(row["line"]) in words


def test_rows_too_wide_for_a_table_become_cards_with_each_quote_beside_its_line():
    long = "a finding described at some length " * 4
    rows = [{"finding": "f1", "label": long, "value": 30, "unit": "unit:PERCENT",
             "quote": "first quote of the finding", "line": 10, "section": "Appendix 1: Croydon SUN"},
            {"finding": "f1", "label": long, "value": 30, "unit": "unit:PERCENT",
             "quote": "second quote, elsewhere", "line": 20, "section": "Endnotes"}]
    answer = result(rows, ["finding", "label", "value", "unit", "quote", "line", "section"])
    text = render(answer, "table", width=40)
    assert max(len(line) for line in text.splitlines()) <= 40 and "…" not in text
    lines = [line.split() for line in text.splitlines()]
    assert text.count("1 of 1") == 1 and "30%" in text  # one card: the finding is one row
    at = [i for i, words in enumerate(lines) if words[:1] == ["quote"]]
    assert [lines[i + 1][-1] for i in at] == ["10", "20"]  # each quote, then its own line
    assert "Croydon SUN" in text and "Endnotes" in text
    narrow = render(result([{"label": "Capabilities", "reported": 13}], ["label", "reported"]),
                    "table", width=40)
    assert "1 of 1" not in narrow and "Capabilities" in narrow  # what fits stays a table


def test_sort_keys_do_not_leak(store):
    from coprod_kg.query import find_query, run

    from conftest import ROOT

    answer = run(find_query(ROOT / "queries", "study-profile"), store, {"study": "croydon-sun"})
    for fmt in ("table", "markdown"):
        text = render(answer, fmt, width=200)
        assert "1 study" not in text and "2 initiative" not in text and "initiative" in text


def test_a_finding_with_several_quotes_is_one_row():
    rows = [{"finding": "f1", "quote": "first", "line": 10}, {"finding": "f1", "quote": "second", "line": 20}]
    text = render(result(rows, ["finding", "quote", "line"]), "markdown")
    assert text.count("| f1 |") == 1 and "first … second" in text and "10, 20" in text


def test_csv_and_xlsx_neutralise_formulas():
    from openpyxl import load_workbook

    rows = [{"label": HOSTILE, "n": -5, "other": "+1 (555)", "at": "@SUM(A1)"}]
    answer = result(rows, ["label", "n", "other", "at"])
    parsed = list(csv.reader(io.StringIO(render(answer, "csv"))))
    assert parsed[1] == ["'" + HOSTILE, "-5", "'+1 (555)", "'@SUM(A1)"]
    sheet = load_workbook(io.BytesIO(render(answer, "xlsx"))).active
    values = [c.value for c in sheet[2]]
    assert values[0] == "'" + HOSTILE and values[1] == -5 and values[3] == "'@SUM(A1)"
    assert all(c.data_type != "f" for c in sheet[2])
    assert render(answer, "xlsx") == render(answer, "xlsx"), "the workbook must be the same bytes"
    assert safe_cell("-3.5") == "-3.5"


def test_markdown_escapes_html_and_links():
    rows = [{"label": '<img src=x onerror="alert(1)"> [click](javascript:alert(1)) | *x*'}]
    text = render(result(rows, ["label"]), "markdown")
    assert "<img" not in text and "&lt;img" in text
    assert "\\[click\\]" in text and "\\|" in text and "\\*x\\*" in text


def test_report_is_safe_where_opened(tmp_path):
    from coprod_kg.build import Answer
    from coprod_kg.report import write_report

    query = Query(Path("queries/99-test.rq"), "", {"title": "<script>alert(1)</script>",
                                                   "question": "q", "section": "s"})
    answer = Answer(query, {}, Result(query, ["label", "quote"],
                                      [{"label": '<img src=x onerror="alert(1)">', "quote": "a"}]))
    write_report(tmp_path, [answer], [])
    for path in [tmp_path / "report.md", *tmp_path.glob("report/*.md")]:
        text = path.read_text()
        assert "<img" not in text and "<script>" not in text
    for path in [tmp_path / "report.html", *tmp_path.glob("report/*.html")]:
        text = path.read_text()
        assert "<img src=x" not in text and "<script>alert" not in text
        assert "&lt;img" in text or "&lt;script&gt;" in text


def test_output_writes_any_format_and_errors_come_as_json(store, tmp_path, capsys):
    from openpyxl import load_workbook

    from coprod_kg.cli import main

    out = tmp_path / "t1.xlsx"
    assert main(["query", "1", "--output", str(out)]) == 0
    sheet = load_workbook(out).active
    assert sheet["A1"].value == "name" and sheet["A2"].value == "Assets"
    out = tmp_path / "t1.csv"
    assert main(["query", "principle-prevalence", "-o", str(out)]) == 0
    assert out.read_text().startswith("principle,name,reported")
    assert main(["query", "1", "--format", "xlsx"]) == 2
    capsys.readouterr()
    assert main(["query", "prevalance", "--format", "json"]) == 2
    error = json.loads(capsys.readouterr().err)
    assert "did you mean 01-principle-prevalence" in error["error"]
    assert main(["query", "Prevalence of the six principles (Table 1)", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["query"] == "01-principle-prevalence"


def test_build_reports_progress_unless_quiet(project, monkeypatch, capsys):
    from coprod_kg import cli

    steps = []
    monkeypatch.setattr("coprod_kg.build.build", lambda project, echo, progress, engine=None: (
        [progress("reasoning"), progress("answering", 1, 2, "01"), steps.append(1)], (1, None))[1])
    assert cli.main(["build", "--verbose"]) == 1
    err = capsys.readouterr().err
    assert "reasoning ..." in err and "answering ..." in err and "01" in err
    assert cli.main(["build", "--quiet"]) == 1
    assert capsys.readouterr().err == ""
