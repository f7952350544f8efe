"""The README's commands work when pasted as written, right after the two set-up commands, and
its picture descriptions say what the pictures show."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys

import pytest

from conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def sh_blocks(section: str) -> list[str]:
    """The command lines of the ```sh blocks in one ## section, comments removed."""
    body = README.split(f"## {section}\n", 1)[1].split("\n## ", 1)[0]
    lines = []
    for block in re.findall(r"```sh\n(.*?)```", body, re.S):
        for line in block.splitlines():
            command = line.split("  #", 1)[0].strip()
            if command:
                lines.append(command)
    return lines


USAGE = sh_blocks("Using it")
SET_UP = sh_blocks("Quick start")


def test_the_set_up_commands_come_first_and_the_rest_use_the_launcher():
    assert SET_UP[:2] == ["python3 tasks.py run", "python3 tasks.py test"]
    assert len(USAGE) >= 10
    for command in SET_UP[2:] + USAGE:
        assert command.startswith("python3 tasks.py kg "), command


@pytest.mark.parametrize("command", USAGE)
def test_every_usage_command_runs_as_written(command, store, monkeypatch, capsys):
    from coprod_kg.cli import main

    monkeypatch.chdir(ROOT)
    args = shlex.split(command)[3:]
    assert main(args) == 0, capsys.readouterr().err
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err


def test_the_launcher_runs_a_command_from_the_venv():
    done = subprocess.run([sys.executable, str(ROOT / "tasks.py"), "--quiet", "kg", "queries"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "24-outcome-evidence" in done.stdout


def test_the_worked_query_file_is_the_one_shown():
    shown = re.search(r"### A worked query.*?```sparql\n(.*?)```", README, re.S).group(1)
    assert shown in (ROOT / "docs" / "isolation.rq").read_text(encoding="utf-8")


def test_the_pictures_alt_text_matches_the_graph(store):
    from coprod_kg.viz import empty_cells, gap_map_data

    gap = gap_map_data(store)
    empty = empty_cells(gap)
    words = {9: "Nine", 8: "Eight", 10: "Ten", 7: "Seven"}
    alt = re.search(r"!\[(Evidence gap map\..*?)\]\(docs/img/gap-map.svg\)", README, re.S).group(1)
    assert f"{len(gap['groups'])} outcome groups" in alt
    assert f"{words.get(len(empty), len(empty))} cells are empty" in alt
    catalysts = sum(p == "principle:catalysts" for p, _ in empty)
    assert f"{['no', 'one', 'two', 'three', 'four', 'five', 'six', 'seven'][catalysts]} of them for Catalysts" in alt
