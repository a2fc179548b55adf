"""Job events: one value object, one wire form for Redis Streams and one for SSE.

Each job has one stream, `<prefix>job:<id>:events`, appended with XADD and
trimmed to about `maxlen` entries; the entry id doubles as the SSE event id, so
a client that reconnects with `Last-Event-ID` gets exactly what it missed.
Settings read: DOCSPASTA_REDIS_URL, DOCSPASTA_REDIS_PREFIX, DOCSPASTA_STREAM_MAXLEN,
DOCSPASTA_STREAM_TTL (through the components that build a publisher).
"""
from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

# The settings' defaults, for the crawl's components and the web app's Settings alike.
REDIS_PREFIX = "docspasta:"  # DOCSPASTA_REDIS_PREFIX: every Redis key starts with it (streams, host rates)
STREAM_MAXLEN = 10_000  # DOCSPASTA_STREAM_MAXLEN: events kept per job stream (XADD MAXLEN ~)
STREAM_TTL = 7 * 24 * 3600  # DOCSPASTA_STREAM_TTL: seconds a job's stream lives after its last event

# Event types. The stream of a job ends after one of TERMINAL.
SNAPSHOT = "snapshot"  # the whole current state (sent first when a client has no Last-Event-ID)
DISCOVERY_STARTED = "discovery_started"
URLS_DISCOVERED = "urls_discovered"
URL_COMPLETED = "url_completed"  # status: success | failed | skipped
STEP_CHANGED = "step_changed"
ERROR = "error"  # something went wrong but the job goes on
JOB_COMPLETED = "job_completed"
JOB_FAILED = "job_failed"
JOB_CANCELLED = "job_cancelled"
TERMINAL = frozenset({JOB_COMPLETED, JOB_FAILED, JOB_CANCELLED})


def connect_redis(url: str) -> Any:
    """An asyncio Redis client for the calling thread's event loop.

    The socket timeout stays above the SSE handler's XREAD BLOCK (10 s): redis-py's
    default of 5 s would cut a blocking read short.
    """
    from redis.asyncio import Redis

    return Redis.from_url(url, socket_timeout=30, socket_connect_timeout=5)


SSE_LINE_END = re.compile(r"\r\n|\r|\n")


def stream_key(prefix: str, job_id: Any) -> str:
    return f"{prefix}job:{job_id}:events"


@dataclass(frozen=True)
class Event:
    type: str
    data: dict[str, Any] = field(default_factory=dict)
    id: str | None = None  # the stream entry id, once stored

    @property
    def terminal(self) -> bool:
        return self.type in TERMINAL

    def to_redis(self) -> dict[str, str]:
        # `at`: when it was published (epoch seconds), for clients and the event-latency benchmark.
        return {"type": self.type, "data": json.dumps(self.data, default=str, separators=(",", ":")),
                "at": f"{time.time():.6f}"}

    @classmethod
    def from_redis(cls, entry_id: bytes | str, fields: dict[Any, Any]) -> Event:
        def text(value: Any) -> str:
            return value.decode() if isinstance(value, bytes) else str(value)

        decoded = {text(k): text(v) for k, v in fields.items()}
        data = json.loads(decoded.get("data") or "{}")
        if "at" in decoded:
            data["publishedAt"] = float(decoded["at"])
        return cls(decoded.get("type", ERROR), data, text(entry_id))

    def payload(self) -> dict[str, Any]:
        """The JSON the API's stream carries: the type plus the event's fields."""
        return {"type": self.type, **self.data}

    def to_sse(self, *, name: str | None = None, data: str | None = None) -> bytes:
        """One SSE message. `name` sets `event:` (htmx listens by name); default data is the JSON payload."""
        body = json.dumps(self.payload(), default=str, separators=(",", ":")) if data is None else data
        lines = []
        if self.id:
            lines.append(f"id: {self.id}")
        if name:
            lines.append(f"event: {name}")
        # SSE ends a line at \r\n, \r or \n only; str.splitlines() also splits at U+2028,
        # U+001C, U+0085 and others, which would change the text a client receives.
        lines.extend(f"data: {line}" for line in SSE_LINE_END.split(body))
        return ("\n".join(lines) + "\n\n").encode()


class EventPublisher:
    """XADD events to a job's stream with any asyncio Redis client (one per event loop)."""

    def __init__(self, redis: Any, prefix: str, maxlen: int = STREAM_MAXLEN, ttl: int = STREAM_TTL):
        self.redis = redis
        self.prefix = prefix
        self.maxlen = maxlen
        self.ttl = ttl

    async def publish(self, job_id: Any, event: Event) -> str:
        key = stream_key(self.prefix, job_id)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.xadd(key, event.to_redis(), maxlen=self.maxlen, approximate=True)
            pipe.expire(key, self.ttl)
            entry_id, _ = await pipe.execute()
        return entry_id.decode() if isinstance(entry_id, bytes) else entry_id

    async def publish_many(self, job_id: Any, events: list[Event]) -> None:
        """Several events of one job, in order, in one round trip."""
        if not events:
            return
        key = stream_key(self.prefix, job_id)
        async with self.redis.pipeline(transaction=False) as pipe:
            for event in events:
                pipe.xadd(key, event.to_redis(), maxlen=self.maxlen, approximate=True)
            pipe.expire(key, self.ttl)
            await pipe.execute()
