"""The on-disk store a warm query opens: made from the verified closure, stamped last, trusted only
whole, made again with a notice when damaged, read by many processes at once, and never answering
for inputs that changed (even within the same second as the last command)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pyoxigraph as ox
import pytest

from coprod_kg import cache
from coprod_kg import project as project_module
from coprod_kg.cache import (STORE_STAMP, closure_path, ensure_store, open_store, store_path,
                             tidy_stores)
from coprod_kg.cli import main
from coprod_kg.project import Project

from test_cache import HOURS, MOSAIC, hours, mini  # noqa: F401  (the mini project fixture)


def _stamp(folder: Path) -> dict:
    return json.loads((folder / STORE_STAMP).read_text())


def test_the_store_is_the_closure_stamped_and_opened_read_only(mini):
    store = open_store(mini)
    folder = store_path(mini)
    stamp = _stamp(folder)
    closure = closure_path(mini)
    closure_stamp = json.loads(closure.with_suffix(".json").read_text())
    assert (stamp["sha256"], stamp["triples"]) == (closure_stamp["sha256"],
                                                   closure_stamp["triples"])
    assert len(store) == stamp["triples"] == closure.read_bytes().count(b"\n")
    # The same triples as the closure file, term for term (blank nodes are relabelled on load).
    def ground(quads):
        return {q for q in quads if not isinstance(q.subject, ox.BlankNode)
                and not isinstance(q.object, ox.BlankNode)}

    parsed = list(ox.parse(path=str(closure), format=ox.RdfFormat.N_TRIPLES))
    assert ground(store) == ground(parsed) and len(ground(parsed)) > len(parsed) / 2
    with pytest.raises(RuntimeError, match="read-write"):
        store.add(ox.Quad(ox.NamedNode("https://example.org/a"),
                          ox.NamedNode("https://example.org/b"), ox.Literal("c")))
    assert not list(mini.cache_dir.glob(".store-*"))  # no temporary folder left behind
    assert folder.stat().st_mode & 0o777 == 0o755  # readable by whoever shares the checkout


def _largest(folder: Path, suffix: str) -> Path:
    return max((p for p in folder.iterdir() if p.name.endswith(suffix)),
               key=lambda p: p.stat().st_size)


def _damage_store(folder: Path, how: str) -> None:
    stamp_file = folder / STORE_STAMP
    if how == "a-file-removed":
        _largest(folder, ".sst").unlink()
    elif how == "a-file-truncated":
        sst = _largest(folder, ".sst")
        with open(sst, "r+b") as stream:
            stream.truncate(sst.stat().st_size // 2)
    elif how == "no-stamp":  # as a build killed before its last step would leave it
        stamp_file.unlink()
    elif how == "unreadable-stamp":
        stamp_file.write_text('{"key": ')
    elif how == "stamp-of-other-inputs":
        stamp = _stamp(folder)
        stamp["key"] = "0" * 24
        stamp_file.write_text(json.dumps(stamp))
    elif how == "stamp-of-another-closure":
        stamp = _stamp(folder)
        stamp["sha256"] = "0" * 64
        stamp_file.write_text(json.dumps(stamp))
    elif how == "empty-folder":
        shutil.rmtree(folder)
        folder.mkdir()
    elif how == "a-file-not-a-folder":
        shutil.rmtree(folder)
        folder.write_text("not a store")
    elif how == "rocksdb-refuses-it":  # every size as stamped, but CURRENT names no manifest
        current = folder / "CURRENT"
        text = current.read_text()
        current.write_text(text.replace("MANIFEST-", "MANIFEST-9")[:len(text) - 1] + "\n")
        assert current.stat().st_size == len(text)


DAMAGES = ["a-file-removed", "a-file-truncated", "no-stamp", "unreadable-stamp",
           "stamp-of-other-inputs", "stamp-of-another-closure", "empty-folder",
           "a-file-not-a-folder", "rocksdb-refuses-it"]


@pytest.mark.parametrize("how", DAMAGES)
def test_a_damaged_store_is_made_again_with_a_notice(mini, how, capsys):
    whole = len(open_store(mini))
    capsys.readouterr()
    folder = store_path(mini)
    _damage_store(folder, how)
    reopened = open_store(mini)
    err = capsys.readouterr().err
    if how == "stamp-of-another-closure":  # as after `reason` wrote the closure again: no notice
        assert err == ""
    else:
        assert "notice: the cached store" in err and "making it again" in err, err
    assert "Traceback" not in err
    assert len(reopened) == whole
    assert folder.is_dir() and _stamp(folder)["triples"] == whole
    closure_stamp = json.loads(closure_path(mini).with_suffix(".json").read_text())
    assert _stamp(folder)["sha256"] == closure_stamp["sha256"]
    assert len(open_store(mini)) == whole and "notice" not in capsys.readouterr().err


@pytest.mark.parametrize("how", ["a-file-removed", "no-stamp", "rocksdb-refuses-it"])
def test_a_damaged_store_gives_the_right_answer_at_the_cli(mini, how, capsys):
    open_store(mini)
    _damage_store(store_path(mini), how)
    capsys.readouterr()
    assert hours(mini, capsys) == [444]


def test_a_half_built_store_of_a_killed_writer_is_removed(mini):
    open_store(mini)
    dead = mini.cache_dir / f".store-{'a' * 24}.999999999.abcd.building"  # no such pid
    live = mini.cache_dir / f".store-{'b' * 24}.{os.getppid()}.abcd.building"
    for folder in (dead, live):
        folder.mkdir()
        (folder / "000001.sst").write_bytes(b"half")
    stale = mini.cache_dir / f"store-{'c' * 24}"  # a store whose closure is gone
    shutil.copytree(store_path(mini), stale)
    removed = tidy_stores(mini, keep=store_path(mini).name[len("store-"):])
    assert not dead.exists() and not stale.exists() and live.exists()
    assert dead in removed and stale in removed
    assert store_path(mini).is_dir()


# ---------------------------------------------------------------- many readers

def _python(code: str, *args: str, **options) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.PIPE, text=True, **options)


def test_several_processes_read_the_store_at_once(mini, capsys):
    query = mini.root / "hours.rq"
    query.write_text(HOURS)
    open_store(mini)  # this process holds it open too
    command = [sys.executable, "-m", "coprod_kg", "--project", str(mini.root), "query",
               str(query), "--format", "json"]
    readers = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True) for _ in range(4)]
    outputs = [reader.communicate(timeout=120) for reader in readers]
    for reader, (out, err) in zip(readers, outputs):
        assert reader.returncode == 0, err
        assert [row["hours"] for row in json.loads(out)["rows"]] == [444]
        assert "notice" not in err  # none of them found the store wanting


HOLDER = """
import sys
from pathlib import Path
from coprod_kg.cache import open_store
from coprod_kg.project import Project
store = open_store(Project(Path(sys.argv[1])))
print("open", len(store), flush=True)
sys.stdin.readline()
print("after", len(store), len(list(store.query(sys.argv[2]))), flush=True)
"""


def test_a_store_in_use_is_kept_until_its_reader_ends(mini, capsys):
    old = store_path(mini)
    open_store(mini)
    holder = _python(HOLDER, str(mini.root), HOURS)
    try:
        first = holder.stdout.readline().split()
        assert first[0] == "open", holder.stderr.read()
        # The inputs change: the next command reasons again, makes a new store and tidies.
        path = mini.root / MOSAIC
        path.write_text(path.read_text().replace("qudt:numericValue 444 ;",
                                                 "qudt:numericValue 445 ;"))
        assert hours(mini, capsys) == [445]
        assert store_path(mini) != old
        assert old.is_dir(), "the store in use was removed from under its reader"
        tidy_stores(mini, keep=store_path(mini).name[len("store-"):])
        assert old.is_dir()  # still: its reader may open it again (a server starts workers)
        holder.stdin.write("\n")
        holder.stdin.flush()
        after = holder.stdout.readline().split()
        assert after == ["after", first[1], "1"], holder.stderr.read()  # it still reads whole
        holder.stdin.close()
        assert holder.wait(timeout=60) == 0
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
        for stream in (holder.stdin, holder.stdout, holder.stderr):
            stream.close()
    keep = store_path(mini).name[len("store-"):]
    tidy_stores(mini, keep=keep)
    assert old.is_dir()  # this process opened it too, and still holds it
    for held in [held for held in cache._HELD if held[0] == str(old)]:
        os.close(cache._HELD.pop(held))
    assert old in tidy_stores(mini, keep=keep)
    assert not old.exists() and not list(mini.cache_dir.glob(f".{old.name}.*"))


def test_a_query_in_a_forked_worker_reads_the_on_disk_store(mini):
    from coprod_kg.query import Query, run

    store = open_store(mini)
    query = Query(Path("hours.rq"), HOURS, {})
    # query.run answers in a child forked from here, with no new file allowed: the store's
    # files were opened in the parent, before the fork.
    for _ in range(5):
        assert [row["hours"] for row in run(query, store, timeout=30).rows] == [444]


# ---------------------------------------------------------------- the stat cache

def test_the_fingerprint_from_the_stat_cache_is_the_fingerprint_of_the_bytes(mini):
    assert mini.fingerprint() == mini.fingerprint(mini.read_inputs())
    recorded = json.loads((mini.cache_dir / project_module.DIGESTS_FILE).read_text())["files"]
    assert sorted(recorded) == sorted(mini._name(p) for p in mini.input_files())


def test_unchanged_files_are_not_read_again_and_a_changed_one_is(mini, monkeypatch):
    monkeypatch.setattr(project_module, "RACY_NS", 50_000_000)  # not to wait 2 s here
    time.sleep(0.1)
    before = mini.fingerprint()  # records every file, now that none is racily clean
    read = []
    real = project_module.read_regular
    monkeypatch.setattr(project_module, "read_regular",
                        lambda path, *a: read.append(Path(path)) or real(path, *a))
    assert mini.fingerprint() == before and read == []
    path = mini.root / MOSAIC
    path.write_text(path.read_text() + "\n# a comment\n")
    assert mini.fingerprint() != before and read == [path]


def test_an_edit_within_the_same_second_is_seen(mini, monkeypatch, capsys):
    """On a file system whose clock ticks once a second (and keeps no ctime), an edit of the
    same size in the same second leaves the stat unchanged; the file is racily clean, so it is
    hashed again and the edit seen."""
    def coarse(info):
        seconds = info.st_mtime_ns // 1_000_000_000 * 1_000_000_000
        return [info.st_size, seconds, seconds, info.st_ino, info.st_dev]

    monkeypatch.setattr(project_module, "_stat_key", coarse)
    path = mini.root / MOSAIC
    os.utime(path)  # the file changes now ...
    assert hours(mini, capsys) == [444]  # ... and a command records its digest at once
    mtime = path.stat().st_mtime_ns
    with open(path, "r+b") as stream:  # the same inode, the same size, the same mtime
        text = stream.read()
        stream.seek(0)
        stream.write(text.replace(b"qudt:numericValue 444 ;", b"qudt:numericValue 445 ;"))
    os.utime(path, ns=(mtime, mtime))
    assert hours(mini, capsys) == [445]


def test_the_code_key_is_read_through_the_stat_cache_and_sees_an_edited_module(
        mini, monkeypatch, tmp_path):
    code = tmp_path / "code"
    code.mkdir()
    for name in project_module.CLOSURE_MODULES:
        (code / name).write_text(f"# {name}\n")
    monkeypatch.setattr(project_module, "_package_folder", lambda: str(code))
    monkeypatch.setattr(project_module, "RACY_NS", 50_000_000)  # not to wait 2 s here
    monkeypatch.setattr(project_module, "_CODE_KEY", [])  # as a fresh process has it
    read = []
    real = project_module._module_digest
    monkeypatch.setattr(project_module, "_module_digest",
                        lambda name: read.append(name) or real(name))
    time.sleep(0.1)
    before = mini.fingerprint()  # records every module
    project_module._CODE_KEY.clear()
    read.clear()
    assert mini.fingerprint() == before and read == []  # every digest from the stat cache
    project_module._CODE_KEY.clear()
    assert mini.fingerprint(mini.read_inputs()) == before  # the modules read, the same key
    (code / "rules.py").write_text("# rules.py, changed\n")
    project_module._CODE_KEY.clear()
    read.clear()
    assert mini.fingerprint() != before and read == ["rules.py"]


def test_a_racily_clean_entry_is_not_trusted_and_an_old_one_is():
    key = [10, 5_000_000_000, 5_000_000_000, 1, 1]
    assert not project_module._trusted([key, 6_000_000_000, "00"], key)  # 1 s after the change
    assert project_module._trusted([key, 9_000_000_000, "00"], key)  # 4 s after
    assert not project_module._trusted([key, 9_000_000_000, "00"], [11, *key[1:]])
    assert not project_module._trusted(["garbage"], key)


def test_a_broken_digest_file_is_only_slower(mini):
    before = mini.fingerprint()
    (mini.cache_dir / project_module.DIGESTS_FILE).write_text("{not json")
    assert mini.fingerprint() == before
    (mini.cache_dir / project_module.DIGESTS_FILE).write_text('{"files": {"ontology/coprod.ttl":'
                                                             ' [[1, 2], "x", 3]}}')
    assert mini.fingerprint() == before


def test_ensure_store_names_the_folder_a_server_opens(mini):
    folder = ensure_store(mini)
    assert folder == store_path(mini) and _stamp(folder)["key"] == mini.fingerprint()
    assert len(ox.Store.read_only(str(folder))) == _stamp(folder)["triples"]


def test_a_store_finished_while_an_untrusted_one_is_moved_aside_is_kept(mini, monkeypatch):
    """Three processes finish the same store: this one finds the place taken by a store it cannot
    trust and moves it aside, and before its rename a second one puts a finished store there.
    The rename that finds the place taken again keeps that store instead of failing."""
    folder = ensure_store(mini)
    key = _stamp(folder)["key"]
    ours, theirs = folder.with_name(".ours.building"), folder.with_name(".theirs.building")
    shutil.copytree(folder, ours)
    shutil.copytree(folder, theirs)
    (folder / STORE_STAMP).write_text("not a stamp")  # the store in place cannot be trusted
    moved = cache._move_aside

    def move_aside_then_another_finishes(place):
        moved(place)
        os.rename(theirs, place)

    monkeypatch.setattr(cache, "_move_aside", move_aside_then_another_finishes)
    cache._publish(ours, folder, key, closure_path(mini))
    assert not ours.exists()  # ours was dropped for theirs, which is trusted
    assert cache._store_problem(folder, key, closure_path(mini)) is None
    assert len(open_store(mini)) == _stamp(folder)["triples"]
