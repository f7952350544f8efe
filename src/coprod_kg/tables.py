"""Render query results for people (a terminal table, Markdown, a spreadsheet) and for programs
(CSV, JSON).

For people, headers are plain words, units are symbols (%, £, $, hours, days), sort keys are
dropped, and identifier columns are hidden unless asked for. Text in a spreadsheet cell or CSV
field that a spreadsheet would run as a formula (a leading ``=``, ``+``, ``-`` or ``@``) is
prefixed with an apostrophe; Markdown cells have their HTML escaped.
"""

from __future__ import annotations

import io
import json
import re
from decimal import Decimal

from .answers import csv_text, safe_cell
from .namespace import PREFIXES
from .query import Result

FORMATS = ("table", "csv", "json", "markdown", "xlsx")
BINARY_FORMATS = ("xlsx",)
SUFFIXES = {".txt": "table", ".csv": "csv", ".json": "json", ".md": "markdown", ".xlsx": "xlsx"}
_BY_LENGTH = sorted(PREFIXES.items(), key=lambda item: -len(item[1]))

UNIT_SYMBOLS = {"unit:PERCENT": "%", "unit:CCY_GBP": "£", "unit:CCY_USD": "$", "unit:NUM": "",
                "GBP": "£", "USD": "$",
                "unit:HR": "hours", "unit:DAY": "days", "unit:WK": "weeks", "unit:MO": "months",
                "unit:YR": "years"}
_CURRENCY = {"£", "$"}
# Headers that plain splitting of camelCase would get wrong or leave obscure.
HEADERS = {"via": "need or component", "viaLabel": "need or component", "studyLabel": "study",
           "outcomeLabel": "outcome", "findingLabel": "finding", "principleLabel": "principle",
           "viaStatus": "link status", "studiesOnPath": "studies on path",
           "codedStudies": "studies coded with the principle",
           "principleToVia": "principle → need status", "viaToOutcome": "need → outcome status",
           "argumentStatus": "argument status", "line": "report line", "sroi": "SROI",
           "mechanism": "mechanism (link status)"}
_SORT_KEY = re.compile(r"^\d+ ([a-z][a-z -]*)$")


_COMPACTED: dict[str, str] = {}  # IRIs already shown: a report shows the same few thousand often


def compact(value) -> str:
    """Show an IRI as prefix:slug where a known prefix fits, and anything else as text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    text = str(value)
    if text.startswith(("http://", "https://")):
        shown = _COMPACTED.get(text)
        if shown is None:
            shown = text
            for prefix, namespace in _BY_LENGTH:
                if text.startswith(namespace) and len(text) > len(namespace):
                    shown = f"{prefix}:{text[len(namespace):]}"
                    break
            if len(_COMPACTED) >= 50_000:  # bounded, for a long-running server
                _COMPACTED.clear()
            _COMPACTED[text] = shown
        return shown
    return text


def unit_symbol(unit) -> str:
    """A QUDT unit as a symbol or word: unit:PERCENT -> %, unit:CCY_GBP -> £, unit:WK -> weeks."""
    text = compact(unit)
    if text in UNIT_SYMBOLS:
        return UNIT_SYMBOLS[text]
    if "unit:" + text in UNIT_SYMBOLS:
        return UNIT_SYMBOLS["unit:" + text]
    return text.split(":", 1)[-1].lower()


def figure(value, unit) -> str:
    """A value with its unit as people write it: 30%, £3,500, 2,000 hours."""
    if value is None or value == "":
        return ""
    number = value if isinstance(value, str) else compact(value)
    try:
        amount = Decimal(number)
        shown = f"{amount:,f}" if amount == amount.to_integral_value() else f"{amount:,}"
        shown = shown.rstrip("0").rstrip(".") if "." in shown else shown
    except ArithmeticError:
        shown = number
    symbol = unit_symbol(unit) if unit else ""
    if symbol in _CURRENCY:
        return f"{symbol}{shown}"
    if symbol == "%":
        return f"{shown}%"
    return f"{shown} {symbol}".strip()


def header(name: str) -> str:
    """A column name in plain words: studyLabel -> study, sroiRatio -> SROI ratio."""
    if name in HEADERS:
        return HEADERS[name]
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name).replace("_", " ").lower().split()
    if len(words) > 1 and words[-1] in ("label", "iri"):
        words = words[:-1] + (["id"] if words[-1] == "iri" else [])
    return " ".join("SROI" if w == "sroi" else w for w in words)


def _is_id(value) -> bool:
    text = compact(value)
    return bool(text) and not text.startswith(("http://", "https://")) and ":" in text \
        and " " not in text and text.split(":", 1)[0] in PREFIXES and text != str(value)


def display_columns(result: Result, ids: bool = False) -> list[str]:
    """The columns a person sees: without identifier columns (every value an IRI), unless
    ``ids``; a unit column beside a value is folded into it."""
    columns = list(result.columns)
    if ids:
        return columns
    shown = []
    for column in columns:
        if column.endswith("Iri"):
            continue  # an identifier column by name
        values = [row.get(column) for row in result.rows if row.get(column) not in (None, "")]
        if values and all(_is_id(v) for v in values) and not column.lower().endswith("unit") \
                and not all(compact(v).startswith(("status:", "unit:")) for v in values):
            continue
        if not values and column + "Label" in columns:
            continue  # an identifier column that happens to be empty here
        shown.append(column)
    return shown or columns


def _unit_pairs(columns: list[str]) -> dict[str, str]:
    """value column -> its unit column (``value``/``unit``, ``xValue``/``xUnit``)."""
    pairs = {}
    for column in columns:
        if column == "currency" and "value" in columns:
            pairs["value"] = column
        elif column.lower().endswith("unit"):
            stem = column[: -len("unit")]
            for candidate in (stem + "Value", stem + "value", stem, "value"):
                if candidate in columns and candidate != column:
                    pairs[candidate] = column
                    break
    if "unit" in columns:
        for column in ("baseline", "followUp"):
            if column in columns:
                pairs[column] = "unit"
    return pairs


QUOTE_COLUMNS = ("quote", "line", "quoteLine", "sourceLine", "section")
# The hidden key of a merged row that keeps its quotes apart, each with its own line and section.
QUOTES = "_quotes"
_JOINERS = {"quote": " … ", "section": "; "}


def merge_quotes(result: Result) -> Result:
    """One row per finding: rows that differ only in their quote, line and section are merged,
    the quotes joined in report order. Each merged row keeps its quotes apart under ``QUOTES``
    (a list of {column: value}), so a layout can show every quote beside its own line."""
    quoted = [c for c in result.columns if c in QUOTE_COLUMNS]
    if "quote" not in quoted:
        return result
    rest = [c for c in result.columns if c not in quoted]
    merged: dict[tuple, dict] = {}
    for row in result.rows:
        key = tuple(compact(row.get(c)) for c in rest)
        entry = merged.setdefault(key, {**row, QUOTES: []})
        one = {c: row.get(c) for c in quoted}
        if one not in entry[QUOTES]:
            entry[QUOTES].append(one)
    rows = []
    for entry in merged.values():
        for c in quoted:
            values: list[str] = []
            for one in entry[QUOTES]:
                text = compact(one.get(c))
                if text and text not in values:
                    values.append(text)
            entry[c] = _JOINERS.get(c, ", ").join(values) if values else None
        rows.append(entry)
    return Result(result.query, result.columns, rows)


def display_rows(result: Result, ids: bool = False) -> tuple[list[str], list[list[str]]]:
    """Headers and text cells for people: units as symbols next to their values, statuses and
    other concept IRIs as their slug, sort keys dropped, one row per finding."""
    headers, cells, _ = _display(result, ids)
    return headers, cells


def _cell_text(row: dict, column: str, pairs: dict[str, str], ids: bool) -> str:
    value = row.get(column)
    if column in pairs:
        return figure(value, row.get(pairs[column]))
    text = compact(value)
    if not ids and text.startswith("unit:"):
        return unit_symbol(value)
    if not ids and text.startswith("status:"):
        return text.split(":", 1)[1]
    return text


def _display(result: Result, ids: bool = False):
    """``display_rows`` and, for each row, its quotes apart: a list of {header: text}, one per
    quote, in report order (one entry built from the row itself where nothing was merged).
    Each call gets lists of its own; the work is done once per result (a build shows each
    answer in the report and again in the explorer), kept on the result while its rows stand."""
    state = (ids, len(result.rows), tuple(result.columns))
    shown = getattr(result, "_shown", None)
    if shown is None or shown[0] != state:
        shown = (state, _display_once(result, ids))
        try:
            result._shown = shown
        except AttributeError:  # a result type that takes no new attribute: no reuse
            pass
    headers, cells, quotes = shown[1]
    return (list(headers), [list(line) for line in cells],
            [[dict(one) for one in parts] for parts in quotes])


def _display_once(result: Result, ids: bool):
    result = merge_quotes(result)
    columns = display_columns(result, ids)
    pairs = {} if ids else _unit_pairs(columns)
    folded = set(pairs.values())
    keep = [c for c in columns if c not in folded]
    quoted = [c for c in keep if c in QUOTE_COLUMNS]
    cells, quotes = [], []
    for row in result.rows:
        cells.append([_cell_text(row, column, pairs, ids) for column in keep])
        parts = row.get(QUOTES) or [row]
        quotes.append([{header(c): _cell_text(one, c, pairs, ids) for c in quoted} for one in parts])
    for index in range(len(keep)):
        values = [line[index] for line in cells if line[index]]
        if values and all(_SORT_KEY.match(v) for v in values):
            for line in cells:
                match = _SORT_KEY.match(line[index])
                if match:
                    line[index] = match.group(1)
    headers = [header(c) for c in keep]
    return headers, cells, quotes


def _json_value(value):
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|#])")
_ENTITY = re.compile(r"&(?=#?[A-Za-z0-9]+;)")


def escape_markdown(text) -> str:
    """Text that a Markdown viewer shows as written: no HTML, no links, no emphasis.

    ``<`` and ``>`` become entities, and so does an ``&`` that would start one; Markdown's
    special marks (including the table's ``|``) are backslash-escaped.
    """
    escaped = _ENTITY.sub("&amp;", str(text)).replace("<", "&lt;").replace(">", "&gt;")
    return _MARKDOWN_SPECIAL.sub(r"\\\1", escaped).replace("\n", " ")


def terminal_width() -> int:
    import shutil  # here, not at the top: it imports bz2 and lzma, which a CSV never needs

    return shutil.get_terminal_size(fallback=(100, 24)).columns


def render(result: Result, fmt: str, ids: bool = False, width: int | None = None) -> str | bytes:
    """Render a result (bytes for xlsx, text otherwise); raises ValueError for an unknown format.

    ``table`` fits ``width`` columns (default: the terminal's) and wraps long cells.
    """
    if fmt == "json":
        payload = {"query": result.query.name, "title": result.query.title,
                   "columns": result.columns,
                   "rows": [{k: _json_value(v) for k, v in row.items()} for row in result.rows]}
        return json.dumps(payload, indent=2, ensure_ascii=False) + "\n"
    if fmt == "csv":
        return csv_text(result.columns, result.rows)
    if fmt == "xlsx":
        return _xlsx(result, ids)
    headers, cells, quotes = _display(result, ids)
    if fmt == "markdown":
        lines = ["| " + " | ".join(escape_markdown(h) for h in headers) + " |",
                 "|" + "|".join("---" for _ in headers) + "|"]
        lines += ["| " + " | ".join(escape_markdown(cell) for cell in row) + " |" for row in cells]
        return "\n".join(lines) + "\n"
    if fmt == "table":
        width = width or terminal_width()
        if fits_as_table(headers, cells, width):
            return _rich_table(result.query.title, headers, cells, width)
        return _rich_cards(headers, cells, quotes, width)
    raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")


def _rich_table(title: str, headers: list[str], cells: list[list[str]], width: int) -> str:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    table = Table(box=box.SIMPLE_HEAD, show_lines=False, expand=False, pad_edge=False,
                  header_style="bold", title_justify="left")
    for name, size in zip(headers, column_widths(headers, cells, width)):
        table.add_column(name, overflow="fold", width=size)
    for row in cells:
        table.add_row(*row)
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, no_color=True, color_system=None,
                      highlight=False, emoji=False, markup=False, soft_wrap=False)
    console.print(table)
    count = len(cells)
    console.print(f"({count} row{'s' if count != 1 else ''})")
    lines = [line.rstrip() for line in buffer.getvalue().split("\n")]
    while lines and not lines[0]:
        lines.pop(0)
    return "\n".join(lines).rstrip("\n") + "\n"


# A long-text column narrower than this reads as a column of word fragments; a table that cannot
# give each one this much is shown as cards instead.
READABLE = 20
SHORT = 14


def _natural(headers: list[str], cells: list[list[str]]) -> list[int]:
    return [max([len(w) for w in h.split()] + [len(r[i]) for r in cells] + [1])
            for i, h in enumerate(headers)]


def fits_as_table(headers: list[str], cells: list[list[str]], width: int) -> bool:
    """Whether ``width`` columns hold every short column whole and every long-text column at
    a readable width (rich puts 3 characters between columns)."""
    need = sum(n if n <= SHORT else min(n, READABLE) for n in _natural(headers, cells))
    return need + 3 * len(headers) - 1 <= width


def column_widths(headers: list[str], cells: list[list[str]], width: int) -> list[int]:
    """Widths that fit ``width`` (padding included): short columns (numbers, figures, statuses)
    keep their natural width, each long-text column gets a readable width first and then a
    share of the rest in proportion to what it still lacks."""
    count = len(headers)
    available = max(width - 3 * count + 1, count)  # rich puts 3 characters between columns
    natural = _natural(headers, cells)
    if sum(natural) <= available:
        return natural
    sizes = [n if n <= SHORT else min(n, READABLE) for n in natural]
    room = available - sum(sizes)
    lacking = {i: natural[i] - sizes[i] for i in range(count) if natural[i] > sizes[i]}
    total = sum(lacking.values())
    if room > 0 and total:
        for i, lack in lacking.items():
            sizes[i] += min(lack, room * lack // total)
    while sum(sizes) > available and max(sizes) > 1:
        widest = sizes.index(max(sizes))
        sizes[widest] -= 1
    return sizes


def _rich_cards(headers: list[str], cells: list[list[str]], quotes: list[list[dict]],
                width: int) -> str:
    """Rows too wide for a table, one card each: a field name and its text on each line, the
    text wrapped at whole words; every quote of the row is shown with its own line and section.
    Empty fields are left out."""
    from rich.console import Console
    from rich.table import Table

    names = min(max([len(h) for h in headers] + [1]), max(width // 3, 8))
    quoted = set(quotes[0][0]) if quotes and quotes[0] else set()
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, no_color=True, color_system=None,
                      highlight=False, emoji=False, markup=False, soft_wrap=False)
    for number, (row, parts) in enumerate(zip(cells, quotes), start=1):
        console.rule(f"{number} of {len(cells)}", align="left", characters="─")
        card = Table.grid(padding=(0, 2))
        card.add_column(width=names, overflow="fold")
        card.add_column(width=max(width - names - 2, 8), overflow="fold")
        for name, text in zip(headers, row):
            if name not in quoted and text:
                card.add_row(name, text)
        for part in parts:
            for name, text in part.items():
                if text:
                    card.add_row(name, text)
        console.print(card)
    count = len(cells)
    console.print(f"({count} row{'s' if count != 1 else ''})")
    lines = [line.rstrip() for line in buffer.getvalue().split("\n")]
    return "\n".join(lines).rstrip("\n") + "\n"


def _xlsx(result: Result, ids: bool) -> bytes:
    """A one-sheet workbook with plain headers, a frozen header row and formula-safe cells."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    headers, cells = display_rows(result, ids)
    book = Workbook()
    sheet = book.active
    sheet.title = (result.query.name or "answer")[:31]
    sheet.append([safe_cell(h) for h in headers])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in cells:
        sheet.append([_number_or_text(v) for v in row])
    sheet.freeze_panes = "A2"
    for index, name in enumerate(headers, start=1):
        longest = max([len(name)] + [len(r[index - 1]) for r in cells])
        letter = sheet.cell(row=1, column=index).column_letter
        sheet.column_dimensions[letter].width = min(max(10, longest + 2), 60)
        for cell in sheet[letter][1:]:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    book.properties.creator = "coprod-kg"
    fixed = __import__("datetime").datetime(2013, 1, 1)
    book.properties.created = book.properties.modified = fixed
    buffer = io.BytesIO()
    book.save(buffer)
    return _pin_zip(buffer.getvalue())


def _number_or_text(text: str):
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    return safe_cell(text)


def _pin_zip(data: bytes) -> bytes:
    """The same workbook bytes on every run: zip entries with a fixed date."""
    import zipfile

    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            pinned = zipfile.ZipInfo(info.filename, date_time=(2013, 1, 1, 0, 0, 0))
            pinned.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(pinned, source.read(info.filename))
    return out.getvalue()
