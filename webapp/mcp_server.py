"""The MCP server: the library's tools for coding agents, built on the official SDK (`MCPServer`).

Two ways in, one set of tools:
- `docspasta mcp`: stdio, for an agent on the same machine (its own pool; crawl_site on unless --read-only);
- `/mcp` in the web app: streamable HTTP (stateless, so any web process answers any request), behind
  `Authorization: Bearer <DOCSPASTA_MCP_TOKEN>` and refused while that is unset; read-only unless
  DOCSPASTA_MCP_CRAWL is on.
Every tool's answer is text cut to a token budget (`max_tokens`, at most DOCSPASTA_ANSWER_TOKENS)
that says what it left out.
"""
from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, AsyncIterator
from uuid import UUID

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.transport_security import TransportSecuritySettings
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from spiders.library import answers
from spiders.library.errors import MAX_LIMIT, MIN_MAX_TOKENS, LibraryError, check_int, check_query
from spiders.library.store import LibraryStore
from webapp.guards.errors import ApiError
from webapp.guards.security import bearer_matches

logger = logging.getLogger(__name__)

INSTRUCTIONS = (
    "DocsPasta's library: documentation sites crawled into Markdown, split into sections at their headings. "
    "Start with search_docs (or list_sites, then get_outline); read with get_section or get_page. "
    "Answers are cut to max_tokens and say what they left out.")


@dataclass
class Backend:
    """What the tools read: the library, and for crawl_site/job_status the web app's state
    (settings, store, launcher). Filled by whoever runs the server, once its pool is open."""

    library: LibraryStore | None = None
    state: Any = None


def build_server(backend: Backend, *, budget: int, allow_crawl: bool, lifespan: Any = None) -> MCPServer:
    server = MCPServer("docspasta", instructions=INSTRUCTIONS, lifespan=lifespan, log_level="WARNING")

    def tokens(max_tokens: int | None) -> int:
        return check_int(max_tokens, "max_tokens", MIN_MAX_TOKENS, budget, budget)

    def job_id(raw: str | None) -> UUID | None:
        if raw in (None, ""):
            return None
        try:
            return UUID(raw)
        except ValueError:
            raise ToolError(f"job: not a job id, got {raw!r}") from None

    async def target(site: str | None, job: str | None) -> UUID:
        return (await library().resolve(site=site or None, job=job_id(job)))["id"]

    def library() -> LibraryStore:
        if backend.library is None:
            raise ToolError("the library is not open yet; try again shortly")
        return backend.library

    @server.tool()
    async def list_sites(max_tokens: int | None = None) -> str:
        """The documentation sites in the library: name, version, newest completed job, pages and tokens."""
        async with errors():
            rows = await library().sites()
            if not rows:
                return "The library is empty: no job has completed yet."
            lines = [f"- {row['site_name']}{' ' + row['site_version'] if row['site_version'] else ''}: "
                     f"job {row['id']}, {row['pages']} pages, {row['sections']} sections, {row['tokens']} tokens, "
                     f"from {row['initial_url']} (completed {row['completed_at']:%Y-%m-%d %H:%M})" for row in rows]
            return answers.fit_lines(lines, tokens(max_tokens), "sites")[0]

    @server.tool()
    async def search_docs(query: str, site: str | None = None, limit: int = 10,
                          max_tokens: int | None = None) -> str:
        """Full-text search over the library's sections (websearch syntax: "a phrase", -not, or).

        Searches the newest completed job of every site, or of `site` only. Returns the best
        sections first: heading path, page URL, token count and a snippet with matches «marked».
        """
        async with errors():
            q = check_query(query, "query")
            count = check_int(limit, "limit", 1, MAX_LIMIT, 10)
            budget_ = tokens(max_tokens)
            hits = await library().search(q, site=site or None, limit=count)
            if not hits:
                return f"No section matches {q!r}" + (f" in {site}." if site else ".")
            text, left = answers.fit_lines(answers.search_lines(hits), budget_, "results")
            return text + ("\n\nRead one with get_section(url, heading) or get_page(url)." if not left else "")

    @server.tool()
    async def get_outline(site: str | None = None, job: str | None = None, max_tokens: int | None = None) -> str:
        """A site's document as an outline: its pages in order, their headings, and each one's tokens."""
        async with errors():
            budget_ = tokens(max_tokens)
            found = await target(site, job)
            rows = await library().outline(found)
            return answers.fit_lines([f"Outline of job {found}:"] + answers.outline_lines(rows), budget_,
                                     "outline lines")[0]

    @server.tool()
    async def get_page(url: str, site: str | None = None, job: str | None = None,
                       max_tokens: int | None = None) -> str:
        """One page of the library as Markdown, cut at a block boundary to max_tokens."""
        async with errors():
            budget_ = tokens(max_tokens)
            found = await target(site, job) if site or job else await library().job_with_page(url)
            return answers.page_text(await library().page(found, url), budget_).text

    @server.tool()
    async def get_section(url: str, heading: str, site: str | None = None, job: str | None = None,
                          max_tokens: int | None = None) -> str:
        """One section of a page: `heading` is its heading, or a path of headings joined with ' > '."""
        async with errors():
            budget_ = tokens(max_tokens)
            found = await target(site, job) if site or job else await library().job_with_page(url)
            return answers.section_text(await library().section(found, url, heading), budget_).text

    @server.tool()
    async def job_status(job: str) -> str:
        """A crawl job's status and progress; once completed, where it is in the library."""
        async with errors():
            found = job_id(job)
            row = await library().job_state(found) if found else None
            if row is None:
                raise ToolError(f"job: no job has the id {job}")
            text = (f"job {row['id']}: {row['status']} ({row['current_step']}), {row['processed_urls']} pages stored"
                    f", {row['failed_urls']} failed, at most {row['max_pages']}; start URL {row['initial_url']}")
            if row["error_details"]:
                text += f"\nerror: {row['error_details']}"
            if row["library_indexed_at"] is not None:
                text += (f"\nIn the library as site {row['site_name']!r}: {row['final_token_count']} tokens. "
                         f"Try get_outline(job=\"{row['id']}\") or search_docs(query, site=\"{row['site_name']}\").")
            elif row["status"] in ("pending", "running"):
                text += "\nNot finished: ask again shortly."
            return text

    if allow_crawl:
        @server.tool()
        async def crawl_site(url: str, max_pages: int | None = None, max_depth: int | None = None,
                             quality_threshold: int | None = None, scope: str | None = None,
                             render: str | None = None) -> str:
            """Crawl a documentation site into the library (the same limits and checks as the web API).

            Returns the new job's id at once; follow it with job_status, then search_docs or get_outline.
            """
            from spiders.jobs.options import FORM
            from webapp.views.jobs import create_job

            if backend.state is None:
                raise ToolError("crawling is not available here")
            data = {"url": url, "max_pages": max_pages, "max_depth": max_depth,
                    "quality_threshold": quality_threshold, "scope": scope, "render": render}
            try:
                row = await create_job(backend.state, {k: v for k, v in data.items() if v is not None},
                                       FORM, client="mcp")
            except ApiError as exc:
                raise ToolError(exc.message) from None
            return (f"job {row['id']}: {row['status']}, crawling {row['initial_url']}. "
                    f"Ask job_status(job=\"{row['id']}\") until it has completed.")

    return server


@contextlib.asynccontextmanager
async def errors() -> AsyncIterator[None]:
    """The library's refusals become the tool's error text (the agent reads it), not a server error."""
    try:
        yield
    except LibraryError as exc:
        raise ToolError(exc.message) from None


class HttpEndpoint:
    """`/mcp`: the bearer check, then the SDK's streamable HTTP app (set while the web app runs)."""

    def __init__(self, token: str):
        self.token = token
        self.app: Any = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        from starlette.requests import Request

        request = Request(scope)
        if not bearer_matches(request, self.token):
            why = "" if self.token else " (DOCSPASTA_MCP_TOKEN is not set on the server)"
            response = JSONResponse({"success": False, "field": "authorization",
                                     "error": f"a valid `Authorization: Bearer <DOCSPASTA_MCP_TOKEN>` header is required{why}"},
                                    status_code=401, headers={"WWW-Authenticate": "Bearer"})
            return await response(scope, receive, send)
        if self.app is None:
            response = JSONResponse({"success": False, "error": "the MCP server is starting; try again shortly"},
                                    status_code=503, headers={"Retry-After": "1"})
            return await response(scope, receive, send)
        await self.app(scope, receive, send)


@contextlib.asynccontextmanager
async def serve_http(endpoint: HttpEndpoint, backend: Backend, settings: Any) -> AsyncIterator[None]:
    """Run the MCP server's HTTP side for the web app's lifetime (the SDK's session manager needs its run())."""
    server = build_server(backend, budget=settings.answer_tokens, allow_crawl=settings.mcp_crawl)
    # The bearer token is what keeps other sites' pages out (a browser cannot send it), and the
    # Host header behind a proxy is the public name: the SDK's localhost-only Host check would refuse it.
    app = server.streamable_http_app(streamable_http_path="/mcp", stateless_http=True, json_response=True,
                                     transport_security=TransportSecuritySettings(
                                         enable_dns_rebinding_protection=False))
    async with server.session_manager.run():
        endpoint.app = app
        try:
            yield
        finally:
            endpoint.app = None


def run_stdio(settings: Any, *, read_only: bool) -> int:
    from spiders.jobs.store import JobStore, create_pool
    from webapp.migrate import migrate_url

    backend = Backend()

    @contextlib.asynccontextmanager
    async def lifespan(_server: Any) -> AsyncIterator[dict[str, Any]]:
        await migrate_url(settings.database_url)
        pool = await create_pool(settings.database_url, 4)
        backend.library = LibraryStore(pool)
        # No crawl runs in this process: a job it creates waits, pending, for `docspasta serve` or a worker.
        backend.state = SimpleNamespace(settings=settings, store=JobStore(pool), launcher=None)
        try:
            await backend.library.backfill()
            yield {}
        finally:
            await pool.close()

    server = build_server(backend, budget=settings.answer_tokens, allow_crawl=not read_only, lifespan=lifespan)
    server.run("stdio")
    return 0


def _mcp(args: argparse.Namespace) -> int:
    from webapp.settings import settings_for_command

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)  # stdout carries the protocol
    settings = settings_for_command()
    if settings is None:
        return 2
    if not settings.database_url:
        print("docspasta: error: docspasta mcp needs DATABASE_URL: the library is the PostgreSQL database "
              "that docspasta serve and its workers fill", file=sys.stderr)
        return 2
    return run_stdio(settings, read_only=args.read_only)


def add_mcp_command(commands: argparse._SubParsersAction) -> None:
    mcp = commands.add_parser(
        "mcp", help="the MCP server over stdio, for a coding agent on this machine",
        description="Serve the library (every completed crawl in DATABASE_URL) to an MCP client over stdio: "
                    "list_sites, search_docs, get_outline, get_page, get_section, job_status, crawl_site.")
    mcp.add_argument("--read-only", action="store_true",
                     help="leave crawl_site out (the agent can read the library but not start crawls)")
    mcp.set_defaults(handler=_mcp)
