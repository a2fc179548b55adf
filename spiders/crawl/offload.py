"""Work off the crawl's thread: small process pools shared by every crawl in the process.

Extraction is most of a crawl's CPU (lxml, the Markdown converter, the BPE
tokenizer). Inline it serialises with Scrapy's own work on one core, and the
reactor, busy extracting, reads responses late, which AutoThrottle takes for a
slow server. In a worker process it overlaps with fetching on another core.
`DOCSPASTA_EXTRACT_WORKERS` sets the pool's size (0: extract inline). Finalizing
a job (`spiders.jobs.finalize`) has a pool of its own, so a long assembly never
queues behind a crawl's pages, nor they behind it.

Workers start with `spawn`, never `fork` (the crawl process runs threads a forked
child would inherit half-locked), and exit by themselves when the crawl process
dies, even by kill -9, so none is ever left behind.
"""
from __future__ import annotations

import asyncio
import atexit
import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from spiders.crawl.reading import PageRead, read_page
from spiders.crawl.urls import Scope

_POOLS: dict[tuple[str, int], ProcessPoolExecutor] = {}


def _start_worker(parent: int, nice: int) -> None:
    if nice:
        os.nice(nice)
    _exit_with_parent(parent)


def _exit_with_parent(parent: int) -> None:
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()


def process_pool(name: str, workers: int, *, max_tasks_per_child: int | None = None,
                 nice: int = 0) -> ProcessPoolExecutor:
    """The process's pool called `name` (created on first use): spawned workers that die with it.

    `max_tasks_per_child=1` gives every task a fresh process, whose memory goes back
    to the system when it ends; `nice` lowers the workers' CPU priority by that much.
    """
    key = (name, workers)
    pool = _POOLS.get(key)
    if pool is None:
        pool = _POOLS[key] = ProcessPoolExecutor(
            workers, mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker, initargs=(os.getpid(), nice), max_tasks_per_child=max_tasks_per_child)
        atexit.register(pool.shutdown, wait=False, cancel_futures=True)
    return pool


def discard_pool(name: str, workers: int) -> None:
    """Forget a broken pool (a worker was killed): the next `process_pool` call starts a new one."""
    pool = _POOLS.pop((name, workers), None)
    if pool is not None:
        pool.shutdown(wait=False, cancel_futures=True)


class PageReader:
    """`await reader(body, encoding, url, scope, ...)`: `read_page`, in the pool when there is one."""

    def __init__(self, workers: int, max_tasks_per_child: int | None = None):
        self.workers = workers
        self.max_tasks_per_child = max_tasks_per_child

    async def __call__(self, body: bytes, encoding: str, url: str, scope: Scope, **checks: Any) -> PageRead:
        if self.workers <= 0:
            return read_page(body, encoding, url, scope, **checks)
        pool = process_pool("extract", self.workers, max_tasks_per_child=self.max_tasks_per_child)
        return await asyncio.wrap_future(pool.submit(read_page, body, encoding, url, scope, **checks))
