"""Where queries run: the embedded pyoxigraph store, or any SPARQL 1.1 endpoint.

An engine is anything with pyoxigraph's ``Store.query(text, prefixes=..., substitutions=...)``
call, answering with pyoxigraph result objects. ``pyoxigraph.Store`` is the embedded engine;
:class:`Endpoint` speaks the SPARQL 1.1 Protocol to a server and parses its answer back into the
same objects, so every question, check and picture runs on either without knowing which.

:class:`GraphStore` loads graphs into a server through the SPARQL 1.1 Graph Store Protocol
(``coprod-kg publish``). Both refuse redirects to another host and time out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urljoin, urlsplit

import pyoxigraph as ox

from . import query as questions
from .namespace import BASE
from .query import QueryError

# The named graphs `coprod-kg publish` writes, and the graph questions are asked of by default.
ASSERTED_GRAPH = BASE + "graph/asserted"
INFERRED_GRAPH = BASE + "graph/inferred"
DEFAULT_TIMEOUT = 30.0
MAX_REDIRECTS = 3

RESULTS_JSON = "application/sparql-results+json"
RESULTS_XML = "application/sparql-results+xml"
N_TRIPLES = "application/n-triples"


class Engine(Protocol):
    """What the library asks of a place that answers SPARQL."""

    def query(self, query: str, *, prefixes: dict[str, str] | None = None,
              substitutions: dict | None = None):
        """Answer a query with pyoxigraph's result objects (solutions, a boolean or triples)."""


class EndpointError(QueryError):
    """An endpoint that cannot be reached, refuses, redirects elsewhere or sends nonsense."""


def _strip_mask(text: str) -> str:
    """The query with strings, IRIs and comments blanked to spaces, keeping every offset."""
    pattern = re.compile(
        r'"""(?:[^"\\]|\\.|"(?!""))*"""|\'\'\'(?:[^\'\\]|\\.|\'(?!\'\'))*\'\'\''
        r'|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|<[^<>"{}|^`\\\s]*>|#[^\n]*', re.S)
    return pattern.sub(lambda m: " " * len(m.group(0)), text)


def with_values(text: str, substitutions: dict) -> str:
    """Bind variables by an inline ``VALUES`` block opening the query's WHERE group.

    This is what pyoxigraph's ``substitutions`` (RDF-dev SEP-0007) mean: the variable starts
    bound in the outermost group. The values are RDF terms written by pyoxigraph in N-Triples
    syntax, never text from a user. Raises QueryError if the query has no group to bind in.
    """
    if not substitutions:
        return text
    masked = _strip_mask(text)
    where = re.search(r"\bWHERE\s*\{", masked, re.I) or re.search(r"\{", masked)
    if not where:
        raise QueryError("cannot bind parameters: the query has no WHERE group")
    names = " ".join(str(variable) for variable in substitutions)
    values = " ".join(str(term) for term in substitutions.values())
    at = where.end()
    return f"{text[:at]} VALUES ({names}) {{ ({values}) }}{text[at:]}"


def query_form(text: str) -> str:
    """SELECT, ASK, CONSTRUCT or DESCRIBE: the first query keyword outside strings and IRIs."""
    found = re.search(r"(?<![\w:?$])(SELECT|ASK|CONSTRUCT|DESCRIBE)(?![\w:])", _strip_mask(text),
                      re.I)
    return found.group(1).upper() if found else "SELECT"


def _prologue(prefixes: dict[str, str] | None) -> str:
    return "".join(f"PREFIX {name}: <{iri}>\n" for name, iri in (prefixes or {}).items())


@dataclass
class _Http:
    """Requests to one host: a timeout, no redirect to another host, errors as EndpointError."""

    url: str
    timeout: float = DEFAULT_TIMEOUT
    auth: object = None

    def request(self, method: str, url: str | None = None, **kwargs):
        import httpx

        target = url or self.url
        origin = urlsplit(target)[:2]
        for _ in range(MAX_REDIRECTS + 1):
            try:
                response = httpx.request(method, target, timeout=self.timeout, auth=self.auth,
                                         follow_redirects=False, **kwargs)
            except httpx.TimeoutException:
                raise EndpointError(f"{target}: no answer within {self.timeout:g} s") from None
            except httpx.HTTPError as error:
                raise EndpointError(f"{target}: cannot reach the endpoint: {error}") from None
            if response.is_redirect:
                location = urljoin(target, response.headers.get("location", ""))
                if urlsplit(location)[:2] != origin:
                    raise EndpointError(f"{target}: redirects to another host ({location}); "
                                        "give that URL yourself if you trust it")
                target = location
                continue
            if response.status_code >= 400:
                detail = " ".join(response.text.split())[:300]
                raise EndpointError(f"{target}: HTTP {response.status_code}: {detail}")
            return response
        raise EndpointError(f"{self.url}: more than {MAX_REDIRECTS} redirects")


class Endpoint:
    """A SPARQL 1.1 Protocol endpoint used as an engine.

    ``graph`` is sent as ``default-graph-uri`` (None: the server's own default graph, which
    Virtuoso makes the union of all graphs and Oxigraph keeps separate).
    """

    def __init__(self, url: str, graph: str | None = INFERRED_GRAPH,
                 timeout: float = DEFAULT_TIMEOUT, auth=None):
        if urlsplit(url).scheme not in ("http", "https"):
            raise EndpointError(f"{url}: an endpoint is an http:// or https:// URL")
        self.url, self.graph = url, graph
        self.http = _Http(url, timeout, auth)

    def __repr__(self) -> str:
        return f"Endpoint({self.url!r}, graph={self.graph!r})"

    def query(self, query: str, *, prefixes: dict[str, str] | None = None,
              substitutions: dict | None = None):
        """Send a query; return QuerySolutions, QueryBoolean or a list of Triples.

        Raises EndpointError when the server cannot be reached or refuses, and SyntaxError
        when its answer cannot be parsed.
        """
        text = _prologue(prefixes) + with_values(query, substitutions or {})
        form = {"query": text}
        if self.graph:
            form["default-graph-uri"] = self.graph
        graph_form = query_form(query) in ("CONSTRUCT", "DESCRIBE")
        accept = (f"{N_TRIPLES}, text/turtle;q=0.9" if graph_form
                  else f"{RESULTS_JSON}, {RESULTS_XML};q=0.9")
        response = self.http.request("POST", data=form, headers={"Accept": accept})
        kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
        body = response.content
        if kind in (RESULTS_JSON, "application/json"):
            return ox.parse_query_results(body, format=ox.QueryResultsFormat.JSON)
        if kind in (RESULTS_XML, "application/xml", "text/xml"):
            return ox.parse_query_results(body, format=ox.QueryResultsFormat.XML)
        rdf = ox.RdfFormat.from_media_type(kind) if kind else None
        if rdf is None:
            raise EndpointError(f"{self.url}: answered with unexpected content type {kind!r}")
        return [quad.triple for quad in ox.parse(body, format=rdf)]

    def subjects(self, predicate, obj) -> list[str]:
        """The IRIs of the subjects of ``?s predicate obj`` (the look-up ``query.bind_params``
        makes for parameter choices on anything that is not an embedded store)."""
        pattern = f"{ox.NamedNode(str(predicate))} {ox.NamedNode(str(obj))}"  # N-Triples terms
        found = self.query(f"SELECT DISTINCT ?s WHERE {{ ?s {pattern} }}")
        return [s["s"].value for s in found if isinstance(s["s"], ox.NamedNode)]


class GraphStore:
    """A SPARQL 1.1 Graph Store Protocol service (e.g. Oxigraph's /store, Virtuoso's
    /sparql-graph-crud-auth)."""

    def __init__(self, url: str, timeout: float = 300.0, auth=None):
        if urlsplit(url).scheme not in ("http", "https"):
            raise EndpointError(f"{url}: a graph store is an http:// or https:// URL")
        self.url = url
        self.http = _Http(url, timeout, auth)

    def put(self, graph: str, triples: bytes, media_type: str = N_TRIPLES) -> None:
        """Replace the named graph ``graph`` with the given serialised triples."""
        self.http.request("PUT", params={"graph": graph}, content=triples,
                          headers={"Content-Type": media_type})


def digest_auth(user: str | None, password: str | None):
    """An httpx digest authenticator, or None without a user."""
    if not user:
        return None
    import httpx

    return httpx.DigestAuth(user, password or "")


# ---------------------------------------------------------------- running on either engine

def run(query: "questions.Query", engine, params: dict[str, str] | None = None,
        timeout: float | None = questions.CONFIGURED) -> "questions.Result":
    """Answer a query on either engine with the same checks, limits and messages.

    The embedded store goes through ``query.run``. An endpoint is asked from the same kind of
    killable worker, but one allowed to open its socket (the embedded engine's worker may open
    no file at all). Raises what ``query.run`` raises, and EndpointError.
    """
    if not isinstance(engine, Endpoint):
        return questions.run(query, engine, params, timeout=timeout)
    from . import worker

    timeout = questions.check_timeout(timeout)
    form = questions.refuse_unsafe(query, timeout=timeout)
    questions._refuse_describe(query, form)
    bindings = questions.bind_params(query, engine, params or {})
    substitutions = {ox.Variable(name): term for name, term in bindings.items()}
    if timeout:
        engine.http.timeout = timeout
    try:
        columns, rows = worker.call(
            questions._oxigraph_answer, engine, query, substitutions,
            questions._LIMITS["max_rows"], timeout=timeout, no_new_files=False,
            memory_mb=questions._LIMITS["memory_mb"] or worker.DEFAULT_MEMORY_MB)
    except worker.LimitReached as error:
        advice = questions._ADVICE[type(error).__name__]
        raise questions.QueryLimitError(f"{query.path}: {error}; {advice}") from None
    return questions.Result(query, columns, rows)


def run_checks(engine, folder) -> list:
    """Every check of ``folder`` on either engine; each passes iff it returns no rows.

    As ``query.run_checks``: every check is vetted before the first runs."""
    if not isinstance(engine, Endpoint):
        return questions.run_checks(engine, folder)
    checks = questions.discover(folder)
    questions.refuse_unsafe_all(checks)
    return [questions.CheckOutcome(check, run(check, engine)) for check in checks]
