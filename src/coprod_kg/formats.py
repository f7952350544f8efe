"""The export formats by name: the rdflib serializer and the file suffix of each.

Kept apart from export.py so the CLI can list them without importing rdflib.
"""

EXPORT_FORMATS = {
    "turtle": ("turtle", ".ttl"),
    "ntriples": ("nt", ".nt"),
    "jsonld": ("json-ld", ".jsonld"),
    "trig": ("trig", ".trig"),
    "rdfxml": ("xml", ".rdf"),
}
