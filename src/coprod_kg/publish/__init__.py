"""Publishing the graph: exports, releases, ontology documentation and the OWL checks."""
