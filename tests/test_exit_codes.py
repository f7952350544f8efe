"""Exit codes that mean one thing, each exercised once; errors without tracebacks."""

from __future__ import annotations

import errno
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest

from coprod_kg import cli
from coprod_kg.cli import main

from conftest import CASES, ROOT
from test_load import case_header

CLI = [sys.executable, "-m", "coprod_kg"]


def readme_exit_codes() -> dict[int, str]:
    """The exit-code table of the README: code -> meaning."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("<!-- exit-codes:start -->")[1].split("<!-- exit-codes:end -->")[0]
    return {int(code): meaning.strip()
            for code, meaning in re.findall(r"^\| *(\d+) *\| *(.+?) *\|$", block, re.M)}


def test_the_readme_table_matches_the_code():
    codes = {value for name, value in vars(cli).items() if name.startswith("EXIT_")}
    assert set(readme_exit_codes()) == codes == {0, 1, 2, 3, 4, 130}


def test_exit_0_fine(store, capsys):
    assert main(["queries"]) == cli.EXIT_OK


def test_exit_1_validation_failed(capsys):
    assert main(["validate", str(CASES / "percentage-over-100.ttl")]) == cli.EXIT_FAILED


def test_exit_2_usage_or_input_error(capsys):
    assert main(["query", "no-such-question"]) == cli.EXIT_USAGE
    assert main(["validate", str(CASES / "syntax-error.ttl")]) == cli.EXIT_USAGE


def test_exit_3_a_limit_stopped_the_query(store, capsys):
    assert main(["query", str(CASES / "runaway.rq"), "--timeout", "1"]) == cli.EXIT_LIMIT
    assert "stopped after 1 s" in capsys.readouterr().err


def test_exit_4_internal_error_is_one_line_with_a_pointer_to_debug(monkeypatch, capsys):
    def broken(args):
        raise KeyError("a bug\nwith a second line")

    monkeypatch.setitem(cli.COMMANDS, "stats", (broken, *cli.COMMANDS["stats"][1:]))
    assert main(["stats"]) == cli.EXIT_INTERNAL
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.splitlines()[0].startswith("internal error: KeyError")
    assert "--debug" in err and len(err.splitlines()) == 2
    assert main(["--debug", "stats"]) == cli.EXIT_INTERNAL
    assert "Traceback" in capsys.readouterr().err


@pytest.mark.skipif(not hasattr(signal, "SIGINT"), reason="needs SIGINT")
@pytest.mark.parametrize("delay", [0.3, 1.0])
def test_exit_130_interrupted_during_start_up_without_a_traceback(delay, store):
    with subprocess.Popen([*CLI, "validate"], cwd=ROOT, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True) as process:
        time.sleep(delay)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=120)
    if process.returncode == 0:
        pytest.skip("validate finished before the signal")
    # Before the interpreter installs its SIGINT handler, and again while it shuts down after
    # main() returned, the signal has its default action: the process ends by SIGINT, which a
    # shell reports as 130 too. Any other ending, or a traceback, is a failure.
    assert process.returncode in (cli.EXIT_INTERRUPTED, -signal.SIGINT), err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err


def test_a_broken_pipe_exits_quietly(store):
    with subprocess.Popen([*CLI, "export", "--format", "turtle", "-o", "-"], cwd=ROOT,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE) as process:
        process.stdout.readline()  # like `| head -1`: read one line, then go away
        process.stdout.close()
        err = process.stderr.read().decode()
        assert process.wait(timeout=120) == 0, err
    assert err == ""


def test_a_project_option_that_names_no_project_exits_2(tmp_path, capsys):
    before = sorted((ROOT / "build").glob("*")) if (ROOT / "build").is_dir() else []
    assert main(["--project", str(tmp_path), "build"]) == cli.EXIT_USAGE
    assert "names no coprod-kg project" in capsys.readouterr().err
    assert main(["--project", str(tmp_path / "missing"), "stats"]) == cli.EXIT_USAGE
    assert "names no folder" in capsys.readouterr().err
    after = sorted((ROOT / "build").glob("*")) if (ROOT / "build").is_dir() else []
    assert after == before


@pytest.mark.parametrize("value", ["-5", "0"])
def test_strongest_must_be_positive(value, store, capsys):
    assert main(["paths", "--strongest", value]) == cli.EXIT_USAGE
    assert "--strongest must be 1 or more" in capsys.readouterr().err


def test_no_space_left_names_the_file(monkeypatch, tmp_path, capsys):
    import coprod_kg.atomic as atomic

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic.os, "fsync", full)
    target = tmp_path / "kg.ttl"
    assert main(["export", "--format", "turtle", "-o", str(target)]) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert f"{target}: No space left on device" in err
    assert not target.exists() and not list(tmp_path.glob("*.part"))


def test_shapes_pyshacl_cannot_load_exit_2_naming_the_file(tmp_path, capsys):
    root = tmp_path / "project"
    for folder in ("ontology", "data"):
        shutil.copytree(ROOT / folder, root / folder)
    shapes = root / "ontology" / "shapes.ttl"
    shapes.write_text(shapes.read_text() + (
        "\ncps:BrokenShape a sh:NodeShape ;\n    sh:targetClass coprod:Finding ;\n"
        '    sh:property [ sh:path "not a path" ; sh:minCount 1 ] .\n'))
    assert main(["--project", str(root), "validate"]) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert "shapes.ttl: pyshacl cannot use these shapes" in err and "Traceback" not in err


def test_a_percentage_written_as_a_string_gets_the_datatype_message_only(capsys):
    path = CASES / "percentage-as-string.ttl"
    assert main(["validate", str(path)]) == cli.EXIT_FAILED
    out = capsys.readouterr().out
    assert case_header(path)["expect"] in out
    assert case_header(path)["unexpected"] not in out
