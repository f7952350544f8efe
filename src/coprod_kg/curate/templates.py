"""Study templates as YAML or xlsx: read them with locations, and write them.

A template is a mapping: ``source`` (the slug of a source document, or a mapping describing a
new one), then one list per kind of node (``studies``, ``initiatives``, ``places``, ``findings``,
``codings``, ``placements``, ``notes``, ``quotes``). Each entry has a ``slug`` and one key per
field (see ``profile``). A ``hasQuote`` item is the slug of a quote, or the quote itself:
``{text: "pasted text"}`` with an optional ``slug`` and, only where the text occurs more than
once, a ``section`` or ``line`` hint.

Both readers return a ``Document``: the data as plain Python values (``int`` for whole numbers,
``Decimal`` for decimals, keeping their printed form) and, for every path into it, where it was
written (line and column, or sheet, row and cell).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from ..project import InputError

INTEGER = re.compile(r"^[-+]?\d+$")
DECIMAL = re.compile(r"^[-+]?(\d+\.\d*|\.\d+)$")
SKIP_SHEETS = {"allowed values", "read me"}


@dataclass
class Document:
    """A template's data, and where each part of it was written."""

    path: Path
    data: dict
    places: dict = field(default_factory=dict)  # path tuple -> "line 3, column 5" or a cell

    def where(self, path: tuple) -> str:
        """The most precise known location of ``path`` (or of its nearest parent)."""
        for end in range(len(path), -1, -1):
            if path[:end] in self.places:
                return f"{self.path}: {self.places[path[:end]]}"
        return str(self.path)


class TemplateError(Exception):
    """Problems in a template, each with its location; nothing has been written."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


# ---------------------------------------------------------------- YAML

def read_yaml(path: Path) -> Document:
    """Read a YAML template, keeping the line and column of every key and value.

    Raises InputError for a file that cannot be read or is not valid YAML.
    """
    import yaml

    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(path, f"cannot read template: {error}") from None
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        problem = " ".join(filter(None, [error.context, error.problem]))
        raise InputError(path, f"YAML syntax error: {problem}",
                         mark.line + 1 if mark else None,
                         mark.column + 1 if mark else None) from None
    except yaml.YAMLError as error:
        raise InputError(path, f"YAML error: {error}") from None
    document = Document(Path(path), {})
    if root is None:
        return document
    data = _construct(root, (), document)
    if not isinstance(data, dict):
        raise InputError(path, "a template is a mapping of sections (source:, studies:, "
                         "findings: ...)", root.start_mark.line + 1, root.start_mark.column + 1)
    document.data = data
    return document


def _construct(node, path: tuple, document: Document):
    import yaml

    document.places[path] = f"line {node.start_mark.line + 1}, column {node.start_mark.column + 1}"
    if isinstance(node, yaml.MappingNode):
        result = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str):
                raise InputError(document.path, "a key must be a plain word",
                                 key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            if key in result:
                raise InputError(document.path, f"`{key}` is given twice in one entry",
                                 key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            result[key] = _construct(value_node, (*path, key), document)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_construct(item, (*path, i), document) for i, item in enumerate(node.value)]
    value = node.value
    if node.style is None:  # plain scalars: numbers keep their printed form; nothing else is typed
        if value in ("", "~", "null", "Null", "NULL"):
            return None
        if INTEGER.match(value):
            return int(value)
        if DECIMAL.match(value):
            return Decimal(value)
    return value


def _scalar(value) -> str:
    import yaml

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, Decimal)):
        return str(value)
    if value is None:
        return ""
    text = yaml.safe_dump(value, allow_unicode=True, width=10**9, default_flow_style=True)
    return text.rstrip("\n").removesuffix("\n...").rstrip("\n")


def _is_simple(value) -> bool:
    return not isinstance(value, (dict, list))


def dump_yaml(data: dict, header: list[str] | None = None,
              comments: dict[tuple, str] | None = None) -> str:
    """Write a template as block YAML, with an optional header and end-of-line comments."""
    comments = comments or {}
    lines = [f"# {line}" if line else "#" for line in header or []]
    if lines:
        lines.append("")

    def emit(value, path: tuple, indent: str, first_prefix: str | None = None):
        note = comments.get(path)
        tail = f"  # {note}" if note else ""
        if isinstance(value, dict):
            prefix = first_prefix
            for key, item in value.items():
                lead = prefix if prefix is not None else indent
                prefix = None
                sub = (*path, key)
                subnote = comments.get(sub)
                subtail = f"  # {subnote}" if subnote else ""
                if _is_simple(item) or (isinstance(item, list) and
                                        all(_is_simple(v) for v in item) and
                                        len(_scalar(item)) < 90):
                    text = _scalar(item) if not isinstance(item, list) else \
                        "[" + ", ".join(_scalar(v) for v in item) + "]"
                    lines.append(f"{lead}{key}: {text}".rstrip() + subtail)
                else:
                    lines.append(f"{lead}{key}:{subtail}")
                    emit(item, sub, indent + "  ")
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, dict) and item:
                    emit(item, (*path, index), indent + "  ", first_prefix=f"{indent}- ")
                else:
                    lines.append(f"{indent}- {_scalar(item)}")
        else:
            lines.append(f"{indent}{_scalar(value)}{tail}")

    for key, value in data.items():
        note = comments.get((key,))
        if note:
            lines.extend(f"# {part}" for part in note.split("\n"))
        if _is_simple(value):
            lines.append(f"{key}: {_scalar(value)}".rstrip())
        elif isinstance(value, list) and not value:
            lines.append(f"{key}: []")
        else:
            lines.append(f"{key}:")
            emit(value, (key,), "  " if isinstance(value, dict) else "  ")
        lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


# ---------------------------------------------------------------- xlsx

def _cell_value(value):
    if isinstance(value, str) and value.startswith("="):
        return "'" + value  # never a formula
    return value


def _to_cell(value, iri_field: bool):
    """One cell's content: lists one value a line; typed values as JSON."""
    if isinstance(value, list):
        return "\n".join(str(_to_cell(v, iri_field)) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    if isinstance(value, Decimal):
        return str(value)
    return value


def write_xlsx(data: dict, path_or_stream, iri_keys: set[str], allowed: dict[str, list[str]],
               columns: dict[str, list[str]] | None = None, notes: list[str] | None = None,
               required: dict[str, set[str]] | None = None):
    """Write a template as a workbook: a sheet per section, a header row of field names.

    A column with allowed values offers them in a drop-down (from the sheet "allowed values");
    a required field's header cell carries a note saying so.
    """
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    book = Workbook()
    sheet = book.active
    sheet.title = "read me"
    for line in notes or []:
        sheet.append([line])
    source = data.get("source")
    src = book.create_sheet("source")
    src.append(["field", "value"])
    if isinstance(source, dict):
        for key, value in source.items():
            if key != "sections":
                src.append([key, _to_cell(value, False)])
        sections = book.create_sheet("sections")
        keys = sorted({k for s in source.get("sections", []) for k in s})
        keys = [k for k in ("slug", "label", "heading") if k in keys] + \
            [k for k in keys if k not in ("slug", "label", "heading")]
        sections.append(keys or ["slug", "label", "heading"])
        for entry in source.get("sections", []):
            sections.append([_to_cell(entry.get(k), False) for k in keys])
    else:
        src.append(["slug", source])
    for key, entries in data.items():
        if key == "source" or not isinstance(entries, list):
            continue
        sheet = book.create_sheet(key)
        names = list((columns or {}).get(key, []))
        for entry in entries:
            for name in entry:
                if name not in names:
                    names.append(name)
        sheet.append(names)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
            if cell.value in (required or {}).get(key, ()):
                cell.comment = Comment("required", "coprod-kg")
        for entry in entries:
            sheet.append([_cell_value(_to_cell(entry.get(n), n in iri_keys)) for n in names])
        rows = {name: index for index, name in enumerate(allowed, start=2)}
        for column, name in enumerate(names, start=1):
            if name in rows and name != "hasQuote":
                values = allowed[name]
                # A hint, not a rule: a cell may hold several values, one a line.
                check = DataValidation(
                    type="list", showErrorMessage=False, allow_blank=True,
                    formula1=f"'allowed values'!$B${rows[name]}:"
                             f"${get_column_letter(len(values) + 1)}${rows[name]}")
                sheet.add_data_validation(check)
                letter = get_column_letter(column)
                check.add(f"{letter}2:{letter}{max(len(entries), 1) + 200}")
    if allowed:
        sheet = book.create_sheet("allowed values")
        sheet.append(["field", "allowed values, one a cell (read only; not imported)"])
        for name, values in allowed.items():
            sheet.append([name, *values])
    book.save(path_or_stream)


def read_xlsx(path: Path, iri_keys: set[str], list_keys: set[str]) -> Document:
    """Read a workbook template, keeping the sheet, row and cell of every value.

    Raises InputError for an unreadable workbook, and TemplateError for merged or empty header
    cells.
    """
    from openpyxl import load_workbook
    from openpyxl.utils import get_column_letter

    try:
        book = load_workbook(path, read_only=False, data_only=True)
    except Exception as error:  # openpyxl raises many kinds for a file that is not a workbook
        raise InputError(path, f"cannot read workbook: {error}") from None
    document = Document(Path(path), {})
    problems = []
    for sheet in book.worksheets:
        name = sheet.title
        if name in SKIP_SHEETS:
            continue
        for merged in sheet.merged_cells.ranges:
            if merged.min_row == 1:
                problems.append(f"{path}: sheet '{name}', cells {merged.coord} of the header row "
                                "are merged: give each column its own header cell")
        rows = list(sheet.iter_rows(values_only=True))
        if not rows:
            continue
        header = list(rows[0])
        while header and header[-1] in (None, ""):
            header.pop()
        for index, title in enumerate(header):
            if title in (None, "") or not str(title).strip():
                used = any(len(r) > index and r[index] not in (None, "") for r in rows[1:])
                if used or index < len(header):
                    problems.append(f"{path}: sheet '{name}', cell {get_column_letter(index + 1)}1:"
                                    " empty header cell; every column needs a field name")
        if problems:
            continue
        header = [str(h).strip() for h in header]
        entries = []
        for number, row in enumerate(rows[1:], start=2):
            if all(v in (None, "") for v in row):
                continue
            entry, place = {}, (name, len(entries))
            document.places[place] = f"sheet '{name}', row {number}"
            for index, title in enumerate(header):
                value = row[index] if index < len(row) else None
                if value in (None, ""):
                    continue
                cell = f"sheet '{name}', row {number}, cell {get_column_letter(index + 1)}{number}"
                document.places[(*place, title)] = cell
                entry[title] = _from_cell(value, title in iri_keys, title in list_keys)
            entries.append(entry)
        document.data[name] = entries
    if problems:
        raise TemplateError(problems)
    source = document.data.pop("source", None)
    if source is not None:
        record = {}
        for index, entry in enumerate(source):
            key, value = entry.get("field"), entry.get("value")
            if key:
                record[str(key)] = value
                document.places[("source", str(key))] = document.places.get(
                    ("source", index, "value"), document.places.get(("source", index), ""))
        document.places[("source",)] = document.places.get(("source", 0), "sheet 'source'")
        sections = document.data.pop("sections", None)
        if set(record) == {"slug"} and not sections:
            document.data["source"] = record["slug"]
        else:
            if sections:
                record["sections"] = sections
                for (first, *rest), place in list(document.places.items()):
                    if first == "sections":
                        document.places[("source", "sections", *rest)] = place
            document.data["source"] = record
        document.data = {"source": document.data.pop("source"), **document.data}
    return document


def _from_cell(value, iri: bool, many: bool):
    if isinstance(value, float):
        return Decimal(repr(value)) if not value.is_integer() else int(value)
    if isinstance(value, (int, Decimal)):
        return value
    text = str(value)
    if text.startswith("'="):
        text = text[1:]
    lines = text.split("\n") if iri or many else [text]
    values = []
    for line in lines:
        if line.strip().startswith("{") and line.strip().endswith("}"):
            try:
                values.append(json.loads(line))  # a typed value or a nested node
                continue
            except json.JSONDecodeError:
                pass
        parts = re.split(r"[,;]+", line) if iri else [line]
        for part in (p.strip() if iri else p for p in parts):
            if part:
                values.append(part)  # text like a number becomes one only in a numeric field
    if not many and len(values) == 1:
        return values[0]
    return values if len(values) != 1 else values[0]


def read_template(path: Path, iri_keys: set[str], list_keys: set[str]) -> Document:
    """Read a template by its suffix: .yaml/.yml or .xlsx."""
    suffix = Path(path).suffix.lower()
    if suffix in (".yaml", ".yml"):
        return read_yaml(path)
    if suffix == ".xlsx":
        return read_xlsx(path, iri_keys, list_keys)
    raise InputError(path, "a template is a .yaml, .yml or .xlsx file")


def flatten_quotes(data: dict) -> dict:
    """Move inline quotes to the ``quotes`` list, leaving their slugs (for a spreadsheet)."""
    flat = {key: value for key, value in data.items()}
    moved = []
    taken = {q.get("slug") for entries in data.values() if isinstance(entries, list)
             for e in entries if isinstance(e, dict)
             for q in (e.get("hasQuote") if isinstance(e.get("hasQuote"), list)
                       else [e.get("hasQuote")]) if isinstance(q, dict)}

    def named(item: dict, owner: str) -> dict:
        if item.get("slug"):
            return item
        slug, n = owner, 2
        while slug in taken:
            slug, n = f"{owner}-{n}", n + 1
        taken.add(slug)
        return {"slug": slug, **item}
    for key, entries in data.items():
        if key in ("source", "quotes", "triples") or not isinstance(entries, list):
            continue
        new_entries = []
        for entry in entries:
            entry = dict(entry)
            items = entry.get("hasQuote")
            if isinstance(items, list):
                refs = []
                for item in items:
                    if isinstance(item, dict):
                        item = named(item, str(entry.get("slug")))
                        moved.append(item)
                        refs.append(item["slug"])
                    else:
                        refs.append(item)
                entry["hasQuote"] = refs
            elif isinstance(items, dict):
                items = named(items, str(entry.get("slug")))
                moved.append(items)
                entry["hasQuote"] = items["slug"]
            new_entries.append(entry)
        flat[key] = new_entries
    quotes = moved + list(data.get("quotes") or [])
    flat.pop("quotes", None)
    triples = flat.pop("triples", None)
    if quotes:
        flat["quotes"] = quotes
    if triples:
        flat["triples"] = [{"statement": t} for t in triples]
    return flat
