"""Check the lexical form of a literal against its XSD datatype (XML Schema 1.1 Part 2).

rdflib's ``ill_typed`` misses some invalid forms: ``"P1W"^^xsd:duration`` (weeks are not an XSD
duration unit), ``"2013-02-30"^^xsd:date``, ``"٣"^^xsd:integer``. These checks cover the types
the project uses, and say what is wrong in words a curator can act on. Digits are ASCII only.
"""

from __future__ import annotations

import calendar
import re

XSD = "http://www.w3.org/2001/XMLSchema#"
D = "[0-9]"
_TZ = r"(?:Z|[+-](?:(?:0[0-9]|1[0-3]):[0-5][0-9]|14:00))?"
_PATTERNS = {
    "boolean": r"true|false|1|0",
    "decimal": rf"[+-]?(?:{D}+(?:\.{D}*)?|\.{D}+)",
    "integer": rf"[+-]?{D}+",
    "double": rf"[+-]?(?:{D}+(?:\.{D}*)?|\.{D}+)(?:[eE][+-]?{D}+)?|[+-]?INF|NaN",
    "duration": rf"-?P(?:{D}+Y)?(?:{D}+M)?(?:{D}+D)?(?:T(?:{D}+H)?(?:{D}+M)?(?:{D}+(?:\.{D}+)?S)?)?",
    "dayTimeDuration": rf"-?P(?:{D}+D)?(?:T(?:{D}+H)?(?:{D}+M)?(?:{D}+(?:\.{D}+)?S)?)?",
    "yearMonthDuration": rf"-?P(?:{D}+Y)?(?:{D}+M)?",
    "date": rf"(-?{D}{{4,}})-({D}{{2}})-({D}{{2}}){_TZ}",
    "dateTime": rf"(-?{D}{{4,}})-({D}{{2}})-({D}{{2}})T({D}{{2}}):({D}{{2}}):({D}{{2}}(?:\.{D}+)?){_TZ}",
    "time": rf"({D}{{2}}):({D}{{2}}):({D}{{2}}(?:\.{D}+)?){_TZ}",
    "gYear": rf"(-?{D}{{4,}}){_TZ}",
    "gYearMonth": rf"(-?{D}{{4,}})-({D}{{2}}){_TZ}",
}
_COMPILED = {name: re.compile(pattern, re.ASCII) for name, pattern in _PATTERNS.items()}
_SAME_AS = {"float": "double"}
# Integer types: (least, greatest), None for unbounded.
_INTEGERS = {
    "integer": (None, None), "nonNegativeInteger": (0, None), "positiveInteger": (1, None),
    "nonPositiveInteger": (None, 0), "negativeInteger": (None, -1),
    "long": (-2**63, 2**63 - 1), "int": (-2**31, 2**31 - 1), "short": (-2**15, 2**15 - 1),
    "byte": (-128, 127), "unsignedLong": (0, 2**64 - 1), "unsignedInt": (0, 2**32 - 1),
    "unsignedShort": (0, 2**16 - 1), "unsignedByte": (0, 255),
}
_EXAMPLES = {
    "duration": '"P6M", "P7D", "PT2H30M" (years Y, months M, days D; after T hours H, minutes M, '
                'seconds S; weeks are not allowed: write "P7D" for one week)',
    "dayTimeDuration": '"P7D", "PT36H"', "yearMonthDuration": '"P1Y6M"',
    "date": '"2013-02-28"', "dateTime": '"2013-02-28T09:30:00"', "gYear": '"2013"',
    "gYearMonth": '"2013-02"', "boolean": "true or false", "time": '"09:30:00"',
}


def _date_problem(year: str, month: str, day: str | None = None) -> str | None:
    if len(year.lstrip("-")) > 4 and year.lstrip("-").startswith("0"):
        return "a year of more than four digits has no leading zero"
    if not 1 <= int(month) <= 12:
        return f"there is no month {month}"
    if day is not None:
        # The leap-year rule repeats every 400 years, so any year maps onto 2000-2399.
        last = calendar.monthrange(2000 + int(year) % 400, int(month))[1]
        if not 1 <= int(day) <= last:
            return f"month {month} has no day {day}"
    return None


def _time_problem(hour: str, minute: str, second: str) -> str | None:
    if hour == "24":
        return None if minute == "00" and float(second) == 0 else "24 is only allowed as 24:00:00"
    if int(hour) > 23 or int(minute) > 59 or float(second) >= 60:
        return "the time of day is out of range"
    return None


def lexical_problem(lexical: str, datatype: str) -> str | None:
    """What is wrong with ``lexical`` as a value of ``datatype``, or None if it is valid (or the
    type is not one this module knows)."""
    if not datatype.startswith(XSD):
        return None
    local = datatype[len(XSD):]
    if local in _INTEGERS:
        if not _COMPILED["integer"].fullmatch(lexical):
            return "write a whole number with the digits 0-9 (no spaces, no separators)"
        least, greatest = _INTEGERS[local]
        value = int(lexical)
        if (least is not None and value < least) or (greatest is not None and value > greatest):
            bounds = f"{'' if least is None else least}..{'' if greatest is None else greatest}"
            return f"{value} is out of the range of xsd:{local} ({bounds})"
        return None
    pattern = _COMPILED.get(_SAME_AS.get(local, local))
    if pattern is None:
        return None
    match = pattern.fullmatch(lexical)
    example = _EXAMPLES.get(local, "")
    hint = f"; for example {example}" if example else ""
    if not match:
        return f"not the form of an xsd:{local}{hint}"
    if local.endswith(("uration", "Duration")):
        body = lexical.lstrip("-")[1:]
        if not body or body.endswith("T"):
            return f"a duration needs at least one number after P (and after T){hint}"
        return None
    groups = match.groups()
    if local in ("date", "dateTime"):
        problem = _date_problem(*groups[:3])
        if problem is None and local == "dateTime":
            problem = _time_problem(*groups[3:6])
        return problem
    if local == "time":
        return _time_problem(*groups[:3])
    if local == "gYearMonth":
        return _date_problem(groups[0], groups[1])
    if local == "gYear":
        return _date_problem(groups[0], "01")
    return None
