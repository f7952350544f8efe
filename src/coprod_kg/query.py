"""Discover the project's SPARQL files, read their headers, and run them with bound parameters.

Every ``.rq`` file opens with contiguous ``# key: value`` lines (title, question, section, param,
and for checks problem, fix, severity). Parameters are bound as RDF terms through pyoxigraph's
substitutions (or rdflib's initBindings), never pasted into the query text. Queries run on
pyoxigraph by default; the rdflib engine exists so tests can show both give the same answers.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import pyoxigraph as ox

from .namespace import ID, PREFIXES
from .project import InputError

HEADER_LINE = re.compile(r"^#\s*([a-z]+)\s*:\s*(.*?)\s*$")
DEFAULT_TIMEOUT = 30.0

# Kinds of parameter: the class its value must be an instance of, and the IRI space of its slug.
PARAM_KINDS = {
    "principle": ("https://w3id.org/coprod-kg/ontology#Principle", ID + "principle/"),
    "study": ("https://w3id.org/coprod-kg/ontology#ReviewedStudy", ID + "study/"),
    "outcome": ("https://w3id.org/coprod-kg/ontology#Outcome", ID + "outcome/"),
    "need": ("https://w3id.org/coprod-kg/ontology#PsychologicalNeed", ID + "need/"),
    "theme": ("https://w3id.org/coprod-kg/ontology#Theme", ID + "theme/"),
    "text": (None, None),
    "integer": (None, None),
}


class QueryError(Exception):
    """A query that cannot be run as asked: bad file, bad parameter, syntax error, timeout."""


@dataclass(frozen=True)
class Param:
    name: str
    kind: str
    description: str


@dataclass
class Query:
    """A SPARQL file and what its header says about it."""

    path: Path
    text: str
    header: dict[str, str]
    params: list[Param] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def title(self) -> str:
        return self.header.get("title", self.name)

    @property
    def question(self) -> str:
        return self.header.get("question", "")

    @property
    def section(self) -> str:
        return self.header.get("section", "")


@dataclass
class Result:
    """A query's answer: column names and rows of Python values (IRIs as strings)."""

    query: Query
    columns: list[str]
    rows: list[dict]


def parse_query_file(path: Path) -> Query:
    """Read a ``.rq`` file and its header (a user's file may have none).

    Raises QueryError if the file cannot be read or a ``# param:`` line is malformed.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise QueryError(f"{path}: cannot read query file: {error}") from None
    header: dict[str, str] = {}
    params: list[Param] = []
    for line in text.splitlines():
        match = HEADER_LINE.match(line)
        if not match:
            if line.startswith("#") and header:
                continue  # a continuation comment inside the header block
            break
        key, value = match.groups()
        if key == "param":
            params.append(_parse_param(path, value))
        elif key in header:
            header[key] += " " + value
        else:
            header[key] = value
    return Query(path, text, header, params)


def _parse_param(path: Path, spec: str) -> Param:
    match = re.match(r"^(\w+)\s*\((\w+)\)\s*:?\s*(.*)$", spec)
    if not match or match.group(2) not in PARAM_KINDS:
        raise QueryError(f"{path}: bad '# param:' line {spec!r}; write "
                         f"'# param: name (kind): description' with kind one of "
                         f"{', '.join(PARAM_KINDS)}")
    return Param(*match.groups())


def discover(folder: Path) -> list[Query]:
    """Every ``.rq`` file directly in ``folder``, sorted by name."""
    return [parse_query_file(path) for path in sorted(folder.glob("*.rq"))]


def find_query(folder: Path, name_or_path: str) -> Query:
    """Resolve a query by name (``01-principle-prevalence`` or ``principle-prevalence``) or path.

    Raises QueryError listing the known names when there is no such query.
    """
    candidate = Path(name_or_path)
    if candidate.suffix == ".rq" or candidate.exists():
        if not candidate.is_file():
            raise QueryError(f"{candidate}: no such query file")
        return parse_query_file(candidate)
    queries = discover(folder)
    wanted = name_or_path.strip()
    for query in queries:
        number = query.name.split("-", 1)[0]
        if wanted in (query.name, query.name.split("-", 1)[-1]) or wanted.lower() == query.title.lower() \
                or (wanted.isascii() and wanted.isdigit() and number.isdigit() and int(wanted) == int(number)):
            return query
    partial = [q for q in queries if wanted and wanted.lower() in q.name]
    if len(partial) == 1:
        return partial[0]
    names = ", ".join(query.name for query in queries)
    raise QueryError(f"unknown query {name_or_path!r}; {_did_you_mean(wanted, queries)}"
                     f"the queries are: {names}")


def _did_you_mean(wanted: str, queries: list[Query]) -> str:
    """A "did you mean" hint from the query names, their short names and titles."""
    import difflib

    keys = {}
    for query in queries:
        for key in (query.name, query.name.split("-", 1)[-1], query.title.lower()):
            keys[key] = query.name
    close = difflib.get_close_matches(wanted.lower(), list(keys), n=3, cutoff=0.6)
    names = list(dict.fromkeys(keys[c] for c in close))
    return f"did you mean {' or '.join(names)}? " if names else ""


# ---------------------------------------------------------------- safety

_STRIP = re.compile(
    r'"""(?:[^"\\]|\\.|"(?!""))*"""|\'\'\'(?:[^\'\\]|\\.|\'(?!\'\'))*\'\'\''
    r'|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|<[^<>"{}|^`\\\s]*>|#[^\n]*', re.S)
# A keyword stands alone: not part of a prefixed name (a-z, digits, "-", ".", ":"), a variable
# or a longer word.
_FORBIDDEN = re.compile(r"(?<![\w:?$.\-])(SERVICE|LOAD|INSERT|DELETE|CLEAR|DROP|CREATE|COPY|MOVE|ADD)"
                        r"(?![\w:\-])", re.I)


def refuse_unsafe(query: Query) -> None:
    """Refuse SERVICE (which would reach the network) and SPARQL Update keywords.

    String literals, IRIs and comments are blanked first so a keyword inside them is harmless.
    Raises QueryError.
    """
    code = _STRIP.sub(" ", query.text)
    match = _FORBIDDEN.search(code)
    if match:
        raise QueryError(f"{query.path}: {match.group(1).upper()} is not allowed: coprod-kg "
                         "answers from the local graph only and never changes it")


# ---------------------------------------------------------------- parameters

def parse_assignments(pairs: list[str]) -> dict[str, str]:
    """Turn ``["principle=networks", ...]`` into a dict. Raises QueryError on a bad pair."""
    values: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise QueryError(f"bad parameter {pair!r}: write NAME=VALUE")
        values[name.strip()] = value
    return values


def _choices(store: ox.Store, cls: str, space: str) -> list[str]:
    found = store.query(f"SELECT ?x WHERE {{ ?x a <{cls}> }}")
    return sorted(s["x"].value[len(space):] for s in found if s["x"].value.startswith(space))


def _slug(raw: str, space: str) -> str:
    """The slug of a value given as a slug, a prefixed name or a full IRI."""
    return raw[len(space):] if raw.startswith(space) else raw.split(":", 1)[-1]


def bind_params(query: Query, store: ox.Store, values: dict[str, str]) -> dict:
    """Check the given values against the header's parameters and make RDF terms of them.

    Raises QueryError for an unknown or missing parameter, or a value that names nothing.
    """
    known = {param.name: param for param in query.params}
    unknown = sorted(set(values) - set(known))
    if unknown:
        import difflib

        listed = ", ".join(known) or "none"
        close = difflib.get_close_matches(unknown[0], list(known), n=1, cutoff=0.5)
        hint = f"did you mean {close[0]}? " if close else ""
        raise QueryError(f"{query.name} has no parameter {', '.join(unknown)}; {hint}"
                         f"its parameters are: {listed}")
    bindings = {}
    for param in query.params:
        if param.name not in values:
            raise QueryError(f"{query.name} needs --param {param.name}=VALUE ({param.description})")
        raw = values[param.name]
        cls, space = PARAM_KINDS[param.kind]
        if param.kind == "text":
            term = ox.Literal(raw)
        elif param.kind == "integer":
            if not re.fullmatch(r"-?\d+", raw.strip()):
                raise QueryError(f"--param {param.name} must be a whole number, not {raw!r}")
            term = ox.Literal(raw.strip(), datatype=ox.NamedNode(PREFIXES["xsd"] + "integer"))
        else:
            choices = _choices(store, cls, space)
            slug = _slug(raw, space)
            if slug not in choices:
                import difflib

                close = difflib.get_close_matches(slug.lower(), choices, n=3, cutoff=0.5)
                hint = f"did you mean {' or '.join(close)}? " if close else ""
                raise QueryError(f"unknown {param.kind} {raw!r}; {hint}choose one of: "
                                 f"{', '.join(choices)}")
            term = ox.NamedNode(space + slug)
        bindings[param.name] = term
    return bindings


# ---------------------------------------------------------------- running

def _value(term):
    """A pyoxigraph term as a plain Python value."""
    if term is None:
        return None
    if isinstance(term, ox.Literal):
        datatype = term.datatype.value
        if datatype.endswith(("#integer", "#int", "#long", "#nonNegativeInteger",
                              "#positiveInteger", "#gYear")) and re.fullmatch(r"-?\d+", term.value):
            return int(term.value)
        if datatype.endswith("#decimal"):
            return Decimal(term.value)
        if datatype.endswith(("#double", "#float")):
            return float(term.value)
        if datatype.endswith("#boolean"):
            return term.value == "true"
        return term.value
    return term.value


def _syntax_error(query: Query, error: SyntaxError) -> QueryError:
    message = str(error)
    match = re.search(r"line (\d+), column (\d+)|(\d+):(\d+)", message)
    where = ""
    if match:
        line, column = [g for g in match.groups() if g][:2]
        where = f":{line}:{column}"
    return QueryError(f"{query.path}{where}: SPARQL syntax error: {message}")


def run(query: Query, store: ox.Store, params: dict[str, str] | None = None,
        timeout: float = DEFAULT_TIMEOUT) -> Result:
    """Run a SELECT query on a pyoxigraph store with its parameters bound.

    Raises QueryError for unsafe text, bad parameters, a syntax error, a non-SELECT query or a
    timeout.
    """
    refuse_unsafe(query)
    bindings = bind_params(query, store, params or {})
    substitutions = {ox.Variable(name): term for name, term in bindings.items()}
    outcome: dict = {}

    def work():
        try:
            solutions = store.query(query.text, prefixes=PREFIXES, substitutions=substitutions)
            if not isinstance(solutions, ox.QuerySolutions):
                raise QueryError(f"{query.path}: only SELECT queries can be run here")
            columns = [variable.value for variable in solutions.variables]
            rows = [{name: _value(solution[name]) for name in columns} for solution in solutions]
            outcome["result"] = Result(query, columns, rows)
        except SyntaxError as error:
            outcome["error"] = _syntax_error(query, error)
        except QueryError as error:
            outcome["error"] = error
        except (OSError, RuntimeError, ValueError, TypeError) as error:
            outcome["error"] = QueryError(f"{query.path}: {error}")

    worker = threading.Thread(target=work, name=f"query-{query.name}", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise QueryError(f"{query.path}: stopped after {timeout:g} s without an answer; "
                         "narrow the query or raise --timeout")
    if "error" in outcome:
        raise outcome["error"]
    if "result" not in outcome:
        raise QueryError(f"{query.path}: the query engine stopped without an answer")
    return outcome["result"]


def run_rdflib(query: Query, graph, params: dict[str, str] | None = None) -> Result:
    """Run a query with rdflib's engine (used to cross-check pyoxigraph)."""
    import rdflib.plugins.sparql as sparql
    from rdflib import Literal, URIRef
    from rdflib.plugins.sparql import prepareQuery

    from .load import to_pyoxigraph

    sparql.SPARQL_LOAD_GRAPHS = False
    refuse_unsafe(query)
    values = params or {}
    bindings = {}
    for param in query.params:
        space = PARAM_KINDS[param.kind][1]
        raw = values[param.name]
        bindings[param.name] = URIRef(space + _slug(raw, space)) if space else Literal(raw)
    answer = graph.query(prepareQuery(query.text, initNs=PREFIXES), initBindings=bindings)
    columns = [str(v) for v in answer.vars]
    rows = [{name: None if row[name] is None else _value(to_pyoxigraph(row[name]))
             for name in columns} for row in answer]
    return Result(query, columns, rows)


@dataclass
class CheckOutcome:
    """A quality check's rows; it passes when there are none."""

    query: Query
    result: Result

    @property
    def severity(self) -> str:
        return self.query.header.get("severity", "error")

    @property
    def passed(self) -> bool:
        return not self.result.rows


def run_checks(store: ox.Store, folder: Path) -> list[CheckOutcome]:
    """Run every check query in ``folder``; each passes iff it returns no rows."""
    return [CheckOutcome(check, run(check, store)) for check in discover(folder)]


def parameter_sets(query: Query, store: ox.Store) -> list[dict[str, str]]:
    """Every combination of parameter values a build answers a query for (one if it has none)."""
    sets: list[dict[str, str]] = [{}]
    for param in query.params:
        cls, space = PARAM_KINDS[param.kind]
        if cls is None:
            raise QueryError(f"{query.path}: a build cannot choose values for {param.kind} "
                             f"parameter {param.name}")
        sets = [{**existing, param.name: choice}
                for existing in sets for choice in _choices(store, cls, space)]
    return sets
