"""What creating and cancelling a job mean, shared by the API and the HTML form.

Both write PostgreSQL first (the truth), then tell the crawl side.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Mapping
from urllib.parse import urlsplit
from uuid import UUID

from spiders.jobs import events
from spiders.jobs.events import Event
from spiders.jobs.finalize import build_outputs, partial_note
from spiders.jobs.options import API, CrawlArgumentError, CrawlOptions, Dialect, parse_options
from spiders.jobs.status import job_status
from spiders.safety.addresses import AllowList, ip_literal
from webapp.guards.errors import InvalidInput, JobNotFound
from webapp.guards.ratelimit import create_within_limits

logger = logging.getLogger(__name__)


def parse_job_id(raw: str) -> UUID:
    """A job id from a URL; anything that is not a UUID is an unknown job (404)."""
    try:
        return UUID(raw)
    except (ValueError, TypeError):
        raise JobNotFound(f"no job with id {raw!r}", field="jobId") from None


def found(row: Any, job_id: UUID) -> Any:
    """The job's row, or 404 if there is none."""
    if row is None:
        raise JobNotFound(f"no job with id {str(job_id)!r}", field="jobId")
    return row


async def load_job(state: Any, job_id: UUID) -> Any:
    """The job's status and settings (never its document), or 404."""
    return found(await state.store.get(job_id), job_id)


async def create_job(state: Any, data: Mapping[str, Any], dialect: Dialect = API, *, client: str = "unknown") -> Any:
    """Checked in order: the fields (422), the start URL's address (422), then the limits (429/503).

    The fields are checked by the crawl's own rules (`parse_options`) within the web's limits.
    """
    settings = state.settings
    try:
        options = parse_options(data, dialect, bounds=settings.job_bounds, max_url_length=settings.max_url_length)
        await _check_target(options, settings.allow_hosts)
    except CrawlArgumentError as exc:
        raise InvalidInput(str(exc), field=exc.field) from None
    row = await create_within_limits(state.store, settings, client, options)
    if state.launcher is not None:
        state.launcher.submit(row["id"])
    return row


async def cancel_job(state: Any, job_id: UUID) -> tuple[Any, bool]:
    """Cancel in the database, then stop the crawl; idempotent. Returns (job, changed)."""
    row, changed = await state.store.request_cancel(job_id)
    found(row, job_id)
    if changed:
        # The one line a cancel writes: the crawl side stops quietly (spiders/jobs/pipeline.py).
        logger.info("job %s cancelled: %d pages stored, %d URLs never fetched", job_id, row["processed_urls"],
                    row["discovered_urls"] - row["total_urls"])
        try:
            await state.publisher.publish(job_id, Event(events.JOB_CANCELLED, {"job": job_status(row)}))
        except Exception:  # Redis carries events, not state: streams fall back to PostgreSQL
            logger.exception("job %s: could not publish the cancel event", job_id)
        if state.launcher is not None:
            await state.launcher.cancel(job_id)
    return row, changed


async def _check_target(options: CrawlOptions, allow_hosts: str) -> None:
    """The SSRF guard's check of the start URL; it may resolve the name, so in a thread."""
    parts = urlsplit(options.url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if ip_literal(parts.hostname or "") is None and not AllowList.parse(allow_hosts).allows(parts.hostname or "", port):
        await asyncio.to_thread(options.check_target, allow_hosts)
    else:  # an IP literal or an allow-listed host: decided without a lookup, no thread hop
        options.check_target(allow_hosts)


async def with_document(state: Any, row: Any) -> Any:
    """The job, with the document of the pages it stored if it ended cancelled or failed.

    Assembled here, on the first request that needs it, from the stored pages: whichever
    process cancelled the job, whichever crawled it, and even if that worker died, the pages
    are in PostgreSQL and nothing more is stored once the job has ended, so the first
    assembly is the final one (and the first of two racing requests to store it wins).
    Assembly is CPU work: it runs in a thread, off the event loop.
    """
    if not job_status(row)["partial"] or row["final_token_count"] is not None:
        return row  # (a status read: the token count says the document exists, without reading it)
    pages = await state.store.pages(row["id"], links=False)
    outputs = await asyncio.to_thread(build_outputs, pages, source_url=row["initial_url"],
                                      quality_threshold=row["quality_threshold"], token_budget=row["token_budget"],
                                      partial=partial_note(row["status"], pages))
    saved = await state.store.save_partial(row["id"], outputs.markdown, outputs.token_count,
                                           outputs.llms_txt, outputs.verdicts)
    return saved if saved is not None else await state.store.get(row["id"])
