"""A build is whole or absent: killed in its write phase, it leaves build/ exactly as the last
whole build left it."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from coprod_kg.atomic import (STAGING_PREFIX, publish_folder, remove_stale_staging, staging_folder,
                              write_atomic)

from conftest import ROOT

CLI = [sys.executable, "-m", "coprod_kg"]
MOSAIC = Path("data") / "studies" / "12-mosaic-clubhouse.ttl"


def snapshot(build: Path) -> dict[str, str]:
    """Every output file of a build (the cache aside) with a hash of its bytes."""
    return {path.relative_to(build).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(build.rglob("*"))
            if path.is_file() and "cache" not in path.relative_to(build).parts}


def run_build(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, "--project", str(root), "build"], capture_output=True,
                          text=True, timeout=600)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_build_killed_while_it_writes_leaves_the_last_whole_build(tmp_path, store):
    root = tmp_path / "project"
    for folder in ("ontology", "data", "queries"):
        shutil.copytree(ROOT / folder, root / folder)
    shutil.copytree(ROOT / "build" / "cache", root / "build" / "cache")
    first = run_build(root)
    assert first.returncode == 0, first.stderr
    before = snapshot(root / "build")
    assert "report.md" in before and "stats.json" in before and len(before) > 40

    # A second generation that differs from the first in many files.
    mosaic = root / MOSAIC
    mosaic.write_text(mosaic.read_text().replace("qudt:numericValue 444 ;",
                                                 "qudt:numericValue 445 ;"))
    killed = 0
    for wanted in (3, 30):  # kill early in the write phase, and late
        process = subprocess.Popen([*CLI, "--project", str(root), "build"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 300
        try:
            while time.monotonic() < deadline and process.poll() is None:
                staged = [p for folder in root.glob(f"{STAGING_PREFIX}*")
                          for p in folder.rglob("*") if p.is_file()]
                if len(staged) >= wanted:
                    os.kill(process.pid, signal.SIGKILL)
                    killed += 1
                    break
                time.sleep(0.02)
        finally:
            if process.poll() is None:
                process.kill()
            process.wait()
        assert snapshot(root / "build") == before, f"build/ changed by a build killed at {wanted}"
    assert killed == 2, "the write phase was never observed"
    assert list(root.glob(f"{STAGING_PREFIX}*")), "the killed builds left their staging folders"

    done = run_build(root)
    assert done.returncode == 0, done.stderr
    after = snapshot(root / "build")
    assert after != before and set(after) == set(before)
    assert "hours of paid staff time,445,HR" in (root / "build" / "answers" /
                                                 "12-capacity-hours.csv").read_text()
    assert not list(root.glob(f"{STAGING_PREFIX}*")), "stale staging folders were not removed"
    assert (root / "build" / "cache").is_dir()


def test_publish_swaps_a_whole_folder_and_keeps_the_cache(tmp_path):
    target = tmp_path / "build"
    (target / "cache").mkdir(parents=True)
    (target / "cache" / "closure.nt").write_text("kept")
    (target / "old-only.txt").write_text("old")
    staging = tmp_path / f"{STAGING_PREFIX}build.{os.getpid()}.x"
    staging.mkdir()
    (staging / "new.txt").write_text("new")
    publish_folder(staging, target, keep=("cache",))
    assert sorted(p.name for p in target.iterdir()) == ["cache", "new.txt"]
    assert (target / "cache" / "closure.nt").read_text() == "kept"
    assert not staging.exists()


def test_a_published_folder_is_as_readable_as_the_files_in_it(tmp_path):
    """A staging folder starts private (mkdtemp); the folder it becomes is for sharing, as the
    0644 files written into it are."""
    target = tmp_path / "build"
    staging = staging_folder(target)
    write_atomic(staging / "report.md", "# report\n")
    publish_folder(staging, target)
    assert target.stat().st_mode & 0o777 == 0o755
    assert (target / "report.md").stat().st_mode & 0o777 == 0o644


def test_stale_staging_folders_of_dead_writers_are_removed(tmp_path):
    dead = tmp_path / f"{STAGING_PREFIX}build.999999999.abc"
    live = tmp_path / f"{STAGING_PREFIX}build.{os.getppid()}.abc"
    dead.mkdir()
    live.mkdir()
    assert remove_stale_staging(tmp_path) == [dead]
    assert live.exists()


def test_files_of_a_staging_folder_are_flushed_once_at_publish(tmp_path, monkeypatch):
    """Inside a staging folder a file is written in place, with no flush of its own; publishing
    flushes each file of the generation once, before the swap, so the new build survives a
    crash whole."""
    import coprod_kg.atomic as atomic

    target = tmp_path / "build"
    target.mkdir()
    (target / "old.txt").write_text("old")
    staging = atomic.staging_folder(target)
    flushed = []
    real = atomic.os.fsync

    def recording(fd):
        flushed.append(Path(f"/proc/self/fd/{fd}").resolve())
        return real(fd)

    monkeypatch.setattr(atomic.os, "fsync", recording)
    written = [atomic.write_atomic(staging / "report.md", "whole"),
               atomic.write_atomic(staging / "answers" / "a.csv", b"x,y\n")]
    assert flushed == []
    assert sorted(p.name for p in staging.rglob("*")) == ["a.csv", "answers", "report.md"]
    assert all(path.stat().st_mode & 0o777 == 0o644 for path in written)
    publish_folder(staging, target)
    files = [p for p in flushed if p.name in ("report.md", "a.csv")]
    assert sorted(p.name for p in files) == ["a.csv", "report.md"]
    assert (target / "answers" / "a.csv").read_bytes() == b"x,y\n"
    assert not (target / "old.txt").exists()
    # Outside a staging folder a write is atomic on its own again: its file, then its folder.
    flushed.clear()
    atomic.write_atomic(target / "later.txt", "later")
    assert len(flushed) == 2
