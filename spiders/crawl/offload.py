"""Work off the crawl's thread: small process pools shared by every crawl in the process.

Reading a page is most of a crawl's CPU: parsing, links, extraction (lxml, the
Markdown converter, the BPE tokenizer). Inline it serialises with Scrapy's own work
on one core, and the reactor, busy extracting, reads responses late, which
AutoThrottle takes for a slow server. `PageReader` hands the body to the "extract"
pool, where `spiders.crawl.reading.read_page` reads it once and sends back the
links and the extraction together; the reactor only fetches and keeps the books.
`DOCSPASTA_EXTRACT_WORKERS` sets the pool's size (0: read inline), and
`DOCSPASTA_EXTRACT_TASKS_PER_WORKER` how many pages a worker reads before a fresh
one replaces it (0: never). The crawl's frontier window bounds the pages waiting
for the pool. Finalizing a job (`spiders.jobs.finalize`) runs in this pool too by
default, between pages (`spiders.jobs.finalizer` says why, and how to give it a pool
of its own).

The pools are `spiders.crawl.pool.WorkerPool`s: workers started afresh (never
forked: the crawl process runs threads a forked child would inherit half-locked),
fed over pipes, that exit by themselves when the crawl process dies, even by kill -9,
so none is ever left behind.
"""
from __future__ import annotations

import asyncio
import atexit
import importlib
import pickle
from typing import Any

from spiders.crawl.heap import trim_memory
from spiders.crawl.pool import WorkerDied, WorkerPool
from spiders.crawl.reading import PageRead, read_page
from spiders.crawl.urls import Scope
from spiders.extract.tokens import tokenizer_name

_POOLS: dict[tuple[str, int], WorkerPool] = {}
EXTRACT_POOL = "extract"  # the pool that reads pages (and, by default, finalizes jobs: spiders.jobs.finalizer)
# An extraction worker loads the tokenizer first, before the modules that read pages: building it
# holds its ranks twice for a moment (a Python dict beside the Rust core's maps, +14 MB), which on
# top of those modules made the worker's peak (~70 MB) instead of its pages (~58-62 MB, Dask).
_INITIALIZERS = {EXTRACT_POOL: "spiders.extract.tokens:tokenizer_name"}


def _read_and_trim(*args: Any, **kwargs: Any) -> PageRead:
    """`read_page` in a pool worker, then give the freed heap back to the system: a big
    page's tree and text otherwise stay in the worker's RSS (Dask docs: 102 -> 73 MB)."""
    try:
        return read_page(*args, **kwargs)
    finally:
        trim_memory()


def process_pool(name: str, workers: int, *, max_tasks_per_child: int | None = None, nice: int = 0) -> WorkerPool:
    """The process's pool called `name` (created on first use): workers that die with it.

    `max_tasks_per_child=1` gives every task a fresh process, whose memory goes back
    to the system when it ends; `nice` lowers the workers' CPU priority by that much.
    """
    key = (name, workers)
    pool = _POOLS.get(key)
    if pool is None:
        pool = _POOLS[key] = WorkerPool(workers, max_tasks_per_child=max_tasks_per_child, nice=nice,
                                        initializer=_INITIALIZERS.get(name, ""))
        atexit.register(pool.shutdown, wait=False, cancel_futures=True)
    return pool


def discard_pool(name: str, workers: int) -> None:
    """Stop the pool called `name` (its workers exit once idle): the next `process_pool` call starts a new one."""
    pool = _POOLS.pop((name, workers), None)
    if pool is not None:
        pool.shutdown(wait=False, cancel_futures=True)


def _warm(modules: tuple[str, ...] = ()) -> str:
    """What a worker loads before its first page: the reading modules (unpickling this imports
    them; its initializer built the tokenizer already) and `modules` (what else the process's tasks run)."""
    for module in modules:
        importlib.import_module(module)
    return tokenizer_name()


class PageReader:
    """`await reader(body, encoding, url, scope, ...)`: `read_page`, in the pool when there is one."""

    def __init__(self, workers: int, max_tasks_per_child: int | None = None):
        self.workers = workers
        self.max_tasks_per_child = max_tasks_per_child

    @classmethod
    def from_settings(cls, settings: Any) -> PageReader:
        """The reader `DOCSPASTA_EXTRACT_WORKERS` and `DOCSPASTA_EXTRACT_TASKS_PER_WORKER` configure."""
        return cls(settings.getint("DOCSPASTA_EXTRACT_WORKERS", 1),
                   settings.getint("DOCSPASTA_EXTRACT_TASKS_PER_WORKER") or None)

    def _pool(self) -> WorkerPool:
        return process_pool(EXTRACT_POOL, self.workers, max_tasks_per_child=self.max_tasks_per_child)

    def warm(self, *modules: str) -> None:
        """Start a worker and load what reading a page takes, and `modules`, in the background: a
        service's first job otherwise waits ~1 s for it before its first page (bench/serve.py)."""
        if self.workers > 0:
            self._pool().submit(_warm, modules)

    def fill(self) -> None:
        """Start every worker of the pool now, not as pages come: a crawl's first pages come one
        at a time, so a second worker otherwise boots (~0.5 s of imports and the tokenizer) only
        once pages arrive faster than one worker reads them, on the crawl's busiest cores."""
        if self.workers > 0:
            pool = self._pool()
            for _ in range(self.workers):
                pool.submit(_warm)

    async def __call__(self, body: bytes, encoding: str, url: str, scope: Scope, **checks: Any) -> PageRead:
        if self.workers <= 0:
            return read_page(body, encoding, url, scope, **checks)
        pool = self._pool()
        page = pickle.PickleBuffer(body)  # sent to the worker from where it lies
        try:
            return await asyncio.wrap_future(pool.submit(_read_and_trim, page, encoding, url, scope, **checks))
        except WorkerDied:
            # Its worker was killed (out of memory, by hand) under it: once more, in a new worker. A
            # page that kills its worker again fails; the other pages never noticed.
            return await asyncio.wrap_future(pool.submit(_read_and_trim, page, encoding, url, scope, **checks))
