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


def test_a_warm_query_imports_none_of_the_slow_standard_modules(store):
    """argparse (with gettext), logging, dataclasses (with inspect), tempfile and shutil, pickle.py,
    OpenSSL's hashlib, glob and typing cost a warm query about half its time together."""
    slow = ("argparse", "gettext", "logging", "dataclasses", "inspect", "tempfile", "shutil",
            "pickle", "_hashlib", "glob", "typing")
    code = ("import sys; from coprod_kg.cli import main; "
            "main(['query', 'principle-prevalence', '--format', 'csv']); "
            f"print('SLOW', [m for m in {slow!r} if m in sys.modules])")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "SLOW []" in done.stdout
