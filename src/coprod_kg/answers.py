"""The lean core of answering a query: pyoxigraph's solutions as rows of plain Python values,
under the row cap, and an answer as CSV text.

Both the full command line (``query.run``, ``tables.render``) and the warm path (``warm.py``) use
these, so a warm answer is the same bytes as a cold one. The module imports pyoxigraph, the
query worker and the C modules of the standard library only: ``re``, ``decimal`` and ``csv.py``
each cost a warm query more than its answer takes at the report's size.
"""

from __future__ import annotations

import io
import sys

# csv.py's own writer, without the module (which imports re); imported here, before the worker
# forks, since the worker writes the warm path's CSV and may open no file to import it.
from _csv import writer

import pyoxigraph as ox

from .worker import RowLimitReached

TRIPLE_COLUMNS = ["subject", "predicate", "object"]
_INTEGER_TYPES = ("#integer", "#int", "#long", "#nonNegativeInteger", "#positiveInteger",
                  "#gYear")

# What to do about a query stopped by a limit, after the limit's own words (QueryLimitError).
ADVICE = {"TimeLimitReached": "narrow the query or raise the limit (query --timeout, or "
                              "--max-seconds for every query)",
          "MemoryLimitReached": "narrow the query or raise --max-memory",
          "RowLimitReached": "add a LIMIT or raise --max-rows"}


def limit_message(path, error: Exception) -> str:
    """The words of a query stopped by ``error`` (one of worker's LimitReached)."""
    return f"{path}: {error}; {ADVICE[type(error).__name__]}"


def is_integer_text(text: str) -> bool:
    """Whether ``text`` is an optional sign and the ASCII digits 0-9 ("٣" is not a number)."""
    digits = text[1:] if text.startswith(("+", "-")) else text
    return digits.isascii() and digits.isdigit()


def plain_value(term):
    """A pyoxigraph term as a plain Python value: an IRI or text as a string, a number as an int,
    float or Decimal, a boolean as a bool; None for an unbound variable.

    This runs in the query worker, which may open no file (worker.py) and so cannot import a
    module it has not got: ``decimal`` must be imported before the worker forks, where an
    answer may hold an xsd:decimal (query.py imports it; a warm plan says whether it is needed).
    """
    if term is None:
        return None
    if isinstance(term, ox.Literal):
        datatype = term.datatype.value
        if datatype.endswith(_INTEGER_TYPES) and is_integer_text(term.value):
            return int(term.value)
        if datatype.endswith("#decimal"):
            from decimal import Decimal  # loaded already (see above): no file is opened

            return Decimal(term.value)
        if datatype.endswith(("#double", "#float")):
            return float(term.value)
        if datatype.endswith("#boolean"):
            return term.value == "true"
        return term.value
    return term.value


def capped(rows, max_rows: int) -> list:
    """The rows as a list; raises RowLimitReached past ``max_rows``."""
    kept = []
    for row in rows:
        if len(kept) >= max_rows:
            raise RowLimitReached(max_rows)
        kept.append(row)
    return kept


def solution_rows(solutions, max_rows: int) -> tuple[list[str], list[dict]]:
    """The columns and rows of what ``Store.query`` returned: a SELECT's variables, ASK's one
    ``answer``, or a CONSTRUCT's subject, predicate and object."""
    if isinstance(solutions, ox.QueryBoolean):
        return ["answer"], [{"answer": bool(solutions)}]
    if isinstance(solutions, ox.QuerySolutions):
        columns = [variable.value for variable in solutions.variables]
        # A solution iterates over its values in the order of the variables (None where one is
        # unbound), faster than looking each up by name.
        rows = capped(({name: plain_value(term) for name, term in zip(columns, solution)}
                       for solution in solutions), max_rows)
        return columns, rows
    rows = capped(({"subject": plain_value(t.subject), "predicate": plain_value(t.predicate),
                    "object": plain_value(t.object)} for t in solutions), max_rows)
    return TRIPLE_COLUMNS, rows


_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _is_number(text: str) -> bool:
    from decimal import Decimal

    try:
        Decimal(text)
        return True
    except ArithmeticError:
        return False


def safe_cell(text: str) -> str:
    """Text a spreadsheet will show rather than run: a leading = + - @ gets an apostrophe."""
    if text and text.startswith(_FORMULA) and not _is_number(text):
        return "'" + text
    return text


def plain_text(value) -> str:
    """A value as a program reads it: a Decimal without exponent or trailing zeros, a boolean
    as true or false, anything else as its string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    decimal = sys.modules.get("decimal")
    if decimal is not None and isinstance(value, decimal.Decimal):
        return format(value.normalize(), "f")
    return str(value)


def csv_cell(value) -> str:
    """A plain value as a CSV cell: ``plain_text``, safe for a spreadsheet; empty where
    unbound."""
    return "" if value is None else safe_cell(plain_text(value))


def needs_decimal(rows: list[dict]) -> bool:
    """Whether writing the rows as CSV imports ``decimal``: a value is a Decimal, or its text
    starts as a formula would (safe_cell asks Decimal whether it is a number)."""
    decimal = sys.modules.get("decimal")
    kind = decimal.Decimal if decimal is not None else None
    return any(type(value) is kind
               or (value is not None and plain_text(value).startswith(_FORMULA))
               for row in rows for value in row.values())


def _csv_writer():
    buffer = io.StringIO()
    return buffer, writer(buffer, lineterminator="\n")


def csv_text(columns: list[str], rows: list[dict]) -> str:
    """The answer as CSV: a header of the column names, then each row, every value a
    ``csv_cell``."""
    buffer, out = _csv_writer()
    out.writerow(columns)
    for row in rows:
        out.writerow([csv_cell(row[c]) for c in columns])
    return buffer.getvalue()


def solutions_csv(solutions, max_rows: int) -> str:
    """What ``Store.query`` returned as ``csv_text`` writes it, under the row cap: a SELECT's
    rows straight from its solutions, without making a row of each (the warm path's worker)."""
    if not isinstance(solutions, ox.QuerySolutions):
        return csv_text(*solution_rows(solutions, max_rows))
    buffer, out = _csv_writer()
    out.writerow([variable.value for variable in solutions.variables])
    written = 0
    for solution in solutions:
        if written >= max_rows:
            raise RowLimitReached(max_rows)
        out.writerow([csv_cell(plain_value(term)) for term in solution])
        written += 1
    return buffer.getvalue()
