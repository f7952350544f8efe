"""A citable release: ``dist/coprod-kg-VERSION/`` with every export, the docs (ontology pages,
the answered questions in ``docs/report.md``, the vocabulary and CLI references) and the explorer,
a VoID/DCAT description, SHA-256 checksums and a CHANGELOG entry from a graph diff.

The bundle is assembled in a temporary folder beside the target and renamed into place, so a
failed or killed release never leaves a half-written bundle under the final name. The same
inputs and date give the same bytes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .. import __version__
from ..project import InputError, Project

CHECKSUMS = "SHA256SUMS"
ASSERTED_NT = "coprod-kg.nt"
COPIED = ("LICENSE", "LICENSE-DATA.md", "CITATION.cff", "README.md")


@dataclass
class Release:
    folder: Path
    files: list[Path]
    previous: Path | None
    entry: str


def release_date(project: Project, version: str) -> dt.date:
    """The release's date: SOURCE_DATE_EPOCH, else the CHANGELOG heading for the version,
    else today (UTC)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        return dt.datetime.fromtimestamp(int(epoch), tz=dt.timezone.utc).date()
    changelog = project.root / "CHANGELOG.md"
    if changelog.is_file():
        match = re.search(rf"^## {re.escape(version)} \((\d{{4}}-\d{{2}}-\d{{2}})\)",
                          changelog.read_text(encoding="utf-8"), re.M)
        if match:
            return dt.date.fromisoformat(match.group(1))
    return dt.datetime.now(dt.timezone.utc).date()


def ontology_version(project: Project) -> str:
    """The ontology's owl:versionInfo (the CLI's --version must match it)."""
    import pyoxigraph as ox

    for path in project.ontology_files:
        for quad in ox.parse(path=str(path), format=ox.RdfFormat.TURTLE):
            if quad.predicate.value == "http://www.w3.org/2002/07/owl#versionInfo":
                return quad.object.value
    return ""


def _version_key(name: str) -> tuple:
    version = name.removeprefix("coprod-kg-")
    return tuple(int(p) if p.isdigit() else 0 for p in re.split(r"[.-]", version))


def find_previous(dist: Path, version: str) -> Path | None:
    """The newest earlier release under ``dist`` that holds an asserted N-Triples file."""
    candidates = [p for p in dist.glob("coprod-kg-*") if p.is_dir()
                  and p.name != f"coprod-kg-{version}" and (p / ASSERTED_NT).is_file()
                  and _version_key(p.name) < _version_key(f"coprod-kg-{version}")]
    return max(candidates, key=lambda p: _version_key(p.name)) if candidates else None


def checksums(folder: Path) -> str:
    """``sha256sum`` lines for every file under ``folder`` (sorted, relative paths)."""
    lines = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.name != CHECKSUMS):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        lines.append(f"{digest}  {path.relative_to(folder).as_posix()}")
    return "\n".join(lines) + "\n"


def verify_checksums(folder: Path) -> list[str]:
    """The files whose bytes no longer match SHA256SUMS (empty when all match)."""
    bad = []
    for line in (folder / CHECKSUMS).read_text().splitlines():
        digest, name = line.split("  ", 1)
        path = folder / name
        if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            bad.append(name)
    return bad


def make_release(project: Project, dist: Path | None = None, previous: Path | None = None,
                 date: dt.date | None = None, echo: Callable[[str], None] = print) -> Release:
    """Validate, reason, check and write the bundle; return what was written.

    Raises InputError when the data does not validate, an error-level check fails, or the
    ontology's owl:versionInfo differs from the package version.
    """
    from ..build import answer_all, markdown_report
    from ..cache import open_store, write_closure
    from ..export import FORMATS, serialise
    from ..load import load_project
    from ..query import run_checks
    from ..reason import reason
    from ..validate import load_shapes, validate
    from ..viz import draw_all
    from .changelog import diff, markdown_entry, read_triples
    from .ontodocs import write_docs
    from .void import describe

    version = __version__
    declared = ontology_version(project)
    if declared != version:
        raise InputError(project.ontology_files[0], f"owl:versionInfo is {declared!r} but the "
                         f"package version is {version!r}; make them agree before releasing")
    date = date or release_date(project, version)
    dist = dist or project.root / "dist"
    loaded = load_project(project)
    ontology = loaded.part(project.ontology_files)
    report = validate(loaded, load_shapes(project.shapes_file), ontology)
    if not report.conforms:
        for problem in report.problems:
            echo(str(problem))
        raise InputError(project.shapes_file, f"the data does not conform "
                         f"({len(report.problems)} problem(s)); nothing released")
    closure = reason(loaded.graph)
    write_closure(project, closure.graph)
    store = open_store(project)
    checks = run_checks(store, project.checks_dir)
    failed = [c for c in checks if not c.passed and c.severity == "error"]
    if failed:
        raise InputError(project.checks_dir, "error-level checks fail: "
                         + ", ".join(c.query.name for c in failed) + "; nothing released")
    previous = previous or find_previous(dist, version)
    dist.mkdir(parents=True, exist_ok=True)
    final = dist / f"coprod-kg-{version}"
    work = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".part", dir=dist))
    try:
        rdf_files = []
        for kind, graph in (("", loaded.graph), ("-inferred", closure.graph)):
            for fmt, (_, suffix) in FORMATS.items():
                path = work / f"coprod-kg{kind}{suffix}"
                path.write_text(serialise(graph, fmt, ontology, loaded), encoding="utf-8")
                rdf_files.append(path)
        onto_path = work / "coprod-ontology.ttl"
        onto_path.write_text(serialise(ontology, "turtle"), encoding="utf-8")
        rdf_files.append(onto_path)
        void = describe(rdf_files, loaded.graph, version, date)
        (work / "void.ttl").write_text(serialise(void, "turtle"), encoding="utf-8")
        data_part = closure.graph - ontology
        write_docs(ontology, data_part, version, work / "docs" / "ontology")
        answers = answer_all(project, store)
        draw_all(project, store, work / "explorer", answers)
        (work / "docs" / "report.md").write_text(markdown_report(answers, checks),
                                                 encoding="utf-8")
        for page in sorted((project.root / "docs").glob("*.md")):
            shutil.copyfile(page, work / "docs" / page.name)
        old = read_triples(previous / ASSERTED_NT) if previous else set()
        new = read_triples(work / ASSERTED_NT)
        entry = markdown_entry(diff(old, new), version, date.isoformat(),
                               previous.name.removeprefix("coprod-kg-") if previous else None)
        history = project.root / "CHANGELOG.md"
        history_text = history.read_text(encoding="utf-8") if history.is_file() else ""
        (work / "CHANGELOG.md").write_text(
            "# Changes\n\n" + entry + "\n" + re.sub(r"^# .*\n+", "", history_text),
            encoding="utf-8")
        for name in COPIED:
            if (project.root / name).is_file():
                shutil.copyfile(project.root / name, work / name)
        (work / CHECKSUMS).write_text(checksums(work), encoding="utf-8")
        for path in work.rglob("*"):
            os.chmod(path, 0o755 if path.is_dir() else 0o644)
        os.chmod(work, 0o755)
        if final.exists():
            old_copy = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".old", dir=dist))
            os.replace(final, old_copy / final.name)
            os.replace(work, final)
            shutil.rmtree(old_copy)
        else:
            os.replace(work, final)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    files = sorted(p for p in final.rglob("*") if p.is_file())
    return Release(final, files, previous, entry)
