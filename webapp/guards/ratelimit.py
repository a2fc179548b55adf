"""Job creation within limits: per client a rate and a cap on active jobs, and a cap for everyone.

The counts come from PostgreSQL (the jobs themselves, with the address that created
them), so every process of a deployment enforces the same limits and a restart
forgets nothing. A client's check and insert run under a transaction-level advisory
lock on its address: a burst of its requests is admitted one at a time, exactly.
The global cap is checked in the same statement, without a global lock (so it can
be passed by a few jobs when many clients create at the very same moment).
"""
from __future__ import annotations

import ipaddress
import math
from typing import Any

from spiders.jobs.options import CrawlOptions
from webapp.guards.errors import AtCapacity, TooManyRequests
from webapp.settings import Settings

_LOCK_KEY = 0x72617465  # "rate": the first half of the advisory lock's key, the client's hash the second
WINDOW = 60  # seconds: DOCSPASTA_RATE_LIMIT is jobs per minute
ACTIVE_RETRY_AFTER = 30  # seconds: when an active job will end is not known; look again in a while


def client_key(address: str) -> str:
    """The address that limits count by: an IPv6 client by its /64 (one host usually holds a whole /64)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:200]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{ip}/64", strict=False))
    return str(ip)


async def create_within_limits(store: Any, settings: Settings, client: str, options: CrawlOptions,
                               refresh_of: Any = None) -> Any:
    """The new job's row, or TooManyRequests (429) / AtCapacity (503) with a Retry-After.
    `refresh_of`: the completed job the new one refreshes (a refresh counts as a job)."""
    client = client_key(client)
    if not (settings.rate_limit or settings.max_jobs_per_client or settings.max_active_jobs):
        return await store.create(options, client=client, refresh_of=refresh_of)
    async with store.pool.acquire() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1, hashtext($2))", _LOCK_KEY, client)
        counts = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM crawl_jobs WHERE client_addr = $1 AND status IN ('pending', 'running'))"
            " AS mine, (SELECT count(*) FROM crawl_jobs WHERE status IN ('pending', 'running')) AS everyone,"
            " (SELECT array_agg(age) FROM (SELECT extract(epoch FROM clock_timestamp() - created_at)::float8 AS age"
            "   FROM crawl_jobs WHERE client_addr = $1 AND created_at > clock_timestamp() - make_interval(secs => $2)"
            "   ORDER BY created_at DESC LIMIT $3) recent) AS ages",
            client, WINDOW, max(settings.rate_limit, 1))
        ages = counts["ages"] or []
        if settings.rate_limit and len(ages) >= settings.rate_limit:
            wait = max(1, math.ceil(WINDOW - max(ages)))  # when the oldest of them leaves the window
            raise TooManyRequests(f"too many jobs: at most {settings.rate_limit} a minute from one client;"
                                  f" retry in {wait} s", retry_after=wait)
        if settings.max_jobs_per_client and counts["mine"] >= settings.max_jobs_per_client:
            raise TooManyRequests(f"too many jobs: at most {settings.max_jobs_per_client} pending or running"
                                  " from one client; wait for one to end (or cancel one)",
                                  retry_after=ACTIVE_RETRY_AFTER)
        if settings.max_active_jobs and counts["everyone"] >= settings.max_active_jobs:
            raise AtCapacity(f"the server is running as many jobs as it takes ({settings.max_active_jobs});"
                             " retry later", retry_after=ACTIVE_RETRY_AFTER)
        return await store.create(options, client=client, conn=conn, refresh_of=refresh_of)
