"""Check the ontology with engines other than owlrl: the OWL API profile checker and DL reasoners.

- Profiles: the OWL API bundled in owlready2's HermiT.jar checks OWL 2 RL and OWL 2 DL axiom by
  axiom (``assets/ProfileCheck.java``, compiled with ``javac`` on first use).
- Consistency: HermiT and Pellet, both through owlready2, over the ontology alone and over the
  ontology with all data: consistent, and no unsatisfiable class.

Needs a JDK (``javac`` and ``java``; Debian ``default-jdk-headless``) and owlready2; neither is
imported or run by the normal commands. Run ``python -m coprod_kg.publish.owl`` (exit 0 when every
check holds, 1 when one fails, 2 when a tool is missing or a file cannot be read).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Iterable

import pyoxigraph as ox

RL, DL = "OWL 2 RL", "OWL 2 DL"
REASONERS = ("hermit", "pellet")
# Datatypes the data uses outside the OWL 2 RL datatype list. They only appear in annotation
# assertions (coprod:timeframeDuration, dcterms:issued), which no RL rule reads; any other RL
# violation in the data is reported.
ANNOTATION_ONLY_DATATYPES = ("xsd:duration", "xsd:gYear")


class ToolMissing(Exception):
    """Java, javac or owlready2 is not installed."""


@dataclass(frozen=True)
class Violation:
    profile: str
    kind: str
    axiom: str

    def __str__(self) -> str:
        return f"{self.profile}: {self.kind}: {self.axiom}"


@dataclass
class ReasonerResult:
    reasoner: str
    consistent: bool
    unsatisfiable: list[str] = field(default_factory=list)
    error: str = ""
    explanation: str = ""

    @property
    def ok(self) -> bool:
        return self.consistent and not self.unsatisfiable and not self.error

    def __str__(self) -> str:
        if self.error:
            return f"{self.reasoner}: refused the ontology: {self.error}"
        if not self.consistent:
            because = f"; the axioms that clash: {self.explanation}" if self.explanation else ""
            return f"{self.reasoner}: INCONSISTENT{because}"
        if self.unsatisfiable:
            return f"{self.reasoner}: unsatisfiable classes: {', '.join(self.unsatisfiable)}"
        return f"{self.reasoner}: consistent, 0 unsatisfiable classes"


def _triples(paths: Iterable[Path]) -> list:
    triples = []
    for path in paths:
        for quad in ox.parse(path=str(path), format=ox.RdfFormat.TURTLE):
            triples.append(ox.Triple(quad.subject, quad.predicate, quad.object))
    return triples


def _write(paths: Iterable[Path], folder: Path, fmt) -> Path:
    suffix = ".rdf" if fmt == ox.RdfFormat.RDF_XML else ".nt"
    target = folder / f"merged{suffix}"
    target.write_bytes(ox.serialize(_triples(paths), format=fmt))
    return target


def hermit_jar() -> Path:
    """The HermiT.jar that owlready2 ships (it bundles the OWL API)."""
    try:
        import owlready2
    except ImportError:
        raise ToolMissing("owlready2 is not installed (pip install owlready2==0.49)") from None
    return Path(owlready2.__file__).parent / "hermit" / "HermiT.jar"


def _java_tools() -> tuple[str, str]:
    java, javac = shutil.which("java"), shutil.which("javac")
    if not java or not javac:
        raise ToolMissing("java and javac are needed (Debian: apt-get install default-jdk-headless)")
    return java, javac


def check_profiles(paths: Iterable[Path]) -> list[Violation]:
    """Every OWL 2 RL and OWL 2 DL violation of the merged files, as the OWL API reports them.

    Raises ToolMissing without a JDK or owlready2, and ValueError when the OWL API cannot read
    the files.
    """
    java, javac = _java_tools()
    jar = hermit_jar()
    source = resources.files("coprod_kg").joinpath("assets", "ProfileCheck.java").read_text()
    with tempfile.TemporaryDirectory(prefix="coprod-owl-") as tmp:
        folder = Path(tmp)
        (folder / "ProfileCheck.java").write_text(source)
        subprocess.run([javac, "-nowarn", "-cp", str(jar), "-d", str(folder),
                        str(folder / "ProfileCheck.java")], check=True, capture_output=True)
        merged = _write(paths, folder, ox.RdfFormat.RDF_XML)
        done = subprocess.run([java, "-cp", f"{jar}:{folder}", "ProfileCheck", str(merged)],
                              capture_output=True, text=True)
    if done.returncode not in (0, 1):
        raise ValueError(f"the OWL API could not read the ontology: {done.stderr.strip()}")
    violations = []
    for line in done.stdout.splitlines():
        parts = line.split("\t")
        if len(parts) == 3 and parts[0] in (RL, DL):
            violations.append(Violation(*parts))
    return violations


def is_annotation_datatype_use(violation: Violation) -> bool:
    """An RL violation that is only an xsd:duration or xsd:gYear literal in an annotation."""
    return (violation.profile == RL and violation.kind == "UseOfIllegalDataRange"
            and "[AnnotationAssertion(" in violation.axiom
            and any(f"data range not in profile: {name} " in violation.axiom
                    for name in ANNOTATION_ONLY_DATATYPES))


def run_reasoner(paths: Iterable[Path], reasoner: str = "hermit") -> ReasonerResult:
    """Classify the merged files with HermiT or Pellet (through owlready2).

    An inconsistency comes with Pellet's explanation. Raises ToolMissing without Java or owlready2.
    """
    paths = list(paths)
    _java_tools()
    hermit_jar()
    import owlready2

    with tempfile.TemporaryDirectory(prefix="coprod-dl-") as tmp:
        merged = _write(paths, Path(tmp), ox.RdfFormat.N_TRIPLES)
        world = owlready2.World()
        ontology = world.get_ontology(merged.as_uri()).load(format="ntriples")
        sync = {"hermit": owlready2.sync_reasoner_hermit,
                "pellet": owlready2.sync_reasoner_pellet}[reasoner]
        try:
            with ontology:
                sync(world, infer_property_values=False, debug=0)
        except owlready2.OwlReadyInconsistentOntologyError:
            return ReasonerResult(reasoner, consistent=False, error="",
                                  unsatisfiable=[], explanation=explain_inconsistency(paths))
        except owlready2.OwlReadyJavaError as error:
            return ReasonerResult(reasoner, consistent=False, error=_java_message(str(error)))
        unsatisfiable = sorted(cls.iri for cls in world.inconsistent_classes()
                               if cls is not owlready2.Nothing)
        return ReasonerResult(reasoner, consistent=True, unsatisfiable=unsatisfiable)


def _java_message(text: str) -> str:
    """The lines of a Java stack trace that say what is wrong (HermiT names the property)."""
    lines, started = [], False
    for line in text.splitlines():
        line = line.strip()
        if "Exception" in line and not started:
            started = True
            line = line.split("Exception in thread \"main\" ", 1)[-1]
        elif started and line.startswith("at "):
            break
        if started and line:
            lines.append(line)
    return " ".join(lines) or (text.strip().splitlines() or ["unknown error"])[-1]


def explain_inconsistency(paths: Iterable[Path]) -> str:
    """Pellet's explanation of an inconsistency: the axioms that together contradict."""
    java, _ = _java_tools()
    folder = hermit_jar().parent.parent / "pellet"
    classpath = ":".join(str(jar) for jar in sorted(folder.glob("*.jar")))
    with tempfile.TemporaryDirectory(prefix="coprod-dl-") as tmp:
        merged = _write(paths, Path(tmp), ox.RdfFormat.N_TRIPLES)
        done = subprocess.run([java, "-Xmx2000M", "-cp", classpath, "pellet.Pellet", "explain",
                               "--inconsistent", merged.as_uri()],
                              capture_output=True, text=True, timeout=600)
    text = done.stdout
    if "Explanation" not in text:
        return ""
    body = text[text.index("Explanation"):].splitlines()[1:]
    return "; ".join(" ".join(line.split()) for line in body if line.strip())


def _project_files(root: Path) -> tuple[list[Path], list[Path]]:
    from ..project import Project

    project = Project(root)
    return project.ontology_files, project.data_files


def main(argv: list[str] | None = None) -> int:
    """Run every check over the ontology and over ontology + data; print what fails."""
    parser = argparse.ArgumentParser(prog="python -m coprod_kg.publish.owl", description=(
        "Check the ontology's OWL 2 RL and DL profiles with the OWL API and its consistency "
        "with HermiT and Pellet."))
    parser.add_argument("--ontology", nargs="+", type=Path,
                        help="ontology files (default: the project's)")
    parser.add_argument("--data", nargs="*", type=Path,
                        help="data files to reason over with the ontology (default: the project's)")
    parser.add_argument("--project", type=Path, default=Path.cwd())
    parser.add_argument("--reasoner", choices=REASONERS, action="append",
                        help="which reasoners to run (default: both)")
    args = parser.parse_args(argv)
    ontology_files, data_files = _project_files(args.project)
    ontology = args.ontology or ontology_files
    data = data_files if args.data is None else args.data
    failures = 0
    try:
        for label, files in (("ontology", ontology), ("ontology + data", [*ontology, *data])):
            if label != "ontology" and not data:
                continue
            violations = check_profiles(files)
            relevant = [v for v in violations if label == "ontology"
                        or not is_annotation_datatype_use(v)]
            for violation in relevant:
                print(f"{label}: {violation}")
            failures += len(relevant)
            waived = len(violations) - len(relevant)
            note = f" ({waived} xsd:duration/xsd:gYear annotation literals)" if waived else ""
            print(f"{label}: OWL 2 RL and DL profiles: {len(relevant)} violation(s){note}")
            for reasoner in args.reasoner or REASONERS:
                result = run_reasoner(files, reasoner)
                print(f"{label}: {result}")
                failures += not result.ok
    except ToolMissing as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except (ValueError, SyntaxError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
