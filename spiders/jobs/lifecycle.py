"""A web job's state machine on the crawl side: every move a guarded statement plus its event.

pending -> running (discovery; processing once a page is stored by the pipeline)
-> finalizing -> completed, or -> failed | cancelled. A move from a state the job is
no longer in does nothing and publishes nothing (a cancel written by the web side
wins over a crawl that is just finishing).
"""
from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from spiders.jobs.events import Event
from spiders.jobs.finalizer import Finalizer
from spiders.jobs.options import CrawlOptions
from spiders.jobs.status import job_status
from spiders.refresh.previous import StoredPrevious

logger = logging.getLogger(__name__)


class JobLifecycle:
    def __init__(self, resources: Any, finalizer: Finalizer):
        self.writer = resources.writer
        self.publisher = resources.publisher
        self.finalizer = finalizer

    async def start(self, job_id: UUID, owner: str, lease_seconds: int) -> CrawlOptions | None:
        """pending -> running; the job's crawl options, or None if it is not pending (any more)."""
        job = await self.writer.get(job_id)
        if job is None:
            logger.warning("job %s not found", job_id)
            return None
        options = await self._options(job)
        started = await self.writer.start(job_id, options.url, owner, lease_seconds)
        if started is None:
            return None  # cancelled (or taken) before it started
        await self._publish(job_id, "discovery_started", started)
        return options

    async def resume(self, job_id: UUID, owner: str, lease_seconds: int) -> tuple[CrawlOptions, Any] | None:
        """Take over a running job whose worker died: its options and stored frontier,
        or None if it ended or another worker holds it."""
        job = await self.writer.take_over(job_id, owner, lease_seconds)
        if job is None:
            return None
        snapshot = await self.writer.snapshot(job_id)
        logger.info("job %s: resuming with %d pages stored and %d to fetch", job_id, snapshot.completed,
                    len(snapshot.pending))
        await self._publish(job_id, "job_resumed", job, stored=snapshot.completed, pending=len(snapshot.pending))
        return await self._options(job), snapshot

    async def _options(self, job: Any) -> CrawlOptions:
        """The job's options, with its headers and cookies if it is private (held only by the crawl, in memory)."""
        secrets = await self.writer.secrets(job["id"]) if job["private_headers"] or job["private_cookies"] else None
        return CrawlOptions.from_job(job, secrets)

    async def previous_crawl(self, job_id: UUID) -> StoredPrevious | None:
        """For a refresh, the job it refreshes as the crawl compares with it (spiders/refresh); else None."""
        job = await self.writer.get(job_id)
        if job is None or job["refresh_of"] is None:
            return None
        previous = await StoredPrevious.load(self.writer, job["refresh_of"])
        logger.info("job %s: refreshing job %s (%d pages with validators)", job_id, job["refresh_of"], len(previous))
        return previous

    async def report_error(self, job_id: UUID, message: str, ref: Any, response: Any) -> None:
        """A page's callback raised: the page is recorded failed with the error, and an `error` event goes out."""
        data: dict[str, Any] = {"url": getattr(response, "url", None), "message": message}
        if ref is not None:
            job = await self.writer.record(job_id, {
                "url": ref.url, "final_url": response.url, "depth": ref.depth,
                "discovered_from": ref.discovered_from, "status": "failed", "http_status": response.status,
                "error": f"processing failed: {message}"})
            data = {"url": ref.url, "message": message, "job": job_status(job)}
        await self.publisher.publish(job_id, Event("error", data))

    async def finish(self, job_id: UUID, options: CrawlOptions, reason: str) -> None:
        """The crawl closed with `reason`: the job ends cancelled or failed, or is finalized into its document."""
        writer = self.writer
        if reason == "lease_lost":
            return  # another worker runs the job now: it decides how the job ends
        if reason == "shutdown":
            # This worker is stopping: the job stays running, and any worker (or this one,
            # restarted) resumes it from the stored frontier.
            if writer.owner:
                await writer.release(job_id, writer.owner)
            return
        if reason == "cancelled":
            await self.end(job_id, "cancelled", "job_cancelled", reason=reason)
            return
        if reason != "finished":
            await self.end(job_id, "failed", "job_failed", error=f"the crawl stopped: {reason}", reason=reason)
            return
        stepped = await writer.set_step(job_id, "finalizing")
        if stepped is None:
            return  # cancelled meanwhile: cancel wins
        await self._publish(job_id, "step_changed", stepped)
        limit = stepped["processed_urls"] >= options.max_pages
        await writer.close_frontier(
            job_id, "not fetched: page limit reached" if limit else "not fetched: the crawl ended first")
        # Off this thread: assembly is seconds of CPU for a large job (spiders.jobs.finalizer).
        done = await self.finalizer(job_id, writer.owner, options.url, options.quality_threshold, options.token_budget)
        if done.nothing_fetched is not None:
            await self.end(job_id, "failed", "job_failed",
                           error=f"no page could be crawled from {options.url}: {done.nothing_fetched}", reason=reason)
            return
        if done.job is not None:
            await self._publish_status(job_id, "job_completed", done.job, tokenCount=done.token_count,
                                       included=done.included, dropped=done.dropped)

    async def end(self, job_id: UUID, status: str, event_type: str, *, error: str | None = None,
                  reason: str | None = None) -> None:
        """pending|running -> failed|cancelled, and its terminal event; nothing if the job had ended."""
        try:
            row = await self.writer.end(job_id, status, error=error, reason=reason)
        except Exception:
            logger.exception("job %s: could not record %s", job_id, status)
            return
        if row is not None:
            await self._publish(job_id, event_type, row, error=error)

    async def _publish(self, job_id: UUID, event_type: str, row: Any, **data: Any) -> None:
        await self._publish_status(job_id, event_type, job_status(row), **data)

    async def _publish_status(self, job_id: UUID, event_type: str, status: dict[str, Any], **data: Any) -> None:
        try:
            await self.publisher.publish(job_id, Event(event_type, {"job": status, **data}))
        except Exception:  # the state is in PostgreSQL; the SSE handler falls back to it
            logger.exception("job %s: could not publish %s", job_id, event_type)
