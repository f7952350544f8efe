"""Sources of their own: quotes checked against their source inside validate and build, the
source's hash, an absent text, and unknown terms reported before any shape runs."""

from __future__ import annotations

import re

import pytest

from conftest import SHARED, SOURCE
from curate_helpers import copy_project, run_cli

needs_text = pytest.mark.skipif(not SOURCE.is_file(), reason=f"the report's text is not at {SOURCE}")


@pytest.fixture
def project_copy(tmp_path, monkeypatch):
    monkeypatch.setenv("COPROD_SHARED", str(SHARED))
    return copy_project(tmp_path / "project")


def edit(path, old, new):
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_the_review_is_a_source_with_its_hash(loaded, project):
    from coprod_kg.curate.sources import sha256_of, sources_of

    sources = sources_of(loaded.graph, project.root)
    review = [s for s in sources.values() if s.slug == "slay-stephens-2013"]
    assert len(review) == 1 and review[0].shared
    assert review[0].declared == "source/000_694a8dba0e80b449.txt"
    # Sections come from data/sources/slay-stephens-2013.ttl: Appendix 1's Croydon SUN entry starts at line 586.
    assert any(s.iri.endswith("appendix-croydon-sun") and s.holds(586) for s in review[0].sections)
    if SOURCE.is_file():
        assert review[0].sha256 == sha256_of(SOURCE)


def test_every_quote_derives_its_source_from_its_section(loaded):
    from rdflib import URIRef
    from rdflib.namespace import DCTERMS, RDF

    from coprod_kg.namespace import COPROD

    sourced = set(loaded.graph.subjects(RDF.type, URIRef(COPROD + "SourceDocument")))
    quotes = set(loaded.graph.subjects(RDF.type, URIRef(COPROD + "Quote")))
    orphans = [q for q in quotes if loaded.graph.value(
        loaded.graph.value(q, URIRef(COPROD + "inSection")), DCTERMS.isPartOf) not in sourced]
    assert len(quotes) > 400 and orphans == []


def test_reasoning_derives_each_quotes_source(closure):
    from rdflib import URIRef

    from coprod_kg.namespace import ID

    quoted = URIRef("http://www.w3.org/ns/prov#wasQuotedFrom")
    quote = URIRef(ID + "quote/croydon-sun-ae")
    assert closure.graph.value(quote, quoted) == URIRef(ID + "report/slay-stephens-2013")


@needs_text
def test_a_quote_not_in_its_source_fails_validate_and_build(project_copy):
    study = project_copy / "data" / "studies" / "11-croydon-sun.ttl"
    edit(study, '"A&E use decreased by 30 per cent', '"A&E use decreased by 40 per cent')
    code, out, _ = run_cli("--project", project_copy, "validate")
    assert code == 1
    line = next(n for n, text in enumerate(study.read_text().splitlines(), 1)
                if text.startswith("quote:croydon-sun-ae "))
    assert f"{study}:{line}: quote:croydon-sun-ae: not a verbatim span" in out
    assert "closest passage" in out and "at line 606" in out  # the report's A&E sentence
    assert "changed word: the quote has '40' where the source has '30'" in out
    code, _, err = run_cli("--project", project_copy, "build")
    assert code == 1 and "changed word" in err and "nothing written" in err
    assert not (project_copy / "build" / "report.md").exists()


@needs_text
def test_a_quote_at_the_wrong_line_fails_validate(project_copy):
    study = project_copy / "data" / "studies" / "11-croydon-sun.ttl"
    edit(study, "coprod:sourceLine 606 ;", "coprod:sourceLine 1 ;")
    code, out, _ = run_cli("--project", project_copy, "validate", study)
    assert code == 1
    assert "quote:croydon-sun-ae: coprod:sourceLine is 1 but the quote starts on line 606" in out


@needs_text
def test_a_source_whose_text_changed_is_reported(project_copy):
    record = project_copy / "data" / "sources" / "slay-stephens-2013.ttl"
    text = record.read_text()
    digest = re.search(r'textSha256 "([0-9a-f]{64})"', text).group(1)
    record.write_text(text.replace(digest, "0" * 64))
    code, out, _ = run_cli("--project", project_copy, "validate")
    assert code == 1
    line = next(n for n, t in enumerate(text.splitlines(), 1) if "textSha256" in t)
    assert f"{record}:{line}: report:slay-stephens-2013: the text at" in out
    assert "has changed since it was coded" in out and digest in out


def test_an_absent_text_is_a_notice_and_skips_only_the_quote_check(project_copy, monkeypatch,
                                                                    tmp_path):
    monkeypatch.setenv("COPROD_SHARED", str(tmp_path / "nowhere"))
    code, out, err = run_cli("--project", project_copy, "validate")
    assert code == 0, out
    assert "notice: the text of report:slay-stephens-2013 is not at" in err
    assert "its quotes are not checked against it" in err and "COPROD_SHARED" in err


def test_a_misspelt_principle_is_unknown_with_a_suggestion(project_copy):
    study = project_copy / "data" / "studies" / "11-croydon-sun.ttl"
    edit(study, "coprod:codedPrinciple principle:networks", "coprod:codedPrinciple principle:network")
    code, out, _ = run_cli("--project", project_copy, "validate")
    assert code == 1
    line = next(n for n, t in enumerate(study.read_text().splitlines(), 1)
                if "principle:network " in t or t.rstrip().endswith("principle:network"))
    assert (f"{study}:{line}: principle:network: `network` is not a principle: nothing defines "
            "principle:network; did you mean principle:networks?") in out
    assert "exactly one coprod:codedPrinciple" not in out  # the shapes were not run
    assert "the shapes were not run" in out


def test_a_misspelt_class_is_reported_once_before_the_shapes(project_copy):
    study = project_copy / "data" / "studies" / "11-croydon-sun.ttl"
    text = study.read_text()
    study.write_text(text.replace("a coprod:Quote ;", "a coprod:Qoute ;"))
    code, out, _ = run_cli("--project", project_copy, "validate")
    assert code == 1
    first = next(n for n, t in enumerate(study.read_text().splitlines(), 1) if "coprod:Qoute" in t)
    assert out.count("coprod:Qoute:") == 1
    assert (f"{study}:{first}: coprod:Qoute: unknown class: the ontology declares no "
            "coprod:Qoute; did you mean coprod:Quote?") in out
    assert "violates" not in out and "A quote needs" not in out


@needs_text
def test_python_m_quotes_names_file_and_node_without_a_repr(project_copy, monkeypatch):
    from coprod_kg import quotes

    study = project_copy / "data" / "studies" / "11-croydon-sun.ttl"
    edit(study, '"Planned hospital visits decreased from 725 to 596."',
         '"Planned hospital visits decreased from 752 to 596."')
    monkeypatch.chdir(project_copy)
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = quotes.main([str(study)])
    assert code == 1
    assert f"{study}:" in out.getvalue() and "quote:croydon-sun-planned-visits" in out.getvalue()
    assert "rdflib.term" not in out.getvalue() and "https://" not in out.getvalue()


def test_a_term_of_the_wrong_scheme_is_named_with_the_nearest_right_one(project_copy):
    study = project_copy / "data" / "studies" / "11-croydon-sun.ttl"
    edit(study, "coprod:codedPrinciple principle:networks", "coprod:codedPrinciple outcome:reduced-isolation")
    code, out, err = run_cli("--project", project_copy, "validate")
    assert code == 1, err
    assert "outcome:reduced-isolation is not a principle of co-production" in out
