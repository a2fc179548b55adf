"""The web side's handle on the crawl side: the reactor in crochet's thread, and a JobRunner on it.

Views call `CrochetLauncher` from uvicorn's loop; it schedules the runner's calls on
the reactor thread and waits for their results in a worker thread, never on the loop.
"""
from __future__ import annotations

import asyncio
import logging
from uuid import UUID

from spiders.jobs.runner import JobRunner

logger = logging.getLogger(__name__)


def setup_reactor() -> None:
    """Install the asyncio reactor, then start it in crochet's thread (idempotent).

    Must run before anything imports `twisted.internet.reactor`; under
    `crochet.no_setup()` (tests, where pytest-twisted owns the reactor) only the
    reactor check remains.
    """
    import sys

    from scrapy.utils.reactor import is_asyncio_reactor_installed

    if "twisted.internet.reactor" not in sys.modules:
        from twisted.internet import asyncioreactor

        # A loop of its own, never the caller's: crochet runs it in the reactor thread
        # while uvicorn runs its own loop on the main thread.
        asyncioreactor.install(eventloop=asyncio.new_event_loop())
    elif not is_asyncio_reactor_installed():
        raise RuntimeError("a non-asyncio Twisted reactor was installed before the web app started")
    import crochet

    crochet.setup()


class CrochetLauncher:
    """The web side's handle on a JobRunner living on the reactor thread."""

    def __init__(self, runner: JobRunner, *, owns_runner: bool = True):
        from crochet import run_in_reactor

        self.runner = runner
        self.owns_runner = owns_runner
        self._start = run_in_reactor(runner.start)
        self._stop = run_in_reactor(runner.stop)
        self._cancel = run_in_reactor(runner.cancel)

    async def start(self) -> None:
        if self.owns_runner:
            await asyncio.to_thread(self._start().wait, 60)

    async def stop(self) -> None:
        if self.owns_runner:
            await asyncio.to_thread(self._stop().wait, 120)

    def submit(self, job_id: UUID) -> None:
        # Not awaited: the crawl runs for minutes. Scheduled with callFromThread rather
        # than through an EventualResult, which crochet would log as an error when it
        # is garbage-collected before the job ends; run_job never errbacks (every
        # failure becomes the job's state and an event) and logs anything unexpected.
        from twisted.internet import reactor

        reactor.callFromThread(self._submit_in_reactor, job_id)

    def _submit_in_reactor(self, job_id: UUID) -> None:
        self.runner.run_job(job_id).addErrback(
            lambda failure: logger.error("job %s: %s", job_id, failure.getTraceback()))

    async def cancel(self, job_id: UUID) -> bool:
        return bool(await asyncio.to_thread(self._cancel(job_id).wait, 10))
