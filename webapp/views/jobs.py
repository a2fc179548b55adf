"""What creating and cancelling a job mean, shared by the API and the HTML form.

Both write PostgreSQL first (the truth), then tell the crawl side.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Mapping
from uuid import UUID

from spiders.jobs import events
from spiders.jobs.events import Event
from spiders.jobs.finalize import build_outputs, partial_note
from spiders.jobs.store import JobWriter, job_status
from webapp.guards.ratelimit import create_within_limits
from webapp.validation import API_FIELDS, check_target, parse_job_request

logger = logging.getLogger(__name__)


async def create_job(state: Any, data: Mapping[str, Any], fields: Mapping[str, str] = API_FIELDS,
                     ignore: tuple[str, ...] = (), *, client: str = "unknown") -> Any:
    """Checked in order: the fields (422), the start URL's address (422), then the limits (429/503)."""
    options = parse_job_request(data, state.settings, fields, ignore=ignore)
    await check_target(options, state.settings, fields)
    row = await create_within_limits(state.store, state.settings, client, options)
    if state.launcher is not None:
        state.launcher.submit(row["id"])
    return row


async def cancel_job(state: Any, job_id: UUID) -> tuple[Any, bool]:
    """Cancel in the database, then stop the crawl; idempotent. Returns (job, changed)."""
    row, changed = await state.store.cancel(job_id)
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
    pages = await state.store.pages(row["id"])
    outputs = await asyncio.to_thread(build_outputs, pages, source_url=row["initial_url"],
                                      quality_threshold=row["quality_threshold"],
                                      partial=partial_note(row["status"], pages))
    saved = await JobWriter(state.store.pool).save_partial(row["id"], outputs.markdown, outputs.token_count,
                                                           outputs.llms_txt, outputs.verdicts)
    return saved if saved is not None else await state.store.get(row["id"])
