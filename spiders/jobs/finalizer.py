"""Where finalizing runs: never on the crawl's thread.

Assembling a 10,000-page job is about 10 s of pure-Python CPU. On the reactor
thread it stalls every other crawl, their events and the lease renewals; in a
thread it still holds the GIL most of that time. So it runs in a process
(`spiders.crawl.offload.process_pool`). `DOCSPASTA_FINALIZE_WORKERS` says which:

- -1 (the default): the extraction pool's (`DOCSPASTA_EXTRACT_WORKERS`), shared by
  every crawl of the process, between pages. Its processes are warm (the tokenizer
  and the extraction's modules loaded), so a job is not kept waiting ~1 s for a
  process to start and import them, and the crawl side holds no extra ~100 MB
  process while a job finalizes (bench/serve.py: 10 jobs finishing together had a
  finalizing process each, one after another, on top of the pool). The worker
  gives its heap back to the system afterwards. A long assembly takes one worker
  from the crawls meanwhile; the others go on reading pages.
- N > 0: a pool of N processes of its own, a fresh one per job at a lower CPU
  priority, whose memory goes back to the system when the job is done; N jobs
  finalize at once.
- 0: a thread of the crawl process (no process start; the GIL is shared).
"""
from __future__ import annotations

import asyncio
import gc
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from uuid import UUID

from spiders.crawl.heap import trim_memory
from spiders.crawl.offload import EXTRACT_POOL, process_pool
from spiders.jobs.finalize import Finalized, finalize_stored

POOL = "finalize"
NICE = 10
IN_EXTRACT_POOL = -1


def _finalize_and_trim(*args: Any) -> Finalized:
    """`finalize_stored` in an extraction worker, then its pages' memory handed back to the system."""
    try:
        return finalize_stored(*args)
    finally:
        gc.collect()
        trim_memory()


class Finalizer:
    """`await finalizer(job_id, owner, source_url, quality_threshold, token_budget)`: `finalize_stored`, off the
    caller's thread."""

    def __init__(self, database_url: str, workers: int = IN_EXTRACT_POOL, *, extract_workers: int = 1,
                 extract_tasks_per_worker: int | None = None):
        self.database_url = database_url
        self.workers = workers
        if workers == IN_EXTRACT_POOL and extract_workers <= 0:
            self.workers = 0  # pages are read inline: no pool to share, so a thread
        self.extract_workers = extract_workers
        self.extract_tasks_per_worker = extract_tasks_per_worker
        self._threads: ThreadPoolExecutor | None = None

    async def __call__(self, job_id: UUID, owner: str | None, source_url: str, quality_threshold: int,
                       token_budget: int | None = None) -> Finalized:
        args = (self.database_url, job_id, owner, source_url, quality_threshold, token_budget)
        if self.workers == 0:
            if self._threads is None:
                self._threads = ThreadPoolExecutor(1, thread_name_prefix="docspasta-finalize")
            return await asyncio.wrap_future(self._threads.submit(finalize_stored, *args))
        if self.workers < 0:
            pool = process_pool(EXTRACT_POOL, self.extract_workers, max_tasks_per_child=self.extract_tasks_per_worker)
            call: Any = _finalize_and_trim
        else:
            # Niced: a document can wait a moment longer; live crawls' pages and events should not.
            pool = process_pool(POOL, self.workers, max_tasks_per_child=1, nice=NICE)
            call = finalize_stored
        # A worker that dies (killed, out of memory) fails this job with the reason (WorkerDied);
        # the next job gets a new worker.
        return await asyncio.wrap_future(pool.submit(call, *args))

    def close(self) -> None:
        if self._threads is not None:
            self._threads.shutdown(wait=False)
