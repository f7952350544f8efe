"""Curation: source documents, the quote locator, study templates, the importer and coverage.

Modules, in the order they depend on each other: ``sources`` (source records and their texts),
``locate`` (find a pasted span in a source), ``checks`` (quotes against their sources, unknown
terms, run by ``validate`` and ``build``), ``profile`` (what the graph says each kind of node may
carry), ``templates`` (YAML and xlsx study templates), ``importer`` and ``coverage``.
"""
