"""What creating and cancelling a job mean, shared by the API and the HTML form.

Both write PostgreSQL first (the truth), then tell the crawl side.
"""
from __future__ import annotations

import logging
from typing import Any, Mapping
from uuid import UUID

from spiders.jobs import events
from spiders.jobs.events import Event
from spiders.jobs.status import job_status
from webapp.guards.errors import JobNotFound
from webapp.guards.ratelimit import create_within_limits
from webapp.validation import API_FIELDS, check_target, parse_job_request

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
    found(row, job_id)
    if changed:
        try:
            await state.publisher.publish(job_id, Event(events.JOB_CANCELLED, {"job": job_status(row)}))
        except Exception:  # Redis carries events, not state: streams fall back to PostgreSQL
            logger.exception("job %s: could not publish the cancel event", job_id)
        if state.launcher is not None:
            await state.launcher.cancel(job_id)
    return row, changed
