"""The command line, run in-process through main([...])."""

from __future__ import annotations

import json

import pytest

from coprod_kg.cli import COMMANDS, main

from conftest import ROOT


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_has_help_with_an_example(command, capsys):
    assert main([command, "--help"]) == 0
    out = capsys.readouterr().out
    assert "example: coprod-kg" in out


def test_no_command_is_a_usage_error(capsys):
    assert main([]) == 2
    assert "COMMAND" in capsys.readouterr().err


def test_unknown_command_and_bad_option_are_usage_errors(capsys):
    assert main(["frobnicate"]) == 2
    assert main(["query", "principle-prevalence", "--format", "yaml"]) == 2
    err = capsys.readouterr().err
    assert "invalid choice" in err and "Traceback" not in err


def test_queries_lists_titles_and_parameters(store, capsys):
    assert main(["queries"]) == 0
    out = capsys.readouterr().out
    assert "06-principle-outcome-paths" in out and "principle (principle)" in out


@pytest.mark.parametrize("fmt", ["table", "csv", "json", "markdown"])
def test_query_formats(store, capsys, fmt):
    assert main(["query", "principle-prevalence", "--format", fmt]) == 0
    out = capsys.readouterr().out
    assert "Catalysts" in out
    if fmt == "json":
        rows = json.loads(out)["rows"]
        assert [r["reported"] for r in rows] == [11, 13, 10, 12, 7, 5]


def test_query_with_parameter_and_rdflib_engine(store, capsys):
    args = ["query", "principle-outcome-paths", "--param", "principle=networks", "--format", "csv"]
    assert main(args) == 0
    fast = capsys.readouterr().out
    assert main([*args, "--engine", "rdflib"]) == 0
    slow = capsys.readouterr().out
    assert sorted(fast.splitlines()) == sorted(slow.splitlines())
    assert "new-friendships" in fast and "retain-regain" not in fast  # coded evidence only


@pytest.mark.parametrize("args,message", [
    (["query", "no-such-question"], "the queries are:"),
    (["query", "principle-outcome-paths"], "needs --param principle"),
    (["query", "principle-outcome-paths", "--param", "principle=kindness"], "choose one of: assets"),
    (["query", "study-profile", "--param", "study=nowhere"], "choose one of: budgets-and-beyond"),
    (["query", "principle-outcome-paths", "--param", "principle"], "write NAME=VALUE"),
    (["query", "tests/cases/bad-syntax.rq"], "bad-syntax.rq:"),
    (["query", "tests/cases/service.rq"], "SERVICE is not allowed"),
    (["query", "missing.rq"], "no such query file"),
])
def test_bad_query_requests_get_a_message_and_exit_2(store, capsys, args, message):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_validate_and_check_pass_on_the_project(store, capsys):
    assert main(["validate"]) == 0
    assert main(["check"]) == 0
    out = capsys.readouterr().out
    assert "conforms" in out and "FAIL" not in out


def test_stats(store, capsys):
    assert main(["stats"]) == 0
    assert "reviewed studies: 15" in capsys.readouterr().out


def test_export_to_a_file_and_to_stdout(store, tmp_path, capsys):
    target = tmp_path / "kg.nt"
    assert main(["export", "--format", "ntriples", "-o", str(target)]) == 0
    assert target.read_text().count("\n") > 8000
    assert main(["export", "--format", "turtle", "--inferred", "-o", "-"]) == 0
    assert "coprod:reachesOutcome" in capsys.readouterr().out


def test_reason_reports_what_it_inferred(store, tmp_path, capsys):
    out = tmp_path / "closure.ttl"
    assert main(["reason", "-o", str(out)]) == 0
    assert "inferred" in capsys.readouterr().out and out.is_file()


def test_generated_docs_are_up_to_date(capsys):
    assert main(["docs", "--check"]) == 0, capsys.readouterr().out


# Command lines of `query` read without argparse: the namespace must be argparse's own.
QUICK = [["query", "principle-prevalence"],
         ["query", "06", "--param", "principle=networks", "--format", "csv"],
         ["query", "--format", "json", "x", "--ids", "-q", "--timeout", "2.5"],
         ["query", "x", "--param", "a=b", "--param", "c=", "-o", "out.md", "--verbose"],
         ["query", "x", "--timeout", "inf", "--output", "a b.csv", "--quiet", "-v"],
         ["query", "query", "--format", "table", "--format", "markdown"],
         ["query", ""]]
# ... and those it leaves to argparse (which reads them, or refuses them with its message).
LEFT = [["query"], ["query", "a", "b"], ["query", "x", "--format", "yaml"],
        ["query", "x", "--timeout", "0"], ["query", "x", "--timeout", "nan"],
        ["query", "x", "--timeout", "-1"], ["query", "x", "--format=csv"],
        ["query", "x", "--form", "csv"], ["query", "x", "--param"], ["query", "x", "--help"],
        ["query", "x", "-o", "-"], ["query", "--", "-x"], ["query", "x", "--engine", "rdflib"],
        ["--project", ".", "query", "x"], ["-q", "query", "x"], ["queries"], ["query", "-qv", "x"]]


@pytest.mark.parametrize("words", QUICK)
def test_a_plain_query_command_line_is_read_as_argparse_reads_it(words):
    from coprod_kg import cli

    quick = cli._quick_query_args(words)
    assert quick is not None
    assert vars(quick) == vars(cli.make_parser("query").parse_args(words))


@pytest.mark.parametrize("words", LEFT)
def test_other_command_lines_are_left_to_argparse(words):
    from coprod_kg import cli

    assert cli._quick_query_args(words) is None
