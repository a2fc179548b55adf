"""Extraction off the crawl's thread: a small process pool shared by every crawl.

Extraction is most of a crawl's CPU (lxml, the Markdown converter, the BPE
tokenizer). Inline it serialises with Scrapy's own work on one core, and the
reactor, busy extracting, reads responses late, which AutoThrottle takes for a
slow server. In a worker process it overlaps with fetching on another core.
`DOCSPASTA_EXTRACT_WORKERS` sets the pool's size (0: extract inline).

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

from spiders.extract.page import ExtractedPage, extract_page

_POOLS: dict[int, ProcessPoolExecutor] = {}


def _exit_with_parent(parent: int) -> None:
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()


def _pool(workers: int) -> ProcessPoolExecutor:
    pool = _POOLS.get(workers)
    if pool is None:
        pool = _POOLS[workers] = ProcessPoolExecutor(
            workers, mp_context=multiprocessing.get_context("spawn"),
            initializer=_exit_with_parent, initargs=(os.getpid(),))
        atexit.register(pool.shutdown, wait=False, cancel_futures=True)
    return pool


class Extractor:
    """`await extractor(html, url)`: `extract_page`, in the pool when there is one."""

    def __init__(self, workers: int):
        self.workers = workers

    async def __call__(self, html: str, url: str) -> ExtractedPage:
        if self.workers <= 0:
            return extract_page(html, url)
        return await asyncio.wrap_future(_pool(self.workers).submit(extract_page, html, url))
