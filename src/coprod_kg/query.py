"""Discover the project's SPARQL files, read their headers, and run them with bound parameters.

Every ``.rq`` file opens with contiguous ``# key: value`` lines (title, question, section, param,
and for checks problem, fix, severity). Parameters are bound as RDF terms through pyoxigraph's
substitutions (or rdflib's initBindings), never pasted into the query text; the checked term is
also bound, by a VALUES block pyoxigraph writes, inside the sub-selects that hand the variable on
unchanged (``bind_in_subselects``), which no engine does by itself. Queries run on
pyoxigraph by default; the rdflib engine exists so tests can show both give the same answers.
"""

from __future__ import annotations

import os
import re
import sys
from decimal import Decimal  # noqa: F401 - loaded before the worker forks (answers.plain_value)
from pathlib import Path

import pyoxigraph as ox

from . import sparql_lexer
from .answers import ADVICE as _ADVICE
from .answers import TRIPLE_COLUMNS, capped as _capped, limit_message
from .answers import plain_value as _value, solution_rows
from .namespace import ID, PREFIXES
from .project import InputError, Record

HEADER_LINE = re.compile(r"^#\s*([a-z]+)\s*:\s*(.*?)\s*$")
DEFAULT_TIMEOUT = 30.0


class _Configured(float):
    """The timeout set by set_limits (the CLI's --max-seconds), 30 s unless changed."""


CONFIGURED = _Configured(DEFAULT_TIMEOUT)

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


class Param(Record):
    """A parameter a query's header declares (immutable)."""

    _fields = ("name", "kind", "description")

    def __init__(self, name: str, kind: str, description: str):
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "description", description)

    def __setattr__(self, name, value):
        raise AttributeError(f"cannot assign to field {name!r} of a Param")

    def __hash__(self):
        return hash(self._values())


class Query(Record):
    """A SPARQL file and what its header says about it."""

    _fields = ("path", "text", "header", "params")

    def __init__(self, path: Path, text: str, header: dict[str, str],
                 params: list[Param] | None = None):
        self.path = path
        self.text = normalise_newlines(text)
        self.header = header
        self.params = [] if params is None else params

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


class Result(Record):
    """A query's answer: column names and rows of Python values (IRIs as strings)."""

    _fields = ("query", "columns", "rows")

    def __init__(self, query: Query, columns: list[str], rows: list[dict]):
        self.query = query
        self.columns = columns
        self.rows = rows


def normalise_newlines(text: str) -> str:
    """Make every line end a line feed: pyoxigraph ends a comment at a bare carriage return and
    rdflib does not, so a CR could hide from one engine what the other runs."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


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
    for line in text.split("\n"):  # a line ends at a line feed only
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


def _query_files(folder: Path) -> list[Path]:
    """Every ``.rq`` file directly in ``folder``, sorted by name (what ``folder.glob("*.rq")``
    finds, without the cost of compiling its pattern on a warm query's path)."""
    try:
        names = os.listdir(folder)
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return []
    return [folder / name for name in sorted(names) if name.endswith(".rq")]


def discover(folder: Path) -> list[Query]:
    """Every ``.rq`` file directly in ``folder``, sorted by name."""
    return [parse_query_file(path) for path in _query_files(folder)]


def find_query(folder: Path, name_or_path: str) -> Query:
    """Resolve a query by name (``01-principle-prevalence`` or ``principle-prevalence``) or path.

    Raises QueryError listing the known names when there is no such query.
    """
    candidate = Path(name_or_path)
    if candidate.suffix == ".rq" or candidate.exists():
        if not candidate.is_file():
            raise QueryError(f"{candidate}: no such query file")
        return parse_query_file(candidate)
    # The first file in name order that the name, the short name or the number picks, or whose
    # title is the one asked for: the files after it are not read (a file that cannot be read
    # or parsed before it is an error, as in discover).
    wanted = name_or_path.strip()
    queries = []
    for path in _query_files(folder):
        name = path.stem
        number = name.split("-", 1)[0]
        if wanted in (name, name.split("-", 1)[-1]) \
                or (wanted.isascii() and wanted.isdigit() and number.isdigit() and int(wanted) == int(number)):
            return parse_query_file(path)
        query = parse_query_file(path)
        if wanted.lower() == query.title.lower():
            return query
        queries.append(query)
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

# Bumped whenever the rules below change, so that no verdict cached under old rules is trusted.
CHECKER_VERSION = "3"
FORMS = {"SelectQuery": "SELECT", "AskQuery": "ASK", "ConstructQuery": "CONSTRUCT",
         "DescribeQuery": "DESCRIBE"}
_LOCAL_ONLY = ("coprod-kg answers from the local graph only, never reaches the network and "
               "never changes the graph")


class UnsafeQuery(QueryError):
    """A query that would reach the network, read a remote graph or change the graph."""


def _syntax_message(where: str, error, text: str) -> QueryError:
    line, column = getattr(error, "lineno", None), getattr(error, "col", None)
    message = getattr(error, "msg", None) or str(error)
    end = len(text.rstrip())
    if getattr(error, "loc", 0) >= end:  # point at the last character, not past the end
        before = text[:end]
        line, column = before.count("\n") + 1, end - (before.rfind("\n") + 1)
        message = f"the query ends before it is complete ({message})"
    location = f":{line}:{column}" if line else ""
    return QueryError(f"{where}{location}: SPARQL syntax error: {message}")


# A \\u or \\U escape, read both as SPARQL reads it (4 or 8 digits) and as rdflib does (4 digits,
# then 4 more if they are there, whatever the letter's case).
_ESCAPE = r"\\[uU]([0-9a-fA-F]{4})([0-9a-fA-F]{4})?"  # compiled where a query is vetted


def _refuse_ambiguous_escapes(text: str, where: str) -> None:
    """Refuse an escape that could change how the query is cut into words.

    rdflib expands every escape before parsing, pyoxigraph only inside strings and IRIs, so an
    escape for a quote, ``#``, ``<``, a brace or a newline would let the two engines read
    different queries, and the check could pass a SERVICE that pyoxigraph then runs. Letters,
    digits and any non-ASCII character are safe either way.
    """
    for match in re.finditer(_ESCAPE, text):
        four, more = match.group(1), match.group(2) or ""
        eight = four + more if more else None
        readings = {int(eight or four, 16)}  # rdflib's reading
        if match.group(0)[1] == "u" or not more:  # SPARQL: \\u takes 4 digits, \\U takes 8
            readings.add(int(four, 16))
        else:
            readings.add(int(eight, 16))
        for code in readings:
            if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                raise QueryError(f"{where}: {match.group(0)} is not a valid character escape")
            if code < 0x80 and not chr(code).isalnum():
                raise UnsafeQuery(f"{where}: the escape {match.group(0)} stands for "
                                  f"{chr(code)!r}, which the engines read differently; write "
                                  "the character itself")


def _nodes(tree):
    """Every node of a parsed query or its algebra, walked without recursion."""
    from pyparsing import ParseResults

    stack, seen = [tree], set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, dict):  # rdflib's CompValue is a dict with a name
            yield node
            stack.extend(node.values())
        elif isinstance(node, (list, tuple, set, frozenset, ParseResults)):
            stack.extend(node)


def _refuse_misreadings(text: str, where: str) -> None:
    """Refuse what the two engines would cut into different words (see normalise_newlines and
    _refuse_ambiguous_escapes)."""
    if re.search(r"\r(?!\n)", text):
        raise UnsafeQuery(f"{where}: a carriage return without a line feed is read differently "
                          "by the two engines; end lines with a line feed")
    _refuse_ambiguous_escapes(text, where)


# Deeper than this, pyoxigraph's recursive parser may overflow the stack and crash the process.
MAX_DEPTH = 64


def inspect_text(text: str, where: str = "query", prefixes: dict | None = None,
                 allowed_graphs: frozenset = frozenset()) -> str:
    """Vet a SPARQL text as the engines will read it, and return its form (SELECT, ASK, ...).

    The text is cut into SPARQL terminals (``sparql_lexer``), after its ``\\u`` escapes are
    expanded as rdflib expands them, so no spelling of a keyword escapes the check; pyoxigraph's
    parser then checks the syntax. Where the terminals allow another reading, rdflib's grammar
    and algebra decide (:func:`inspect_text_rdflib`, the reference, which tests hold this to).
    Raises UnsafeQuery for SERVICE (anywhere: in a sub-query, under EXISTS, inside OPTIONAL), for
    FROM or FROM NAMED of a graph outside ``allowed_graphs``, and for every update (LOAD,
    INSERT, DELETE, ...). Raises QueryError for a syntax error, with the line and column.
    """
    _refuse_misreadings(text, where)
    found = sparql_lexer.words(sparql_lexer.expand_escapes(text))
    if found.ambiguous:
        return inspect_text_rdflib(text, where, prefixes, allowed_graphs)
    if found.depth > MAX_DEPTH:
        raise QueryError(f"{where}: the query is nested too deeply to be checked")
    if found.update:
        raise UnsafeQuery(f"{where}: SPARQL Update (LOAD, INSERT, DELETE, CLEAR, ...) is not "
                          f"allowed: {_LOCAL_ONLY}")
    if found.service:
        raise UnsafeQuery(f"{where}: SERVICE is not allowed: {_LOCAL_ONLY}")
    known = {**PREFIXES, **(prefixes or {}), **found.prefixes}
    for named, graph in found.datasets:
        if not graph:
            continue  # FROM without a graph: the syntax check names the error
        if graph.startswith("<"):
            graph = graph[1:-1]
        elif graph.split(":", 1)[0] in known:
            graph = known[graph.split(":", 1)[0]] + graph.split(":", 1)[1]
        if graph not in allowed_graphs:
            clause = "FROM NAMED" if named else "FROM"
            raise UnsafeQuery(f"{where}: {clause} <{graph}> is not allowed: {_LOCAL_ONLY}; "
                              "the query runs on the project's graph as it is")
    _check_syntax(text, where, {**PREFIXES, **(prefixes or {})})
    if not found.form:
        raise QueryError(f"{where}: SPARQL syntax error: no SELECT, ASK, CONSTRUCT or DESCRIBE")
    return found.form


_EMPTY: list = []


def _check_syntax(text: str, where: str, prefixes: dict) -> None:
    """Raise QueryError if pyoxigraph cannot parse ``text`` (it parses when asked to run, so it
    is asked on an empty store, where the few queries it starts at once have nothing to read)."""
    if not _EMPTY:
        _EMPTY.append(ox.Store())
    try:
        _EMPTY[0].query(text, prefixes=prefixes)
    except SyntaxError as error:
        raise _oxigraph_syntax_message(where, error, text) from None
    except (OSError, RuntimeError, ValueError, TypeError):
        pass  # an error in evaluating nothing is not one in the text


def _oxigraph_syntax_message(where: str, error: SyntaxError, text: str) -> QueryError:
    message = str(error).split("\n", 1)[0]
    match = re.match(r"error at (\d+):(\d+): (.*)", message)
    if not match:
        return QueryError(f"{where}: SPARQL syntax error: {message}")
    line, column, message = int(match.group(1)), int(match.group(2)), match.group(3)
    lines = text.split("\n")
    offset = sum(len(part) + 1 for part in lines[:line - 1]) + column - 1
    end = len(text.rstrip())
    if offset >= end:  # point at the last character, not past the end
        before = text[:end]
        line, column = before.count("\n") + 1, end - before.rfind("\n") - 1
        message = f"the query ends before it is complete ({message})"
    if len(message) > 160:
        message = message[:157].rstrip() + "..."
    return QueryError(f"{where}:{line}:{column}: SPARQL syntax error: {message}")


def inspect_text_rdflib(text: str, where: str = "query", prefixes: dict | None = None,
                 allowed_graphs: frozenset = frozenset()) -> str:
    """Parse a SPARQL text with rdflib's grammar and algebra, and return its form (SELECT, ...).

    The reference for :func:`inspect_text`, which asks it where the terminals of a text allow
    more than one reading. The parser is rdflib's, which expands ``\\u`` escapes before it reads the keywords, so no
    spelling of a keyword escapes the check. Raises UnsafeQuery for SERVICE (anywhere: in a
    sub-query, under EXISTS, inside OPTIONAL), for FROM or FROM NAMED of a graph outside
    ``allowed_graphs``, and for every update (LOAD, INSERT, DELETE, ...). Raises QueryError for a
    syntax error, with the line and column.
    """
    import rdflib.plugins.sparql as sparql
    from pyparsing import ParseException
    from rdflib.plugins.sparql.algebra import translateQuery
    from rdflib.plugins.sparql.parser import parseQuery, parseUpdate

    sparql.SPARQL_LOAD_GRAPHS = False
    _refuse_misreadings(text, where)
    try:
        parsed = parseQuery(text)
    except ParseException as error:
        try:
            parseUpdate(text)
        except Exception:
            raise _syntax_message(where, error, text) from None
        raise UnsafeQuery(f"{where}: SPARQL Update (LOAD, INSERT, DELETE, CLEAR, ...) is not "
                          f"allowed: {_LOCAL_ONLY}") from None
    except RecursionError:
        raise QueryError(f"{where}: the query is nested too deeply to be checked") from None
    except ValueError as error:  # e.g. an escape for no character
        raise QueryError(f"{where}: SPARQL syntax error: {error}") from None
    for node in _nodes(parsed):
        name = getattr(node, "name", "")
        if name == "ServiceGraphPattern":
            raise UnsafeQuery(f"{where}: SERVICE is not allowed: {_LOCAL_ONLY}")
        if name == "DatasetClause":
            named = dict.get(node, "named")  # CompValue.get answers its key when it is missing
            graph = named if named is not None else dict.get(node, "default")
            if str(graph) not in allowed_graphs:
                clause = "FROM NAMED" if named is not None else "FROM"
                raise UnsafeQuery(f"{where}: {clause} <{graph}> is not allowed: {_LOCAL_ONLY}; "
                                  "the query runs on the project's graph as it is")
    try:
        algebra = translateQuery(parsed, initNs={**PREFIXES, **(prefixes or {})}).algebra
    except RecursionError:
        raise QueryError(f"{where}: the query is nested too deeply to be checked") from None
    except Exception as error:  # rdflib's translation raises bare Exceptions (e.g. a prefix)
        raise QueryError(f"{where}: SPARQL error: {error}") from None
    for node in _nodes(algebra):  # the same refusal on the algebra, in case parsing hid it
        if getattr(node, "name", "") == "ServiceGraphPattern":
            raise UnsafeQuery(f"{where}: SERVICE is not allowed: {_LOCAL_ONLY}")
    return FORMS.get(algebra.name, algebra.name)


_PARSERS: list[str] = []


def _verdict_key(text: str) -> str:
    """The verdict's key: the text, the rules and the two parsers' versions."""
    from .project import small_sha256

    if not _PARSERS:
        from .project import _installed_version

        _PARSERS.append(f"rdflib {_installed_version('rdflib')} pyoxigraph {ox.__version__}")
    return small_sha256(f"{CHECKER_VERSION}\0{_PARSERS[0]}\0{text}".encode(
        "utf-8", "surrogatepass")).hexdigest()


_SETTINGS: dict = {"verdicts": None}
_VERDICTS: dict[str, str] = {}


def remember_verdicts(folder: Path | None) -> None:
    """Keep the verdicts of refuse_unsafe in ``folder`` (keyed by a hash of the query text), so a
    warm query need not import rdflib's parser. None keeps them in memory only."""
    _SETTINGS["verdicts"] = folder


def _cached_verdict(key: str) -> str | None:
    if key in _VERDICTS:
        return _VERDICTS[key]
    folder = _SETTINGS["verdicts"]
    if folder is None:
        return None
    try:
        # Read as UTF-8, whose codec is loaded already; only a form's name is accepted.
        form = (Path(folder) / key).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None
    if form in FORMS.values():
        _VERDICTS[key] = form
        return form
    return None


def _remember(key: str, form: str) -> None:
    _VERDICTS[key] = form
    folder = _SETTINGS["verdicts"]
    if folder is not None:
        from .atomic import write_atomic

        try:
            write_atomic(Path(folder) / key, form + "\n")
        except OSError:
            pass  # a read-only cache only costs the next run a check


def refuse_unsafe(query: Query, timeout: float | None = CONFIGURED) -> str:
    """Refuse a query that is unsafe, and return its form (SELECT, ASK, CONSTRUCT, DESCRIBE).

    The check runs in a worker (a hostile query must not hang or crash the caller); a verdict
    "safe" is remembered for the exact text. Raises UnsafeQuery, QueryError or QueryLimitError.
    """
    from . import worker

    timeout = check_timeout(timeout)
    key = _verdict_key(query.text)
    form = _cached_verdict(key)
    if form is not None:
        return form
    try:
        form = worker.call(inspect_text, query.text, str(query.path), timeout=timeout,
                           no_new_files=False)
    except worker.LimitReached as error:
        raise QueryLimitError(f"{query.path}: checking the query: {error}") from None
    _remember(key, form)
    return form


def _inspect_each(items: list[tuple[str, str]]) -> list[tuple[str, object]]:
    """Run in the worker: inspect_text on every (text, where), each verdict a form or an error."""
    verdicts: list[tuple[str, object]] = []
    for text, where in items:
        try:
            verdicts.append(("form", inspect_text(text, where)))
        except QueryError as error:
            verdicts.append(("error", error))
    return verdicts


def refuse_unsafe_all(queries: list[Query], timeout: float | None = CONFIGURED) -> None:
    """Check every query before any runs, and name every one that cannot run.

    The queries not checked before are checked together in one worker; if that one stops at
    its limit, each is checked again in its own, so the one that hangs is named.
    Raises UnsafeQuery if any is unsafe, else QueryError if any cannot be parsed.
    """
    from . import worker

    timeout = check_timeout(timeout)
    pending = [query for query in queries if _cached_verdict(_verdict_key(query.text)) is None]
    errors: dict[int, QueryError] = {}
    if len(pending) > 1:
        try:
            verdicts = worker.call(_inspect_each, [(q.text, str(q.path)) for q in pending],
                                   timeout=timeout, no_new_files=False)
        except worker.LimitReached:
            verdicts = []
        for query, (kind, value) in zip(pending, verdicts):
            if kind == "form":
                _remember(_verdict_key(query.text), value)
            else:
                errors[id(query)] = value
    problems, unsafe = [], False
    for query in queries:
        try:
            if id(query) in errors:
                raise errors[id(query)]
            refuse_unsafe(query, timeout=timeout)
        except UnsafeQuery as error:
            problems.append(str(error))
            unsafe = True
        except QueryLimitError:
            raise
        except QueryError as error:
            problems.append(str(error))
    if problems:
        raise (UnsafeQuery if unsafe else QueryError)("\n".join(problems))


def no_service(ctx, part):
    """rdflib custom evaluation that refuses SERVICE at run time (a second line of defence)."""
    if part.name == "ServiceGraphPattern":
        raise UnsafeQuery(f"SERVICE is not allowed: {_LOCAL_ONLY}")
    raise NotImplementedError()


def guard_rdflib() -> None:
    """Make rdflib's SPARQL engine refuse SERVICE and never load a graph named in FROM."""
    import rdflib.plugins.sparql as sparql

    sparql.SPARQL_LOAD_GRAPHS = False
    sparql.CUSTOM_EVALS["coprod-kg-no-service"] = no_service


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


def _choices(source, cls: str, space: str) -> list[str]:
    """The slugs of the instances of ``cls`` in a pyoxigraph store or an rdflib graph."""
    if isinstance(source, ox.Store):
        found = [s["x"].value for s in source.query(f"SELECT ?x WHERE {{ ?x a <{cls}> }}")]
    else:
        from rdflib import RDF, URIRef

        found = [str(x) for x in source.subjects(RDF.type, URIRef(cls))]
    return sorted({x[len(space):] for x in found if x.startswith(space)})


def _slug(raw: str, space: str) -> str:
    """The slug of a value given as a slug, a prefixed name or a full IRI."""
    return raw[len(space):] if raw.startswith(space) else raw.split(":", 1)[-1]


_INTEGER = re.compile(r"[+-]?[0-9]+", re.ASCII)


def bind_params(query: Query, store, values: dict[str, str]) -> dict:
    """Check the given values against the header's parameters and make pyoxigraph terms of them.

    ``store`` is a pyoxigraph store or an rdflib graph (for the rdflib engine); both give the
    same terms. Raises QueryError for an unknown or missing parameter, or a value that names
    nothing.
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
            digits = raw.strip(" ")
            if not _INTEGER.fullmatch(digits):  # ASCII digits only: "٣" is not a number here
                raise QueryError(f"--param {param.name} must be a whole number written with the "
                                 f"digits 0-9, not {raw!r}")
            term = ox.Literal(str(int(digits)), datatype=ox.NamedNode(PREFIXES["xsd"] + "integer"))
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


def bind_in_subselects(text: str, substitutions: dict) -> str:
    """The query with its bound variables bound again, by VALUES, inside the sub-selects that
    hand them on to the outer group.

    A parameter is bound in the outermost group (pyoxigraph's ``substitutions``, or the VALUES
    block of ``engines.with_values``), and no engine carries it into a sub-select, which is
    evaluated on its own before the join: a sub-select that groups every finding's quotes does
    so for all of them, when the join keeps only the chosen outcome's. Binding the variable again
    at the start of such a sub-select changes no answer where the join would drop every other
    row of it anyway, so it is done only where all of this holds:

    - the sub-select is joined to a group that starts with the binding: it is an element of the
      outermost group (or of a plain group inside it, or of a sub-select bound this way), or the
      whole of an OPTIONAL written directly in such a group; never a branch of a UNION, a MINUS,
      an EXISTS, or an OPTIONAL in a group where the variable may not yet be bound;
    - it projects the variable plainly (not ``(... AS ?x)``, not ``*``), has no LIMIT, OFFSET or
      trailing VALUES, and if it groups or aggregates, the variable is a plain GROUP BY key;
    - a triple pattern at the top level of its WHERE group names the variable, so every row it
      gives binds it (an unbound one would join with any value, and a group keyed by "unbound"
      would merge into the bound one).

    ``substitutions`` maps pyoxigraph Variables to terms. Any query these rules do not read with
    certainty (a backslash outside a string, unbalanced braces, a form other than SELECT or ASK)
    is returned as it is.
    """
    if not substitutions:
        return text
    tokens = sparql_lexer.terminals(text)
    if any(kind == "other" and value == "\\" for kind, value, _ in tokens):
        return text
    closing, stack = {}, []
    for index, (kind, value, _) in enumerate(tokens):
        if kind == "other" and value == "{":
            stack.append(index)
        elif kind == "other" and value == "}":
            if not stack:
                return text
            closing[stack.pop()] = index
    form = next((value.upper() for kind, value, _ in tokens
                 if kind == "word" and value.upper() in sparql_lexer.FORMS), "")
    opening = next((index for index, (kind, value, _) in enumerate(tokens)
                    if kind == "other" and value == "{"), None)
    if stack or form not in ("SELECT", "ASK") or opening is None:
        return text
    terms = {str(variable)[1:]: str(term) for variable, term in substitutions.items()}
    inserts: list[tuple[int, str]] = []

    def word(index: int) -> str:
        kind, value, _ = tokens[index]
        return value.upper() if kind == "word" else ""

    def symbol(index: int) -> str:
        kind, value, _ = tokens[index]
        return value if kind == "other" else ""

    def walk(start: int, names: list[str], bound_at_start: bool) -> None:
        index = start + 1
        while index < closing[start]:
            if symbol(index) != "{":
                index += 1
                continue
            end = closing[index]
            before, after = tokens[index - 1], tokens[end + 1] if end + 1 < len(tokens) else None
            optional = word(index - 1) == "OPTIONAL"
            joined = before[0] == "other" and before[1] in "{}.)"
            beside_union = after is not None and after[0] == "word" and after[1].upper() == "UNION"
            if (joined and not beside_union) or (optional and bound_at_start):
                if word(index + 1) == "SELECT":
                    push(index, names)
                else:
                    walk(index, names, False)
            index = end + 1

    def push(start: int, names: list[str]) -> None:
        where = next((i for i in range(start + 2, closing[start]) if symbol(i) == "{"), None)
        if where is None:
            return
        projection = tokens[start + 2:where - 1 if word(where - 1) == "WHERE" else where]
        modifiers = [word(i) for i in range(closing[where] + 1, closing[start])]
        if _plain(projection, "*") or {"LIMIT", "OFFSET", "VALUES"} & set(modifiers) \
                or _depth_at_end(projection) != 0:
            return
        grouped = "GROUP" in modifiers
        keys: list = []
        if grouped:
            at = closing[where] + 1 + modifiers.index("GROUP")
            stop = next((i for i in range(at + 2, closing[start])
                         if word(i) in ("HAVING", "ORDER")), closing[start])
            keys = tokens[at + 2:stop]
        elif "HAVING" in modifiers or any(value == "(" for _, value, _ in projection):
            return  # aggregates over the whole sub-select, or expressions: left alone
        kept = [name for name in names
                if _plain(projection, name) and (not grouped or _plain(keys, name))
                and _in_a_triple(tokens, where, closing[where], name)]
        if not kept:
            return
        variables = " ".join(f"?{name}" for name in kept)
        values = " ".join(terms[name] for name in kept)
        inserts.append((tokens[where][2] + 1, f" VALUES ({variables}) {{ ({values}) }}"))
        walk(where, kept, True)

    walk(opening, list(terms), True)
    for offset, block in sorted(inserts, reverse=True):
        text = text[:offset] + block + text[offset:]
    return text


def _depth_at_end(tokens: list) -> int:
    depth = 0
    for kind, value, _ in tokens:
        if kind == "other" and value in "()":
            depth += 1 if value == "(" else -1
    return depth


def _plain(tokens: list, name: str) -> bool:
    """Whether the variable (or ``*``) is named outside every parenthesis of these terminals."""
    depth = 0
    for kind, value, _ in tokens:
        if kind == "other" and value in "()":
            depth += 1 if value == "(" else -1
        elif depth == 0 and ((kind == "var" and value[1:] == name) or value == name == "*"):
            return True
    return False


def _in_a_triple(tokens: list, start: int, end: int, name: str) -> bool:
    """Whether a triple pattern at the top level of the group from ``start`` to ``end`` (the
    indexes of its braces) names the variable: outside every nested group and parenthesis, and
    not as the variable of VALUES or GRAPH."""
    braces = parens = 0
    for index in range(start + 1, end):
        kind, value, _ = tokens[index]
        if kind == "other" and value in "{}":
            braces += 1 if value == "{" else -1
        elif kind == "other" and value in "()":
            parens += 1 if value == "(" else -1
        elif kind == "var" and value[1:] == name and braces == 0 and parens == 0:
            before, after = tokens[index - 1], tokens[index + 1]
            if not (before[0] == "word" and before[1].upper() in ("VALUES", "GRAPH", "AS")) \
                    and after[1] != "{":
                return True
    return False


# ---------------------------------------------------------------- running

DEFAULT_MAX_ROWS = 100_000
_LIMITS: dict = {"max_rows": DEFAULT_MAX_ROWS, "memory_mb": None, "timeout": DEFAULT_TIMEOUT}
class QueryLimitError(QueryError):
    """A query stopped by its time, memory or row limit (CLI exit code 3)."""


def set_limits(max_rows: int | None = None, memory_mb: int | None = None,
               timeout: float | None = None) -> None:
    """Change the row cap, the memory limit and the default timeout of every later query (the
    CLI's global options; a timeout passed to run() still wins)."""
    if timeout is not None:
        _LIMITS["timeout"] = timeout
    if max_rows is not None:
        _LIMITS["max_rows"] = max_rows
    if memory_mb is not None:
        _LIMITS["memory_mb"] = memory_mb


def check_timeout(timeout) -> float | None:
    """A timeout in seconds as the worker takes it: None for no limit. Raises QueryError."""
    if timeout is None:
        return None
    if isinstance(timeout, _Configured):
        timeout = _LIMITS["timeout"]
    try:
        seconds = float(timeout)
    except (TypeError, ValueError):
        raise QueryError(f"a timeout is a number of seconds, not {timeout!r}") from None
    if seconds != seconds or seconds <= 0:  # NaN (the one value unequal to itself), or not > 0
        raise QueryError(f"a timeout must be more than 0 seconds, not {timeout!r} "
                         "(use inf for no limit)")
    return None if seconds == float("inf") else seconds


def _syntax_error(query: Query, error: SyntaxError) -> QueryError:
    message = str(error)
    match = re.search(r"line (\d+), column (\d+)|(\d+):(\d+)", message)
    where = ""
    if match:
        line, column = [g for g in match.groups() if g][:2]
        where = f":{line}:{column}"
    return QueryError(f"{query.path}{where}: SPARQL syntax error: {message}")


def _oxigraph_answer(store: ox.Store, query: Query, substitutions: dict, max_rows: int):
    """Run in the worker: the columns and rows of a query, as plain values."""
    try:
        solutions = store.query(bind_in_subselects(query.text, substitutions), prefixes=PREFIXES,
                                substitutions=substitutions)
    except SyntaxError as error:
        raise _syntax_error(query, error) from None
    except (OSError, RuntimeError, ValueError, TypeError) as error:
        raise QueryError(f"{query.path}: {error}") from None
    try:
        return solution_rows(solutions, max_rows)
    except (OSError, RuntimeError, ValueError, TypeError) as error:
        raise QueryError(f"{query.path}: {error}") from None


def _work(query: Query, answer, timeout: float | None, *args) -> Result:
    from . import worker

    try:
        columns, rows = worker.call(answer, *args, timeout=timeout,
                                    memory_mb=_LIMITS["memory_mb"] or worker.DEFAULT_MEMORY_MB)
    except worker.LimitReached as error:
        raise QueryLimitError(limit_message(query.path, error)) from None
    return Result(query, columns, rows)


def _refuse_describe(query: Query, form: str) -> None:
    if form == "DESCRIBE":
        # The engines describe a node differently; a CONSTRUCT says exactly what is wanted.
        raise QueryError(f"{query.path}: DESCRIBE is not supported: write a CONSTRUCT that says "
                         "which triples you want")


def run(query: Query, store: ox.Store, params: dict[str, str] | None = None,
        timeout: float | None = CONFIGURED) -> Result:
    """Run a query on a pyoxigraph store with its parameters bound, in a worker that is killed
    at the timeout.

    SELECT gives its variables as columns, ASK one row with ``answer``, CONSTRUCT one row per
    triple. Raises UnsafeQuery, QueryError for bad parameters or a syntax error, and
    QueryLimitError for the timeout, the memory limit or the row cap.
    """
    timeout, substitutions = prepare(query, store, params, timeout)
    return run_prepared(query, store, timeout, substitutions)


def prepare(query: Query, store: ox.Store, params: dict[str, str] | None = None,
            timeout: float | None = CONFIGURED) -> tuple[float | None, dict]:
    """What :func:`run` checks before it asks: the timeout in seconds (None for none) and the
    parameters as pyoxigraph substitutions. Raises as :func:`run` does."""
    timeout = check_timeout(timeout)
    form = refuse_unsafe(query, timeout=timeout)
    _refuse_describe(query, form)
    bindings = bind_params(query, store, params or {})
    return timeout, {ox.Variable(name): term for name, term in bindings.items()}


def run_prepared(query: Query, store: ox.Store, timeout: float | None,
                 substitutions: dict) -> Result:
    """:func:`run` once :func:`prepare` has checked the query and bound its parameters."""
    return _work(query, _oxigraph_answer, timeout, store, query, substitutions,
                 _LIMITS["max_rows"])


def limits() -> dict:
    """The row cap, memory limit (MB, None for the worker's default) and default timeout every
    query now has (set_limits changes them)."""
    return dict(_LIMITS)


def _rdflib_answer(graph, query: Query, bindings: dict, max_rows: int):
    """Run in the worker: rdflib's answer, as the same plain values as pyoxigraph's."""
    from rdflib.plugins.sparql import prepareQuery

    from .load import to_pyoxigraph

    def plain(term):
        return None if term is None else _value(to_pyoxigraph(term))

    try:
        answer = graph.query(prepareQuery(query.text, initNs=PREFIXES), initBindings=bindings)
    except QueryError:
        raise
    except Exception as error:  # rdflib raises bare Exceptions for many query errors
        raise QueryError(f"{query.path}: {error}") from None
    if answer.type == "ASK":
        return ["answer"], [{"answer": bool(answer.askAnswer)}]
    if answer.type in ("CONSTRUCT", "DESCRIBE"):
        rows = _capped(({"subject": plain(s), "predicate": plain(p), "object": plain(o)}
                        for s, p, o in answer.graph), max_rows)
        return TRIPLE_COLUMNS, rows
    columns = [str(v) for v in answer.vars]
    rows = _capped(({name: plain(row[name]) for name in columns} for row in answer), max_rows)
    return columns, rows


def run_rdflib(query: Query, graph, params: dict[str, str] | None = None,
               timeout: float | None = CONFIGURED) -> Result:
    """Run a query with rdflib's engine, with the same checks, limits, terms and messages as
    :func:`run` (used to cross-check pyoxigraph)."""
    from .load import to_rdflib

    timeout = check_timeout(timeout)
    form = refuse_unsafe(query, timeout=timeout)
    _refuse_describe(query, form)
    guard_rdflib()
    bindings = {name: to_rdflib(term)
                for name, term in bind_params(query, graph, params or {}).items()}
    return _work(query, _rdflib_answer, timeout, graph, query, bindings, _LIMITS["max_rows"])


class CheckOutcome(Record):
    """A quality check's rows; it passes when there are none."""

    _fields = ("query", "result")

    def __init__(self, query: Query, result: Result):
        self.query = query
        self.result = result

    @property
    def severity(self) -> str:
        return self.query.header.get("severity", "error")

    @property
    def passed(self) -> bool:
        return not self.result.rows


def run_checks(store: ox.Store, folder: Path) -> list[CheckOutcome]:
    """Run every check query in ``folder``; each passes iff it returns no rows.

    Every check is vetted before the first runs (see refuse_unsafe_all), and all run in one
    worker (see run_each).
    """
    checks = discover(folder)
    refuse_unsafe_all(checks)
    return [CheckOutcome(check, result) for check, result in zip(checks, run_each(checks, store))]


def _answer_item(item: tuple):
    """Run in the worker of run_each: one query's columns and rows."""
    return _oxigraph_answer(*item)


def worker_error(query: Query, error: BaseException) -> BaseException:
    """A worker's error as :func:`run` raises it: a limit as QueryLimitError with advice."""
    from . import worker

    if isinstance(error, worker.LimitReached):
        return QueryLimitError(limit_message(query.path, error))
    return error


def run_each(queries: list[Query], store: ox.Store,
             timeout: float | None = CONFIGURED) -> list[Result]:
    """:func:`run` for each query (without parameters), all in one worker
    (``worker.call_each``): each with its own timeout, memory limit and row cap, and past a
    limit the worker is killed and its memory freed. Raises as :func:`run` does, for the first
    query in order that fails."""
    from . import worker

    timeout = check_timeout(timeout)
    items = []
    for query in queries:
        _refuse_describe(query, refuse_unsafe(query, timeout=timeout))
        bindings = bind_params(query, store, {})
        items.append((store, query, {ox.Variable(name): term for name, term in bindings.items()},
                      _LIMITS["max_rows"]))
    try:
        outcomes = worker.call_each(_answer_item, items, timeout=timeout,
                                    memory_mb=_LIMITS["memory_mb"] or worker.DEFAULT_MEMORY_MB)
    except worker.Stopped as stop:
        raise worker_error(queries[stop.index], stop.error) from None
    results = []
    for query, (kind, value) in zip(queries, outcomes):
        if kind == "error":
            raise worker_error(query, value)
        results.append(Result(query, *value))
    return results


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
