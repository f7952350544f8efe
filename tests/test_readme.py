"""The README's commands work when pasted as written, right after the two set-up commands, and
its picture descriptions say what the pictures show."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys

import pytest

from conftest import ROOT, SOURCE

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
    if args[0] in ("locate", "coverage") and not SOURCE.is_file():
        pytest.skip(f"`{args[0]}` reads the report's text, which is not beside the checkout "
                    f"({SOURCE}; set COPROD_SHARED)")
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
    """The alt text is written by `coprod-kg docs` from the graph, the same words as each SVG's
    <desc>; here it is checked against the gap map's cells and the drawn pictures."""
    import html

    from coprod_kg.paths import build_graph, rolled_up
    from coprod_kg.viz import gap_description, gap_map_data, path_description

    gap = gap_map_data(store)
    labels = {e["id"]: e["label"] for e in gap["principles"] + gap["groups"]}
    empty = [c for c in gap["cells"] if not c["items"]]
    alt = re.search(r"!\[(Evidence gap map\..*?)\]\(docs/img/gap-map.svg\)", README, re.S).group(1)
    assert alt == gap_description(gap)
    assert f"against {len(gap['groups'])} outcome groups" in alt
    assert f"{len(empty)} of {len(gap['cells'])} cells are empty" in alt
    for cell in empty:  # every gap is named under its principle
        named = alt.split(f"{labels[cell['principle']]} (", 1)[1].split(".", 1)[0]
        assert labels[cell["group"]] in named
    # The PFG, the one study with a sustained caring role (line 556), is no catalysts study.
    assert "Catalysts (" in alt and "able to continue caring for others" in \
        alt.split("Catalysts (", 1)[1].split(".", 1)[0]
    paths = re.search(r"!\[(The evidence diagram\..*?)\]\(docs/img/paths.svg\)", README, re.S).group(1)
    assert paths == path_description(rolled_up(build_graph(store)))
    for name, text in (("gap-map.svg", alt), ("paths.svg", paths)):
        svg = (ROOT / "docs" / "img" / name).read_text(encoding="utf-8")
        assert html.unescape(re.search(r"<desc[^>]*>(.*?)</desc>", svg, re.S).group(1)) == text
