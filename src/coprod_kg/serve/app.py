"""The read-only web server: the SPARQL 1.1 Protocol, the report's questions as URLs, the
explorer, and a page for every IRI of the graph.

Routes call library functions (``query.find_query``, ``query.bind_params``, the explorer, and in
the query workers ``query.refuse_unsafe`` and ``worker.call``), never the CLI. Every query runs
in the worker pool, so the timeout kills it; page lookups are bounded and run in the server's
own read-only store.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from urllib.parse import parse_qs, urlencode

import jinja2
import pyoxigraph as ox
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from ..cache import read_only_store
from ..engines import query_form
from ..namespace import BASE, ONTOLOGY_IRI
from ..project import Project
from ..query import QueryError, bind_params, discover, find_query, parameter_sets
from ..tables import compact
from . import describe
from .negotiate import FORMAT_NAMES, choose
from .pool import GRAPH_TYPES, RESULT_TYPES, Answer, Job, Pool

RESULT_OFFERS = [*RESULT_TYPES, "text/html"]
GRAPH_OFFERS = [*GRAPH_TYPES, "text/html"]
MAX_BODY = 1024 * 1024
# Names a question URL takes besides the question's own parameters (which never use them: a
# test checks the shipped questions).
PAGE_SIZE = 1000  # rows a page of a question's answer holds unless per-page says otherwise
CONTROLS = ("format", "page", "per-page")
PAGE_OFFERS = ["text/html", "text/turtle", "application/ld+json", "application/n-triples",
               "application/rdf+xml"]


@dataclass
class Settings:
    """How the server runs; the defaults are the strict ones."""

    project: Project
    store_path: Path
    allowed_hosts: list[str] = field(default_factory=lambda: ["127.0.0.1", "localhost", "::1"])
    cors_origins: list[str] = field(default_factory=list)
    timeout: float = 10.0
    row_cap: int = 10000
    workers: int = 2
    memory_mb: int = 2048
    explorer: str | None = None  # the explorer page; None: build/explorer.html, else drawn


class Refused(Exception):
    """A request the server will not carry out (HTTP 400 with the reason)."""


def refuse_dataset(store: ox.Store, dataset: list[str]) -> None:
    """Refuse a protocol dataset (default-graph-uri, named-graph-uri) naming a graph this
    server does not hold. The query text itself (SERVICE, FROM, LOAD, updates) is checked by
    ``query.refuse_unsafe`` in the query worker. Raises Refused."""
    local = {graph.value for graph in store.named_graphs()}
    for iri in dataset:
        if iri not in local:
            raise Refused(f"graph <{iri}> is not allowed: this server answers from its own "
                          "graph only and fetches nothing")


def _templates() -> Jinja2Templates:
    folder = resources.files("coprod_kg.serve").joinpath("templates")
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(folder)), autoescape=True,
                             undefined=jinja2.StrictUndefined)
    return Jinja2Templates(env=env)


def create_app(settings: Settings) -> Starlette:
    """The ASGI application; ``settings.store_path`` must hold a pyoxigraph store of the graph."""
    templates = _templates()
    state: dict = {}

    @contextlib.asynccontextmanager
    async def lifespan(app):
        state["store"] = read_only_store(settings.store_path)
        pool = Pool(str(settings.store_path), settings.workers, settings.timeout,
                    settings.row_cap, settings.memory_mb)
        await pool.start()
        app.state.pool = pool
        try:
            yield
        finally:
            pool.close()

    def problem(request: Request, status: int, message: str) -> Response:
        if choose(request.headers.get("accept"), ["text/plain", "text/html"]) == "text/html":
            return templates.TemplateResponse(request, "error.html",
                                              {"status": status, "message": message},
                                              status_code=status)
        return PlainTextResponse(message + "\n", status_code=status)

    def wanted(request: Request, offers: list[str]) -> str | None:
        name = request.query_params.get("format")
        if name:
            media = FORMAT_NAMES.get(name.lower())
            return media if media in offers else None
        return choose(request.headers.get("accept"), offers)

    async def answer(request: Request, text: str, substitutions: dict, title: str,
                     context: dict | None = None, page: tuple[int, int] | None = None) -> Response:
        form = query_form(text)
        offers = GRAPH_OFFERS if form in ("CONSTRUCT", "DESCRIBE") else RESULT_OFFERS
        media = wanted(request, offers)
        if media is None:
            return problem(request, 406, "none of the accepted types can be given; ask for one "
                           f"of: {', '.join(offers)}")
        job = Job(text, substitutions)
        if page is not None:
            number, size = page
            job.offset, job.page_size = (number - 1) * size, size
        html = media == "text/html"
        if form in ("CONSTRUCT", "DESCRIBE"):
            job.graph_type = "text/turtle" if html else media
        else:
            job.result_type = "application/sparql-results+json" if html else media
        result: Answer = await request.app.state.pool.run(job)
        if result.status != 200:
            message = result.message
            if result.over_cap and page is None and context and "query" in context:
                message = (f"the answer has more than {settings.row_cap} rows, the server's row "
                           f"cap; ask for it a page at a time: {_page_url(request, 1)} gives the "
                           f"first {min(PAGE_SIZE, settings.row_cap)} rows, and each page links "
                           "to the next")
            return problem(request, result.status, message)
        links = _page_links(request, page, result.more)
        headers = {"Vary": "Accept"}
        if links:
            headers["Link"] = ", ".join(f'<{url}>; rel="{rel}"' for rel, url in links.items())
        if not html:
            return Response(result.body, media_type=_with_charset(result.media_type),
                            headers=headers)
        context = {"title": title, **(context or {}), "links": links}
        if page is not None:
            context["first_row"] = (page[0] - 1) * page[1] + 1
        if form in ("CONSTRUCT", "DESCRIBE"):
            context.update(kind="graph", text=result.body.decode("utf-8"))
        else:
            document = json.loads(result.body)
            if "boolean" in document:
                context.update(kind="boolean", value=document["boolean"])
            else:
                columns = document["head"]["vars"]
                rows = [[_cell(binding.get(c)) for c in columns]
                        for binding in document["results"]["bindings"]]
                context.update(kind="table", columns=columns, rows=rows)
        return templates.TemplateResponse(request, "results.html", context, headers=headers)

    async def sparql(request: Request) -> Response:
        try:
            text, dataset = await _protocol_request(request)
        except Refused as error:
            return problem(request, 400, str(error))
        if text is None:
            return templates.TemplateResponse(request, "sparql.html", {"title": "SPARQL"})
        try:
            refuse_dataset(state["store"], dataset)
        except Refused as error:
            return problem(request, 400, str(error))
        return await answer(request, text, {}, "SPARQL answer")

    def questions(request: Request) -> Response:
        listed = discover(settings.project.queries_dir)
        choices = {query.name: [urlencode(values) for values in
                                parameter_sets(query, state["store"])] if query.params else []
                   for query in listed}
        return templates.TemplateResponse(request, "questions.html",
                                          {"title": "The report's questions", "queries": listed,
                                           "choices": choices})

    async def question(request: Request) -> Response:
        name = request.path_params["name"]
        values = {k: v for k, v in request.query_params.items() if k not in CONTROLS}
        try:
            page = _page(request.query_params, settings.row_cap)
            found = find_query(settings.project.queries_dir, name) if "/" not in name else None
            if found is None or found.path.parent != settings.project.queries_dir:
                raise QueryError(f"unknown query {name!r}")
            bindings = await run_in_threadpool(bind_params, found, state["store"], values)
        except QueryError as error:
            status = 404 if str(error).startswith("unknown query") else 400
            return problem(request, status, str(error))
        return await answer(request, found.text, bindings, found.title,
                            {"query": found, "values": values}, page)

    def explorer(request: Request) -> Response:
        if "explorer" not in state:
            state["explorer"] = settings.explorer or explorer_page(settings.project,
                                                                   state["store"])
        return HTMLResponse(state["explorer"])

    def node_page(request: Request) -> Response:
        rest = request.path_params["rest"]
        iri = ONTOLOGY_IRI if rest == "ontology" else BASE + rest
        store = state["store"]
        media = wanted(request, PAGE_OFFERS)
        if media is None:
            return problem(request, 406, f"ask for one of: {', '.join(PAGE_OFFERS)}")
        try:
            node = ox.NamedNode(iri)
        except ValueError:
            return problem(request, 404, f"{rest!r} is not a valid IRI path")
        if media != "text/html":
            triples = (describe.ontology_description(store) if iri == ONTOLOGY_IRI
                       else describe.description(store, node))
            if not triples:
                return problem(request, 404, f"the graph says nothing about <{iri}>")
            from ..namespace import PREFIXES

            body = ox.serialize(triples, format=getattr(ox.RdfFormat, GRAPH_TYPES[media]),
                                prefixes=PREFIXES)
            return Response(body, media_type=_with_charset(media), headers={"Vary": "Accept"})
        found = describe.page(store, node)
        if found is None:
            return problem(request, 404, f"the graph says nothing about <{iri}>")
        terms = (describe.ontology_terms(store) if iri == ONTOLOGY_IRI else [])
        return templates.TemplateResponse(request, "node.html",
                                          {"title": found.title, "page": found, "terms": terms},
                                          headers={"Vary": "Accept"})

    def favicon(request: Request) -> Response:
        return Response(status_code=204)

    routes = [
        Route("/", explorer),
        Route("/sparql", sparql, methods=["GET", "POST"]),
        Route("/questions", questions),
        Route("/questions/", lambda r: RedirectResponse("/questions")),
        Route("/questions/{name}", question),
        Route("/favicon.ico", favicon),
        Route("/{rest:path}", node_page),
    ]
    middleware = [Middleware(TrustedHostMiddleware, allowed_hosts=settings.allowed_hosts)]
    if settings.cors_origins:
        middleware.append(Middleware(CORSMiddleware, allow_origins=settings.cors_origins,
                                     allow_methods=["GET", "POST"],
                                     allow_headers=["Accept", "Content-Type"]))
    return Starlette(routes=routes, middleware=middleware, lifespan=lifespan)


def _page(params, row_cap: int) -> tuple[int, int] | None:
    """The page of a question's answer asked for by ``page`` (from 1) and ``per-page`` (rows,
    at most the row cap; PAGE_SIZE by default), or None for the whole answer. Raises QueryError
    for a value that is not a whole number in range."""
    if "page" not in params and "per-page" not in params:
        return None
    numbers = {}
    for name, default, top in (("page", "1", None), ("per-page", str(PAGE_SIZE), row_cap)):
        raw = params.get(name, default)
        if not raw.isascii() or not raw.isdigit() or int(raw) < 1:
            raise QueryError(f"{name} must be a whole number from 1, not {raw!r}")
        numbers[name] = int(raw) if top is None else min(int(raw), top)
    return numbers["page"], numbers["per-page"]


def _page_url(request: Request, number: int) -> str:
    """This request's URL (path and query) for page ``number`` of the answer."""
    kept = [(k, v) for k, v in request.query_params.multi_items() if k != "page"]
    return f"{request.url.path}?{urlencode([*kept, ('page', str(number))])}"


def _page_links(request: Request, page: tuple[int, int] | None, more: bool) -> dict[str, str]:
    """The ``prev`` and ``next`` pages of a paged answer (RFC 8288 link relations)."""
    if page is None:
        return {}
    links = {}
    if page[0] > 1:
        links["prev"] = _page_url(request, page[0] - 1)
    if more:
        links["next"] = _page_url(request, page[0] + 1)
    return links


async def _protocol_request(request: Request) -> tuple[str | None, list[str]]:
    """The query text and dataset IRIs of a SPARQL 1.1 Protocol request. Raises Refused."""
    params = parse_qs(request.url.query, keep_blank_values=True)
    if request.method == "POST":
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        raw = await request.body()
        if len(raw) > MAX_BODY:
            raise Refused(f"the request body is over {MAX_BODY // 1024} KB; send a shorter query")
        body = raw.decode("utf-8", errors="replace")
        if kind == "application/sparql-update":
            raise Refused("updates are not allowed: this server is read-only")
        if kind == "application/x-www-form-urlencoded":
            form = parse_qs(body, keep_blank_values=True)
            for key, values in form.items():
                params.setdefault(key, []).extend(values)
        elif kind == "application/sparql-query":
            params.setdefault("query", []).append(body)
        else:
            raise Refused(f"cannot read a {kind or 'body without a type'}: send "
                          "application/sparql-query or a query= form")
    if "update" in params:
        raise Refused("updates are not allowed: this server is read-only")
    queries = params.get("query", [])
    if len(queries) > 1:
        raise Refused("give one query= only")
    dataset = params.get("default-graph-uri", []) + params.get("named-graph-uri", [])
    return (queries[0] if queries else None), dataset


def _cell(binding: dict | None) -> str:
    if binding is None:
        return ""
    return compact(binding["value"]) if binding["type"] == "uri" else binding["value"]


def _with_charset(media: str) -> str:
    binary = media in ("application/sparql-results+json", "application/ld+json",
                       "application/n-triples")
    return media if binary or "charset" in media else f"{media}; charset=utf-8"


def explorer_page(project: Project, store) -> str:
    """The explorer page: build/explorer.html where a build made one, else drawn from the graph
    (which answers every question, each in a forked worker: best done before serving starts)."""
    built = project.build_dir / "explorer.html"
    if built.is_file():
        return built.read_text("utf-8")
    from ..build import answer_all
    from ..explorer import explorer_data, render_page
    from ..paths import build_graph
    from ..viz import gap_map_data, rolled_up

    graph = build_graph(store)
    return render_page(explorer_data(graph, rolled_up(graph), gap_map_data(store),
                                     answer_all(project, store)))
