"""The report of answers, in layers: a one-page summary, then one page per question, each as
Markdown and as HTML.

Both renderings are made from the same blocks (headings, paragraphs, tables, lists). Text from the
data is escaped for where it is opened: HTML special characters and Markdown's link and emphasis
marks in the Markdown, and by the template engine (jinja2 with autoescape) in the HTML. A finding
with several quotes is one row, its quotes joined, and sort keys are dropped from the display.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from .atomic import write_atomic
from .tables import display_rows, escape_markdown, figure

SUMMARY_TITLE = "Co-production in mental health: what the evidence says, in one page"
md_text = escape_markdown


@dataclass
class Block:
    kind: str  # "h2", "h3", "p", "note", "table", "list"
    text: str = ""
    headers: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    items: list[str] = field(default_factory=list)
    link: str = ""


@dataclass
class Page:
    slug: str
    title: str
    blocks: list[Block] = field(default_factory=list)


def answer_name(answer) -> str:
    """The file stem of an answer: the query name, then each parameter value."""
    return answer.query.name + "".join(f"--{v}" for v in answer.params.values())


def _rows(result) -> tuple[list[str], list[list[str]]]:
    return display_rows(result)


def _by_name(answers, stem: str) -> list:
    return [a for a in answers if a.query.name.split("-", 1)[-1] == stem or a.query.name == stem]


def _col(row: dict, name: str, default=""):
    value = row.get(name)
    return default if value is None else value


# ---------------------------------------------------------------- the summary

def summary_page(answers: list, checks: list, gap: dict | None = None,
                 unreached: list[str] | None = None) -> Page:
    """Table 1 with its uncertainty, the SROI ranking, prevention before and after, the
    conflicts, and what the evidence does not cover."""
    page = Page("summary", SUMMARY_TITLE)
    add = page.blocks.append
    add(Block("p", "Slay & Stephens (2013) review 15 studies of co-production in mental health. "
                   "This page gives the headline answers; each question has its own page "
                   "(listed at the end), and every figure traces to a quote of the report."))
    for answer in _by_name(answers, "principle-prevalence")[:1]:
        rows = answer.result.rows
        stated = sum(int(_col(r, "stated", 0)) for r in rows)
        curated = sum(int(_col(r, "curated", 0)) for r in rows)
        add(Block("h2", "Table 1: how often each principle appears"))
        add(Block("table", headers=["principle", "studies (Table 1)", "studies (codings)",
                                    "codings stated in the report", "codings curated"],
                  rows=[[str(_col(r, "name")), str(_col(r, "reported")),
                         str(_col(r, "reconstructed")), str(_col(r, "stated")),
                         str(_col(r, "curated"))] for r in rows]))
        add(Block("note", f"Uncertainty: the counts match Table 1, but Table 1 does not say which "
                          f"study shows which principle. Of the {stated + curated} codings behind "
                          f"it, {stated} are stated in the report's prose and {curated} are "
                          f"curated: inferred by a curator, each with a written rationale."))
    for answer in _by_name(answers, "monetary-figures")[:1]:
        sroi = [r for r in answer.result.rows if "return on investment ratio" in str(_col(r, "measureLabel"))]
        sroi.sort(key=lambda r: -float(_col(r, "value", 0) or 0))
        add(Block("h2", "Social return on investment, ranked"))
        add(Block("table", headers=["rank", "study", "social value for every £1 (or $1)", "finding"],
                  rows=[[str(i), str(_col(r, "studyLabel")),
                         f"{_col(r, 'qualifier') + ' ' if _col(r, 'qualifier') else ''}"
                         f"{figure(_col(r, 'value'), 'unit:CCY_' + str(_col(r, 'currency', 'GBP')))}",
                         str(_col(r, "findingLabel"))] for i, r in enumerate(sroi, start=1)]))
    for answer in _by_name(answers, "prevention")[:1]:
        rows = [r for r in answer.result.rows
                if _col(r, "baseline") != "" or _col(r, "value") != ""]
        seen, table = set(), []
        for r in rows:
            key = _col(r, "finding")
            if key in seen:
                continue
            seen.add(key)
            unit = _col(r, "unit")
            unit = f"unit:{unit}" if unit and ":" not in str(unit) else unit
            before = figure(_col(r, "baseline"), unit) if _col(r, "baseline") != "" else ""
            after = figure(_col(r, "followUp"), unit) if _col(r, "followUp") != "" else ""
            change = figure(_col(r, "value"), unit) if _col(r, "value") != "" else ""
            table.append([str(_col(r, "studyLabel")), str(_col(r, "outcomeLabel")), before,
                          after, change, str(_col(r, "timeframe"))])
        add(Block("h2", "Prevention: acute service use before and after"))
        add(Block("table", headers=["study", "outcome", "before", "after", "change or figure",
                                    "over"], rows=table))
    for answer in _by_name(answers, "conflicts-and-quality")[:1]:
        conflicts = {}
        for r in answer.result.rows:
            if str(_col(r, "isConflict")).lower() in ("true", "1"):
                conflicts.setdefault(str(_col(r, "label")), str(_col(r, "comment")))
        add(Block("h2", "Where the report contradicts itself"))
        add(Block("p", "Both claims are kept in the graph and linked as a conflict:"))
        add(Block("list", items=sorted(conflicts)))
    add(Block("h2", "What the evidence does not cover"))
    gaps = []
    if gap:
        labels = {p["id"]: p["label"] for p in gap["principles"]}
        labels.update({g["id"]: g["label"] for g in gap["groups"]})
        empty = [c for c in gap["cells"] if not c["items"]]
        gaps.append(f"{len(empty)} of {len(gap['cells'])} principle and outcome-group pairs have "
                    f"no study coded with the principle that reports such an outcome: "
                    + "; ".join(f"{labels[c['principle']]} and {labels[c['group']]}"
                                for c in empty) + ".")
    for answer in _by_name(answers, "thin-evidence")[:1]:
        single = [r for r in answer.result.rows if "one study" in str(_col(r, "gap"))]
        no_money = [str(_col(r, "label")) for r in answer.result.rows
                    if "economic" in str(_col(r, "gap"))]
        gaps.append(f"{len(single)} outcomes rest on a single study.")
        if no_money:
            gaps.append("Studies with no economic evidence: " + "; ".join(no_money) + ".")
    if unreached:
        gaps.append("Outcome groups that no principle reaches through a need or component in the "
                    "report's argument (evidenced, but with no stated mechanism): "
                    + "; ".join(unreached) + ".")
    add(Block("list", items=gaps))
    failed = [c for c in checks if not c.passed]
    add(Block("note", f"Quality checks: {len(checks) - len(failed)} of {len(checks)} pass."))
    return page


# ---------------------------------------------------------------- one page per question

def question_pages(answers: list) -> list[Page]:
    """One page per question. For a question asked once per parameter value, a section whose
    rows all stand in another section (an outcome inside a broader one) gives way to a pointer
    to that section, so no evidence is printed twice."""
    grouped: dict[str, list] = {}
    for answer in answers:
        grouped.setdefault(answer.query.name, []).append(answer)
    pages = []
    for name, group in grouped.items():
        query = group[0].query
        page = Page(name, query.title)
        page.blocks += [Block("p", query.question),
                        Block("note", f"Report section: {query.section}. "
                                      f"Query: queries/{query.path.name}.")]
        shown = {id(a): _rows(a.result) for a in group}
        keys = {id(a): {tuple(row) for row in shown[id(a)][1]} for a in group}
        # Which answers hold each row: the sections that hold all of one section's rows are
        # found from its rarest row, not by comparing every pair of sections (1,500 studies).
        holders: dict[tuple, list] = {}
        for a in group:
            for row in keys[id(a)]:
                holders.setdefault(row, []).append(a)
        for answer in group:
            headers, cells = shown[id(answer)]
            if answer.params:
                page.blocks.append(Block("h2", _params(answer)))
                mine = keys[id(answer)]
                rarest = min((holders[row] for row in mine), key=len) if mine else []
                within = [other for other in rarest if other is not answer
                          and mine < keys[id(other)]]
                if within:
                    broadest = max(within, key=lambda a: (len(keys[id(a)]), _params(a)))
                    smallest = min(within, key=lambda a: (len(keys[id(a)]), _params(a)))
                    page.blocks.append(Block("note", f"All {len(mine)} rows are in the section "
                                                     f"{_params(smallest)}"
                                                     + (f" (and {_params(broadest)})"
                                                        if broadest is not smallest else "")
                                                     + "."))
                    continue
            if cells:
                page.blocks.append(Block("table", headers=headers,
                                         rows=_quote_once(headers, cells)))
            else:
                page.blocks.append(Block("note", "No rows: the graph holds nothing for this."))
        pages.append(page)
    return pages


def _params(answer) -> str:
    return ", ".join(f"{k} = {str(v).split(':')[-1]}" for k, v in answer.params.items())


def _quote_once(headers: list[str], cells: list[list[str]]) -> list[list[str]]:
    """Show each quote once: where the rows of one finding follow each other (one per principle
    or route), later rows leave the quote and its line blank."""
    if "quote" not in headers:
        return cells
    quote = headers.index("quote")
    line = headers.index("report line") if "report line" in headers else None
    key = headers.index("finding") if "finding" in headers else quote
    result, previous = [], None
    for row in cells:
        row = list(row)
        if previous is not None and row[key] == previous[key] and row[quote] == previous[quote]:
            row[quote] = "″"
            if line is not None and row[line] == previous[line]:
                row[line] = "″"
        else:
            previous = row[:]
        result.append(row)
    return result


# ---------------------------------------------------------------- rendering

def to_markdown(page: Page, contents: list[Page] | None = None, up: str = "") -> str:
    lines = [f"# {md_text(page.title)}", ""]
    if up:
        lines += [f"[Back to the summary]({up})", ""]
    for block in page.blocks:
        if block.kind in ("h2", "h3"):
            lines += [f"{'#' * int(block.kind[1])} {md_text(block.text)}", ""]
        elif block.kind == "p":
            lines += [md_text(block.text), ""]
        elif block.kind == "note":
            lines += [f"*{md_text(block.text)}*", ""]
        elif block.kind == "list":
            lines += [f"- {md_text(item)}" for item in block.items] + [""]
        elif block.kind == "table":
            lines.append("| " + " | ".join(md_text(h) for h in block.headers) + " |")
            lines.append("|" + "|".join("---" for _ in block.headers) + "|")
            lines += ["| " + " | ".join(md_text(c) for c in row) + " |" for row in block.rows]
            lines.append("")
    if contents:
        lines += ["## Every question", ""]
        lines += [f"- [{md_text(p.title)}](report/{p.slug}.md)" for p in contents] + [""]
    return "\n".join(lines)


def _environment():
    from jinja2 import DictLoader, Environment, select_autoescape

    template = resources.files("coprod_kg").joinpath("assets/report.html.j2").read_text("utf-8")
    return Environment(loader=DictLoader({"page": template}), autoescape=select_autoescape(
        default=True, default_for_string=True), trim_blocks=True, lstrip_blocks=True)


def to_html(environment, page: Page, contents: list[Page] | None = None, up: str = "",
            prefix: str = "") -> str:
    return environment.get_template("page").render(page=page, contents=contents or [], up=up,
                                                   prefix=prefix)


def write_report(out: Path, answers: list, checks: list, gap: dict | None = None,
                 unreached: list[str] | None = None) -> list[Path]:
    """Write report.md and report.html (the summary and the contents) and report/<question>.md
    and .html (one page per question)."""
    summary = summary_page(answers, checks, gap, unreached)
    pages = question_pages(answers)
    environment = _environment()
    written = [write_atomic(out / "report.md", to_markdown(summary, pages)),
               write_atomic(out / "report.html", to_html(environment, summary, pages,
                                                         prefix="report/"))]
    for page in pages:
        written.append(write_atomic(out / "report" / f"{page.slug}.md",
                                    to_markdown(page, up="../report.md")))
        written.append(write_atomic(out / "report" / f"{page.slug}.html",
                                    to_html(environment, page, up="../report.html")))
    return written
