"""Releases: the bundle, its checksums, its VoID/DCAT, the CHANGELOG diff, versions and licences,
and the ontology's HTML pages."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS, SKOS

from coprod_kg import __version__
from coprod_kg.cli import main
from coprod_kg.export import FORMATS
from coprod_kg.publish.changelog import diff, markdown_entry, read_triples
from coprod_kg.publish.ontodocs import render
from coprod_kg.publish.release import (CHECKSUMS, checksums, make_release, ontology_version,
                                       verify_checksums)
from coprod_kg.publish.void import count_triples

from conftest import CASES, ROOT

VOID = "http://rdfs.org/ns/void#"
DCAT = "http://www.w3.org/ns/dcat#"
DATE = dt.date(2026, 12, 1)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory, project):
    """One release, made beside a fake earlier release that holds the fixture graph old.ttl."""
    dist = tmp_path_factory.mktemp("dist")
    previous = dist / "coprod-kg-0.1.0"
    previous.mkdir()
    (previous / "coprod-kg.nt").write_bytes(ox.serialize(
        ox.parse(path=str(CASES / "release" / "old.ttl")), format=ox.RdfFormat.N_TRIPLES))
    return make_release(project, dist, date=DATE, echo=lambda _: None)


def test_the_bundle_holds_every_format_asserted_and_inferred(bundle):
    names = {p.relative_to(bundle.folder).as_posix() for p in bundle.files}
    assert bundle.folder.name == f"coprod-kg-{__version__}"
    for _, suffix in FORMATS.values():
        assert f"coprod-kg{suffix}" in names and f"coprod-kg-inferred{suffix}" in names
    for name in ("void.ttl", CHECKSUMS, "CHANGELOG.md", "LICENSE", "LICENSE-DATA.md",
                 "CITATION.cff", "docs/ontology/index.html", "explorer/explorer.html",
                 "docs/report.md", "docs/vocabulary.md", "docs/cli.md",
                 "coprod-ontology.ttl"):
        assert name in names, name
    assert not list(bundle.folder.parent.glob(".*part")), "no half-written folder is left"


def test_the_checksums_verify_and_catch_a_change(bundle, tmp_path):
    assert verify_checksums(bundle.folder) == []
    listed = {line.split("  ", 1)[1] for line in (bundle.folder / CHECKSUMS).read_text().splitlines()}
    assert listed == {p.relative_to(bundle.folder).as_posix() for p in bundle.files} - {CHECKSUMS}
    copy = tmp_path / "copy"
    shutil.copytree(bundle.folder, copy)
    (copy / "LICENSE").write_text("changed")
    assert verify_checksums(copy) == ["LICENSE"]


@pytest.fixture(scope="module")
def void(bundle):
    return Graph().parse(bundle.folder / "void.ttl", format="turtle")


def test_void_has_one_dataset_per_graph_with_counts_that_match_the_files(bundle, void):
    subsets = set(void.objects(URIRef("https://w3id.org/coprod-kg/dataset"), URIRef(VOID + "subset")))
    assert {str(s).rsplit("/", 1)[-1] for s in subsets} == {"asserted", "inferred", "ontology"}
    for dataset in subsets:
        counts = {int(c) for c in void.objects(dataset, URIRef(VOID + "triples"))}
        assert len(counts) == 1, f"{dataset}: its distributions disagree on the count {counts}"
        count = counts.pop()
        distributions = list(void.objects(dataset, URIRef(DCAT + "distribution")))
        assert distributions
        for distribution in distributions:
            url = void.value(distribution, URIRef(DCAT + "downloadURL"))
            assert isinstance(url, URIRef)
            path = bundle.folder / str(url).rsplit("/", 1)[-1]
            assert count_triples(path) == count
            assert int(void.value(distribution, URIRef(DCAT + "byteSize"))) == path.stat().st_size
            assert int(void.value(distribution, URIRef(VOID + "triples"))) == count_triples(path)
            assert str(void.value(distribution, URIRef(DCAT + "mediaType"))).startswith(
                "https://www.iana.org/assignments/media-types/")
            assert void.value(distribution, DCTERMS.license) is not None
            assert void.value(distribution, DCTERMS.issued) == Literal(
                "2026-12-01", datatype=URIRef("http://www.w3.org/2001/XMLSchema#date"))


def test_void_counts_equal_the_graphs(bundle, void, loaded, closure):
    def count(kind):
        return int(void.value(URIRef(f"https://w3id.org/coprod-kg/dataset/{kind}"),
                              URIRef(VOID + "triples")))
    assert count("asserted") == len(loaded.graph)
    assert count("inferred") == len(closure.graph)
    vocabularies = set(void.objects(None, URIRef(VOID + "vocabulary")))
    assert URIRef("http://purl.org/vocab/vann/") in vocabularies


def test_licences_per_distribution_follow_the_licence_files(void):
    data = URIRef("https://creativecommons.org/licenses/by-nc-nd/3.0/")
    tbox = URIRef("https://creativecommons.org/licenses/by/4.0/")
    for distribution in void.subjects(RDF.type, URIRef(DCAT + "Distribution")):
        name = str(void.value(distribution, DCTERMS.title))
        expected = tbox if name == "coprod-ontology.ttl" else data
        assert void.value(distribution, DCTERMS.license) == expected, name
    text = (ROOT / "LICENSE-DATA.md").read_text()
    assert "CC BY-NC-ND 3.0" in text and "CC BY 4.0" in text
    assert "MIT License" in (ROOT / "LICENSE").read_text()


# ---------------------------------------------------------------- the CHANGELOG diff

@pytest.fixture(scope="module")
def fixture_diff():
    return diff(read_triples(CASES / "release" / "old.ttl"),
                read_triples(CASES / "release" / "new.ttl"))


def _iris(items):
    return [iri.rsplit("/", 1)[-1] for iri, _ in items]


def test_the_diff_finds_what_the_fixture_pair_changes(fixture_diff):
    findings, codings, quotes = (fixture_diff.kinds[k] for k in ("findings", "codings", "quotes"))
    assert (_iris(findings.added), _iris(findings.removed), _iris(findings.changed)) == \
        (["c"], ["b"], ["a"])
    assert codings.total == 0
    assert (_iris(quotes.added), _iris(quotes.removed), _iris(quotes.changed)) == ([], ["q2"], ["q1"])


def test_the_changelog_entry_counts_and_lists(fixture_diff):
    entry = markdown_entry(fixture_diff, "9.9.9", "2026-12-01", "9.9.8")
    assert entry.startswith("## 9.9.9 (2026-12-01)")
    assert "since 9.9.8" in entry
    assert "| findings | 1 | 1 | 1 |" in entry
    assert "| quotes | 0 | 1 | 1 |" in entry
    assert "### Findings removed (1)" in entry and "finding/b`: Finding B" in entry
    assert "Finding &lt;b&gt;C&lt;/b&gt;" in entry and "<b>" not in entry


def test_the_bundle_changelog_compares_with_the_previous_release(bundle):
    assert bundle.previous is not None and bundle.previous.name == "coprod-kg-0.1.0"
    assert "since 0.1.0" in bundle.entry
    # Neither fixture finding is in the project's data, so both count as removed.
    assert "### Findings removed (2)" in bundle.entry and "### Quotes removed (2)" in bundle.entry
    assert "finding/budgets-and-beyond-acute-services" in bundle.entry  # one that was added
    text = (bundle.folder / "CHANGELOG.md").read_text()
    assert text.startswith(f"# Changes\n\n## {__version__} (2026-12-01)") and "## 0.1.0" in text


def test_release_cli_refuses_a_bad_date_and_a_bad_previous(tmp_path, capsys):
    assert main(["release", "--date", "1 December"]) == 2
    assert "YYYY-MM-DD" in capsys.readouterr().err
    assert main(["release", "--previous", str(tmp_path)]) == 2
    assert "no coprod-kg.nt" in capsys.readouterr().err


# ---------------------------------------------------------------- versions and the CLI

def test_version_matches_the_ontology_and_the_citation(project, capsys):
    assert main(["--version"]) == 0
    printed = capsys.readouterr().out.strip()
    assert printed == f"coprod-kg {ontology_version(project)}"
    ontology = Graph().parse(project.ontology_files[0], format="turtle")
    version_iri = next(ontology.objects(None, OWL.versionIRI))
    assert str(version_iri).endswith("/" + __version__)
    citation = (ROOT / "CITATION.cff").read_text()
    assert re.search(rf'^version: "{re.escape(__version__)}"$', citation, re.M)
    assert re.search(rf"^## {re.escape(__version__)} \(", (ROOT / "CHANGELOG.md").read_text(), re.M)


def test_release_refuses_a_version_mismatch(tmp_path, project):
    from coprod_kg.project import InputError, Project

    fake = tmp_path / "project"
    shutil.copytree(project.root / "ontology", fake / "ontology")
    shutil.copytree(project.root / "data", fake / "data")
    onto = fake / "ontology" / "coprod.ttl"
    onto.write_text(onto.read_text().replace(f'owl:versionInfo "{__version__}"',
                                             'owl:versionInfo "9.9.9"'))
    with pytest.raises(InputError, match="9.9.9"):
        make_release(Project(fake), tmp_path / "dist", date=DATE)
    assert not (tmp_path / "dist").exists() or not any((tmp_path / "dist").iterdir())


def test_checksums_list_files_in_a_stable_order(tmp_path):
    (tmp_path / "b").write_text("2")
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "z").write_text("1")
    assert [line.split("  ")[1] for line in checksums(tmp_path).splitlines()] == ["a/z", "b"]


# ---------------------------------------------------------------- ontology pages

@pytest.fixture(scope="module")
def pages(loaded, closure, project):
    ontology = loaded.part(project.ontology_files)
    return render(ontology, closure.graph - ontology, __version__), ontology, closure.graph


def test_one_page_per_class_property_and_concept(pages):
    rendered, ontology, data = pages
    classes = {s for s in ontology.subjects(RDF.type, OWL.Class) if isinstance(s, URIRef)}
    properties = {s for kind in (OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty)
                  for s in ontology.subjects(RDF.type, kind)}
    concepts = {s for s in data.subjects(RDF.type, SKOS.Concept)} - classes - properties
    assert len([p for p in rendered if p.startswith("class/")]) == len(classes)
    assert len([p for p in rendered if p.startswith("property/")]) == len(properties)
    assert len([p for p in rendered if p.startswith("concept/")]) == len(concepts)


def test_pages_show_examples_from_the_data(pages):
    rendered = pages[0]
    finding = rendered["class/coprod-Finding.html"]
    assert "finding:" in finding and "Examples from the data" in finding
    # coprod:reachesOutcome is derived; its examples come from the reasoned graph.
    assert "outcome:" in rendered["property/coprod-reachesOutcome.html"]
    networks = rendered["concept/principle-networks.html"]
    assert "coding:" in networks or "mapping:" in networks


def test_pages_escape_what_the_data_says():
    ontology = Graph()
    term = URIRef("https://w3id.org/coprod-kg/ontology#Evil")
    ontology.add((term, RDF.type, OWL.Class))
    ontology.add((term, RDFS.label, Literal("<script>alert(1)</script>", lang="en")))
    data = Graph()
    data.add((URIRef("https://w3id.org/coprod-kg/id/note/x"), RDF.type, term))
    page = render(ontology, data, "0")["class/coprod-Evil.html"]
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_every_page_links_to_pages_that_exist(pages):
    rendered = pages[0]
    for name, text in rendered.items():
        for target in re.findall(r'href="([^"]+)"', text):
            resolved = (Path("/") / Path(name).parent / target).resolve().relative_to("/")
            assert resolved.as_posix() in rendered, f"{name} links to missing {target}"


# ---------------------------------------------------------------- the README's claims

LICENCE_IRIS = {"MIT": None, "CC BY 4.0": "https://creativecommons.org/licenses/by/4.0/",
                "CC BY-NC-ND 3.0": "https://creativecommons.org/licenses/by-nc-nd/3.0/"}


def test_readme_licences_match_the_files_and_the_graph(project):
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Licence"):]
    rows = dict(re.findall(r"^\| (Code|Ontology|Data)[^|]*\| ([^|,]+?)(?:,[^|]*)? \|$", section, re.M))
    assert rows == {"Code": "MIT", "Ontology": "CC BY 4.0", "Data": "CC BY-NC-ND 3.0"}
    assert 'license = "MIT"' in (ROOT / "pyproject.toml").read_text()
    ontology = Graph().parse(project.ontology_files[0], format="turtle")
    header = next(ontology.subjects(RDF.type, OWL.Ontology))
    assert str(ontology.value(header, DCTERMS.license)) == LICENCE_IRIS[rows["Ontology"]]
    from coprod_kg.publish.void import DATA_LICENSE, ONTOLOGY_LICENSE

    assert str(DATA_LICENSE) == LICENCE_IRIS[rows["Data"]]
    assert str(ONTOLOGY_LICENSE) == LICENCE_IRIS[rows["Ontology"]]
    report = Graph().parse(ROOT / "data" / "report.ttl", format="turtle")
    assert str(report.value(URIRef("https://w3id.org/coprod-kg/id/report/slay-stephens-2013"),
                            DCTERMS.license)) == LICENCE_IRIS[rows["Data"]]


def test_readme_claims_name_tests_that_exist():
    readme = " ".join((ROOT / "README.md").read_text().split())
    for claim, test_file, test_name in [
            ("OWL 2 RL and OWL 2 DL", "test_owl.py", "test_the_ontology_is_inside_owl2_rl_and_dl"),
            ("HermiT and Pellet", "test_owl.py", "test_dl_reasoners_find_the_graph_consistent"),
            ("the same bytes in every process", "test_export.py",
             "test_exports_pictures_explorer_and_docs_are_the_same_bytes_in_fresh_processes"),
            ("is total", "test_query_order.py", "test_order_by_is_total"),
            ("TriG's named graphs", "test_export.py", "test_trig_union_is_the_plain_export"),
            ("a test checks that the two agree", "test_release.py",
             "test_licences_per_distribution_follow_the_licence_files"),
            ("leaves nothing half-written", "test_release.py",
             "test_a_failed_release_leaves_nothing_half_written"),
            ("Lexical forms stay as written", "test_export.py",
             "test_every_literal_is_kept_as_written"),
            ("in Debian's Jena", "test_export.py", "test_export_parses_in_jena_to_the_same_graph"),
            ("with an inline context, never a remote one", "test_export.py",
             "test_jsonld_is_json_ld_1_1_with_an_inline_context"),
            ("refuses characters XML 1.0 cannot carry", "test_export.py",
             "test_rdfxml_refuses_a_character_xml_cannot_carry"),
            ("owl:versionInfo` equals `coprod-kg --version`", "test_release.py",
             "test_version_matches_the_ontology_and_the_citation")]:
        assert claim in readme, claim
        assert f"def {test_name}(" in (ROOT / "tests" / test_file).read_text(), test_name


def test_a_failed_release_leaves_nothing_half_written(project, tmp_path, monkeypatch):
    import coprod_kg.publish.ontodocs as ontodocs

    def fail(*args, **kwargs):
        raise OSError("No space left on device")
    monkeypatch.setattr(ontodocs, "write_docs", fail)
    dist = tmp_path / "dist"
    with pytest.raises(OSError, match="No space"):
        make_release(project, dist, date=DATE, echo=lambda _: None)
    assert list(dist.iterdir()) == []
