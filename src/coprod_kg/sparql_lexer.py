"""Cut a SPARQL text into the terminals of the SPARQL 1.1 grammar, to vet it without parsing it.

The vetting (``query.inspect_text``) needs to know four things: whether the text holds the
keyword SERVICE, which graphs its FROM and FROM NAMED clauses name, whether it is an update, and
its form. Each is a fact about the words of the query outside its strings, IRIs and comments, so
cutting it into terminals is enough, and costs a fraction of a millisecond where rdflib's
pyparsing grammar costs about 30 ms a query.

The cut is only trusted where no other reading of the text is possible. Where one is (a word
that merely holds SERVICE or FROM, as pyoxigraph reads ``trueSERVICE`` as ``true SERVICE``; a
backslash outside a string; an IRI whose characters would start a comment, a string or a keyword
if its ``<`` were the less-than operator), ``words`` says the text is ambiguous, and the caller
asks rdflib's parser, the reference.

The text must already have had its ``\\u`` escapes expanded (``expand_escapes``) after
``query._refuse_ambiguous_escapes`` made sure that none stands for a character that changes how
the text is cut.
"""

from __future__ import annotations

import re

_TERMINALS = re.compile(
    r"""
      (?P<ws>[\ \t\r\n]+)
    | (?P<comment>\#[^\r\n]*)
    | (?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
    | (?P<string>'''(?:(?:'|'')?(?:[^'\\]|\\.))*'''
               | \"\"\"(?:(?:"|"")?(?:[^"\\]|\\.))*\"\"\"
               | '(?:[^'\\\n\r]|\\.)*'
               | "(?:[^"\\\n\r]|\\.)*")
    | (?P<lang>@[A-Za-z]+(?:-[A-Za-z0-9]+)*)
    | (?P<var>[?$][^\W]*)
    | (?P<pname>(?:[^\W\d_][\w.\-\u00B7]*)?:[\w.\-:%\u00B7]*|_:[\w.\-\u00B7]*)
    | (?P<number>[0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)
    | (?P<word>[^\W\d][\w]*)
    | (?P<other>.)
    """, re.VERBOSE | re.DOTALL)
_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})|\\U([0-9a-fA-F]{8})")
# Words that, inside a longer word or behind the "<" of an IRI, could be a keyword to another
# reader of the text.
_GUARDED = re.compile(r"service|from", re.IGNORECASE)
_IRI_HAZARDS = re.compile(r"[#']|(?<!\w)(?:service|from|named)(?!\w)", re.IGNORECASE)
FORMS = ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE")
UPDATES = ("LOAD", "INSERT", "DELETE", "CLEAR", "DROP", "CREATE", "ADD", "MOVE", "COPY", "WITH")


def expand_escapes(text: str) -> str:
    """Replace every ``\\uXXXX`` and ``\\UXXXXXXXX`` with its character, as SPARQL (and rdflib)
    read them before the grammar; an escape for no character is left as it is."""
    def one(match):
        code = int(match.group(1) or match.group(2), 16)
        return match.group(0) if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF else chr(code)

    return _ESCAPE.sub(one, text) if "\\" in text else text


class Words:
    """What the vetting needs to know of a query, read from its terminals. (A plain class: this
    module is on a warm query's path, and dataclasses would import inspect there.)"""

    def __init__(self) -> None:
        self.ambiguous = ""  # why the terminals cannot be trusted, or "" when they can
        self.form = ""  # the first of SELECT, ASK, CONSTRUCT, DESCRIBE
        self.update = ""  # the update keyword the text opens with, if it is one
        self.service = False
        self.datasets: list = []  # (named?, IRI or prefixed name) per clause
        self.prefixes: dict = {}  # the PREFIX declarations
        self.depth = 0  # the deepest nesting of braces and parentheses


def words(text: str) -> Words:
    """Read the keywords of ``text`` (escapes already expanded)."""
    found = Words()
    kinds: list[tuple[str, str]] = []
    depth = 0
    for match in _TERMINALS.finditer(text):
        kind, value = match.lastgroup, match.group()
        if kind in ("ws", "comment"):
            continue
        if kind == "other":
            if value == "\\":
                found.ambiguous = "a backslash outside a string"
                return found
            if value in "{(":
                depth += 1
                found.depth = max(found.depth, depth)
            elif value in "})":
                depth -= 1
        elif kind == "iri" and _could_be_less_than(kinds) and _IRI_HAZARDS.search(value):
            found.ambiguous = f"the IRI {value} could be read as a less-than and more words"
            return found
        elif kind == "word" and _GUARDED.search(value) and value.upper() not in ("SERVICE", "FROM"):
            found.ambiguous = f"the word {value} holds a keyword"
            return found
        kinds.append((kind, value))
    _keywords(kinds, found)
    return found


def terminals(text: str) -> list[tuple[str, str, int]]:
    """The terminals of ``text`` other than spaces and comments: (kind, text, offset) each."""
    return [(match.lastgroup, match.group(), match.start()) for match in _TERMINALS.finditer(text)
            if match.lastgroup not in ("ws", "comment")]


def _could_be_less_than(before: list[tuple[str, str]]) -> bool:
    """Whether a "<" after these terminals could be the less-than operator: only after
    something an expression compares (a variable, a literal, an IRI, a closing parenthesis),
    and never where a PREFIX or BASE declaration wants its IRI."""
    if not before:
        return False
    kind, value = before[-1]
    if kind == "word" and value.upper() == "BASE":
        return False
    if kind == "pname" and len(before) > 1 and before[-2][0] == "word" \
            and before[-2][1].upper() == "PREFIX":
        return False
    return kind in ("var", "number", "string", "lang", "iri", "pname") or value == ")" \
        or (kind == "word" and value.lower() in ("true", "false"))


def _keywords(kinds: list[tuple[str, str]], found: Words) -> None:
    """Fill in the form, update, SERVICE, datasets and prefixes from the terminals."""
    opening = True  # still in the prologue (BASE, PREFIX), where an update or a form begins
    for index, (kind, value) in enumerate(kinds):
        upper = value.upper() if kind == "word" else ""
        if upper == "SERVICE":
            found.service = True
        elif upper == "FROM":
            rest = kinds[index + 1:index + 3] + [("", ""), ("", "")]
            named = rest[0][0] == "word" and rest[0][1].upper() == "NAMED"
            target = rest[1] if named else rest[0]
            found.datasets.append((named, target[1] if target[0] in ("iri", "pname") else ""))
        if not opening:
            continue
        if upper == "PREFIX":
            rest = kinds[index + 1:index + 3]
            if len(rest) == 2 and rest[0][0] == "pname" and rest[1][0] == "iri":
                found.prefixes[rest[0][1][:-1]] = rest[1][1][1:-1]
        elif upper in FORMS:
            found.form, opening = upper, False
        elif upper in UPDATES:
            found.update, opening = upper, False
