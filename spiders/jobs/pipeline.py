"""Store each page of a web job in PostgreSQL and publish its event to Redis.

`PostgresPipeline` is on only when the crawl belongs to a job (setting
DOCSPASTA_JOB_ID or spider argument `job_id`) and has a database: the web app's
runner hands it the reactor loop's pool and Redis client through
`crawler.docspasta_resources`; a terminal run gives DOCSPASTA_DATABASE_URL (and
optionally DOCSPASTA_REDIS_URL) and the pipeline opens its own. The terminal
crawl sets none of these, so it needs no server.

The pipeline also listens to `pages_queued` and adds the new URLs to the job's
frontier (job_urls, status pending; a URL already there is left alone).

Pages are stored in batches: the pages that arrive while a batch is being written go
together in the next one, one transaction of a few statements whatever their number,
and so do the URLs they lead to and the requests that went out. One write per page
serialises a job on its database round trips (a dozen a page under the job's lock:
bench/serve.py's 500-page job ran at 0.4-0.7x the terminal crawl's pages/s); a batch
costs the same as one page, so a fast crawl writes bigger batches instead of waiting.
A refresh's pages (mostly 304s) gain most. Events then carry the counters as they stood
after their batch. Each kind of write (pages, frontier URLs, claims) starts a round at most
every WRITE_INTERVAL (50 ms): rounds that followed each other as fast as the database answered
held ~4 pages each, and their per-statement and per-commit work was PostgreSQL's 0.6 CPU-s and
a quarter of the reactor's extra time per 500-page job, taken from the extraction processes on
a 2-core host (bench/serve.py: PostgreSQL 0.58 -> 0.26 CPU-s, serve/terminal pages/s 0.80-0.84
-> 0.86-0.89). A page waits at most that long for its write; a slow crawl's pages wait not at all.
Settings read: DOCSPASTA_JOB_ID, DOCSPASTA_DATABASE_URL, DOCSPASTA_REDIS_URL,
DOCSPASTA_REDIS_PREFIX, DOCSPASTA_STREAM_MAXLEN, DOCSPASTA_STREAM_TTL.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from scrapy import signals
from scrapy.exceptions import DropItem, NotConfigured

from spiders.crawl.frontier import PAGE_META
from spiders.crawl.signals import pages_queued
from spiders.jobs import events
from spiders.jobs.events import REDIS_PREFIX, STREAM_MAXLEN, STREAM_TTL, Event, EventPublisher, connect_redis
from spiders.jobs.status import job_status
from spiders.jobs.store import JobStore, LeaseLost, create_pool

logger = logging.getLogger(__name__)
_EVENT_STATUS = {"completed": "success", "failed": "failed", "skipped": "skipped"}


@dataclass
class CrawlResources:
    """Connections that belong to the reactor's event loop, shared by every job's crawl."""

    writer: JobStore
    publisher: EventPublisher | None


def url_event(item: Any, job: Any) -> Event:
    return Event(events.URL_COMPLETED, {
        "url": item["url"], "status": _EVENT_STATUS.get(item["status"], item["status"]),
        "title": item.get("title") or "", "quality": item.get("quality"), "depth": item.get("depth"),
        "reason": item.get("error"), "job": job_status(job),
    })


class PostgresPipeline:
    def __init__(self, job_id: UUID, resources: CrawlResources | None = None, *,
                 database_url: str | None = None, redis_url: str | None = None,
                 redis_prefix: str = REDIS_PREFIX, stream_maxlen: int = STREAM_MAXLEN, stream_ttl: int = STREAM_TTL):
        self.job_id = job_id
        self.resources = resources
        self._own = resources is None  # opened here, closed here
        self.database_url = database_url
        self.redis_url = redis_url
        self.redis_prefix = redis_prefix
        self.stream_maxlen = stream_maxlen
        self.stream_ttl = stream_ttl
        self._pool: Any = None
        self._redis: Any = None
        self._tasks: set[asyncio.Task] = set()
        self._queueing: set[asyncio.Future] = set()
        self._lock = asyncio.Lock()
        self.crawler: Any = None
        self._closing = False
        self._close_task: asyncio.Future | None = None
        self.batching = True  # pages (and frontier writes, claims) stored a batch at a time; False: one by one
        self._batch: list[tuple[Any, asyncio.Future]] = []
        self._unstored = 0  # pages handed to `_batched` and not yet stored (or dropped)
        self._draining: asyncio.Future | None = None
        self._claims: list[tuple[str, int]] = []
        self._claiming: asyncio.Future | None = None
        self._refs: list[Any] = []
        self._queuer: asyncio.Future | None = None
        self._rounds: dict[str, float] = {}  # each kind of write: when its last round started (monotonic)
        self._flush = asyncio.Event()  # set when the crawl closes: no round waits any more

    @classmethod
    def from_crawler(cls, crawler: Any) -> PostgresPipeline:
        settings = crawler.settings
        raw_id = settings.get("DOCSPASTA_JOB_ID") or getattr(crawler.spider, "job_id", None)
        if not raw_id:
            raise NotConfigured("no DOCSPASTA_JOB_ID; pages are not stored")
        try:
            job_id = UUID(str(raw_id))
        except ValueError:
            raise NotConfigured(f"DOCSPASTA_JOB_ID {raw_id!r} is not a UUID") from None
        resources = getattr(crawler, "docspasta_resources", None)
        database_url = settings.get("DOCSPASTA_DATABASE_URL")
        if resources is None and not database_url:
            raise NotConfigured("DOCSPASTA_DATABASE_URL not set; pages are not stored")
        pipeline = cls(
            job_id, resources, database_url=database_url, redis_url=settings.get("DOCSPASTA_REDIS_URL"),
            redis_prefix=settings.get("DOCSPASTA_REDIS_PREFIX", REDIS_PREFIX),
            stream_maxlen=settings.getint("DOCSPASTA_STREAM_MAXLEN", STREAM_MAXLEN),
            stream_ttl=settings.getint("DOCSPASTA_STREAM_TTL", STREAM_TTL),
        )
        pipeline.crawler = crawler
        crawler.signals.connect(pipeline.on_pages_queued, signal=pages_queued)
        crawler.signals.connect(pipeline.on_request_sent, signal=signals.request_reached_downloader)
        return pipeline

    async def open_spider(self, spider: Any = None) -> None:
        if not self._own:
            return
        self._pool = await create_pool(self.database_url, 4)
        publisher = None
        if self.redis_url:
            self._redis = connect_redis(self.redis_url)
            publisher = EventPublisher(self._redis, self.redis_prefix, self.stream_maxlen, self.stream_ttl)
        self.resources = CrawlResources(JobStore(self._pool), publisher)

    async def close_spider(self, spider: Any = None) -> None:
        self._flush.set()  # the last rounds go now: the job's document waits for them
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._own:
            if self._redis is not None:
                await self._redis.aclose()
            if self._pool is not None:
                await self._pool.close()

    async def process_item(self, item: Any) -> Any:
        if self._queueing:
            # The spider announces the links a page led to before it hands the page over:
            # they are in the frontier first, so the page's event counts them in the total.
            await asyncio.wait(list(self._queueing))
        if self.batching:
            return await self._batched(item)
        # One write-and-publish at a time per job: events leave in the order their
        # counters were committed, so a client never sees "done" go backwards.
        async with self._lock:
            try:
                job = await self.resources.writer.record(self.job_id, item)
            except LeaseLost as exc:  # another worker runs this job now: write nothing, stop
                self._stop("lease_lost")
                # DEBUG: the pages in flight when a crawl stops are expected, and each would
                # otherwise log the whole item, Markdown and all.
                raise DropItem(f"not stored: {exc}", log_level="DEBUG") from exc
            except Exception as exc:  # every failure becomes an event; Scrapy logs the drop
                await self._publish(Event(events.ERROR, {
                    "url": item.get("url"), "message": f"could not store the page: {type(exc).__name__}: {exc}"}))
                raise DropItem(f"not stored: {exc}") from exc
            if job is not None and job["status"] == "running":
                await self._publish(url_event(item, job))
            elif job is not None and job["status"] == "cancelled":
                self._stop("cancelled")
                raise DropItem("the job was cancelled; the page is not stored", log_level="DEBUG")
        return item

    BATCH = 100  # pages at most in one transaction
    WRITE_INTERVAL = 0.05  # seconds at least between two rounds of one kind of write
    BEHIND = 100  # pages handed over and not yet stored, at most, before a page waits for its own

    async def _batched(self, item: Any) -> Any:
        """Store the item with the others waiting, behind the crawl: the page is handed over and
        the crawl goes on. Scrapy keeps a response (body and all) until its callback's outputs are
        through, and counts it against SCRAPER_SLOT_MAX_ACTIVE_SIZE: pages waiting here for their
        write filled the slot a quarter of a 500-page job's time, and no page was fetched meanwhile
        (bench/serve.py). Past BEHIND pages not yet stored (a slow database) a page waits for its
        own write, so the pages held here stay bounded. Nothing is lost if the process dies before
        the write: the page is still pending or processing in the stored frontier and is fetched
        again on resume. Either way, close_spider waits for every write before the job finalizes."""
        done = asyncio.get_running_loop().create_future()
        self._batch.append((item, done))
        self._unstored += 1
        done.add_done_callback(self._stored)
        if self._draining is None or self._draining.done():
            self._draining = self._background(self._drain())
        if self._unstored > self.BEHIND:
            return await done
        done.add_done_callback(self._log_unstored)
        return item

    def _stored(self, done: asyncio.Future) -> None:
        self._unstored -= 1

    def _log_unstored(self, done: asyncio.Future) -> None:
        """What Scrapy logs for an item its pipeline drops, for a page no one waited for."""
        error = None if done.cancelled() else done.exception()
        if error is not None:
            level = logging.getLevelName(getattr(error, "log_level", None) or "WARNING")
            logger.log(level if isinstance(level, int) else logging.WARNING, "job %s: %s", self.job_id, error)

    async def _pace(self, kind: str) -> None:
        """Wait until WRITE_INTERVAL has passed since the last round of `kind` started: what arrives
        meanwhile goes in this round."""
        wait = self._rounds.get(kind, float("-inf")) + self.WRITE_INTERVAL - time.monotonic()
        if wait > 0 and not self._flush.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._flush.wait(), wait)
        self._rounds[kind] = time.monotonic()

    async def _drain(self) -> None:
        while self._batch:
            await self._pace("pages")
            batch, self._batch = self._batch[:self.BATCH], self._batch[self.BATCH:]
            items = [item for item, _ in batch]
            async with self._lock:  # after the frontier writes queued before it (first come, first served)
                try:
                    job, each = await self.resources.writer.record_batch(self.job_id, items)
                except LeaseLost as exc:
                    self._stop("lease_lost")
                    self._settle(batch, DropItem(f"not stored: {exc}", log_level="DEBUG"))
                    continue
                except Exception as exc:
                    for item in items:
                        await self._publish(Event(events.ERROR, {
                            "url": item.get("url"),
                            "message": f"could not store the page: {type(exc).__name__}: {exc}"}))
                    self._settle(batch, DropItem(f"not stored: {exc}"))
                    continue
                if job is not None and job["status"] == "cancelled":
                    self._stop("cancelled")
                    self._settle(batch, DropItem("the job was cancelled; the page is not stored", log_level="DEBUG"))
                    continue
                if job is not None and job["status"] == "running":
                    await self._publish_many([url_event(item, row) for item, row in zip(items, each, strict=True)])
                self._settle(batch, None)

    @staticmethod
    def _settle(batch: list[tuple[Any, asyncio.Future]], error: Exception | None) -> None:
        for item, done in batch:
            if done.done():
                continue  # (cancelled: the crawl is closing)
            if error is not None:
                done.set_exception(error)
            else:
                done.set_result(item)

    def _stop(self, reason: str) -> None:
        """The job was cancelled in the database (by any process), or its lease went to
        another worker: stop this crawl now."""
        if self._closing or self.crawler is None or self.crawler.engine is None:
            return
        self._closing = True
        # A cancel is logged once, where it was made (webapp/views/jobs.py); here it is routine.
        logger.log(logging.DEBUG if reason == "cancelled" else logging.INFO,
                   "job %s: closing its crawl (%s)", self.job_id, reason)
        # Not one of self._tasks: close_spider awaits those, and this task awaits close_spider.
        self._close_task = asyncio.ensure_future(self.crawler.engine.close_spider_async(reason=reason))

    def on_pages_queued(self, refs: list[Any], spider: Any = None) -> None:
        if self.batching:
            # Into the running frontier write's next round if there is one: process_item waits for
            # that task, so an item is stored after the links it announced, as below.
            self._refs.extend(refs)
            if self._queuer is not None and not self._queuer.done():
                return
            task = self._queuer = self._background(self._queue_batches())
        else:
            task = self._background(self._queue(list(refs)))
        self._queueing.add(task)
        task.add_done_callback(self._queueing.discard)

    async def _queue_batches(self) -> None:
        while self._refs:
            await self._pace("frontier")
            refs, self._refs = self._refs, []
            await self._queue(refs)

    def on_request_sent(self, request: Any, spider: Any = None) -> None:
        ref = request.meta.get(PAGE_META)
        if ref is None or self.resources is None:
            return
        if not self.batching:
            self._background(self._claim(ref.key, request.meta.get("retry_times", 0)))
            return
        self._claims.append((ref.key, request.meta.get("retry_times", 0)))
        if self._claiming is None or self._claiming.done():
            self._claiming = self._background(self._claim_batches())

    async def _claim_batches(self) -> None:
        # Taken before the lock is asked for: a URL's frontier write, queued before its request
        # went out, is then ahead of its claim in the lock's line (first come, first served).
        while self._claims:
            await self._pace("claims")
            if self._queuer is not None and not self._queuer.done():
                # A URL's row may be in the frontier write's next round, not yet in the lock's line.
                await asyncio.wait([self._queuer])
            claims, self._claims = self._claims, []
            async with self._lock:
                try:
                    await self.resources.writer.claim_many(self.job_id, claims)
                except Exception:
                    logger.exception("job %s: could not mark %d URLs processing", self.job_id, len(claims))

    def _background(self, coro: Any) -> asyncio.Future:
        # Signal handlers cannot be awaited by the spider: run the write as a task,
        # awaited in close_spider so the rows are complete before finalizing.
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _claim(self, key: str, retry_count: int) -> None:
        # Under the lock: the task adding this URL to the frontier was queued first and
        # asyncio.Lock is first-come first-served, so the row exists when this runs.
        async with self._lock:
            try:
                await self.resources.writer.claim(self.job_id, key, retry_count)
            except Exception:
                logger.exception("job %s: could not mark %s processing", self.job_id, key)

    async def _queue(self, refs: list[Any]) -> None:
        async with self._lock:
            try:
                inserted, job = await self.resources.writer.queue(self.job_id, refs)
            except LeaseLost:
                self._stop("lease_lost")
                return
            except Exception:
                logger.exception("job %s: could not add %d URLs to the frontier", self.job_id, len(refs))
                return
            if inserted and job is not None and job["status"] == "running":
                await self._publish(Event(events.URLS_DISCOVERED, {"count": inserted, "job": job_status(job)}))

    async def _publish_many(self, batch: list[Event]) -> None:
        if self.resources.publisher is None:
            return
        try:
            await self.resources.publisher.publish_many(self.job_id, batch)
        except Exception:  # Redis carries events, not state (as _publish)
            logger.exception("job %s: could not publish %d events", self.job_id, len(batch))

    async def _publish(self, event: Event) -> None:
        if self.resources.publisher is None:
            return
        try:
            await self.resources.publisher.publish(self.job_id, event)
        except Exception:  # Redis carries events, not state: the page is stored, the SSE handler reads PG
            logger.exception("job %s: could not publish %s", self.job_id, event.type)
