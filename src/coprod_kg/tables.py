"""Render query results as text tables, CSV, JSON or Markdown."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

from .namespace import PREFIXES
from .query import Result

FORMATS = ("table", "csv", "json", "markdown")
_BY_LENGTH = sorted(PREFIXES.items(), key=lambda item: -len(item[1]))


def compact(value) -> str:
    """Show an IRI as prefix:slug where a known prefix fits, and anything else as text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        text = format(value.normalize(), "f")
        return text
    text = str(value)
    if text.startswith(("http://", "https://")):
        for prefix, namespace in _BY_LENGTH:
            if text.startswith(namespace) and len(text) > len(namespace):
                return f"{prefix}:{text[len(namespace):]}"
    return text


def _json_value(value):
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def render(result: Result, fmt: str, width: int = 60) -> str:
    """Render a result; raises ValueError for an unknown format."""
    if fmt == "json":
        payload = {"query": result.query.name, "title": result.query.title,
                   "columns": result.columns,
                   "rows": [{k: _json_value(v) for k, v in row.items()} for row in result.rows]}
        return json.dumps(payload, indent=2, ensure_ascii=False) + "\n"
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(result.columns)
        for row in result.rows:
            writer.writerow(["" if row[c] is None else _plain(row[c]) for c in result.columns])
        return buffer.getvalue()
    cells = [[compact(row[c]) for c in result.columns] for row in result.rows]
    if fmt == "markdown":
        def escape(text: str) -> str:
            return text.replace("|", "\\|").replace("\n", " ")
        lines = ["| " + " | ".join(result.columns) + " |",
                 "|" + "|".join("---" for _ in result.columns) + "|"]
        lines += ["| " + " | ".join(escape(cell) for cell in row) + " |" for row in cells]
        return "\n".join(lines) + "\n"
    if fmt == "table":
        clipped = [[cell if len(cell) <= width else cell[: width - 1] + "…" for cell in row]
                   for row in cells]
        widths = [max([len(c)] + [len(row[i]) for row in clipped])
                  for i, c in enumerate(result.columns)]
        def line(values):
            return "  ".join(v.ljust(w) for v, w in zip(values, widths)).rstrip()
        out = [line(result.columns), line(["-" * w for w in widths])]
        out += [line(row) for row in clipped]
        out.append(f"({len(result.rows)} row{'s' if len(result.rows) != 1 else ''})")
        return "\n".join(out) + "\n"
    raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")


def _plain(value) -> str:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
