"""Where finalizing runs: never on the crawl's thread.

Assembling a 10,000-page job is about 10 s of pure-Python CPU. On the reactor
thread it stalls every other crawl, their events and the lease renewals; in a
thread it still holds the GIL most of that time. So by default it runs in a
process (`spiders.crawl.offload.process_pool`), a fresh one per job, whose memory
goes back to the system when the job is done. `DOCSPASTA_FINALIZE_WORKERS` sets
how many jobs finalize at once (each holds its pages in memory meanwhile); 0 runs
finalizing in a thread of the crawl process instead (no process start; the GIL
is shared).
"""
from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from uuid import UUID

from spiders.crawl.offload import discard_pool, process_pool
from spiders.jobs.finalize import Finalized, finalize_stored

POOL = "finalize"
NICE = 10


class Finalizer:
    """`await finalizer(job_id, owner, source_url, quality_threshold, token_budget)`: `finalize_stored`, off the
    caller's thread."""

    def __init__(self, database_url: str, workers: int = 1):
        self.database_url = database_url
        self.workers = workers
        self._threads: ThreadPoolExecutor | None = None

    async def __call__(self, job_id: UUID, owner: str | None, source_url: str, quality_threshold: int,
                       token_budget: int | None = None) -> Finalized:
        args = (finalize_stored, self.database_url, job_id, owner, source_url, quality_threshold, token_budget)
        if self.workers <= 0:
            if self._threads is None:
                self._threads = ThreadPoolExecutor(1, thread_name_prefix="docspasta-finalize")
            return await asyncio.wrap_future(self._threads.submit(*args))
        try:
            # Niced: a document can wait a moment longer; live crawls' pages and events should not.
            pool = process_pool(POOL, self.workers, max_tasks_per_child=1, nice=NICE)
            return await asyncio.wrap_future(pool.submit(*args))
        except BrokenProcessPool:
            # A finalizing process died (killed, out of memory): this job fails with the
            # reason; the next job gets a new pool.
            discard_pool(POOL, self.workers)
            raise

    def close(self) -> None:
        if self._threads is not None:
            self._threads.shutdown(wait=False)
