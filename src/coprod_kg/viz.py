"""Pictures of the evidence: the layered path diagram, the evidence gap map, GraphML and GEXF.

SVGs are written with a fixed hash salt and no date, so the same graph draws the same bytes.
"""

from __future__ import annotations

import io
from pathlib import Path

import networkx as nx

from .atomic import write_atomic
from .paths import build_graph, export_graph, rolled_up
from .project import Project
from .tables import compact

KIND_COLOURS = {"principle": "#1b6ca8", "need": "#b5651d", "component": "#8a5a9b",
                "outcome": "#2e8b57", "study": "#555555"}
KIND_NAMES = {"principle": "principle of co-production", "need": "SDT need",
              "component": "well-being component", "outcome": "outcome",
              "study": "reviewed study"}
COLUMNS = ("principle", ("need", "component"), "outcome", "study")

GAP_MAP = """
PREFIX coprod: <https://w3id.org/coprod-kg/ontology#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?principle ?theme ?study ?studyLabel WHERE {
  ?study coprod:exhibitsPrinciple ?principle ; rdfs:label ?studyLabel .
  ?finding coprod:aboutStudy ?study ; coprod:outcome/coprod:inTheme ?theme .
}
"""
AXES = """
PREFIX coprod: <https://w3id.org/coprod-kg/ontology#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT ?node ?kind ?label ?order WHERE {
  { ?node a coprod:Principle ; skos:altLabel ?label ; skos:notation ?order . BIND("principle" AS ?kind) }
  UNION
  { ?node a coprod:Theme ; skos:prefLabel ?label ; skos:notation ?order . BIND("theme" AS ?kind) }
}
"""


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.hashsalt": "coprod-kg", "font.family": "DejaVu Sans",
                         "font.size": 9})
    return plt


SAVE_OPTIONS = {".svg": {"metadata": {"Date": None}},
                ".png": {"dpi": 130, "metadata": {"Software": None}}}


def _save(figure, stem: Path, suffixes=(".svg", ".png")) -> list[Path]:
    written = []
    for suffix in suffixes:
        options = SAVE_OPTIONS[suffix]
        buffer = io.BytesIO()
        figure.savefig(buffer, format=suffix[1:], bbox_inches="tight", **options)
        written.append(write_atomic(stem.with_suffix(suffix), buffer.getvalue()))
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
    return 0.8 + 2.6 * (studies ** 0.5)


def layout(graph: nx.DiGraph) -> dict[str, tuple[float, float]]:
    """Columns by kind; within a column, order nodes by the mean height of their predecessors
    (a barycentre pass) to keep the curves from crossing more than they must."""
    positions: dict[str, tuple[float, float]] = {}
    for column, kinds in enumerate(COLUMNS):
        kinds = kinds if isinstance(kinds, tuple) else (kinds,)
        nodes = [n for n, d in graph.nodes(data=True) if d["kind"] in kinds]
        if column == 0:
            nodes.sort(key=lambda n: graph.nodes[n].get("order", 0))
        else:
            def centre(node):
                ys = [positions[p][1] for p in graph.predecessors(node) if p in positions]
                return (-(sum(ys) / len(ys)) if ys else 0.0, node)
            nodes.sort(key=centre)
        count = max(len(nodes), 1)
        for index, node in enumerate(nodes):
            positions[node] = (float(column), 1.0 - (index + 0.5) / count)
    return positions


def draw_paths(graph: nx.DiGraph, stem: Path, suffixes=(".svg", ".png")) -> list[Path]:
    """The layered principle → need/component → outcome → study diagram, edge width by studies."""
    from matplotlib.lines import Line2D
    from matplotlib.path import Path as Curve
    from matplotlib.patches import PathPatch

    plt = _pyplot()
    positions = layout(graph)
    figure, axes = plt.subplots(figsize=(15, 11))
    axes.set_xlim(-0.45, 3.75)
    axes.set_ylim(-0.06, 1.06)
    axes.axis("off")
    for source, target, data in sorted(graph.edges(data=True)):
        (x0, y0), (x1, y1) = positions[source], positions[target]
        colour = KIND_COLOURS[graph.nodes[source]["kind"]]
        curve = Curve([(x0 + 0.12, y0), (x0 + 0.5, y0), (x1 - 0.5, y1), (x1 - 0.12, y1)],
                      [Curve.MOVETO, Curve.CURVE4, Curve.CURVE4, Curve.CURVE4])
        dashed = data.get("status") == "curated"
        axes.add_patch(PathPatch(curve, facecolor="none", edgecolor=colour, alpha=0.35,
                                 linewidth=_width(data.get("studies", 1)),
                                 linestyle=(0, (4, 2)) if dashed else "solid"))
    for node, data in graph.nodes(data=True):
        x, y = positions[node]
        axes.text(x, y, _wrap(data.get("label", node)), ha="center", va="center", fontsize=8,
                  color="white" if data["kind"] != "study" else "black",
                  bbox={"boxstyle": "round,pad=0.3", "linewidth": 0.8,
                        "facecolor": KIND_COLOURS[data["kind"]] if data["kind"] != "study" else "#eeeeee",
                        "edgecolor": KIND_COLOURS[data["kind"]]})
    for column, title in enumerate(("Principles", "SDT needs and well-being\ncomponents",
                                    "Outcomes", "Reviewed studies")):
        axes.text(column, 1.045, title, ha="center", va="bottom", fontsize=11, fontweight="bold")
    handles = [Line2D([0], [0], color="#777777", linewidth=_width(n), alpha=0.6,
                      label=f"{n} {'study' if n == 1 else 'studies'}") for n in (1, 4, 8)]
    handles.append(Line2D([0], [0], color="#777777", linestyle=(0, (4, 2)),
                          label="curated link (the report does not state it)"))
    handles += [Line2D([0], [0], marker="s", linestyle="none", markersize=9,
                       color=KIND_COLOURS[k], label=KIND_NAMES[k]) for k in KIND_COLOURS]
    axes.legend(handles=handles, loc="upper center", fontsize=8, frameon=False, ncol=5,
                title="Edge width: number of studies behind the link", title_fontsize=9,
                bbox_to_anchor=(0.5, 0.0))
    axes.set_title("From principles of co-production to outcomes and the studies that "
                   "evidence them", fontsize=13, pad=26)
    written = _save(figure, stem, suffixes)
    plt.close(figure)
    return written


def gap_map_data(store) -> dict:
    """Principles (rows) by themes (columns); each cell the studies coded with the principle that
    report an outcome in the theme."""
    from .paths import _select

    axes = {"principle": [], "theme": []}
    for row in sorted(_select(store, AXES), key=lambda r: (r["kind"], int(r["order"]))):
        axes[row["kind"]].append({"id": compact(row["node"]), "label": row["label"]})
    cells: dict[tuple[str, str], dict[str, str]] = {}
    for row in _select(store, GAP_MAP):
        key = (compact(row["principle"]), compact(row["theme"]))
        cells.setdefault(key, {})[compact(row["study"])] = row["studyLabel"]
    return {"principles": axes["principle"], "themes": axes["theme"],
            "cells": [{"principle": p["id"], "theme": t["id"],
                       "studies": [{"id": s, "label": label}
                                   for s, label in sorted(cells.get((p["id"], t["id"]), {}).items())]}
                      for p in axes["principle"] for t in axes["theme"]]}


def draw_gap_map(data: dict, stem: Path, suffixes=(".svg", ".png")) -> list[Path]:
    """The evidence gap map: circle area by the number of studies in each cell."""
    plt = _pyplot()
    principles, themes = data["principles"], data["themes"]
    figure, axes = plt.subplots(figsize=(11, 6.2))
    most = max([len(c["studies"]) for c in data["cells"]] + [1])
    for cell in data["cells"]:
        row = next(i for i, p in enumerate(principles) if p["id"] == cell["principle"])
        column = next(i for i, t in enumerate(themes) if t["id"] == cell["theme"])
        count = len(cell["studies"])
        if count:
            axes.scatter(column, row, s=2400 * count / most, color="#2e8b57", alpha=0.55,
                         edgecolors="#1d5c39", linewidths=1)
        axes.text(column, row, str(count), ha="center", va="center", fontsize=10,
                  color="black" if count else "#aa3333", fontweight="bold")
    axes.set_xticks(range(len(themes)), [_wrap(t["label"], 22, 3) for t in themes])
    axes.set_yticks(range(len(principles)), [p["label"] for p in principles])
    axes.set_xlim(-0.6, len(themes) - 0.4)
    axes.set_ylim(len(principles) - 0.5, -0.5)
    axes.grid(color="#dddddd", linewidth=0.6)
    axes.set_axisbelow(True)
    axes.set_xlabel("Common themes of outcomes")
    axes.set_ylabel("Principles of co-production")
    for count in sorted({1, max(1, most // 2), most}):
        axes.scatter([], [], s=2400 * count / most, color="#2e8b57", alpha=0.55,
                     label=f"{count} {'study' if count == 1 else 'studies'}")
    axes.legend(title="Studies coded with the principle\nthat report an outcome in the theme",
                loc="upper left", bbox_to_anchor=(1.01, 1.0), labelspacing=4.2, borderpad=2.2,
                handletextpad=2.4,
                fontsize=8, title_fontsize=8, frameon=False)
    axes.set_title("Evidence gap map: principles against outcome themes (0 in red is a gap)",
                   fontsize=12)
    written = _save(figure, stem, suffixes)
    plt.close(figure)
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


def draw_all(project: Project, store, out: Path, answers=None) -> list[Path]:
    """Every picture, the network files and the explorer page."""
    from .explorer import write_explorer

    graph = build_graph(store)
    rolled = rolled_up(graph)
    gap = gap_map_data(store)
    written = draw_paths(rolled, out / "paths")
    written += draw_gap_map(gap, out / "gap-map")
    written += write_network_files(graph, out)
    written.append(write_explorer(out / "explorer.html", graph, rolled, gap, answers or []))
    return written
