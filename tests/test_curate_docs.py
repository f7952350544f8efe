"""docs/curation.md walks a curator through adding a study from a template; run its commands."""

from __future__ import annotations

import re
import shlex
import shutil

import pytest

from conftest import ROOT, SHARED, SOURCE
from curate_helpers import FIXTURES, copy_project, run_cli

GUIDE = ROOT / "docs" / "curation.md"


def commands() -> list[list[str]]:
    found = []
    for block in re.findall(r"```console\n(.*?)```", GUIDE.read_text(encoding="utf-8"), re.S):
        for line in block.splitlines():
            line = line.strip()
            if line.startswith("$ coprod-kg "):
                found.append(shlex.split(line[len("$ coprod-kg "):]))
    return found


def test_the_guide_shows_the_whole_route():
    names = [c[0] for c in commands()]
    for needed in ("new-study", "locate", "import", "validate", "build", "coverage",
                   "export-template"):
        assert needed in names


@pytest.mark.skipif(not SOURCE.is_file(), reason=f"the guide's locate and import commands read "
                    f"the report's text, which is not at {SOURCE}")
def test_the_guides_commands_run(tmp_path, monkeypatch):
    monkeypatch.setenv("COPROD_SHARED", str(SHARED))
    project = copy_project(tmp_path / "project")
    work = tmp_path / "work"
    work.mkdir()
    for name in ("riverside.yaml", "riverside.xlsx", "riverside-evaluation.txt"):
        shutil.copy(FIXTURES / name, work)
    monkeypatch.chdir(work)
    for argv in commands():
        code, out, err = run_cli("--project", project, *argv)
        assert code == 0, f"coprod-kg {' '.join(argv)}: exit {code}\n{out}\n{err}"
    assert (project / "data" / "studies" / "16-riverside-peer-network.ttl").is_file()
    assert (work / "riverside-peer-network.yaml").is_file()
    assert (work / "riverside-peer-network.xlsx").is_file()
    assert (project / "build" / "explorer.html").is_file()
