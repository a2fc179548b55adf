"""Scheduled refresh: a site (by its label's name) refreshed every so often.

`ScheduleStore` is the one repository of `refresh_schedules`. Starting the refreshes
that are due is `spiders.jobs.store.JobStore.start_due_refreshes` (it writes the jobs),
called by the cron endpoint (`POST /api/v3/process`) and by every runner's claim loop.
"""
from __future__ import annotations

from typing import Any

MIN_EVERY = 3600  # seconds: at most one refresh an hour per site
MAX_EVERY = 366 * 24 * 3600

_COLUMNS = ("s.site_name, extract(epoch FROM s.every)::bigint AS every,"
            " (SELECT max(created_at) FROM crawl_jobs WHERE site_name = s.site_name) AS latest,"
            " (SELECT max(created_at) FROM crawl_jobs WHERE site_name = s.site_name) + s.every AS due")


class ScheduleStore:
    def __init__(self, pool: Any):
        self.pool = pool

    async def set(self, site: str, every: int) -> Any:
        """Refresh `site` every `every` seconds; None if no completed job has that site name."""
        return await self.pool.fetchrow(
            "WITH s AS (INSERT INTO refresh_schedules (site_name, every)"
            "  SELECT $1, make_interval(secs => $2) WHERE EXISTS"
            "   (SELECT 1 FROM crawl_jobs WHERE site_name = $1 AND status = 'completed')"
            "  ON CONFLICT (site_name) DO UPDATE SET every = excluded.every, updated_at = now()"
            "  RETURNING site_name, every)"
            f" SELECT {_COLUMNS} FROM s", site, every)

    async def remove(self, site: str) -> bool:
        result = await self.pool.execute("DELETE FROM refresh_schedules WHERE site_name = $1", site)
        return result.split()[-1] != "0"

    async def all(self) -> list[Any]:
        return await self.pool.fetch(f"SELECT {_COLUMNS} FROM refresh_schedules s ORDER BY s.site_name")
