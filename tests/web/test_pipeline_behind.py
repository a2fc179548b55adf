"""A job's pages are stored behind the crawl: handed over at once, written in batches, never lost,
and only so many at a time wait unwritten."""
from __future__ import annotations

import asyncio
import uuid

import asyncpg

from spiders.jobs.pipeline import CrawlResources, PostgresPipeline
from spiders.jobs.store import JobStore, create_pool
from tests.web.conftest import run_async
from webapp.migrate import migrate_url


def _page(n: int) -> dict:
    return {"url": f"http://docs.test/p{n}.html", "status": "completed", "depth": 1, "title": f"Page {n}",
            "markdown": f"Page {n} explains one function of the library.", "quality": 80}


async def _stored(pool, job_id) -> int:
    return await pool.fetchval("SELECT count(*) FROM job_urls WHERE job_id = $1 AND status = 'completed'", job_id)


def test_pages_are_handed_over_at_once_bounded_and_all_stored_when_the_database_is_slow(database_url):
    job_id = uuid.uuid4()

    async def go():
        await migrate_url(database_url)
        pool = await create_pool(database_url, 2)
        blocker = await asyncpg.connect(database_url)
        try:
            await pool.execute("INSERT INTO crawl_jobs (id, status, initial_url, max_pages, max_depth,"
                               " quality_threshold) VALUES ($1, 'running', 'http://docs.test/', 50, 2, 20)", job_id)
            pipeline = PostgresPipeline(job_id, CrawlResources(JobStore(pool), None))
            pipeline.BEHIND = 3
            # Another transaction holds the job's row: no batch of this job can be written meanwhile.
            locked = blocker.transaction()
            await locked.start()
            await blocker.execute("SELECT 1 FROM crawl_jobs WHERE id = $1 FOR UPDATE", job_id)
            for n in range(3):  # handed over without waiting for the database
                assert await asyncio.wait_for(pipeline.process_item(_page(n)), 10) == _page(n)
            assert await _stored(pool, job_id) == 0
            fourth = asyncio.ensure_future(pipeline.process_item(_page(3)))
            for _ in range(20):  # its turn on the loop, as far as it gets without the database
                await asyncio.sleep(0)
            waited = not fourth.done()  # past the bound, a page waits for its own write
            await locked.rollback()
            assert await asyncio.wait_for(fourth, 30) == _page(3)
            stored_when_returned = await _stored(pool, job_id)
            await pipeline.close_spider()  # what the crawl's end waits for: every write
            return waited, stored_when_returned, await _stored(pool, job_id)
        finally:
            await blocker.close()
            await pool.close()

    waited, stored_when_returned, stored = run_async(go())
    assert waited, "the page past the bound went on before its write"
    assert stored_when_returned == 4, "the page that waited came back before it was stored"
    assert stored == 4
