"""The growth benchmark's harness (benchmarks/growth.py): a stage past its limit is killed with
its children, corpora are kept and generated again only when their sources change, and the
report puts each measured figure beside its target. Nothing here is timed; K stays 1."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import growth  # noqa: E402


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.is_file() and stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"


def test_a_stage_past_its_limit_is_stopped_with_its_children(tmp_path):
    marker = tmp_path / "child.pid"
    script = f"sleep 60 & echo $! > {marker}; wait"
    started = time.monotonic()
    done = growth.run_measured(["sh", "-c", script], limit=1.0)
    assert time.monotonic() - started < 5
    assert done["stopped"] == "at the limit of 1 s"
    grandchild = int(marker.read_text())
    for _ in range(50):
        if not _alive(grandchild):
            break
        time.sleep(0.05)
    assert not _alive(grandchild)


def test_a_finished_command_gives_its_own_cpu_and_output():
    done = growth.run_measured([sys.executable, "-c", "print(sum(range(3_000_000)))"], limit=60)
    assert done["exit"] == 0 and done["stdout"].strip() == str(sum(range(3_000_000)))
    assert done["cpu"] > 0 and done["peak_mb"] > 1


def test_corpora_are_kept_and_their_questions_refreshed(tmp_path):
    corpus = growth.corpus_for(1, tmp_path)
    copy = corpus / "data" / "copies" / "copy-0001.ttl"
    written = copy.stat().st_mtime_ns
    (corpus / "queries" / "stale.rq").write_text("ASK {}\n")
    again = growth.corpus_for(1, tmp_path)
    assert again == corpus and copy.stat().st_mtime_ns == written
    assert not (corpus / "queries" / "stale.rq").exists()
    assert sorted(p.name for p in (corpus / "queries").glob("*.rq")) == \
        sorted(p.name for p in (ROOT / "queries").glob("*.rq"))
    (corpus / ".corpus-stamp").write_text("an older corpus")
    growth.corpus_for(1, tmp_path)
    assert copy.stat().st_mtime_ns != written


@pytest.fixture
def report_paths(tmp_path, monkeypatch):
    monkeypatch.setattr(growth, "TABLE", tmp_path / "benchmarks.md")
    monkeypatch.setattr(growth, "PLOT", tmp_path / "growth.svg")
    return tmp_path


def _stage(cpu, peak=100.0, **extra):
    return {"cpu": cpu, "wall": cpu, "peak_mb": peak, **extra}


def test_the_report_puts_each_k_beside_the_targets(report_paths):
    runs = {str(k): {"load_store": _stage(0.02 * k, triples=8000 * k),
                     "reason_rules": _stage(0.3 * k)} for k in (1, 10, 100, 1000)}
    runs["1"]["build_cli_rules"] = _stage(4.2, exit=0)
    runs["100"]["build_cli_rules"] = {"stopped": "at the limit of 900 s", "cpu at stop": 850.0,
                                      "last output": "answered 14-study-profile"}
    runs["1000"]["endpoint_questions"] = {
        "each": {"01-a": {"http": {"wall": 0.5, "server cpu": 0.4}, "within target": True},
                 "16-b": {"http": {"wall": 31.0, "server cpu": 30.0}, "within target": False}},
        "over target": ["16-b"], "slowest http wall": 31.0, "cpu": 30.4, "peak_mb": 900.0}
    runs["1000"]["publish_endpoint"] = {"stopped": "at the limit of 900 s", "cpu at stop": 164.0,
                                        "asserted triples": 7804595, "inferred triples": 0}
    runs["100"]["serve_load"] = {
        "each": {"question": {"p50": 0.2, "p99": 0.4, "n": 50}}, "p50": 0.2, "p99": 0.4,
        "requests per s": 5.0, "startup": {"wall": 30.0},
        "failures": {"question 400": {"n": 3, "reason": "the answer has more than 10000 rows"}}}
    growth.write_report({"runs": runs})
    text = (report_paths / "benchmarks.md").read_text()
    assert "K = 1000 (8,000,000 triples)" in text
    assert "**1 of 2 within 10 s**" in text and "`16-b` 31.0 s" in text
    assert "**stopped at the limit of 900 s** of wall time, after 850 s of CPU" in text
    assert "**4.2 s** — **met**" in text
    assert "publish: **stopped at the limit of 900 s**, after 164 s of its CPU" in text
    assert "7,804,595 asserted" in text
    assert "| 3 |" in text and 'question 400: 3 × "the answer has more than 10000 rows"' in text
    assert (report_paths / "growth.svg").read_text().startswith("<?xml")


def test_a_corpus_of_two_copies_passes_the_shapes_and_keeps_shared_places(tmp_path):
    """What the shared files describe (the places of the schemes, the quotes of the outcomes)
    is linked to by every copy, never renamed into a node nothing describes."""
    import pyoxigraph as ox

    from coprod_kg import rules, shacl_sparql
    from coprod_kg.project import Project

    from corpus import generate

    project = Project(generate(2, tmp_path / "corpus-2"))
    store = rules.load_store(project.input_files())
    assert shacl_sparql.validate_store(store, project.shapes_file) == []
    renamed_places = [q for q in store.quads_for_pattern(None, None, None)
                      if isinstance(q.object, ox.NamedNode)
                      and "/id/place/" in q.object.value and "--c0002" in q.object.value]
    assert renamed_places == []
    assert any("--c0002" in q.subject.value for q in store.quads_for_pattern(
        None, ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"),
        ox.NamedNode("https://w3id.org/coprod-kg/ontology#ReviewedStudy")))
