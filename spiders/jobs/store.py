"""The one repository for a job's rows (`crawl_jobs`, `job_urls`), used by the crawl
side (on the reactor's loop) and the web side (on uvicorn's loop), each with its
own asyncpg pool: a pool belongs to the loop that made it and is never shared.

Every state change is one guarded statement or one transaction, so the database
stays the truth whoever writes: a transition happens only from the state it
expects (`WHERE status = 'running'`), and counters change in the transaction
that changes the URL they count. Settings read (by the pipelines):
DOCSPASTA_DATABASE_URL.
"""
from __future__ import annotations

import json
import os
from typing import Any, Iterable, Mapping
from uuid import UUID, uuid4

from spiders.crawl.urls import normalize_url
from spiders.jobs.options import CrawlOptions
from spiders.jobs.status import PARTIAL
from spiders.library.sections import site_name

# The spider's item fields, as stored in job_urls (item field -> column).
ITEM_COLUMNS = {
    "url": "url", "final_url": "final_url", "title": "title", "depth": "depth",
    "discovered_from": "discovered_from", "status": "status", "http_status": "http_status",
    "error": "error_message", "markdown": "markdown", "quality": "quality",
    "quality_reasons": "quality_reasons", "word_count": "word_count",
    "token_count": "token_count", "fetched_at": "fetched_at",
    "etag": "etag", "last_modified": "last_modified", "content_hash": "content_hash",
}
# Fields of a page that answered 304 that are its own (the rest of `extra` is the earlier page's).
FETCH_EXTRA = ("not_modified", "rendered", "render_reason")
FINISHED = ("completed", "failed", "skipped")
CANCELLED = "cancelled"  # the reason a URL the crawl never fetched gives when its job was cancelled
_COUNTER = {"completed": "processed", "failed": "failed", "skipped": "skipped"}

# Counters move by the deltas given ($2..$5, under the job row's lock), and with them what the
# job expects to fetch (README, "JSON API": totalUrls) and the progress shown: a ratio of the
# two, kept at its highest (pages found later grow the expectation, which must not move the
# bar back) and below 100 until the job has completed.
_BUMP = """
UPDATE crawl_jobs j SET
    processed_urls = n.p, failed_urls = n.f, skipped_urls = n.s, discovered_urls = n.d, total_urls = n.total,
    progress = greatest(j.progress, least(99, CASE WHEN n.total > 0 THEN 100 * (n.p + n.f + n.s) / n.total
                                                   ELSE 0 END)),
    current_step = CASE WHEN j.status = 'running' AND j.current_step = 'discovery' AND $2 > 0
                        THEN 'processing' ELSE j.current_step END,
    updated_at = now()
FROM (SELECT c.p, c.f, c.s, c.d,
             c.p + c.f + c.s + least(greatest(c.d - c.p - c.f - c.s, 0), greatest(c.max_pages - c.p, 0)) AS total
      FROM (SELECT processed_urls + $2 AS p, failed_urls + $3 AS f, skipped_urls + $4 AS s,
                   discovered_urls + $5 AS d, max_pages FROM crawl_jobs WHERE id = $1) c) n
WHERE j.id = $1
RETURNING j.*
"""


async def _keep_session(conn: Any) -> None:
    """No reset on release: DocsPasta never changes session state (no SET, LISTEN or session
    advisory locks; migrations take a transaction lock on a connection of their own), and
    asyncpg's default reset costs a round trip on every release."""


async def create_pool(database_url: str, max_size: int, *, min_size: int = 1) -> Any:
    """An asyncpg pool for the calling thread's event loop (one per loop, never shared)."""
    import asyncpg

    # A process paused mid-transaction (SIGSTOP, a stalled VM) would hold the job row's lock
    # for ever, and FOR UPDATE SKIP LOCKED would never hand its job to another worker: the
    # server ends such a session after 10 s, releasing the lock (our transactions take ms).
    # application_name says which process holds a session (pg_stat_activity, server logs): with
    # many workers on many hosts, that is the first thing an operator asks.
    return await asyncpg.create_pool(database_url, min_size=min(min_size, max_size), max_size=max_size,
                                     reset=_keep_session,
                                     server_settings={"idle_in_transaction_session_timeout": "10000",
                                                      "application_name": application_name()})


def application_name() -> str:
    """`docspasta host:pid`, the same host:pid that starts a worker's lease tokens."""
    import socket

    return f"docspasta {socket.gethostname()}:{os.getpid()}"[:63]  # PostgreSQL keeps 63 bytes


def _open(job: Any) -> bool:
    """Whether a job (row) may still change: pending (a terminal run's job) or running."""
    return job is not None and job["status"] in ("pending", "running")


def _connection_errors() -> tuple[type[BaseException], ...]:
    import asyncpg

    # InternalClientError: a pooled connection left mid-operation when the server went away
    # ("cannot switch to state ...; another operation is in progress"); a retry gets a fresh one.
    return (OSError, ConnectionError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError,
            asyncpg.CannotConnectNowError, asyncpg.AdminShutdownError, asyncpg.ConnectionDoesNotExistError,
            asyncpg.InternalClientError)


def retrying(method: Any) -> Any:
    """Retry a write while PostgreSQL is unreachable (restarting, failing over), with
    backoff, for up to `JobStore.outage_seconds`: a page in hand is not dropped
    because the database blinked. Each attempt is one whole transaction, so a retry
    never half-applies anything; errors other than lost connections surface at once."""
    import functools

    @functools.wraps(method)
    async def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        import asyncio
        import logging
        import time

        deadline = time.monotonic() + self.outage_seconds
        delay = 0.25
        while True:
            try:
                return await method(self, *args, **kwargs)
            except _connection_errors() as exc:
                if time.monotonic() + delay > deadline:
                    raise
                logging.getLogger(__name__).warning("PostgreSQL unreachable (%s: %s); retrying %s in %.1fs",
                                                    type(exc).__name__, exc, method.__name__, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    return wrapper


# A private job's headers and cookies go in the transaction that ends the job, whichever way it ends.
_FORGET_SECRETS = "DELETE FROM job_secrets WHERE job_id = $1"


class LeaseLost(RuntimeError):
    """Another worker holds this job's lease now: this worker must write nothing more for it."""


class RefreshRunning(RuntimeError):
    """A refresh of the site is pending or running already: `job_id` (None if it just ended)."""

    def __init__(self, job_id: UUID | None, site: str | None):
        super().__init__(f"a refresh of {site or 'this site'} is already pending or running"
                         + (f": job {job_id}" if job_id else ""))
        self.job_id = job_id
        self.site = site


# Every column of a job but its outputs (final_markdown, llms_txt: tens of MB for a large
# job): what a status read, an event or the job page needs. The outputs are read only by
# what returns them (`output`, `preview`), never to answer a question about the status.
JOB_COLUMNS = ("id, status, current_step, initial_url, max_pages, max_depth, quality_threshold, scope, render,"
               " token_budget, include_patterns, exclude_patterns, private_headers, private_cookies,"
               " total_urls, processed_urls, failed_urls, skipped_urls, discovered_urls, progress, error_details, close_reason,"
               " final_token_count, lease_owner, lease_expires_at, heartbeat_at, cancel_requested_at, client_addr,"
               " created_at, updated_at, started_at, completed_at, refresh_of, fate_counts")
JOB_COLUMNS_OF_J = ", ".join("j." + column.strip() for column in JOB_COLUMNS.split(","))  # the job aliased j
OUTPUTS = ("final_markdown", "llms_txt")

# A job a worker may take: not ended, and nobody's live lease on it.
CLAIMABLE = ("status IN ('pending', 'running')"
             " AND (lease_owner IS NULL OR lease_expires_at IS NULL OR lease_expires_at < now())")


def kept_counts(job: Mapping[str, Any]) -> dict[str, int] | None:
    """An ended job's fate counts, as counted when it ended (None while it runs)."""
    kept = job["fate_counts"]
    return json.loads(kept) if isinstance(kept, str) else kept


# A page's row with what it shares with an earlier job's row (an unchanged page of a refresh,
# spiders/refresh): its Markdown from `markdown_from`, its extraction fields (`extra`) from
# `extra_from` overlaid with its own.
PAGE_SOURCE = ("job_urls j LEFT JOIN job_urls m ON m.id = j.markdown_from"
               " LEFT JOIN job_urls e ON e.id = j.extra_from")
RESOLVED_MARKDOWN = "coalesce(m.markdown, j.markdown)"
RESOLVED_EXTRA = "(coalesce(e.extra, '{}'::jsonb) || j.extra)"
PAGE_COLUMNS = ", ".join(
    [f"j.{column}" for column in ITEM_COLUMNS.values() if column != "markdown"]
    + [f"{RESOLVED_MARKDOWN} AS markdown", "j.included", "j.drop_reason"])


# What assembly reads of each page (spiders/document), its Markdown by hash: two jobs with the
# same of these assemble into the same document.
_ASSEMBLY_INPUT = (
    "SELECT j.normalized_url AS key, j.url, j.final_url, j.status, j.error_message, j.depth, j.title,"
    " j.content_hash, j.quality, j.quality_reasons, x->'toc_links' AS toc_links, x->'description' AS description,"
    " x->'site_name' AS site_name, x->'head_title' AS head_title, x->'generated' AS generated"
    f" FROM {PAGE_SOURCE}, LATERAL (SELECT {RESOLVED_EXTRA} AS x) r WHERE j.job_id = $N")


def page_from_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """A job_urls row as the spider's item (plus `included` and `reason` once assembled)."""
    page = {field: row[column] for field, column in ITEM_COLUMNS.items()}
    reasons = page["quality_reasons"]
    page["quality_reasons"] = json.loads(reasons) if isinstance(reasons, str) else (reasons or [])
    extra = row["extra"]
    page.update(json.loads(extra) if isinstance(extra, str) else (extra or {}))
    page["included"] = row["included"]
    page["reason"] = row["drop_reason"]
    return page


class JobStore:
    """Statements about jobs, on one asyncpg pool (the caller's, on the caller's loop).

    With an `owner` (a worker's lease token), every crawl-side write is fenced: it
    happens only while that owner holds the job's lease, and raises `LeaseLost`
    otherwise, so a worker that was paused or cut off and came back cannot write
    over the worker that took its jobs over. `outage_seconds`: how long writes keep
    retrying while PostgreSQL is unreachable; the web side passes 0, so a request
    is answered at once (503) instead of waiting out an outage.
    """

    def __init__(self, pool: Any, owner: str | None = None, *, outage_seconds: float = 120.0):
        self.pool = pool
        self.owner = owner
        self.outage_seconds = outage_seconds

    def _check_lease(self, job: Any) -> None:
        if self.owner is not None and job is not None and _open(job) and job["lease_owner"] != self.owner:
            raise LeaseLost(f"job {job['id']} is leased to {job['lease_owner'] or 'nobody'} now")

    @retrying
    async def start(self, job_id: UUID, start_url: str, owner: str, lease_seconds: int) -> Any:
        """pending -> running (step discovery), with the start URL in the frontier; None if not pending."""
        async with self.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                "UPDATE crawl_jobs SET status = 'running', current_step = 'discovery', started_at = now(),"
                " updated_at = now(), lease_owner = $2, heartbeat_at = now(),"
                " lease_expires_at = now() + make_interval(secs => $3)"
                " WHERE id = $1 AND status = 'pending'"
                " AND (lease_owner IS NULL OR lease_owner = $2 OR lease_expires_at < now()) RETURNING " + JOB_COLUMNS,
                job_id, owner, lease_seconds,
            )
            if row is None:
                return None
            inserted = await self._insert_pending(conn, job_id, [(start_url, normalize_url(start_url), 0, None)])
            return await conn.fetchrow(_BUMP, job_id, 0, 0, 0, inserted)

    @retrying
    async def queue(self, job_id: UUID, refs: Iterable[Any]) -> tuple[int, Any]:
        """Add PageRefs to the frontier (pending); returns (how many were new, the job row)."""
        rows = [(ref.url, ref.key, ref.depth, ref.discovered_from) for ref in refs]
        async with self.pool.acquire() as conn, conn.transaction():
            job = await self._lock_job(conn, job_id)
            self._check_lease(job)
            if not _open(job):
                return 0, None
            inserted = await self._insert_pending(conn, job_id, rows)
            job = await conn.fetchrow(_BUMP, job_id, 0, 0, 0, inserted) if inserted else None
        return inserted, job

    @staticmethod
    async def _lock_job(conn: Any, job_id: UUID) -> Any:
        # The job row first, in every transaction that changes the job's URLs: a cancel
        # (an UPDATE of this row) is then either before the change or after it, and
        # nothing is stored for a job once its cancel has committed.
        return await conn.fetchrow("SELECT " + JOB_COLUMNS + " FROM crawl_jobs WHERE id = $1 FOR UPDATE", job_id)

    @staticmethod
    async def _insert_pending(conn: Any, job_id: UUID, rows: list[tuple]) -> int:
        if not rows:
            return 0
        result = await conn.fetch(
            "INSERT INTO job_urls (job_id, url, normalized_url, depth, discovered_from)"
            " SELECT $1, u.url, u.key, u.depth, u.src"
            " FROM unnest($2::text[], $3::text[], $4::int[], $5::text[]) AS u(url, key, depth, src)"
            " ON CONFLICT (job_id, normalized_url) DO NOTHING RETURNING 1",
            job_id, [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], [r[3] for r in rows],
        )
        return len(result)

    async def claim(self, job_id: UUID, key: str, retry_count: int) -> None:
        """A request for the URL went out: pending -> processing (never over a finished row)."""
        await self.claim_many(job_id, [(key, retry_count)])

    @retrying
    async def claim_many(self, job_id: UUID, claims: list[tuple[str, int]]) -> None:
        """`claim` for several URLs (key, retries made) in one statement."""
        retries: dict[str, int] = {}
        for key, retry_count in claims:
            retries[key] = max(retries.get(key, 0), retry_count)
        await self.pool.execute(
            "UPDATE job_urls j SET status = 'processing',"
            " processing_started_at = coalesce(j.processing_started_at, now()),"
            " last_attempt_at = now(), retry_count = greatest(j.retry_count, c.retries)"
            " FROM unnest($2::text[], $3::int[]) AS c(key, retries)"
            " WHERE j.job_id = $1 AND j.normalized_url = c.key AND j.status IN ('pending', 'processing')"
            " AND EXISTS (SELECT 1 FROM crawl_jobs WHERE id = $1 AND ($4::text IS NULL OR lease_owner = $4))",
            job_id, list(retries), list(retries.values()), self.owner)

    async def record(self, job_id: UUID, item: Mapping[str, Any]) -> Any:
        """Store one page's result and move the counters with it; returns the job row.

        A job that has ended (cancelled, failed, completed) stores nothing more: its row
        is returned unchanged, and the caller sees why from its status.
        """
        return await self.record_many(job_id, [item])

    async def record_many(self, job_id: UUID, items: list[Mapping[str, Any]]) -> Any:
        """Store pages' results, in order, in one transaction of a few statements whatever their
        number, and move the counters with them; returns the job row after the last (as `record`)."""
        return (await self.record_batch(job_id, items))[0]

    @retrying
    async def record_batch(self, job_id: UUID, items: list[Mapping[str, Any]]) -> tuple[Any, list[Any]]:
        """`record_many`, and the job row as it stood after each item (its counters moved one item
        at a time: a page's event shows the job as that page left it); no rows if nothing was stored."""
        keyed = [(normalize_url(item["url"]), item) for item in items]
        keys = list(dict.fromkeys(key for key, _ in keyed))
        async with self.pool.acquire() as conn, conn.transaction():
            job = await self._lock_job(conn, job_id)
            self._check_lease(job)
            if not _open(job):
                return job, []
            first: dict[str, Mapping[str, Any]] = {}
            for key, item in keyed:
                first.setdefault(key, item)
            inserted = await self._insert_pending(
                conn, job_id, [(item["url"], key, item.get("depth") or 0, item.get("discovered_from"))
                               for key, item in first.items()])
            current = dict(await conn.fetch(
                "SELECT normalized_url, status FROM job_urls WHERE job_id = $1 AND normalized_url = ANY($2::text[])"
                " FOR UPDATE", job_id, keys))
            earlier = await self._earlier_pages(conn, job, keys)
            deltas = {"processed": 0, "failed": 0, "skipped": 0}
            steps = []  # the deltas after each item
            rows: dict[str, tuple] = {}
            for key, item in keyed:
                previous, status, error = current.get(key), item["status"], item.get("error")
                if (status == "completed" and previous != "completed"
                        and job["processed_urls"] + deltas["processed"] >= job["max_pages"]):
                    # The budget is the database's, checked under the job row's lock: however
                    # many crawls or retries raced, no job stores more than max_pages pages.
                    status, error = "skipped", "not stored: page limit reached"
                if previous in _COUNTER:
                    deltas[_COUNTER[previous]] -= 1
                deltas[_COUNTER[status]] += 1
                steps.append(dict(deltas))
                current[key] = status
                rows[key] = self._page_row(key, item, status, error, earlier.get(key))  # a URL twice: its last
            columns = list(zip(*rows.values(), strict=True))
            await conn.execute(
                "UPDATE job_urls j SET status = u.status, final_url = u.final_url, title = u.title, depth = u.depth,"
                " http_status = u.http_status, error_message = u.error, markdown = u.markdown, quality = u.quality,"
                " quality_reasons = u.reasons::jsonb, word_count = u.words, token_count = u.tokens,"
                " fetched_at = u.fetched_at, extra = u.extra::jsonb, etag = u.etag, last_modified = u.modified,"
                " content_hash = u.hash, markdown_from = u.markdown_from, extra_from = u.extra_from,"
                " last_attempt_at = now(), finished_at = now()"
                " FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::int[], $7::int[], $8::text[],"
                "  $9::text[], $10::int[], $11::text[], $12::int[], $13::int[], $14::text[], $15::text[],"
                "  $16::text[], $17::text[], $18::text[], $19::bigint[], $20::bigint[])"
                "  AS u(key, status, final_url, title, depth, http_status, error, markdown, quality, reasons, words,"
                "       tokens, fetched_at, extra, etag, modified, hash, markdown_from, extra_from)"
                " WHERE j.job_id = $1 AND j.normalized_url = u.key",
                job_id, *map(list, columns))
            job = await conn.fetchrow(
                _BUMP, job_id, deltas["processed"], deltas["failed"], deltas["skipped"], inserted)
        if job is None:
            return job, []
        after = []
        for step in steps:
            row = dict(job)
            for name in ("processed", "failed", "skipped"):
                row[f"{name}_urls"] -= deltas[name] - step[name]
            after.append(row)
        return job, after

    @staticmethod
    async def _earlier_pages(conn: Any, job: Any, keys: list[str]) -> dict[str, Any]:
        """For a refresh: the completed pages of the job it refreshes, by key, with the rows holding
        their Markdown and their extraction fields (never a chain: the holders themselves)."""
        if job["refresh_of"] is None:
            return {}
        rows = await conn.fetch(
            "SELECT normalized_url, content_hash, coalesce(markdown_from, id) AS markdown_holder,"
            " coalesce(extra_from, id) AS extra_holder FROM job_urls"
            " WHERE job_id = $1 AND normalized_url = ANY($2::text[]) AND status = 'completed'",
            job["refresh_of"], keys)
        return {row["normalized_url"]: row for row in rows}

    @staticmethod
    def _page_row(key: str, item: Mapping[str, Any], status: str, error: str | None, earlier: Any) -> tuple:
        """A page's columns as `record_many` writes them. A page of a refresh that the earlier job
        has with the same Markdown hash names the row holding that Markdown instead of storing
        it again; after a 304, the row holding its other extraction fields too (it keeps
        only what is about this fetch). A new or changed page is stored whole."""
        markdown_from = extra_from = None
        if (earlier is not None and status == "completed" and item.get("content_hash")
                and earlier["content_hash"] == item["content_hash"]):
            markdown_from = earlier["markdown_holder"]
            extra_from = earlier["extra_holder"] if item.get("not_modified") else None
        extra = {k: v for k, v in dict(item).items() if k not in ITEM_COLUMNS}
        if extra_from is not None:
            extra = {k: extra[k] for k in FETCH_EXTRA if k in extra}
        return (key, status, item.get("final_url"), item.get("title") or "", item.get("depth") or 0,
                item.get("http_status"), error, "" if markdown_from else item.get("markdown") or "",
                item.get("quality"), json.dumps(list(item.get("quality_reasons") or [])), item.get("word_count"),
                item.get("token_count"), item.get("fetched_at"), json.dumps(extra, default=str), item.get("etag"),
                item.get("last_modified"), item.get("content_hash"), markdown_from, extra_from)

    @retrying
    async def set_step(self, job_id: UUID, step: str) -> Any:
        return await self.pool.fetchrow(
            "UPDATE crawl_jobs SET current_step = $2, updated_at = now()"
            " WHERE id = $1 AND status = 'running' AND current_step <> $2"
            " AND ($3::text IS NULL OR lease_owner = $3) RETURNING " + JOB_COLUMNS, job_id, step, self.owner)

    @retrying
    async def close_frontier(self, job_id: UUID, reason: str) -> Any:
        """URLs never fetched become skipped with `reason`; counters are recounted from the rows."""
        async with self.pool.acquire() as conn, conn.transaction():
            return await self._close_urls(conn, job_id, reason)

    @staticmethod
    async def _close_urls(conn: Any, job_id: UUID, reason: str) -> Any:
        # No URL is left pending or processing once a job stops fetching, whichever way it ends,
        # and export.json lists each with its final state. totalUrls (README) is what the job
        # fetched or judged: the URLs closed here were never fetched and are not in it.
        # (A URL the spider judged, fetched or not, carries its fetched_at; one closed here has none.)
        await conn.execute(
            "UPDATE job_urls SET status = 'skipped', error_message = $2, finished_at = now()"
            " WHERE job_id = $1 AND status IN ('pending', 'processing')", job_id, reason)
        return await conn.fetchrow(
            "UPDATE crawl_jobs j SET processed_urls = c.completed, failed_urls = c.failed,"
            " skipped_urls = c.skipped, discovered_urls = c.total, total_urls = c.reached, updated_at = now()"
            " FROM (SELECT count(*) FILTER (WHERE status = 'completed') AS completed,"
            "              count(*) FILTER (WHERE status = 'failed') AS failed,"
            "              count(*) FILTER (WHERE status = 'skipped') AS skipped, count(*) AS total,"
            "              count(*) FILTER (WHERE status <> 'skipped' OR fetched_at IS NOT NULL) AS reached"
            "       FROM job_urls WHERE job_id = $1) c"
            " WHERE j.id = $1 RETURNING " + JOB_COLUMNS_OF_J, job_id)

    @retrying
    async def pages(self, job_id: UUID, *, links: bool = True) -> list[dict[str, Any]]:
        """Every URL of the job as the spider's item (unchanged pages of a refresh resolved);
        `links=False` leaves each page's links out (assembly does not read them)."""
        extra = RESOLVED_EXTRA if links else f"({RESOLVED_EXTRA} - 'links')"
        # A server-side cursor, 500 rows at a time: the rows of a 10,000-page job never
        # sit in memory all at once beside the pages made from them.
        async with self.pool.acquire() as conn, conn.transaction():
            return [page_from_row(row) async for row in conn.cursor(
                # discovery order (breadth-first: depth, then the order links were found), which
                # assembly falls back on when the pages carry no table of contents
                f"SELECT {PAGE_COLUMNS}, {extra} AS extra FROM {PAGE_SOURCE}"
                " WHERE j.job_id = $1 ORDER BY j.depth, j.id", job_id, prefetch=500)]

    @retrying
    async def complete(self, job_id: UUID, markdown: str, token_count: int, llms_txt: str,
                       verdicts: list[tuple[str, bool, str | None]]) -> Any:
        """running -> completed (step done) with the document; None if the job is no longer running."""
        async with self.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                "UPDATE crawl_jobs SET status = 'completed', current_step = 'done', final_markdown = $2,"
                " final_token_count = $3, llms_txt = $4, completed_at = now(), updated_at = now(), progress = 100,"
                " close_reason = 'finished', lease_owner = NULL, lease_expires_at = NULL"
                " WHERE id = $1 AND status = 'running' AND ($5::text IS NULL OR lease_owner = $5) RETURNING " + JOB_COLUMNS,
                job_id, markdown, token_count, llms_txt, self.owner)
            if row is not None:
                await conn.execute(_FORGET_SECRETS, job_id)
                await self._store_verdicts(conn, job_id, verdicts)
                row = await conn.fetchrow(_KEEP_COUNTS, job_id)
            return row

    async def same_pages(self, job_id: UUID, other_id: UUID) -> bool:
        """Whether two jobs hold the same pages with the same of everything assembly reads (their
        Markdown by its hash): then their documents are the same (a refresh that found no change)."""
        return await self.pool.fetchval(
            f"SELECT NOT EXISTS (SELECT 1 FROM ({_ASSEMBLY_INPUT.replace('$N', '$1')}) a"
            f" FULL JOIN ({_ASSEMBLY_INPUT.replace('$N', '$2')}) b ON a.key = b.key WHERE a IS DISTINCT FROM b)",
            job_id, other_id)

    @retrying
    async def complete_as(self, job_id: UUID, other_id: UUID) -> Any:
        """running -> completed with the document, llms.txt and verdicts of a job that holds the same
        pages (`same_pages`): nothing to assemble again. None if the job is no longer running."""
        async with self.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                "UPDATE crawl_jobs j SET status = 'completed', current_step = 'done', final_markdown = o.final_markdown,"
                " final_token_count = o.final_token_count, llms_txt = o.llms_txt, completed_at = now(),"
                " updated_at = now(), progress = 100, close_reason = 'finished', lease_owner = NULL,"
                " lease_expires_at = NULL FROM crawl_jobs o"
                " WHERE j.id = $1 AND o.id = $2 AND o.final_markdown IS NOT NULL AND j.status = 'running'"
                " AND ($3::text IS NULL OR j.lease_owner = $3)"
                " RETURNING " + JOB_COLUMNS_OF_J,
                job_id, other_id, self.owner)
            if row is not None:
                await conn.execute(
                    "UPDATE job_urls n SET included = o.included, drop_reason = o.drop_reason FROM job_urls o"
                    " WHERE n.job_id = $1 AND o.job_id = $2 AND o.normalized_url = n.normalized_url",
                    job_id, other_id)
            return row

    async def verdict_counts(self, job_id: UUID) -> Any:
        """(included, dropped): the job's pages in its document and left out of it."""
        return await self.pool.fetchrow(
            "SELECT count(*) FILTER (WHERE included) AS included, count(*) FILTER (WHERE NOT included) AS dropped"
            " FROM job_urls WHERE job_id = $1", job_id)

    async def save_partial(self, job_id: UUID, markdown: str, token_count: int, llms_txt: str,
                           verdicts: list[tuple[str, bool, str | None]]) -> Any:
        """The document of the pages a cancelled or failed job finished, stored once (the
        first to assemble it wins; the job's state and timestamps are not touched).
        Returns the job, or None if it is not such a job or already has its document."""
        async with self.pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                "UPDATE crawl_jobs SET final_markdown = $2, final_token_count = $3, llms_txt = $4"
                " WHERE id = $1 AND status = ANY($5::text[]) AND final_markdown IS NULL RETURNING " + JOB_COLUMNS,
                job_id, markdown, token_count, llms_txt, list(PARTIAL))
            if row is not None:
                await self._store_verdicts(conn, job_id, verdicts)
                row = await conn.fetchrow(_KEEP_COUNTS, job_id)
            return row

    @staticmethod
    async def _store_verdicts(conn: Any, job_id: UUID, verdicts: list[tuple[str, bool, str | None]]) -> None:
        if verdicts:
            await conn.execute(
                "UPDATE job_urls j SET included = v.included, drop_reason = v.reason"
                " FROM unnest($2::text[], $3::bool[], $4::text[]) AS v(key, included, reason)"
                " WHERE j.job_id = $1 AND j.normalized_url = v.key",
                job_id, [v[0] for v in verdicts], [v[1] for v in verdicts], [v[2] for v in verdicts])

    @retrying
    async def end(self, job_id: UUID, status: str, *, error: str | None = None, reason: str | None = None) -> Any:
        """pending|running -> failed|cancelled, its unfetched URLs skipped; None if the job had already ended."""
        async with self.pool.acquire() as conn, conn.transaction():
            return await self._end(conn, job_id, status, error, reason, self.owner)

    async def cancel(self, job_id: UUID) -> Any:
        """pending|running -> cancelled, whoever crawls it, its unfetched URLs skipped ("cancelled");
        None if the job had already ended. The crawl learns of it at its next write (fenced on
        the job's state) or lease renewal; nothing is stored for the job after this commits.
        Not retried: a person is waiting, and an unreachable database is a 503 for them."""
        async with self.pool.acquire() as conn, conn.transaction():
            return await self._end(conn, job_id, CANCELLED, None, CANCELLED, None, cancel=True)

    @classmethod
    async def _end(cls, conn: Any, job_id: UUID, status: str, error: str | None, reason: str | None,
                   owner: str | None, *, cancel: bool = False) -> Any:
        row = await conn.fetchrow(
            "UPDATE crawl_jobs SET status = $2, current_step = 'done', error_details = coalesce($3, error_details),"
            " close_reason = coalesce($4, close_reason), completed_at = now(), updated_at = now(),"
            " cancel_requested_at = CASE WHEN $6 THEN now() ELSE cancel_requested_at END,"
            " lease_owner = NULL, lease_expires_at = NULL"
            " WHERE id = $1 AND status IN ('pending', 'running')"
            " AND ($5::text IS NULL OR lease_owner IS NULL OR lease_owner = $5 OR lease_expires_at < now())"
            " RETURNING " + JOB_COLUMNS,
            job_id, status, error, reason, owner, cancel)
        if row is None:
            return None
        await conn.execute(_FORGET_SECRETS, job_id)
        await cls._close_urls(conn, job_id, CANCELLED if status == CANCELLED else "not fetched: the job failed")
        return await conn.fetchrow(_KEEP_COUNTS, job_id)

    @retrying
    async def get(self, job_id: UUID) -> Any:
        """The job's status and settings (JOB_COLUMNS), or None."""
        return await self.pool.fetchrow("SELECT " + JOB_COLUMNS + " FROM crawl_jobs WHERE id = $1", job_id)

    @retrying
    async def secrets(self, job_id: UUID) -> dict[str, Any] | None:
        """A private job's headers and cookies while it runs ({"headers": [[name, value], ...], "cookies": ...}),
        for its crawl only; None for a job that has none (or has ended: they went with its end)."""
        row = await self.pool.fetchrow("SELECT headers, cookies FROM job_secrets WHERE job_id = $1", job_id)
        return None if row is None else {"headers": json.loads(row["headers"]), "cookies": json.loads(row["cookies"])}

    async def renew_leases(self, job_ids: list[UUID], owner: str, lease_seconds: int) -> set[UUID]:
        """Extend this owner's leases; returns the jobs whose lease it still holds."""
        if not job_ids:
            return set()
        rows = await self.pool.fetch(
            "UPDATE crawl_jobs SET heartbeat_at = now(), lease_expires_at = now() + make_interval(secs => $3)"
            " WHERE id = ANY($1::uuid[]) AND lease_owner = $2 AND status IN ('pending', 'running') RETURNING id",
            job_ids, owner, lease_seconds)
        return {row["id"] for row in rows}

    async def statuses(self, job_ids: list[UUID]) -> dict[UUID, str]:
        """The jobs' statuses alone (a worker telling a cancel from a lost lease)."""
        rows = await self.pool.fetch("SELECT id, status FROM crawl_jobs WHERE id = ANY($1::uuid[])", job_ids)
        return {row["id"]: row["status"] for row in rows}

    async def claim_jobs(self, owner: str, limit: int, lease_seconds: int, exclude: list[UUID]) -> list[Any]:
        """Lease up to `limit` jobs nobody holds (new ones, or ones whose worker died),
        oldest first; workers skip each other's locked rows instead of waiting."""
        if limit <= 0:
            return []
        return await self.pool.fetch(
            "WITH picked AS (SELECT id FROM crawl_jobs WHERE " + CLAIMABLE + " AND id <> ALL($4::uuid[])"
            "  ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED)"
            " UPDATE crawl_jobs j SET lease_owner = $1, heartbeat_at = now(),"
            "  lease_expires_at = now() + make_interval(secs => $3)"
            " FROM picked WHERE j.id = picked.id RETURNING j.id, j.status",
            owner, limit, lease_seconds, exclude)

    @retrying
    async def take_over(self, job_id: UUID, owner: str, lease_seconds: int) -> Any:
        """Hold a running job's lease to resume it; None if it ended or another worker holds it."""
        return await self.pool.fetchrow(
            "UPDATE crawl_jobs SET lease_owner = $2, heartbeat_at = now(), updated_at = now(),"
            " lease_expires_at = now() + make_interval(secs => $3)"
            " WHERE id = $1 AND status = 'running'"
            " AND (lease_owner IS NULL OR lease_owner = $2 OR lease_expires_at < now()) RETURNING " + JOB_COLUMNS,
            job_id, owner, lease_seconds)

    @retrying
    async def release(self, job_id: UUID, owner: str) -> None:
        """Give the lease up (shutting down): any worker may resume the job at once."""
        await self.pool.execute(
            "UPDATE crawl_jobs SET lease_owner = NULL, lease_expires_at = NULL, updated_at = now()"
            " WHERE id = $1 AND lease_owner = $2", job_id, owner)

    @retrying
    async def snapshot(self, job_id: UUID) -> Any:
        """The stored frontier to resume from; URLs left processing go back to pending."""
        from spiders.crawl.frontier import FrontierSnapshot, PageRef

        async with self.pool.acquire() as conn, conn.transaction():
            job = await self._lock_job(conn, job_id)
            self._check_lease(job)
            await conn.execute(
                "UPDATE job_urls SET status = 'pending', processing_started_at = NULL"
                " WHERE job_id = $1 AND status = 'processing'", job_id)
            rows = await conn.fetch(
                "SELECT url, normalized_url, status, depth, discovered_from, retry_count, final_url"
                " FROM job_urls WHERE job_id = $1 ORDER BY depth, id", job_id)
        start_key = normalize_url(job["initial_url"])
        snapshot = FrontierSnapshot(site_url=None, completed=0)
        for row in rows:
            key = row["normalized_url"]
            snapshot.seen_keys.add(key)
            if row["status"] == "completed":
                snapshot.completed += 1
                snapshot.done_keys.add(key)
                if row["final_url"]:
                    snapshot.done_keys.add(normalize_url(row["final_url"]))
            elif row["status"] == "pending":
                snapshot.pending.append(PageRef(row["url"], key, row["depth"], row["discovered_from"]))
                if row["retry_count"]:
                    snapshot.attempts[key] = row["retry_count"]
            if key == start_key and row["status"] != "pending":
                snapshot.site_url = row["final_url"] or row["url"]
        return snapshot

    async def expire_leases_of(self, owners: list[str]) -> int:
        """Leases of workers known to be dead end now, so their jobs are taken over at once."""
        if not owners:
            return 0
        result = await self.pool.execute(
            "UPDATE crawl_jobs SET lease_expires_at = now() - interval '1 second'"
            " WHERE lease_owner = ANY($1::text[]) AND status IN ('pending', 'running')", owners)
        return int(result.split()[-1])

    async def lease_owners(self) -> list[str]:
        rows = await self.pool.fetch(
            "SELECT DISTINCT lease_owner FROM crawl_jobs"
            " WHERE lease_owner IS NOT NULL AND status IN ('pending', 'running') AND lease_expires_at > now()")
        return [row["lease_owner"] for row in rows]

    async def reap(self) -> dict[str, int]:
        """Jobs whose worker stopped heartbeating: lease cleared, their URLs left
        processing back to pending, so the next claim resumes them."""
        async with self.pool.acquire() as conn, conn.transaction():
            jobs = await conn.fetch(
                "UPDATE crawl_jobs SET lease_owner = NULL, lease_expires_at = NULL, updated_at = now()"
                " WHERE status IN ('pending', 'running') AND lease_owner IS NOT NULL"
                " AND lease_expires_at < now() RETURNING id")
            ids = [row["id"] for row in jobs]
            result = await conn.execute(
                "UPDATE job_urls SET status = 'pending', processing_started_at = NULL"
                " WHERE job_id = ANY($1::uuid[]) AND status = 'processing'", ids)
        return {"jobs": len(ids), "urls": int(result.split()[-1])}

    # The web side's statements (requests, on uvicorn's loop).

    async def create(self, options: CrawlOptions, *, client: str | None = None, conn: Any = None,
                     refresh_of: UUID | None = None) -> Any:
        """A new pending job, its headers and cookies apart (job_secrets); `conn`: inside the caller's
        transaction (webapp/guards/ratelimit.py).

        `refresh_of`: a completed job this one refreshes (its options are that job's): the new
        job carries that job's site label, and RefreshRunning is raised, naming the running
        one, if the site has a refresh pending or running already (the database's rule)."""
        import asyncpg

        if conn is None:
            async with self.pool.acquire() as conn, conn.transaction():
                return await self.create(options, client=client, conn=conn, refresh_of=refresh_of)
        try:
            async with conn.transaction():  # a savepoint: the lookup below runs after a refused insert
                row = await conn.fetchrow(
                    "INSERT INTO crawl_jobs (id, initial_url, max_pages, max_depth, quality_threshold, scope, render,"
                    " client_addr, refresh_of, site_name, site_version, token_budget, include_patterns,"
                    " exclude_patterns, private_headers, private_cookies)"
                    " SELECT $1, $2, $3, $4, $5, $6, $7, $8, p.id, coalesce(p.site_name, $10), p.site_version,"
                    " $11, $12, $13, $14, $15"
                    " FROM (SELECT $9::uuid AS wanted) w LEFT JOIN crawl_jobs p ON p.id = w.wanted"
                    " RETURNING id, initial_url, status",
                    uuid4(), options.url, options.max_pages, options.max_depth, options.quality_threshold,
                    options.scope, options.render, client, refresh_of, site_name(options.url) if refresh_of else None,
                    options.token_budget, list(options.include), list(options.exclude), len(options.headers),
                    len(options.cookies))
        except asyncpg.UniqueViolationError as exc:
            if exc.constraint_name != "crawl_jobs_one_refresh_per_site":
                raise
            running = await conn.fetchrow(
                "SELECT r.id, r.site_name FROM crawl_jobs r JOIN crawl_jobs p ON r.site_name = p.site_name"
                " WHERE p.id = $1 AND r.refresh_of IS NOT NULL AND r.status IN ('pending', 'running')", refresh_of)
            raise RefreshRunning(running["id"] if running else None, running["site_name"] if running else None) \
                from None
        if options.private:
            await conn.execute("INSERT INTO job_secrets (job_id, headers, cookies) VALUES ($1, $2::jsonb, $3::jsonb)",
                               row["id"], json.dumps(options.headers), json.dumps(options.cookies))
        return row

    # A refresh: what the earlier job's pages were served with, and each one reused on a 304.

    async def validators(self, job_id: UUID) -> list[Any]:
        """The completed pages of a job with the ETag and Last-Modified they were stored with (None for
        a page a refresh cannot ask for conditionally: rendered, or stored before refreshes existed)."""
        return await self.pool.fetch(
            "SELECT normalized_url, etag, last_modified FROM job_urls WHERE job_id = $1 AND status = 'completed'",
            job_id)

    @retrying
    async def stored_pages(self, job_id: UUID, keys: list[str]) -> dict[str, dict[str, Any]]:
        """Completed pages of a job as the spider's items, by key, for a refresh to reuse (those there are)."""
        rows = await self.pool.fetch(
            f"SELECT j.normalized_url AS key, {PAGE_COLUMNS}, {RESOLVED_EXTRA} AS extra FROM {PAGE_SOURCE}"
            " WHERE j.job_id = $1 AND j.normalized_url = ANY($2::text[]) AND j.status = 'completed'", job_id, keys)
        return {row["key"]: page_from_row(row) for row in rows}

    async def change_rows(self, job_id: UUID, previous_id: UUID) -> list[Any]:
        """The URLs of a refresh beside the earlier job's completed pages, matched by URL (either
        side may be missing), in the refresh's order: what the change report is made of."""
        return await self.pool.fetch(
            "SELECT c.id, coalesce(c.url, p.url) AS url, coalesce(nullif(c.title, ''), p.title) AS title,"
            " c.status, c.http_status, c.error_message, c.content_hash,"
            " p.id AS previous_id, p.content_hash AS previous_hash"
            " FROM (SELECT id, url, normalized_url, title, status, http_status, error_message, content_hash, depth"
            "       FROM job_urls WHERE job_id = $1) c"
            " FULL JOIN (SELECT id, url, normalized_url, title, content_hash FROM job_urls"
            "            WHERE job_id = $2 AND status = 'completed') p ON p.normalized_url = c.normalized_url"
            " ORDER BY c.depth NULLS LAST, c.id NULLS LAST, p.id", job_id, previous_id)

    async def markdowns(self, page_ids: list[int]) -> dict[int, str]:
        """The Markdown of these pages (any job's), by row id."""
        if not page_ids:
            return {}
        rows = await self.pool.fetch(
            f"SELECT j.id, {RESOLVED_MARKDOWN} AS markdown FROM {PAGE_SOURCE} WHERE j.id = ANY($1::bigint[])",
            page_ids)
        return {row["id"]: row["markdown"] for row in rows}

    async def start_due_refreshes(self, max_active: int = 0) -> list[UUID]:
        """A pending refresh for each scheduled site that is due: its latest job (of any outcome)
        was created at least its interval ago, none of its jobs is pending or running, and it
        has a completed job to refresh (the newest). With `max_active`, only while fewer jobs
        than that are pending or running. Two processes at once start one (the unique index)."""
        rows = await self.pool.fetch(
            "INSERT INTO crawl_jobs (id, initial_url, max_pages, max_depth, quality_threshold, scope, render,"
            " refresh_of, site_name, site_version, token_budget, include_patterns, exclude_patterns)"
            " SELECT gen_random_uuid(), n.initial_url, n.max_pages, n.max_depth, n.quality_threshold, n.scope,"
            "  n.render, n.id, s.site_name, n.site_version, n.token_budget, n.include_patterns, n.exclude_patterns"
            " FROM refresh_schedules s"
            " JOIN LATERAL (SELECT id, initial_url, max_pages, max_depth, quality_threshold, scope, render,"
            "   site_version, token_budget, include_patterns, exclude_patterns, private_headers, private_cookies"
            "   FROM crawl_jobs WHERE site_name = s.site_name AND status = 'completed'"
            "   ORDER BY completed_at DESC LIMIT 1) n ON true"
            # a private site's newest job: its headers and cookies went with its end; nothing to refresh with
            " WHERE n.private_headers = 0 AND n.private_cookies = 0"
            " AND (SELECT max(created_at) FROM crawl_jobs WHERE site_name = s.site_name) <= now() - s.every"
            " AND NOT EXISTS (SELECT 1 FROM crawl_jobs a WHERE a.site_name = s.site_name"
            "                 AND a.status IN ('pending', 'running'))"
            " AND ($1 = 0 OR (SELECT count(*) FROM crawl_jobs WHERE status IN ('pending', 'running')) < $1)"
            " ON CONFLICT (site_name) WHERE refresh_of IS NOT NULL AND status IN ('pending', 'running') DO NOTHING"
            " RETURNING id", max_active)
        return [row["id"] for row in rows]

    async def recent(self, limit: int, offset: int = 0) -> list[Any]:
        """Jobs, newest first, `limit` from the `offset`-th."""
        return await self.pool.fetch(
            "SELECT " + JOB_COLUMNS + " FROM crawl_jobs ORDER BY created_at DESC, id LIMIT $1 OFFSET $2",
            limit, offset)

    async def count_jobs(self) -> int:
        return await self.pool.fetchval("SELECT count(*) FROM crawl_jobs")

    async def output(self, job_id: UUID, name: str) -> Any:
        """(status, output) of one of the job's OUTPUTS, or None for an unknown job."""
        if name not in OUTPUTS:
            raise ValueError(f"not a job output: {name!r}")
        return await self.pool.fetchrow(f"SELECT status, {name} AS output FROM crawl_jobs WHERE id = $1", job_id)

    async def preview(self, job_id: UUID, chars: int) -> Any:
        """The document's first `chars` characters (and whether there is more) and its size in bytes.

        Its size, not its length in characters: octet_length is read from the stored value's
        header, while length() decompresses the whole document (0.36 s for 31 MB)."""
        return await self.pool.fetchrow(
            "SELECT left(final_markdown, $2) AS preview, octet_length(final_markdown) AS bytes,"
            " length(left(final_markdown, $2 + 1)) > $2 AS more FROM crawl_jobs WHERE id = $1", job_id, chars)

    async def request_cancel(self, job_id: UUID) -> tuple[Any, bool]:
        """A person's cancel: (the job or None if unknown, whether this call changed it)."""
        row = await self.cancel(job_id)
        if row is not None:
            return row, True
        return await self.get(job_id), False

    async def claimable_ids(self) -> list[UUID]:
        """Jobs no live worker holds: never started, or whose worker died (to be resumed)."""
        return [row["id"] for row in await self.pool.fetch(
            "SELECT id FROM crawl_jobs WHERE " + CLAIMABLE + " ORDER BY created_at")]

    # The job page's reads: a page's fate, never its Markdown (but in `page`, one page's detail).

    async def fate_counts(self, job_id: UUID, search: str | None) -> dict[str, int]:
        """How many URLs each fate (FATES) has, matching `search` (in URL or title) if given, counted now
        (an ended job's, without a search, are on its row: `kept_counts`)."""
        row = await self.pool.fetchrow(
            "SELECT " + _COUNTS + " FROM job_urls WHERE job_id = $1 AND " + _SEARCH.format(n=2),
            job_id, search or None)
        return dict(row)

    async def fate_rows(self, job_id: UUID, fate: str, search: str | None, limit: int, offset: int) -> list[Any]:
        """One page of the URLs of a fate, the newest finished first (skipped ones: see `skipped_groups`)."""
        return await self.pool.fetch(
            "SELECT id, url, status, title, quality, quality_reasons, error_message, http_status, depth,"
            " included, drop_reason, token_count, (extra->>'rendered')::boolean AS rendered,"
            " extra->>'render_reason' AS render_reason"
            " FROM job_urls WHERE job_id = $1 AND " + FATES[fate] + " AND " + _SEARCH.format(n=2)
            + " ORDER BY finished_at DESC NULLS LAST, id DESC LIMIT $3 OFFSET $4",
            job_id, search or None, limit, offset)

    async def skipped_groups(self, job_id: UUID, search: str | None, examples: int = 3) -> list[Any]:
        """The skipped URLs grouped by reason, the largest group first, with a few of each."""
        return await self.pool.fetch(
            "SELECT coalesce(error_message, 'not fetched') AS reason, count(*) AS count,"
            " (array_agg(url ORDER BY id))[1:$3] AS examples"
            " FROM job_urls WHERE job_id = $1 AND " + FATES["skipped"] + " AND " + _SEARCH.format(n=2)
            + " GROUP BY 1 ORDER BY 2 DESC, 1", job_id, search or None, examples)

    async def included_pages(self, job_id: UUID, limit: int) -> list[Any]:
        """The first `limit` pages the document holds (or will, until assembly leaves some out), in the
        order they were found: the order assembly falls back on without the site's table of contents."""
        return await self.pool.fetch(
            "SELECT id, url, title, token_count FROM job_urls WHERE job_id = $1 AND " + FATES["included"]
            + " ORDER BY depth, id LIMIT $2", job_id, limit)

    async def included_totals(self, job_id: UUID) -> Any:
        """How many pages the document holds (or will) and their extracted tokens in all."""
        return await self.pool.fetchrow(
            "SELECT count(*) AS pages, coalesce(sum(token_count), 0) AS tokens FROM job_urls"
            " WHERE job_id = $1 AND " + FATES["included"], job_id)

    async def page(self, job_id: UUID, page_id: int) -> Any:
        """One URL of the job with everything stored about it (its Markdown too), or None."""
        return await self.pool.fetchrow(
            "SELECT j.id, j.url, j.final_url, j.status, j.title, j.depth, j.discovered_from, j.http_status,"
            f" j.error_message, {RESOLVED_MARKDOWN} AS markdown, j.quality, j.quality_reasons, j.word_count,"
            " j.token_count, j.fetched_at, j.included, j.drop_reason,"
            " (j.extra->>'rendered')::boolean AS rendered, j.extra->>'render_reason' AS render_reason"
            f" FROM {PAGE_SOURCE} WHERE j.job_id = $1 AND j.id = $2", job_id, page_id)


# A URL's fate on the job page. Until the document is assembled a stored page counts as
# included: only assembly leaves pages out (below the quality threshold, duplicates).
FATES = {
    "fetched": "status IN ('completed', 'failed')",
    "included": "status = 'completed' AND included IS NOT FALSE",
    "left_out": "status = 'completed' AND included IS FALSE",
    "failed": "status = 'failed'",
    "skipped": "status = 'skipped'",
}
# The text filter: a literal substring of the URL or title, in any case (no pattern: % and _ are
# letters). strpos on lower() costs about half of ILIKE's per-character case folding over a job's rows.
_SEARCH = "(${n}::text IS NULL OR strpos(lower(url), lower(${n})) > 0 OR strpos(lower(title), lower(${n})) > 0)"
_COUNTS = ", ".join(f"count(*) FILTER (WHERE {where}) AS {name}" for name, where in FATES.items())
# An ended job's counts, kept on its row: counted once when it ends (and when a partial document's
# verdicts are stored), since nothing changes its URLs after that.
_KEEP_COUNTS = ("UPDATE crawl_jobs SET fate_counts = (SELECT to_jsonb(c) FROM (SELECT " + _COUNTS
                + " FROM job_urls WHERE job_id = $1) c) WHERE id = $1 RETURNING " + JOB_COLUMNS)

