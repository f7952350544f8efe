"""A warm query must not pay for rdflib, owlrl, pyshacl or matplotlib."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT


def test_a_warm_query_imports_no_heavy_library(store):
    code = ("import sys; from coprod_kg.cli import main; main(['query', 'principle-prevalence']); "
            "heavy = [m for m in ('rdflib', 'owlrl', 'pyshacl', 'matplotlib', 'networkx') "
            "if m in sys.modules]; print('HEAVY', heavy)")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "HEAVY []" in done.stdout
