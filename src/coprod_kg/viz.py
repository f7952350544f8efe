"""Pictures of the evidence: the path diagram, the evidence gap map, GraphML and GEXF.

SVG text stays text (``svg.fonttype = none``), each SVG opens with a ``<title>`` and a ``<desc>``
saying what it shows, and files are written with a fixed hash salt and no date, so the same
graph draws the same bytes.
"""

from __future__ import annotations

import html
import io
from pathlib import Path

import networkx as nx

from .atomic import write_atomic
from .paths import _select, build_graph, export_graph, rolled_up
from .project import Project
from .tables import compact, figure

# Every fill that carries white text has a contrast of at least 4.5:1 with white (WCAG AA).
KIND_COLOURS = {"principle": "#1b6ca8", "need": "#9a4f14", "component": "#8a5a9b",
                "outcome": "#1e6b42", "study": "#555555", "none": "#666666"}
KIND_NAMES = {"principle": "principle of co-production", "need": "SDT need",
              "component": "well-being component", "outcome": "outcome group",
              "study": "reviewed study", "none": "evidenced, no stated mechanism"}
DIRECT_COLOUR = "#666666"
COLUMNS = ("principle", ("need", "component", "none"), "outcome")

AXES = """
PREFIX coprod: <https://w3id.org/coprod-kg/ontology#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT ?node ?kind ?label ?order WHERE {
  { ?node a coprod:Principle ; skos:altLabel ?label ; skos:notation ?order . BIND("principle" AS ?kind) }
  UNION
  { ?node a coprod:Outcome ; skos:topConceptOf ?scheme ; skos:prefLabel ?label .
    OPTIONAL { ?node coprod:inTheme/skos:notation ?order } BIND("group" AS ?kind) }
}
"""
# Each piece of evidence in the gap map: a study coded with a principle that reports a finding on
# an outcome in a group (the group is the outcome's broadest ancestor, or the outcome itself).
GAP_EVIDENCE = """
PREFIX coprod: <https://w3id.org/coprod-kg/ontology#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX qudt: <http://qudt.org/schema/qudt/>
SELECT ?principle ?codingStatus ?group ?outcome ?outcomeLabel ?outcomeStatus ?study ?finding
       ?findingLabel ?value ?unit WHERE {
  ?coding a coprod:PrincipleCoding ; coprod:codedPrinciple ?principle ; coprod:codedStudy ?study ;
          coprod:status/skos:prefLabel ?codingStatus .
  ?finding coprod:aboutStudy ?study ; coprod:outcome ?outcome ; rdfs:label ?findingLabel .
  ?outcome skos:prefLabel ?outcomeLabel ; coprod:status/skos:prefLabel ?outcomeStatus ;
           skos:broaderTransitive* ?group .
  ?group skos:topConceptOf ?scheme .
  OPTIONAL { ?finding qudt:numericValue ?value }
  OPTIONAL { ?finding qudt:unit ?unit }
}
"""
QUOTES = """
PREFIX coprod: <https://w3id.org/coprod-kg/ontology#>
PREFIX oa: <http://www.w3.org/ns/oa#>
SELECT ?finding ?text ?line WHERE {
  ?finding a coprod:Finding ; coprod:hasQuote ?q . ?q oa:exact ?text ; coprod:sourceLine ?line .
}
"""
STUDIES = """
PREFIX coprod: <https://w3id.org/coprod-kg/ontology#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX dcterms: <http://purl.org/dc/terms/>
SELECT ?study ?label ?method ?methodLabel ?country ?cell ?cellLabel WHERE {
  ?study a coprod:ReviewedStudy ; rdfs:label ?title .
  OPTIONAL { ?study skos:altLabel ?short }
  BIND (COALESCE(?short, ?title) AS ?label)
  OPTIONAL { ?study coprod:usedMethod ?method . ?method skos:prefLabel ?methodLabel }
  OPTIONAL { ?study coprod:evaluates/dcterms:spatial/coprod:countryCode ?country }
  OPTIONAL { ?study coprod:evaluates/coprod:hasPlacement/coprod:placedCell ?cell .
             ?cell skos:prefLabel ?cellLabel }
}
"""


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.hashsalt": "coprod-kg", "svg.fonttype": "none",
                         "font.family": "DejaVu Sans", "font.size": 9})
    return plt


SAVE_OPTIONS = {".svg": {"metadata": {"Date": None, "Creator": "coprod-kg"}},
                ".png": {"dpi": 130, "metadata": {"Software": None}}}


def accessible_svg(data: bytes, title: str, desc: str) -> bytes:
    """Put a <title> and a <desc> first inside the <svg> element, and name it as an image."""
    text = data.decode("utf-8")
    start = text.index("<svg")
    end = text.index(">", start)
    opening = text[start:end]
    if "role=" not in opening:
        opening += ' role="img" aria-labelledby="svg-title svg-desc"'
    inserted = (f'>\n <title id="svg-title">{html.escape(title)}</title>\n'
                f' <desc id="svg-desc">{html.escape(desc)}</desc>')
    return (text[:start] + opening + inserted + text[end + 1:]).encode("utf-8")


def _save(figure_, stem: Path, suffixes, title: str, desc: str) -> list[Path]:
    written = []
    for suffix in suffixes:
        buffer = io.BytesIO()
        figure_.savefig(buffer, format=suffix[1:], bbox_inches="tight", **SAVE_OPTIONS[suffix])
        data = buffer.getvalue()
        if suffix == ".svg":
            data = accessible_svg(data, title, desc)
        written.append(write_atomic(stem.with_suffix(suffix), data))
    return written


def _wrap(text: str, width: int = 34, lines_max: int = 2) -> str:
    words, lines, line = text.split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    lines.append(line)
    return "\n".join(lines[:lines_max]) + ("…" if len(lines) > lines_max else "")


def _width(studies: int) -> float:
    """Line width that grows with the square root of the studies, so one link cannot swamp."""
    return 0.6 + 2.4 * (studies ** 0.5)


def layout(graph: nx.DiGraph) -> dict[str, tuple[float, float]]:
    """Columns by kind. Principles in Table 1 order; needs and outcome groups by the mean height
    of what points at them (a barycentre pass, which cuts crossings); outcome groups that no need
    or component reaches go below the others."""
    positions: dict[str, tuple[float, float]] = {}
    for column, kinds in enumerate(COLUMNS):
        kinds = kinds if isinstance(kinds, tuple) else (kinds,)
        nodes = [n for n, d in graph.nodes(data=True) if d["kind"] in kinds]
        if column == 0:
            nodes.sort(key=lambda n: graph.nodes[n].get("order", 0))
        else:
            def centre(node):
                if graph.nodes[node]["kind"] == "none":
                    return (True, 0.0, node)
                sources = [p for p in graph.predecessors(node) if p in positions
                           and graph.edges[p, node]["kind"] != "direct"]
                weights = [graph.edges[p, node].get("studies", 1) or 1 for p in sources]
                ys = [positions[p][1] * w for p, w in zip(sources, weights)]
                if not ys:
                    return (True, 0.0, node)
                return (False, -(sum(ys) / sum(weights)), node)
            nodes.sort(key=centre)
        count = max(len(nodes), 1)
        for index, node in enumerate(nodes):
            positions[node] = (float(column), 1.0 - (index + 0.5) / count)
    return positions


_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
          "eleven", "twelve")


def count_word(number: int) -> str:
    return _WORDS[number] if 0 <= number < len(_WORDS) else str(number)


def _listed(items: list[str]) -> str:
    return ", ".join(items[:-1]) + f" and {items[-1]}" if len(items) > 1 else "".join(items)


def path_description(graph: nx.DiGraph) -> str:
    """What the path diagram shows, counted from the graph: the SVG's <desc> and the README's
    alt text (``coprod-kg docs`` writes it there)."""
    def labels(kind):
        return sorted(d["label"] for _, d in graph.nodes(data=True) if d["kind"] == kind)
    groups = sorted(((d.get("studies", 0), d["label"]) for _, d in graph.nodes(data=True)
                     if d["kind"] == "outcome"), key=lambda g: (-g[0], g[1]))
    direct = sorted({graph.nodes[t]["label"] for _, t, d in graph.edges(data=True)
                     if d["kind"] == "direct" and graph.nodes[t]["kind"] == "outcome"
                     and all(graph.edges[s, t]["kind"] == "direct" for s in graph.predecessors(t))})
    middle = [f"the SDT needs ({', '.join(labels('need'))})"]
    components = labels("component")
    if components:
        middle.append(f"the well-being component{'s' if len(components) > 1 else ''} "
                      f"({', '.join(components)})")
    most = ", ".join(f"{label} {count}" for count, label in groups[:4])
    text = (f"The evidence diagram. Left, the {count_word(len(labels('principle')))} principles of "
            f"co-production; middle, {_listed(middle)} the report says they support, and a grey "
            f"node 'no stated mechanism'; right, {len(groups)} outcome groups, each with the "
            f"number of reviewed studies coded with a principle that report it (the most: "
            f"{most}). Line width counts those studies; dashed lines are curated links the "
            f"report does not state; dotted grey lines run through 'no stated mechanism', for "
            f"evidence from studies coded with a principle whose needs and components do not "
            f"cover the outcome.")
    if direct:
        text += f" Outcome groups reached only that way: {'; '.join(direct)}."
    return text


def draw_paths(graph: nx.DiGraph, stem: Path, suffixes=(".svg", ".png")) -> list[Path]:
    """The evidence diagram: principle → need/component → outcome group, and principle → outcome
    group where no mechanism is stated; edge width by studies coded with the principle."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import PathPatch
    from matplotlib.path import Path as Curve

    plt = _pyplot()
    positions = layout(graph)
    figure_, axes = plt.subplots(figsize=(13, 11))
    axes.set_xlim(-0.45, 2.75)
    axes.set_ylim(-0.06, 1.06)
    axes.axis("off")
    for source, target, data in sorted(graph.edges(data=True)):
        (x0, y0), (x1, y1) = positions[source], positions[target]
        direct = data["kind"] == "direct"
        colour = DIRECT_COLOUR if direct else KIND_COLOURS[graph.nodes[source]["kind"]]
        bend = 0.45
        start = x0 + (0.03 if graph.nodes[source]["kind"] == "principle" else 0.15)
        end = x1 - (0.03 if graph.nodes[target]["kind"] == "outcome" else 0.15)
        curve = Curve([(start, y0), (start + bend, y0), (end - bend, y1), (end, y1)],
                      [Curve.MOVETO, Curve.CURVE4, Curve.CURVE4, Curve.CURVE4])
        style = (0, (1, 1.5)) if direct else (
            (0, (4, 2)) if data.get("status") == "curated" else "solid")
        axes.add_patch(PathPatch(curve, facecolor="none", edgecolor=colour,
                                 alpha=0.45 if not direct else 0.6,
                                 linewidth=_width(max(data.get("studies", 0), 0))
                                 * (0.6 if direct else 1.0),
                                 linestyle=style))
    for node, data in graph.nodes(data=True):
        x, y = positions[node]
        label = data.get("label", node)
        if data["kind"] == "outcome":
            label = f"{_wrap(label, 44, 1)} ({data.get('studies', 0)})"
        else:
            label = _wrap(label, 24)
        # Principles end where their lines start, outcome groups start where lines end.
        align = {"principle": "right", "outcome": "left"}.get(data["kind"], "center")
        axes.text(x, y, label, ha=align, va="center", fontsize=8, color="white",
                  bbox={"boxstyle": "round,pad=0.3", "linewidth": 0.8,
                        "facecolor": KIND_COLOURS[data["kind"]],
                        "edgecolor": KIND_COLOURS[data["kind"]]})
    for column, title in enumerate(("Principles", "SDT needs and well-being\ncomponents",
                                    "Outcome groups (studies)")):
        axes.text(column, 1.045, title, ha=("right", "center", "left")[column], va="bottom",
                  fontsize=11, fontweight="bold")
    handles = [Line2D([0], [0], color="#777777", linewidth=_width(n), alpha=0.6,
                      label=f"{n} {'study' if n == 1 else 'studies'}") for n in (1, 4, 8)]
    handles.append(Line2D([0], [0], color="#777777", linestyle=(0, (4, 2)),
                          label="curated link (the report does not state it)"))
    handles.append(Line2D([0], [0], color=DIRECT_COLOUR, linestyle=(0, (1, 1.5)), linewidth=2,
                          label="evidenced, no stated mechanism"))
    handles += [Line2D([0], [0], marker="s", linestyle="none", markersize=9,
                       color=KIND_COLOURS[k], label=KIND_NAMES[k]) for k in
                ("principle", "need", "component", "outcome")]
    axes.legend(handles=handles, loc="upper center", fontsize=8, frameon=False, ncol=5,
                title="Edge width: studies coded with the principle that report the outcome",
                title_fontsize=9, bbox_to_anchor=(0.5, 0.0))
    title = "The evidence: from principles of co-production to outcomes"
    axes.set_title(title, fontsize=13, pad=26)
    written = _save(figure_, stem, suffixes, title, path_description(graph))
    plt.close(figure_)
    return written


# ---------------------------------------------------------------- the gap map

def gap_map_data(store) -> dict:
    """Principles (rows) by outcome groups (columns). Each cell holds every finding of a study
    coded with the principle on an outcome in the group, with its figure and quotes; ``curated``
    marks evidence that rests on a curated coding or a curated outcome placement. An empty cell
    is a real absence: no such study in the graph. ``studies`` carries each study's methods,
    countries and Table 2 cells for filtering."""
    axes = {"principle": [], "group": []}
    for row in sorted(_select(store, AXES),
                      key=lambda r: (r["kind"], int(r["order"] or 99), r["label"])):
        entry = {"id": compact(row["node"]), "label": row["label"]}
        if entry not in axes[row["kind"]]:
            axes[row["kind"]].append(entry)
    quotes: dict[str, list] = {}
    for row in _select(store, QUOTES):
        quotes.setdefault(compact(row["finding"]), []).append({"text": row["text"], "line": row["line"]})
    for found in quotes.values():
        found.sort(key=lambda q: (q["line"], q["text"]))
    studies: dict[str, dict] = {}
    for row in _select(store, STUDIES):
        entry = studies.setdefault(compact(row["study"]), {"label": row["label"], "methods": set(),
                                                           "countries": set(), "cells": set()})
        if row["methodLabel"]:
            entry["methods"].add(row["methodLabel"])
        if row["country"]:
            entry["countries"].add(row["country"])
        if row["cellLabel"]:
            entry["cells"].add(row["cellLabel"])
    cells: dict[tuple, dict] = {}
    for row in _select(store, GAP_EVIDENCE):
        key = (compact(row["principle"]), compact(row["group"]))
        finding = compact(row["finding"])
        item = {"study": compact(row["study"]), "finding": finding, "label": row["findingLabel"],
                "outcome": row["outcomeLabel"], "figure": figure(row["value"], row["unit"]),
                "coding": row["codingStatus"], "placement": row["outcomeStatus"],
                "curated": "curated" in (row["codingStatus"], row["outcomeStatus"]),
                "quotes": quotes.get(finding, [])}
        cells.setdefault(key, {})[finding] = item
    result_cells = []
    for p in axes["principle"]:
        for g in axes["group"]:
            items = sorted(cells.get((p["id"], g["id"]), {}).values(),
                           key=lambda i: (i["study"], i["finding"]))
            result_cells.append({"principle": p["id"], "group": g["id"], "items": items,
                                 "studies": sorted({i["study"] for i in items}),
                                 "curatedOnly": bool(items) and all(i["curated"] for i in items)})
    return {"principles": axes["principle"], "groups": axes["group"], "cells": result_cells,
            "studies": {s: {"label": d["label"], "methods": sorted(d["methods"]),
                            "countries": sorted(d["countries"]), "cells": sorted(d["cells"])}
                        for s, d in sorted(studies.items())}}


def empty_cells(data: dict) -> list[tuple[str, str]]:
    return [(c["principle"], c["group"]) for c in data["cells"] if not c["items"]]


def gap_description(data: dict) -> str:
    """What the gap map shows, counted from the graph: every empty cell by name, the fullest
    cell, and the cells only curated links fill. The SVG's <desc> and the README's alt text."""
    labels = {p["id"]: p["label"] for p in data["principles"]}
    labels.update({g["id"]: g["label"] for g in data["groups"]})
    empty = empty_cells(data)
    curated = sum(c["curatedOnly"] for c in data["cells"])
    text = (f"Evidence gap map. A grid of the {count_word(len(data['principles']))} principles of "
            f"co-production (rows) against {len(data['groups'])} outcome groups (columns); each "
            f"circle's area is the number of reviewed studies coded with the principle that "
            f"report an outcome in the group. ")
    if empty:
        per: dict[str, list[str]] = {}
        for principle, group in empty:
            per.setdefault(labels[principle], []).append(labels[group])
        order = sorted(per, key=lambda name: (-len(per[name]), name))
        text += (f"{len(empty)} of {len(data['cells'])} cells are empty, a red 0 where the graph "
                 f"holds no such evidence: "
                 + " ".join(f"{name} ({len(per[name])}): {'; '.join(per[name])}." for name in order)
                 + " ")
    else:
        text += f"None of the {len(data['cells'])} cells is empty. "
    fullest = max(data["cells"], key=lambda c: len(c["studies"]), default=None)
    if fullest and fullest["studies"]:
        text += (f"The fullest cell is {labels[fullest['principle']]} against "
                 f"{labels[fullest['group']]} ({len(fullest['studies'])} studies). ")
    return text + (f"{curated} cells, drawn hollow and hatched, are filled only by curated "
                   f"codings or placements.")


def draw_gap_map(data: dict, stem: Path, suffixes=(".svg", ".png")) -> list[Path]:
    """The evidence gap map: circle area by the number of studies in each cell; hollow where only
    curated links fill it; a red 0 where there is no evidence."""
    plt = _pyplot()
    principles, groups = data["principles"], data["groups"]
    figure_, axes = plt.subplots(figsize=(max(11, 0.62 * len(groups) + 3), 5.8))
    most = max([len(c["studies"]) for c in data["cells"]] + [1])
    # One scatter for the filled circles and one for the hollow, not one per cell: the same
    # circles, drawn as two collections instead of dozens.
    circles: dict[bool, list] = {False: [], True: []}
    for cell in data["cells"]:
        row = next(i for i, p in enumerate(principles) if p["id"] == cell["principle"])
        column = next(i for i, g in enumerate(groups) if g["id"] == cell["group"])
        count = len(cell["studies"])
        if count:
            circles[cell["curatedOnly"]].append((column, row, 900 * count / most))
        axes.text(column, row, str(count), ha="center", va="center", fontsize=9,
                  color="black" if count else "#aa3333", fontweight="bold")
    for hollow, drawn in circles.items():
        if drawn:
            axes.scatter([c for c, _, _ in drawn], [r for _, r, _ in drawn],
                         s=[size for _, _, size in drawn], color="white" if hollow else "#8fc9a5",
                         edgecolors="#1d5c39", linewidths=1.2, hatch="////" if hollow else None)
    axes.set_xticks(range(len(groups)), [_wrap(g["label"], 18, 3) for g in groups],
                    rotation=60, ha="right", rotation_mode="anchor", fontsize=8)
    axes.set_yticks(range(len(principles)), [p["label"] for p in principles])
    axes.set_xlim(-0.6, len(groups) - 0.4)
    axes.set_ylim(len(principles) - 0.5, -0.5)
    axes.grid(color="#dddddd", linewidth=0.6)
    axes.set_axisbelow(True)
    axes.set_xlabel("Outcome groups (the broadest outcomes of the report)")
    axes.set_ylabel("Principles of co-production")
    for count in sorted({1, max(1, most // 2), most}):
        axes.scatter([], [], s=900 * count / most, color="#8fc9a5", edgecolors="#1d5c39",
                     label=f"{count} {'study' if count == 1 else 'studies'}")
    axes.scatter([], [], s=300, color="white", edgecolors="#1d5c39", hatch="////",
                 label="only curated links")
    axes.legend(title="Studies coded with the principle\nthat report an outcome in the group",
                loc="upper left", bbox_to_anchor=(1.01, 1.0), labelspacing=2.2, borderpad=1.2,
                handletextpad=1.6, fontsize=8, title_fontsize=8, frameon=False)
    title = "Evidence gap map: principles against outcome groups (a red 0 is a gap)"
    axes.set_title(title, fontsize=12)
    written = _save(figure_, stem, suffixes, title, gap_description(data))
    plt.close(figure_)
    return written


def write_network_files(graph: nx.DiGraph, out: Path) -> list[Path]:
    """GraphML and GEXF of the full path graph, for Gephi and Cytoscape."""
    flat = export_graph(graph)
    written = []
    for name, writer in (("paths.graphml", nx.write_graphml), ("paths.gexf", nx.write_gexf)):
        buffer = io.BytesIO()
        writer(flat, buffer)
        written.append(write_atomic(out / name, buffer.getvalue()))
    return written


def draw_readme_pictures(store, folder: Path) -> list[Path]:
    """The path diagram and the gap map as SVG for the README (docs/img)."""
    written = draw_paths(rolled_up(build_graph(store)), folder / "paths", (".svg",))
    return written + draw_gap_map(gap_map_data(store), folder / "gap-map", (".svg",))


def picture_data(store) -> tuple[nx.DiGraph, nx.DiGraph, dict]:
    """What the pictures, the explorer and the report's summary are drawn from, read once: the
    path graph, its rolled-up form and the gap map's data."""
    graph = build_graph(store)
    return graph, rolled_up(graph), gap_map_data(store)


def draw_all(project: Project, store, out: Path, answers=None, data=None) -> list[Path]:
    """Every picture, the network files and the explorer page; ``data`` is ``picture_data(store)``
    where the caller has it already."""
    from .explorer import write_explorer

    graph, rolled, gap = data if data is not None else picture_data(store)
    written = draw_paths(rolled, out / "paths")
    written += draw_gap_map(gap, out / "gap-map")
    written += write_network_files(graph, out)
    written.append(write_explorer(out / "explorer.html", graph, rolled, gap, answers or []))
    return written
