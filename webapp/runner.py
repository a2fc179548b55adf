"""Crawls for web jobs: one CrawlerRunner on the Twisted reactor, one `docs` crawl per job.

Three layers (crochet's advice): `JobRunner` is Twisted code returning Deferreds
and must only be called on the reactor thread; `CrochetLauncher` is the public
wrapper that schedules those calls from any thread (`@run_in_reactor`) and gives
the web views plain awaitables; the views never see a Deferred.

The runner owns the crawl side's asyncpg pool and Redis client, created on the
reactor's own event loop (never shared with uvicorn's loop). The job's state
lives in PostgreSQL: the runner moves it through
pending -> running (discovery -> processing) -> finalizing -> completed | failed,
each move a guarded statement, and a cancelled job (cancel is written by the
web side first) is left cancelled.
"""
from __future__ import annotations

import asyncio
import logging
import os
import socket
from typing import Any
from uuid import UUID, uuid4

from webapp.settings import Settings

logger = logging.getLogger(__name__)
ASYNCIO_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
PAGE_META = "docspasta_page"  # spiders.docs.PAGE_META (not imported here: it would load Scrapy early)
LEASE_SECONDS = 60


def setup_reactor() -> None:
    """Install the asyncio reactor, then start it in crochet's thread (idempotent).

    Must run before anything imports `twisted.internet.reactor`; under
    `crochet.no_setup()` (tests, where pytest-twisted owns the reactor) only the
    reactor check remains.
    """
    import sys

    from scrapy.utils.reactor import is_asyncio_reactor_installed

    if "twisted.internet.reactor" not in sys.modules:
        from twisted.internet import asyncioreactor

        # A loop of its own, never the caller's: crochet runs it in the reactor thread
        # while uvicorn runs its own loop on the main thread.
        asyncioreactor.install(eventloop=asyncio.new_event_loop())
    elif not is_asyncio_reactor_installed():
        raise RuntimeError("a non-asyncio Twisted reactor was installed before the web app started")
    import crochet

    crochet.setup()


def crawl_settings(settings: Settings) -> Any:
    from scrapy.settings import Settings as ScrapySettings

    scrapy_settings = ScrapySettings()
    scrapy_settings.setmodule("spiders.settings", priority="project")
    scrapy_settings.set("ITEM_PIPELINES", {"spiders.pipelines.PostgresPipeline": 300}, priority="cmdline")
    scrapy_settings.set("LOG_LEVEL", "WARNING", priority="cmdline")
    scrapy_settings.set("DOCSPASTA_ALLOW_HOSTS", settings.allow_hosts, priority="cmdline")
    scrapy_settings.setdict(settings.crawl_settings, priority="cmdline")
    return scrapy_settings


class JobRunner:
    """Runs jobs' crawls on the reactor thread. Every method returns a Deferred or a plain value."""

    def __init__(self, settings: Settings, owner: str | None = None):
        from twisted.internet.defer import DeferredSemaphore

        self.settings = settings
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid4().hex[:8]}"
        self.resources: Any = None
        self._crawlers: dict[UUID, Any] = {}
        self._runs: dict[UUID, Any] = {}
        self._runner: Any = None
        self._lease_loop: Any = None
        self._stopping = False
        self._slots = DeferredSemaphore(settings.max_concurrent_jobs)
        self._pool: Any = None
        self._redis: Any = None

    # -- lifecycle ------------------------------------------------------------

    def start(self) -> Any:
        from scrapy.crawler import CrawlerRunner
        from scrapy.utils.defer import deferred_from_coro

        self._runner = CrawlerRunner(crawl_settings(self.settings))
        return deferred_from_coro(self._open())

    async def _open(self) -> None:
        from twisted.internet import task

        from spiders.db import JobWriter, create_pool
        from spiders.events import EventPublisher, connect_redis
        from spiders.pipelines import CrawlResources

        self._pool = await create_pool(self.settings.database_url, self.settings.db_pool_size)
        self._redis = connect_redis(self.settings.redis_url)
        publisher = EventPublisher(self._redis, self.settings.redis_prefix, self.settings.stream_maxlen,
                                   self.settings.stream_ttl)
        self.resources = CrawlResources(JobWriter(self._pool), publisher)
        self._lease_loop = task.LoopingCall(self._renew_leases)
        self._lease_loop.start(LEASE_SECONDS / 3, now=False).addErrback(
            lambda failure: logger.error("lease renewal stopped: %s", failure.getTraceback()))

    def stop(self) -> Any:
        from scrapy.utils.defer import deferred_from_coro

        self._stopping = True
        return deferred_from_coro(self._shutdown())

    async def _shutdown(self) -> None:
        from scrapy.utils.defer import maybe_deferred_to_future
        from twisted.internet import defer

        if self._lease_loop is not None and self._lease_loop.running:
            self._lease_loop.stop()
        for crawler in list(self._crawlers.values()):
            if crawler.engine is not None and crawler.spider is not None:
                self._close(crawler, "shutdown")
        if self._runs:
            await maybe_deferred_to_future(defer.DeferredList(list(self._runs.values()), consumeErrors=True))
        if self._redis is not None:
            await self._redis.aclose()
        if self._pool is not None:
            await self._pool.close()

    def _renew_leases(self) -> Any:
        from scrapy.utils.defer import deferred_from_coro

        d = deferred_from_coro(self.resources.writer.renew_leases(list(self._crawlers), self.owner, LEASE_SECONDS))
        d.addErrback(lambda failure: logger.warning("could not renew leases: %s", failure.getErrorMessage()))
        return d

    # -- jobs ------------------------------------------------------------------

    def active(self) -> list[UUID]:
        return list(self._runs)

    def run_job(self, job_id: UUID) -> Any:
        """Crawl the job and finalize it; the Deferred fires when the job has ended (never errbacks)."""
        from scrapy.utils.defer import deferred_from_coro
        from twisted.internet import defer

        if self._stopping or self.resources is None:
            return defer.succeed(None)  # stays pending: the next start-up runs it
        if job_id in self._runs:
            return self._runs[job_id]

        def run() -> Any:
            if self._stopping:
                return None  # still pending: the next start-up runs it
            return deferred_from_coro(self._run(job_id))

        # At most `max_concurrent_jobs` crawls at once; the others wait (still pending) for a slot.
        d = self._slots.run(run)
        self._runs[job_id] = d

        def done(result: Any) -> Any:
            self._runs.pop(job_id, None)
            return result

        d.addBoth(done)
        return d

    def cancel(self, job_id: UUID) -> bool:
        """Stop the job's crawl now; True if it was running here."""
        crawler = self._crawlers.get(job_id)
        if crawler is None or crawler.engine is None or crawler.spider is None:
            return False
        self._close(crawler, "cancelled")
        return True

    @staticmethod
    def _close(crawler: Any, reason: str) -> None:
        from scrapy.utils.defer import deferred_from_coro

        d = deferred_from_coro(crawler.engine.close_spider_async(reason=reason))
        d.addErrback(lambda failure: logger.warning("closing a crawl (%s) failed: %s", reason,
                                                    failure.getErrorMessage()))

    async def _run(self, job_id: UUID) -> None:
        from scrapy import signals
        from scrapy.utils.defer import maybe_deferred_to_future

        from spiders.docs import DocsSpider
        from spiders.options import CrawlOptions

        writer = self.resources.writer
        try:
            job = await writer.get(job_id)
            if job is None:
                logger.warning("job %s not found", job_id)
                return
            options = CrawlOptions.parse(url=job["initial_url"], max_pages=job["max_pages"],
                                         max_depth=job["max_depth"], quality_threshold=job["quality_threshold"],
                                         scope=job["scope"], render=job["render"])
            started = await writer.start(job_id, options.url, self.owner, LEASE_SECONDS)
            if started is None:
                return  # cancelled (or taken) before it started
            await self._publish(job_id, "discovery_started", started)
            crawler = self._runner.create_crawler(DocsSpider)
            crawler.docspasta_resources = self.resources
            crawler.signals.connect(self._spider_error_handler(job_id), signal=signals.spider_error, weak=False)
            self._crawlers[job_id] = crawler
            try:
                await maybe_deferred_to_future(self._runner.crawl(crawler, **options.as_dict(), job_id=str(job_id)))
            finally:
                self._crawlers.pop(job_id, None)
            reason = crawler.stats.get_value("finish_reason") or "finished"
            await self._finish(job_id, options, reason)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # every failure becomes the job's state and an event
            logger.exception("job %s failed", job_id)
            await self._end(job_id, "failed", "job_failed", error=f"{type(exc).__name__}: {exc}")

    def _spider_error_handler(self, job_id: UUID) -> Any:
        """A callback raised: the page is recorded failed with the error, and clients get an `error` event."""

        def on_error(failure: Any, response: Any = None, spider: Any = None) -> None:
            from scrapy.utils.defer import deferred_from_coro

            message = f"{failure.type.__name__}: {failure.getErrorMessage()}"
            ref = response.meta.get(PAGE_META) if response is not None else None
            deferred_from_coro(self._report_error(job_id, message, ref, response)).addErrback(
                lambda f: logger.warning("job %s: could not report an error: %s", job_id, f.getErrorMessage()))

        return on_error

    async def _report_error(self, job_id: UUID, message: str, ref: Any, response: Any) -> None:
        from spiders.db import job_status
        from spiders.events import Event

        data: dict[str, Any] = {"url": getattr(response, "url", None), "message": message}
        if ref is not None:
            job = await self.resources.writer.record(job_id, {
                "url": ref.url, "final_url": response.url, "depth": ref.depth,
                "discovered_from": ref.discovered_from, "status": "failed", "http_status": response.status,
                "error": f"processing failed: {message}"})
            data = {"url": ref.url, "message": message, "job": job_status(job)}
        await self.resources.publisher.publish(job_id, Event("error", data))

    async def _finish(self, job_id: UUID, options: Any, reason: str) -> None:
        writer = self.resources.writer
        if reason == "cancelled":
            await self._end(job_id, "cancelled", "job_cancelled", reason=reason)
            return
        if reason != "finished":
            await self._end(job_id, "failed", "job_failed", error=f"the crawl stopped: {reason}", reason=reason)
            return
        stepped = await writer.set_step(job_id, "finalizing")
        if stepped is None:
            return  # cancelled meanwhile: cancel wins
        await self._publish(job_id, "step_changed", stepped)
        limit = stepped["processed_urls"] >= options.max_pages
        await writer.close_frontier(
            job_id, "not fetched: page limit reached" if limit else "not fetched: the crawl ended first")
        pages = await writer.pages(job_id)
        if not any(page["status"] == "completed" for page in pages):
            why = next((page["error"] for page in pages if page.get("error")), "nothing was fetched")
            await self._end(job_id, "failed", "job_failed",
                            error=f"no page could be crawled from {options.url}: {why}", reason=reason)
            return
        from webapp.finalize import build_outputs

        outputs = build_outputs(pages, source_url=options.url, quality_threshold=options.quality_threshold)
        row = await writer.complete(job_id, outputs.markdown, outputs.token_count, outputs.llms_txt,
                                    outputs.verdicts)
        if row is not None:
            await self._publish(job_id, "job_completed", row, tokenCount=outputs.token_count,
                                included=len(outputs.included), dropped=len(outputs.dropped))

    async def _end(self, job_id: UUID, status: str, event_type: str, *, error: str | None = None,
                   reason: str | None = None) -> None:
        try:
            row = await self.resources.writer.end(job_id, status, error=error, reason=reason)
        except Exception:
            logger.exception("job %s: could not record %s", job_id, status)
            return
        if row is not None:
            await self._publish(job_id, event_type, row, error=error)

    async def _publish(self, job_id: UUID, event_type: str, row: Any, **data: Any) -> None:
        from spiders.db import job_status
        from spiders.events import Event

        try:
            await self.resources.publisher.publish(job_id, Event(event_type, {"job": job_status(row), **data}))
        except Exception:  # the state is in PostgreSQL; the SSE handler falls back to it
            logger.exception("job %s: could not publish %s", job_id, event_type)


class CrochetLauncher:
    """The web side's handle on a JobRunner living on the reactor thread."""

    def __init__(self, runner: JobRunner, *, owns_runner: bool = True):
        from crochet import run_in_reactor

        self.runner = runner
        self.owns_runner = owns_runner
        self._start = run_in_reactor(runner.start)
        self._stop = run_in_reactor(runner.stop)
        self._cancel = run_in_reactor(runner.cancel)

    async def start(self) -> None:
        if self.owns_runner:
            await asyncio.to_thread(self._start().wait, 60)

    async def stop(self) -> None:
        if self.owns_runner:
            await asyncio.to_thread(self._stop().wait, 120)

    def submit(self, job_id: UUID) -> None:
        # Not awaited: the crawl runs for minutes. Scheduled with callFromThread rather
        # than through an EventualResult, which crochet would log as an error when it
        # is garbage-collected before the job ends; run_job never errbacks (every
        # failure becomes the job's state and an event) and logs anything unexpected.
        from twisted.internet import reactor

        reactor.callFromThread(self._submit_in_reactor, job_id)

    def _submit_in_reactor(self, job_id: UUID) -> None:
        self.runner.run_job(job_id).addErrback(
            lambda failure: logger.error("job %s: %s", job_id, failure.getTraceback()))

    async def cancel(self, job_id: UUID) -> bool:
        return bool(await asyncio.to_thread(self._cancel(job_id).wait, 10))
