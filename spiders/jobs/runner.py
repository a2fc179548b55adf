"""Crawls for web jobs: one CrawlerRunner on the Twisted reactor, one `docs` crawl per job.

Three layers (crochet's advice): `JobRunner` is Twisted code returning Deferreds
and must only be called on the reactor thread; `spiders.jobs.launcher.CrochetLauncher`
schedules those calls from any thread and gives the web views plain awaitables;
the views never see a Deferred.

The runner owns the crawl side's asyncpg pool and Redis client, created on the
reactor's own event loop (never shared with uvicorn's loop), runs at most
`max_concurrent_jobs` crawls, renews its jobs' leases, and leaves every state
change to `spiders.jobs.lifecycle.JobLifecycle`.
"""
from __future__ import annotations

import asyncio
import logging
import os
import socket
from typing import Any
from uuid import UUID, uuid4

from spiders.crawl.frontier import PAGE_META  # a plain module: importing it loads no Scrapy
from webapp.settings import Settings

logger = logging.getLogger(__name__)

# Scrapy settings that name the classes a crawl builds when it starts (`JobRunner._preload`).
_COMPONENT_SETTINGS = ("SCHEDULER", "SCHEDULER_PRIORITY_QUEUE", "SCHEDULER_MEMORY_QUEUE", "SCHEDULER_DISK_QUEUE",
                       "DUPEFILTER_CLASS", "STATS_CLASS", "DOWNLOADER", "LOG_FORMATTER", "REQUEST_FINGERPRINTER_CLASS")
_COMPONENT_LISTS = ("EXTENSIONS", "DOWNLOADER_MIDDLEWARES", "SPIDER_MIDDLEWARES", "ITEM_PIPELINES")


def crawl_settings(settings: Settings) -> Any:
    from scrapy.settings import Settings as ScrapySettings

    scrapy_settings = ScrapySettings()
    scrapy_settings.setmodule("spiders.settings", priority="project")
    pipelines = {**scrapy_settings.getdict("ITEM_PIPELINES"), "spiders.jobs.pipeline.PostgresPipeline": 300}
    scrapy_settings.set("ITEM_PIPELINES", pipelines, priority="cmdline")  # the project's own stay on
    scrapy_settings.set("LOG_LEVEL", "WARNING", priority="cmdline")
    scrapy_settings.set("DOCSPASTA_ALLOW_HOSTS", settings.allow_hosts, priority="cmdline")
    # The rate cap per target host is shared by every worker through the jobs' Redis.
    scrapy_settings.set("DOCSPASTA_HOST_RATE", settings.host_rate, priority="cmdline")
    scrapy_settings.set("DOCSPASTA_REDIS_URL", settings.redis_url, priority="cmdline")
    scrapy_settings.set("DOCSPASTA_REDIS_PREFIX", settings.redis_prefix, priority="cmdline")
    scrapy_settings.setdict(settings.crawl_settings, priority="cmdline")
    return scrapy_settings


def crawl_components(settings: Any) -> list[str]:
    """The import paths of the classes a crawl with these Scrapy settings builds when it starts."""
    paths = [settings.get(name) for name in _COMPONENT_SETTINGS]
    for name in _COMPONENT_LISTS:
        paths += settings.getwithbase(name).keys()
    paths += settings.getwithbase("DOWNLOAD_HANDLERS").values()
    return [path for path in paths if isinstance(path, str)]


def dead_local_owners(owners: list[str], me: str) -> list[str]:
    """Lease owners on this host whose process is gone (`host:pid:random` tokens):
    after a kill -9 and a restart their jobs are taken over at once, not when the
    lease runs out."""
    host = socket.gethostname()
    dead = []
    for owner in owners:
        owner_host, _, rest = owner.partition(":")
        pid = rest.partition(":")[0]
        if owner == me or owner_host != host or not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            dead.append(owner)
        except PermissionError:
            pass  # alive, someone else's
    return dead


class JobRunner:
    """Runs jobs' crawls on the reactor thread. Every method returns a Deferred or a plain value."""

    def __init__(self, settings: Settings, owner: str | None = None, *, claim: bool = True):
        from twisted.internet.defer import DeferredSemaphore

        self.settings = settings
        # host:pid:random — a worker on the same host can tell that this one has died.
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid4().hex[:8]}"
        self.lease_seconds = settings.lease_seconds
        self.claim = claim  # poll the database for jobs nobody runs (off in tests that submit by hand)
        self._claim_loop: Any = None
        self.resources: Any = None
        self._crawlers: dict[UUID, Any] = {}
        self._finishing: set[UUID] = set()  # crawled, now ending (finalizing): their leases are renewed too
        self._finalizer: Any = None
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

        from spiders.jobs.events import EventPublisher, connect_redis
        from spiders.jobs.finalizer import Finalizer
        from spiders.jobs.pipeline import CrawlResources
        from spiders.jobs.store import JobStore, create_pool

        reader = self._preload()
        self._pool = await create_pool(self.settings.database_url, self.settings.crawl_db_pool_size)
        self._redis = connect_redis(self.settings.redis_url)
        publisher = EventPublisher(self._redis, self.settings.redis_prefix, self.settings.stream_maxlen,
                                   self.settings.stream_ttl)
        self.resources = CrawlResources(JobStore(self._pool, owner=self.owner), publisher)
        self._finalizer = Finalizer(self.settings.database_url,
                                    self._runner.settings.getint("DOCSPASTA_FINALIZE_WORKERS", -1),
                                    extract_workers=reader.workers,
                                    extract_tasks_per_worker=reader.max_tasks_per_child)
        self._lease_loop = task.LoopingCall(self._renew_leases)
        self._lease_loop.start(self.lease_seconds / 3, now=False).addErrback(
            lambda failure: logger.error("lease renewal stopped: %s", failure.getTraceback()))
        if self.claim:
            self._claim_loop = task.LoopingCall(self._claim_jobs)
            self._claim_loop.start(self.settings.claim_interval, now=True).addErrback(
                lambda failure: logger.error("claiming jobs stopped: %s", failure.getTraceback()))

    def _preload(self) -> Any:
        """Import what a crawl loads when its first engine starts (the spider and every component
        the settings name: download handlers, the browser's client among them, middlewares,
        extensions, pipelines) and start an extraction worker: ~1 s each that the first job after
        start-up waited for (bench/serve.py), and ~0.2 s more of component imports (an extension
        that turns itself off still imports its module: Scrapy's remote control, aiohttp).
        Returns the crawls' page reader (its pool is the one finalizing shares)."""
        from scrapy.utils.misc import load_object

        import spiders.docs  # noqa: F401
        from spiders.crawl.offload import PageReader

        for path in crawl_components(self._runner.settings):
            load_object(path)
        reader = PageReader.from_settings(self._runner.settings)
        # Finalizing runs in the same pool by default (spiders.jobs.finalizer): its modules too.
        reader.warm("spiders.jobs.finalize")
        return reader

    def stop(self) -> Any:
        from scrapy.utils.defer import deferred_from_coro

        self._stopping = True
        return deferred_from_coro(self._shutdown())

    async def _shutdown(self) -> None:
        from scrapy.utils.defer import maybe_deferred_to_future
        from twisted.internet import defer

        if self._claim_loop is not None and self._claim_loop.running:
            self._claim_loop.stop()
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
        if self._finalizer is not None:
            self._finalizer.close()

    def _renew_leases(self) -> Any:
        from scrapy.utils.defer import deferred_from_coro

        d = deferred_from_coro(self._renew())
        d.addErrback(lambda failure: logger.warning("could not renew leases: %s", failure.getErrorMessage()))
        return d

    async def _renew(self) -> None:
        # A job being finalized holds its lease as long as it is being crawled: the
        # document takes seconds to assemble for a large job, and with a lapsed lease
        # another worker would take the job over and assemble it again.
        running = list(self._crawlers) + list(self._finishing)
        writer = self.resources.writer
        held = await writer.renew_leases(running, self.owner, self.lease_seconds)
        lost = [job_id for job_id in running if job_id not in held]
        statuses = await writer.statuses(lost) if lost else {}
        for job_id in lost:
            crawler = self._crawlers.get(job_id)
            if crawler is None or crawler.engine is None:
                continue
            if statuses.get(job_id) == "cancelled":
                self._close(crawler, "cancelled")  # logged once already, by whoever cancelled it
                continue
            # Taken over while this worker was paused: stop, write nothing more.
            logger.warning("job %s: this worker no longer holds its lease; stopping its crawl", job_id)
            self._close(crawler, "lease_lost")

    def _claim_jobs(self) -> Any:
        from scrapy.utils.defer import deferred_from_coro

        d = deferred_from_coro(self._claim())
        d.addErrback(lambda failure: logger.warning("could not claim jobs: %s", failure.getErrorMessage()))
        return d

    async def _claim(self) -> None:
        """Take jobs nobody runs: new ones, scheduled refreshes that are due, and those whose worker died."""
        if self._stopping:
            return
        writer = self.resources.writer
        await writer.expire_leases_of(dead_local_owners(await writer.lease_owners(), self.owner))
        # Scheduled refreshes that are due become pending jobs, claimed below like any other
        # (by this worker or another: the database starts one per site).
        for job_id in await writer.start_due_refreshes(self.settings.max_active_jobs):
            logger.info("job %s: a scheduled refresh is due; started", job_id)
        free = self.settings.max_concurrent_jobs - len(self._runs)
        for row in await writer.claim_jobs(self.owner, free, self.lease_seconds, list(self._runs)):
            self.run_job(row["id"])

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
        from spiders.jobs.lifecycle import JobLifecycle

        lifecycle = JobLifecycle(self.resources, self._finalizer)
        try:
            resume = None
            options = await lifecycle.start(job_id, self.owner, self.lease_seconds)
            if options is None:  # not pending: running under a worker that died, or ended
                resumed = await lifecycle.resume(job_id, self.owner, self.lease_seconds)
                if resumed is None:
                    return
                options, resume = resumed
            previous = await lifecycle.previous_crawl(job_id)
            crawler = self._runner.create_crawler(DocsSpider)
            crawler.docspasta_resources = self.resources
            crawler.signals.connect(self._spider_error_handler(lifecycle, job_id), signal=signals.spider_error,
                                    weak=False)
            self._crawlers[job_id] = crawler
            try:
                await maybe_deferred_to_future(
                    self._runner.crawl(crawler, **options.as_dict(), job_id=str(job_id), resume=resume,
                                       previous=previous))
            finally:
                self._crawlers.pop(job_id, None)
            reason = crawler.stats.get_value("finish_reason") or "finished"
            self._finishing.add(job_id)
            try:
                await lifecycle.finish(job_id, options, reason)
            finally:
                self._finishing.discard(job_id)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # every failure becomes the job's state and an event
            logger.exception("job %s failed", job_id)
            await lifecycle.end(job_id, "failed", "job_failed", error=f"{type(exc).__name__}: {exc}")

    @staticmethod
    def _spider_error_handler(lifecycle: Any, job_id: UUID) -> Any:
        """A callback raised: the page is recorded failed with the error, and clients get an `error` event."""

        def on_error(failure: Any, response: Any = None, spider: Any = None) -> None:
            from scrapy.utils.defer import deferred_from_coro

            message = f"{failure.type.__name__}: {failure.getErrorMessage()}"
            ref = response.meta.get(PAGE_META) if response is not None else None
            deferred_from_coro(lifecycle.report_error(job_id, message, ref, response)).addErrback(
                lambda f: logger.warning("job %s: could not report an error: %s", job_id, f.getErrorMessage()))

        return on_error
