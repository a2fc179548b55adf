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

Workers start with `spawn`, never `fork` (the crawl process runs threads a forked
child would inherit half-locked), and exit by themselves when the crawl process
dies, even by kill -9, so none is ever left behind.
"""
from __future__ import annotations

import asyncio
import atexit
import ctypes
import importlib
import multiprocessing
import os
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Callable

from spiders.crawl.reading import PageRead, read_page
from spiders.crawl.urls import Scope
from spiders.extract.tokens import tokenizer_name

_POOLS: dict[tuple[str, int], ProcessPoolExecutor] = {}
EXTRACT_POOL = "extract"  # the pool that reads pages (and, by default, finalizes jobs: spiders.jobs.finalizer)


def _malloc_trim() -> Callable[[], Any]:
    """glibc's malloc_trim(0), or nothing where there is no glibc.

    Called holding the GIL (PyDLL): a CDLL call lets it go and must take it back afterwards,
    behind whichever thread took it meanwhile (the pool's manager thread unpickling a page, a web
    request): in a crawl process the call cost ~0.9 ms of the reactor's time for ~0.1 ms of work."""
    try:
        trim = ctypes.PyDLL(None).malloc_trim
    except (AttributeError, OSError):
        return lambda: None
    return lambda: trim(0)


trim_memory = _malloc_trim()
"""Give the heap's free memory back to the system (glibc; elsewhere nothing): ~0.1 ms."""


def _read_and_trim(*args: Any, **kwargs: Any) -> PageRead:
    """`read_page` in a pool worker, then give the freed heap back to the system: a big
    page's tree and text otherwise stay in the worker's RSS (Dask docs: 102 -> 73 MB)."""
    try:
        return read_page(*args, **kwargs)
    finally:
        trim_memory()


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


_MAIN_LOCK = threading.Lock()


class _WorkerProcess(multiprocessing.context.SpawnProcess):
    """A spawned worker that does not run the parent's `__main__` first.

    Spawn re-imports the parent's main module in every child (its path or module
    name), and with it everything that module imports at the top: the `docspasta`
    command's web app, or a benchmark's Scrapy, ~30 MB a worker that reads pages
    without any of it. The pools run only functions of importable modules, so the
    main module's path and name are left out of what the child is told to prepare.
    """

    def start(self) -> None:
        main = sys.modules["__main__"]
        with _MAIN_LOCK:  # one start at a time changes and restores __main__
            saved = {name: main.__dict__[name] for name in ("__spec__", "__file__") if name in main.__dict__}
            main.__spec__ = None
            main.__dict__.pop("__file__", None)
            try:
                super().start()
            finally:
                main.__dict__.pop("__spec__", None)
                main.__dict__.update(saved)


class _WorkerContext(multiprocessing.context.SpawnContext):
    Process = _WorkerProcess


class _Pool(ProcessPoolExecutor):
    """A pool that starts another worker only when every worker it has holds a task.

    The stock pool starts one on a submit unless a worker has said it is idle, which a worker
    says only after its result is handed back: a caller awaiting each result before the next
    submit (a crawl's rendered pages, read one at a time) could submit in between and start a
    second worker it never needed (~45-55 MB PSS for the rest of the process's life; it did in
    most runs of bench/render.py). `_adjust_process_count` is CPython's own (3.11 to 3.14);
    tests/crawl/test_reading.py checks both halves of the behaviour.
    """

    def _adjust_process_count(self) -> None:
        # Tasks submitted and not yet handed back, against workers alive: no token that a worker
        # hands in late (the stock pool's idle semaphore, left unused here).
        if len(self._pending_work_items) > len(self._processes) and len(self._processes) < self._max_workers:
            self._spawn_process()


def process_pool(name: str, workers: int, *, max_tasks_per_child: int | None = None,
                 nice: int = 0) -> ProcessPoolExecutor:
    """The process's pool called `name` (created on first use): spawned workers that die with it.

    `max_tasks_per_child=1` gives every task a fresh process, whose memory goes back
    to the system when it ends; `nice` lowers the workers' CPU priority by that much.
    """
    key = (name, workers)
    pool = _POOLS.get(key)
    if pool is None:
        pool = _POOLS[key] = _Pool(
            workers, mp_context=_WorkerContext(),
            initializer=_start_worker, initargs=(os.getpid(), nice), max_tasks_per_child=max_tasks_per_child)
        atexit.register(pool.shutdown, wait=False, cancel_futures=True)
    return pool


def discard_pool(name: str, workers: int, pool: ProcessPoolExecutor | None = None) -> None:
    """Forget a broken pool (a worker was killed): the next `process_pool` call starts a new one.
    Given `pool`, only that one: tasks that failed together each discard the pool they ran in, not
    the new one the first of them started."""
    key = (name, workers)
    if pool is not None and _POOLS.get(key) is not pool:
        return
    pool = _POOLS.pop(key, None)
    if pool is not None:
        pool.shutdown(wait=False, cancel_futures=True)


def _warm(modules: tuple[str, ...] = ()) -> str:
    """What a worker loads before its first page: the reading modules (unpickling this imports
    them), the tokenizer's ranks, and `modules` (what else the process's tasks run)."""
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

    def warm(self, *modules: str) -> None:
        """Start a worker and load what reading a page takes, and `modules`, in the background: a
        service's first job otherwise waits ~1 s for it before its first page (bench/serve.py)."""
        if self.workers > 0:
            pool = process_pool(EXTRACT_POOL, self.workers, max_tasks_per_child=self.max_tasks_per_child)
            pool.submit(_warm, modules)

    async def __call__(self, body: bytes, encoding: str, url: str, scope: Scope, **checks: Any) -> PageRead:
        if self.workers <= 0:
            return read_page(body, encoding, url, scope, **checks)
        for attempt in (1, 2):
            pool = process_pool(EXTRACT_POOL, self.workers, max_tasks_per_child=self.max_tasks_per_child)
            try:
                return await asyncio.wrap_future(pool.submit(_read_and_trim, body, encoding, url, scope, **checks))
            except BrokenProcessPool:
                # A worker died (killed, out of memory) and took the pool, with every page in it, down:
                # each of those pages goes once more to a new pool, which every later page uses too.
                # A page that kills its worker again fails alone.
                discard_pool(EXTRACT_POOL, self.workers, pool)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")
