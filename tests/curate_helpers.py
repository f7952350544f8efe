"""Helpers for the curation tests: a throw-away copy of the project, and the CLI run in-process."""

from __future__ import annotations

import contextlib
import io
import shutil
from pathlib import Path

from conftest import ROOT

FIXTURES = Path(__file__).parent / "fixtures" / "riverside"
CURATE_CASES = Path(__file__).parent / "cases" / "curate"


def copy_project(target: Path) -> Path:
    """Copy what a project is made of (ontology, data, queries) into ``target``."""
    for part in ("ontology", "data", "queries"):
        shutil.copytree(ROOT / part, target / part)
    return target


def run_cli(*argv) -> tuple[int, str, str]:
    """Run ``coprod-kg ARGV`` in-process; return its exit code, standard output and error."""
    from coprod_kg.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}
