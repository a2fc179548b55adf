"""The web side's reads and writes of jobs, on uvicorn's asyncpg pool.

The crawl side writes through `spiders.jobs.store.JobWriter` on its own pool; both
follow the same rule: a state change is one guarded statement.
"""
from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from spiders.jobs.options import CrawlOptions
from spiders.jobs.store import JobWriter, page_from_row
from webapp.guards.errors import JobNotFound


def parse_job_id(raw: str) -> UUID:
    """A job id from a URL; anything that is not a UUID is an unknown job (404)."""
    try:
        return UUID(raw)
    except (ValueError, TypeError):
        raise JobNotFound(f"no job with id {raw!r}", field="jobId") from None


class JobStore:
    def __init__(self, pool: Any):
        self.pool = pool

    async def create(self, options: CrawlOptions, *, client: str | None = None, conn: Any = None) -> Any:
        """A new pending job; `conn`: inside the caller's transaction (webapp/guards/ratelimit.py)."""
        return await (conn or self.pool).fetchrow(
            "INSERT INTO crawl_jobs (id, initial_url, max_pages, max_depth, quality_threshold, scope, render,"
            " client_addr) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id, initial_url, status",
            uuid4(), options.url, options.max_pages, options.max_depth, options.quality_threshold, options.scope,
            options.render, client)

    async def get(self, job_id: UUID) -> Any:
        row = await self.pool.fetchrow("SELECT * FROM crawl_jobs WHERE id = $1", job_id)
        if row is None:
            raise JobNotFound(f"no job with id {str(job_id)!r}", field="jobId")
        return row

    async def recent(self, limit: int) -> list[Any]:
        return await self.pool.fetch(
            "SELECT id, status, current_step, initial_url, max_pages, max_depth, quality_threshold, scope, render,"
            " total_urls, processed_urls, failed_urls, skipped_urls, discovered_urls, progress, error_details,"
            " created_at, updated_at, started_at, completed_at FROM crawl_jobs"
            " ORDER BY created_at DESC LIMIT $1", limit)

    async def pages(self, job_id: UUID) -> list[dict[str, Any]]:
        rows = await self.pool.fetch(
            # discovery order (breadth-first: depth, then the order links were found), which
            # assembly falls back on when the pages carry no table of contents
            "SELECT * FROM job_urls WHERE job_id = $1 ORDER BY depth, id", job_id)
        return [page_from_row(row) for row in rows]

    async def log(self, job_id: UUID, limit: int) -> list[Any]:
        """The newest finished URLs first: the job page's per-URL log."""
        return await self.pool.fetch(
            "SELECT url, status, title, quality, error_message, http_status, depth, included, drop_reason,"
            " (extra->>'rendered')::boolean AS rendered, extra->>'render_reason' AS render_reason"
            " FROM job_urls WHERE job_id = $1 AND finished_at IS NOT NULL"
            " ORDER BY finished_at DESC, id DESC LIMIT $2", job_id, limit)

    async def cancel(self, job_id: UUID) -> tuple[Any, bool]:
        """pending|running -> cancelled; returns (the job, whether this call changed it)."""
        row = await JobWriter(self.pool).cancel(job_id)
        if row is not None:
            return row, True
        return await self.get(job_id), False

    async def claimable_ids(self) -> list[UUID]:
        """Jobs no live worker holds: never started, or whose worker died (to be resumed)."""
        from spiders.jobs.store import CLAIMABLE

        return [row["id"] for row in await self.pool.fetch(
            "SELECT id FROM crawl_jobs WHERE " + CLAIMABLE + " ORDER BY created_at")]
