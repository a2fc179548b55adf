"""The Starlette app: wiring only. Routes are listed here; clients live in the lifespan.

`create_app(settings)` builds the app. Its lifespan applies migrations, opens
uvicorn's loop's asyncpg pool and Redis client, and starts the crawl side (a
JobRunner on crochet's reactor thread, with its own pool and client) unless a
launcher was passed in (tests) or crawls are off.
"""
from __future__ import annotations

import asyncio
import logging
import secrets
from contextlib import asynccontextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any, AsyncIterator

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import FileResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from webapp.guards.csrf import CsrfTokens
from webapp.guards.errors import exception_handlers
from webapp.guards.security import BodyLimitMiddleware, SecurityHeadersMiddleware, http_href
from webapp.mcp_server import Backend, HttpEndpoint, serve_http
from webapp.settings import Settings
from webapp.views import api, library, maintenance, pages, refresh
from webapp.views.metrics import Metrics, metrics_endpoint

logger = logging.getLogger(__name__)
PACKAGE = Path(__file__).resolve().parent


def asset_dir(name: str) -> Path:
    """`templates/` or `static/`: inside the package in an installed wheel (pyproject.toml copies
    them there), at the top of the source tree in a checkout or an editable install."""
    installed = PACKAGE / name
    return installed if installed.is_dir() else PACKAGE.parent / name


TEMPLATES_DIR = asset_dir("templates")
STATIC_DIR = asset_dir("static")


async def favicon(request: Any) -> FileResponse:
    """Browsers and feed readers ask for /favicon.ico whatever the page links: the same icon."""
    return FileResponse(STATIC_DIR / "favicon.svg", media_type="image/svg+xml",
                        headers={"Cache-Control": "public, max-age=86400"})


def routes(mcp_endpoint: Any = None) -> list[Any]:
    job = "/api/v3/jobs/{job_id}"
    return [
        Route("/", pages.index, name="index"),
        Route("/search", library.search_page, name="search_page"),
        Route("/library/{job_id}/page", library.page_view, name="library_page"),
        Route("/api/v3/search", library.search, name="api_search"),
        Route("/api/v3/sites", library.sites, name="api_sites"),
        Route(job + "/outline", library.outline, name="api_outline"),
        Route(job + "/pages", library.page, name="api_page"),
        Route(job + "/sections", library.section, name="api_section"),
        *([Route("/mcp", mcp_endpoint, methods=["GET", "POST", "DELETE"], name="mcp")] if mcp_endpoint else []),
        Route("/jobs", pages.submit, methods=["POST"], name="submit"),
        Route("/jobs/{job_id}", pages.job_page, name="job_page"),
        Route("/jobs/{job_id}/events", pages.job_events, name="job_events"),
        Route("/jobs/{job_id}/cancel", pages.cancel, methods=["POST"], name="job_cancel"),
        Route("/jobs/{job_id}/rerun", pages.rerun, methods=["POST"], name="job_rerun"),
        Route("/jobs/{job_id}/refresh", refresh.refresh_form, methods=["POST"], name="job_refresh"),
        Route("/jobs/{job_id}/pages/{page_id:int}", pages.page_detail, name="page_detail"),
        Route("/favicon.ico", favicon, name="favicon"),
        Route("/api/v3/jobs", api.post_job, methods=["POST"], name="api_create"),
        Route("/api/v3/jobs", api.list_jobs, methods=["GET"], name="api_list"),
        Route("/api/v3/process", maintenance.process, methods=["POST"], name="api_process"),
        Route("/api/v3/schedules", refresh.list_schedules, methods=["GET"], name="api_schedules"),
        Route("/api/v3/schedules", refresh.put_schedule, methods=["PUT"], name="api_schedule_put"),
        Route("/api/v3/schedules", refresh.delete_schedule, methods=["DELETE"], name="api_schedule_delete"),
        Route(job, api.get_job, name="api_job"),
        Route(job, library.label, methods=["PATCH"], name="api_label"),
        Route(job + "/stream", api.stream, name="api_stream"),
        Route(job + "/cancel", api.cancel, methods=["POST"], name="api_cancel"),
        Route(job + "/refresh", refresh.post_refresh, methods=["POST"], name="api_refresh"),
        Route(job + "/changes", refresh.changes, name="api_changes"),
        Route(job + "/export.json", api.export_json, name="api_export"),
        Route(job + "/document.md", api.document_md, name="api_document"),
        Route(job + "/llms.txt", api.llms_txt, name="api_llms_txt"),
        Route(job + "/llms-full.txt", api.llms_full_txt, name="api_llms_full_txt"),
        Route("/metrics", metrics_endpoint, name="metrics"),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]


async def _backfill(library_store: Any) -> None:
    """Index the jobs that completed before the library existed (or whose indexing failed)."""
    try:
        if indexed := await library_store.backfill():
            logger.info("library: %d completed jobs indexed", indexed)
    except asyncio.CancelledError:
        raise
    except Exception:
        logger.exception("library: the backfill failed; it runs again at the next start")


def crochet_launcher(settings: Settings) -> Any:
    from spiders.jobs.launcher import CrochetLauncher, setup_reactor
    from spiders.jobs.runner import JobRunner

    setup_reactor()
    return CrochetLauncher(JobRunner(settings))


def create_app(settings: Settings | None = None, *, launcher: Any = None) -> Starlette:
    settings = settings or Settings.from_env()
    templates = Jinja2Templates(directory=TEMPLATES_DIR)
    metrics = Metrics()  # the app's own registry: several apps in one process do not collide
    # The reactor is installed here, before any event loop runs (see runner.setup_reactor).
    own_launcher = crochet_launcher(settings) if launcher is None and settings.run_crawls else None

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Any]]:
        from spiders.jobs.events import EventPublisher, connect_redis
        from spiders.jobs.store import JobStore, create_pool
        from spiders.library.store import LibraryStore
        from webapp.migrate import migrate_url

        applied = await migrate_url(settings.database_url)
        if applied:
            logger.info("applied migrations: %s", ", ".join(applied))
        # every connection opened now: opening one mid-burst costs a request tens of milliseconds
        pool = await create_pool(settings.database_url, settings.db_pool_size, min_size=settings.db_pool_size)
        redis = connect_redis(settings.redis_url)
        store = JobStore(pool, outage_seconds=0)  # a request answers now (503), it does not wait an outage out
        jobs_launcher = launcher if launcher is not None else own_launcher
        owned = own_launcher is not None
        if owned:
            await jobs_launcher.start()
        library_store = LibraryStore(pool)
        backfill = asyncio.create_task(_backfill(library_store))
        try:
            if jobs_launcher is not None and not owned:
                # An app's own runner claims these itself (spiders/jobs/runner.py); a launcher
                # handed in is given the jobs nobody runs: new ones, and ones to resume.
                for job_id in await store.claimable_ids():
                    jobs_launcher.submit(job_id)
            state = {
                "settings": settings, "store": store, "redis": redis, "templates": templates,
                "publisher": EventPublisher(redis, settings.redis_prefix, settings.stream_maxlen, settings.stream_ttl),
                "launcher": jobs_launcher, "metrics": metrics, "csrf": csrf_tokens, "library": library_store,
            }
            backend = Backend(library_store, SimpleNamespace(**state))
            async with serve_http(mcp_endpoint, backend, settings):
                yield state
        finally:
            backfill.cancel()
            if owned:
                await jobs_launcher.stop()
            await redis.aclose()
            await pool.close()

    # A random key unless configured: forms then last as long as the process (README, "Security").
    csrf_tokens = CsrfTokens(settings.secret_key or secrets.token_urlsafe(32))
    middleware = [Middleware(SecurityHeadersMiddleware),
                  Middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)]
    mcp_endpoint = HttpEndpoint(settings.mcp_token)
    app = Starlette(routes=routes(mcp_endpoint), lifespan=lifespan, exception_handlers=exception_handlers(),
                    middleware=middleware)
    templates.env.filters["http_href"] = http_href
    # Links are paths, not absolute URLs: right behind any proxy, whatever the Host header says.
    templates.env.globals["path_for"] = path_finder(app)
    return app


def path_finder(app: Starlette) -> Any:
    """`path_for(name, **params)` for the templates: the named route asked directly. A job page links
    each of its hundreds of rows, and Starlette's `url_path_for` tries every route in turn for each
    (a third of the page's CPU time on a 10,000-page job, bench/job_page.py)."""
    by_name = {route.name: route for route in app.routes if getattr(route, "name", None)}

    def path_for(name: str, **params: Any) -> str:
        route = by_name.get(name)
        return str(route.url_path_for(name, **params) if route is not None else app.url_path_for(name, **params))

    return path_for
