"""The one place that defines coprod-kg's IRIs and prefixes."""

from __future__ import annotations

BASE = "https://w3id.org/coprod-kg/"
ONTOLOGY_IRI = BASE + "ontology"
COPROD = ONTOLOGY_IRI + "#"
ID = BASE + "id/"

# Instance prefixes: each kind of resource has a readable slug space under ID.
INSTANCE_KINDS = (
    "principle", "need", "wellbeing", "theme", "value", "ladder", "level", "grid",
    "peer-support", "outcome", "measure", "direction", "status", "qualifier", "method",
    "resolution", "scheme", "report", "section", "study", "initiative", "org", "place",
    "finding", "coding", "mapping", "placement", "quote", "endnote", "citation", "work",
    "note", "link", "claim", "synthesis", "confidence", "perspective", "basis",
    "source",
)

EXTERNAL = {
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "prov": "http://www.w3.org/ns/prov#",
    "dcterms": "http://purl.org/dc/terms/",
    "fabio": "http://purl.org/spar/fabio/",
    "cito": "http://purl.org/spar/cito/",
    "biro": "http://purl.org/spar/biro/",
    "doco": "http://purl.org/spar/doco/",
    "bibo": "http://purl.org/ontology/bibo/",
    "oa": "http://www.w3.org/ns/oa#",
    "qudt": "http://qudt.org/schema/qudt/",
    "unit": "http://qudt.org/vocab/unit/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "vann": "http://purl.org/vocab/vann/",
    "obo": "http://purl.obolibrary.org/obo/",
    "sh": "http://www.w3.org/ns/shacl#",
    "void": "http://rdfs.org/ns/void#",
    "dcat": "http://www.w3.org/ns/dcat#",
    "schema": "https://schema.org/",
}


def prefix_name(kind: str) -> str:
    """Return the Turtle prefix used for an instance kind (``peer-support`` -> ``peer``)."""
    return kind.split("-")[0]


PREFIXES: dict[str, str] = {"coprod": COPROD, **EXTERNAL}
PREFIXES.update({prefix_name(kind): f"{ID}{kind}/" for kind in INSTANCE_KINDS})
