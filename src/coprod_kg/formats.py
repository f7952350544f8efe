"""The export formats by name: rdflib's name for each (for readers that parse with rdflib) and
its file suffix. export.py writes them all with pyoxigraph.

Kept apart from export.py so the CLI can list them without importing rdflib.
"""

EXPORT_FORMATS = {
    "turtle": ("turtle", ".ttl"),
    "ntriples": ("nt", ".nt"),
    "jsonld": ("json-ld", ".jsonld"),
    "trig": ("trig", ".trig"),
    "rdfxml": ("xml", ".rdf"),
}
