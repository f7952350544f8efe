"""The closure cache cannot lie: keyed by the bytes that were reasoned, verified on open, rebuilt
with a notice when damaged, never answered from stale data."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest

from coprod_kg import project as project_module
from coprod_kg.atomic import remove_stale_parts
from coprod_kg.cache import closure_path, ensure_closure, open_store, store_path
from coprod_kg.cli import main
from coprod_kg.project import Project

from conftest import ROOT

MOSAIC = Path("data") / "studies" / "12-mosaic-clubhouse.ttl"
# Mosaic Clubhouse: "444" paid support hours a week (Appendix; the data records it as 444 HR).
HOURS = ("PREFIX qudt: <http://qudt.org/schema/qudt/>\n"
         "SELECT ?hours WHERE { ?value qudt:numericValue ?hours FILTER (?hours IN (444, 445)) }\n")


@pytest.fixture()
def copy(tmp_path, store) -> Project:
    """A copy of the project, with its warm cache."""
    root = tmp_path / "project"
    for folder in ("ontology", "data", "queries"):
        shutil.copytree(ROOT / folder, root / folder)
    shutil.copytree(ROOT / "build" / "cache", root / "build" / "cache")
    return Project(root)


@pytest.fixture()
def mini(tmp_path) -> Project:
    """A small project (the ontology, the schemes and one study) that reasons in a second."""
    root = tmp_path / "mini"
    shutil.copytree(ROOT / "ontology", root / "ontology")
    shutil.copytree(ROOT / "queries", root / "queries")
    for name in ("schemes.ttl", "outcomes.ttl", str(MOSAIC.relative_to("data"))):
        (root / "data" / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / "data" / name, root / "data" / name)
    project = Project(root)
    open_store(project)  # reason once: the cache is warm
    return project


def hours(project: Project, capsys) -> list[int]:
    query = project.root / "hours.rq"
    query.write_text(HOURS)
    assert main(["--project", str(project.root), "query", str(query), "--format", "json"]) == 0
    return [row["hours"] for row in json.loads(capsys.readouterr().out)["rows"]]


def test_an_edit_made_while_build_reasons_is_seen_by_the_next_query(copy, monkeypatch, capsys):
    # The build, like a query that finds no closure, reasons with rules.close_with_forms on the
    # store it loaded (cache.reason_loaded).
    import coprod_kg.rules as rules_module

    shutil.rmtree(copy.cache_dir)
    real_close = rules_module.close_with_forms

    def slow_close(store, asserted):
        # The edit lands after the files were loaded and before the closure is stored.
        path = copy.root / MOSAIC
        path.write_text(path.read_text().replace("qudt:numericValue 444 ;",
                                                 "qudt:numericValue 445 ;"))
        return real_close(store, asserted)

    monkeypatch.setattr(rules_module, "close_with_forms", slow_close)
    assert main(["--project", str(copy.root), "build"]) == 0
    monkeypatch.setattr(rules_module, "close_with_forms", real_close)
    built = capsys.readouterr()
    assert "Traceback" not in built.err
    # The build answered from what it validated and reasoned: the file as it was loaded ...
    capacity = (copy.build_dir / "answers" / "12-capacity-hours.csv").read_text()
    assert "hours of paid staff time,444,HR" in capacity
    # ... and the next command sees the edit, not a closure stored under the new file's key.
    assert hours(copy, capsys) == [445]


@pytest.mark.parametrize("change", ["a library version", "the reasoner's code"])
def test_the_key_covers_the_code_and_libraries(mini, monkeypatch, change):
    copy = mini
    before = copy.fingerprint()
    monkeypatch.setattr(project_module, "_CODE_KEY", [])
    if change == "a library version":
        real = project_module._installed_version
        monkeypatch.setattr(project_module, "_installed_version",
                            lambda name: "0.0" if name == "owlrl" else real(name))
    else:  # as if reason.py were edited: its bytes are hashed
        monkeypatch.setattr(project_module, "CLOSURE_MODULES", ("load.py", "cache.py"))
    assert copy.fingerprint() != before


def _damage(path: Path, how: str) -> None:
    data = path.read_bytes()
    lines = data.split(b"\n")
    if how == "at-a-line-boundary":
        path.write_bytes(b"\n".join(lines[: len(lines) // 2]) + b"\n")
    elif how == "mid-line":
        path.write_bytes(data[: len(data) // 2])
    elif how == "no-stamp":
        path.with_suffix(".json").unlink()
    elif how == "stamp-matches-but-unparsable":
        damaged = data.replace(b"<", b"<<", 1)
        path.write_bytes(damaged)
        stamp = json.loads(path.with_suffix(".json").read_text())
        import hashlib

        stamp["sha256"] = hashlib.sha256(damaged).hexdigest()
        path.with_suffix(".json").write_text(json.dumps(stamp))


@pytest.mark.parametrize("how", ["at-a-line-boundary", "mid-line", "no-stamp",
                                 "stamp-matches-but-unparsable"])
def test_a_damaged_closure_is_detected_and_reasoned_again(mini, how, capsys):
    whole = len(open_store(mini))
    capsys.readouterr()
    path = closure_path(mini)
    _damage(path, how)
    # The store made from the closure is what a warm query opens; here it must be made again,
    # so the closure is read, found damaged, and reasoned again.
    shutil.rmtree(store_path(mini))
    reopened = open_store(mini)
    err = capsys.readouterr().err
    assert "notice:" in err and "reasoning again" in err and "Traceback" not in err
    assert len(reopened) == whole  # the whole closure, not the half that was left
    assert len(open_store(mini)) == whole and "notice" not in capsys.readouterr().err


@pytest.mark.parametrize("how", ["at-a-line-boundary", "mid-line", "no-stamp"])
def test_a_damaged_closure_beside_a_sound_store_is_reasoned_again_where_it_is_read(mini, how,
                                                                                    capsys):
    whole = len(open_store(mini))
    capsys.readouterr()
    _damage(closure_path(mini), how)
    # The store was made from the closure when it verified, and still answers in full ...
    assert len(open_store(mini)) == whole and "notice" not in capsys.readouterr().err
    # ... while whatever reads the closure itself (export, publish) finds it damaged.
    ensure_closure(mini)
    err = capsys.readouterr().err
    assert "notice:" in err and "reasoning again" in err
    assert closure_path(mini).read_bytes().count(b"\n") == whole


def test_a_truncated_closure_gives_the_right_answers_at_the_cli(mini, capsys):
    _damage(closure_path(mini), "at-a-line-boundary")
    shutil.rmtree(store_path(mini))
    assert main(["--project", str(mini.root), "stats"]) == 0
    captured = capsys.readouterr()
    assert "notice:" in captured.err and "Traceback" not in captured.err
    assert "reviewed studies: 1\n" in captured.out  # the mini project holds Mosaic alone


def test_stale_part_files_are_removed(tmp_path):
    dead = tmp_path / ".closure-x.nt.999999999.abcd.part"  # no such pid
    old = tmp_path / ".closure-x.nt.abcd.part"
    live = tmp_path / f".closure-x.nt.{os.getppid()}.abcd.part"
    for path in (dead, old, live):
        path.write_text("half")
    ancient = time.time() - 7200
    os.utime(old, (ancient, ancient))
    removed = remove_stale_parts(tmp_path)
    assert sorted(removed) == sorted([dead, old])
    assert live.exists()


def test_write_closure_tidies_the_cache(mini):
    from coprod_kg.cache import write_closure
    from coprod_kg.load import load_project
    from coprod_kg.reason import reason

    copy = mini
    leftover = copy.cache_dir / ".closure-old.nt.999999999.abcd.part"
    leftover.write_text("half")
    (copy.cache_dir / "closure-0000.nt").write_text("old")
    loaded = load_project(copy)
    path = write_closure(copy, reason(loaded.graph).graph, loaded.fingerprint)
    assert sorted(p.name for p in copy.cache_dir.glob("closure-*")) == \
        sorted([path.name, path.with_suffix(".json").name])
    assert not leftover.exists()


def test_writing_a_file_removes_the_leftovers_of_a_killed_write_to_it(tmp_path):
    from coprod_kg.atomic import write_atomic

    target = tmp_path / "kg.ttl"
    mine = tmp_path / ".kg.ttl.999999999.abcd.part"      # a killed write to kg.ttl
    other = tmp_path / ".other.ttl.999999999.abcd.part"  # a killed write to another file
    foreign = tmp_path / ".kg.ttl.download.part"        # not ours: names no writer
    for path in (mine, other, foreign):
        path.write_text("half")
    write_atomic(target, "whole")
    assert not mine.exists() and other.exists() and foreign.exists()


def test_a_rename_is_followed_by_an_fsync_of_its_folder(tmp_path, monkeypatch):
    import coprod_kg.atomic as atomic

    synced = []
    real = atomic.os.fsync

    def recording(fd):
        synced.append(Path(f"/proc/self/fd/{fd}").resolve() if Path("/proc/self/fd").is_dir()
                      else fd)
        return real(fd)

    monkeypatch.setattr(atomic.os, "fsync", recording)
    atomic.write_atomic(tmp_path / "kg.ttl", "whole")
    assert len(synced) == 2  # the file's bytes, then the folder that holds its new name
    if Path("/proc/self/fd").is_dir():
        assert synced[1] == tmp_path.resolve()


def test_a_query_and_a_build_store_the_same_closure_bytes(tmp_path):
    """Both reason through cache.reason_loaded: the closure under a key is the same file,
    whichever command made it (blank-node labels and escapes included), in fresh processes
    with different hash seeds."""
    import subprocess
    import sys

    made = []
    for seed, command in (("1", ["query", "01-principle-prevalence", "--format", "csv"]),
                          ("2", ["build"])):
        root = tmp_path / command[0]
        for folder in ("ontology", "data", "queries"):
            shutil.copytree(ROOT / folder, root / folder)
        done = subprocess.run([sys.executable, "-m", "coprod_kg", "--project", str(root), "-q",
                               *command], capture_output=True, text=True, timeout=600,
                              env={**os.environ, "PYTHONHASHSEED": seed})
        assert done.returncode == 0, done.stderr
        made.append(closure_path(Project(root)).read_bytes())
    assert made[0] == made[1]
