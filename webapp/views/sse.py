"""Server-sent events for one job: read its Redis stream, fall back to PostgreSQL.

`job_events` yields batches of events. Without a usable `Last-Event-ID` it starts
with a snapshot of the job from PostgreSQL (the htmx SSE extension reconnects
without one), whose id is the stream's newest entry at the time, so resuming from
it misses nothing. With one it resumes exactly after that entry, unless entries
after it were trimmed away (then a snapshot again). It ends after the terminal
event; if Redis lost the stream, the database's terminal state ends it instead.
"""
from __future__ import annotations

import asyncio
import logging
import re
from typing import Any, AsyncIterator, Awaitable, Callable
from uuid import UUID

from spiders.jobs import events
from spiders.jobs.events import Event, stream_key
from spiders.jobs.status import job_status

logger = logging.getLogger(__name__)
KEEPALIVE = b": keepalive\n\n"
_ID = re.compile(r"^\d{1,20}-\d{1,20}$")
_TERMINAL_BY_STATUS = {"completed": events.JOB_COMPLETED, "failed": events.JOB_FAILED,
                       "cancelled": events.JOB_CANCELLED}
HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no", "Connection": "keep-alive"}


def _id_tuple(entry_id: str) -> tuple[int, int]:
    ms, seq = entry_id.split("-")
    return int(ms), int(seq)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def terminal_event(job: Any) -> Event | None:
    """The job's terminal event rebuilt from PostgreSQL (when the stream has none)."""
    kind = _TERMINAL_BY_STATUS.get(job["status"])
    if kind is None:
        return None
    return Event(kind, {"job": job_status(job), "error": job["error_details"],
                        "tokenCount": job["final_token_count"]})


async def _resume_point(redis: Any, key: str, last_event_id: str | None) -> str | None:
    """The id to read after, if the client's Last-Event-ID can be resumed from exactly."""
    if not last_event_id or not _ID.match(last_event_id) or max(_id_tuple(last_event_id)) >= 2 ** 64:
        return None  # not a stream id Redis could have made: start from a snapshot
    try:
        info = await redis.xinfo_stream(key)
    except Exception:  # no such stream (expired, or Redis lost it): start from the truth
        return None
    # Trimming removes the oldest entries, and Redis 7.0 does not record their ids
    # (max-deleted-entry-id counts XDEL only): if anything was trimmed and the client's
    # id is older than the first entry left, entries it never saw may be gone.
    trimmed = int(info.get("entries-added") or 0) > int(info.get("length") or 0)
    first = info.get("first-entry")
    if trimmed and first and _id_tuple(last_event_id) < _id_tuple(_text(first[0])):
        return None
    return last_event_id


async def job_events(load_job: Callable[[UUID], Awaitable[Any]], redis: Any, prefix: str, job_id: UUID,
                     last_event_id: str | None = None, *, block_ms: int = 10_000,
                     fallback_interval: float = 2.0) -> AsyncIterator[list[Event]]:
    """Batches of events; an empty batch means "nothing new for a while" (send a keepalive).

    While Redis does not answer, the state comes from PostgreSQL: a snapshot (without
    an id) every `fallback_interval` seconds when it changed, until the job ends or
    Redis is back (then a fresh snapshot and the stream again).
    """
    from redis.exceptions import ConnectionError as RedisDown
    from redis.exceptions import TimeoutError as RedisTimeout

    key = stream_key(prefix, job_id)
    cursor: str | None = None
    try:
        cursor = await _resume_point(redis, key, last_event_id)
    except (RedisDown, RedisTimeout):
        pass
    last_seen: Any = None
    while True:
        try:
            if cursor is None:
                newest = await redis.xrevrange(key, count=1)
                cursor = _text(newest[0][0]) if newest else "0-0"
                job = await load_job(job_id)  # read after the newest id: later events are replayed, none lost
                snapshot = Event(events.SNAPSHOT, {"job": job_status(job)}, cursor if newest else None)
                final = terminal_event(job)
                yield [snapshot, final] if final else [snapshot]
                if final:
                    return
            reply = await redis.xread({key: cursor}, count=200, block=block_ms)
        except (RedisDown, RedisTimeout) as exc:
            logger.warning("job %s: Redis unavailable (%s); following PostgreSQL", job_id, exc)
            cursor = None  # when Redis is back: a fresh snapshot, then its stream
            job = await load_job(job_id)
            if job["updated_at"] != last_seen:
                last_seen = job["updated_at"]
                final = terminal_event(job)
                yield [Event(events.SNAPSHOT, {"job": job_status(job)})] + ([final] if final else [])
                if final:
                    return
            else:
                yield []
            await asyncio.sleep(fallback_interval)
            continue
        batch: list[Event] = []
        for _, entries in reply or ():
            for entry_id, fields in entries:
                event = Event.from_redis(entry_id, fields)
                cursor = event.id
                batch.append(event)
                if event.terminal:
                    yield batch
                    return
        if not batch:
            final = terminal_event(await load_job(job_id))
            if final:  # ended without a terminal event in the stream (Redis lost it)
                yield [final]
                return
        yield batch


async def json_stream(batches: AsyncIterator[list[Event]]) -> AsyncIterator[bytes]:
    """The API's stream: one SSE message per event, JSON data, the stream entry as id."""
    yield b"retry: 1000\n\n"
    async for batch in batches:
        # one write per batch: under load, many events arrive together
        yield b"".join(event.to_sse() for event in batch) if batch else KEEPALIVE


async def fragment_stream(batches: AsyncIterator[list[Event]],
                          render: Callable[[], Awaitable[str]],
                          parts: Callable[[], Awaitable[dict[str, str]]] | None = None) -> AsyncIterator[bytes]:
    """The job page's stream: after each batch, the whole current state as HTML fragments.

    `parts` (optional): more fragments, each sent as an event of its name before the
    state's; the state's is named `progress` while running and `done` at the end (the
    page closes on `done`, so it comes last), and carries the batch's id.
    """
    async for batch in batches:
        if not batch:
            yield KEEPALIVE
            continue
        last = batch[-1]
        name = "done" if any(event.terminal for event in batch) else "progress"
        html = await render()  # first: it assembles an ended job's partial document, which the parts then show
        extra = await parts() if parts is not None else {}
        ids = [event.id for event in batch if event.id]
        yield b"".join([*(Event(last.type).to_sse(name=part, data=text) for part, text in extra.items()),
                        Event(last.type, id=ids[-1] if ids else None).to_sse(name=name, data=html)])
