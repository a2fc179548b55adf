"""`docspasta worker`: run jobs without the web app, as many workers as you like.

A worker is the web process's crawl side on its own: it applies migrations,
then claims jobs nobody runs (new ones, and those whose worker died) from the
shared PostgreSQL with `FOR UPDATE SKIP LOCKED`, holds a lease on each while it
crawls, and publishes events to the shared Redis. The Twisted reactor runs on
the main thread here (no crochet: there is no other event loop to share with).

SIGTERM or SIGINT drains: no new claims, running crawls close, their jobs'
leases are released so another worker resumes them at once, and the process
exits 0.
"""
from __future__ import annotations

import argparse
import logging
import signal
import sys

logger = logging.getLogger("docspasta.worker")


def run_worker(settings) -> int:
    from scrapy.utils.reactor import install_reactor

    # Scrapy's installer also makes the reactor's loop the current one, which
    # coroutines scheduled with asyncio.ensure_future (Scrapy's and ours) rely on.
    install_reactor("twisted.internet.asyncioreactor.AsyncioSelectorReactor")
    from scrapy.utils.defer import deferred_from_coro
    from twisted.internet import reactor

    from spiders.jobs.runner import JobRunner
    from webapp.migrate import migrate_url

    runner = JobRunner(settings)
    exit_code = [0]

    def start() -> None:
        d = deferred_from_coro(migrate_url(settings.database_url))
        d.addCallback(lambda _: runner.start())
        d.addCallback(lambda _: logger.info("worker %s: claiming jobs (at most %d at once)", runner.owner,
                                            settings.max_concurrent_jobs))

        def failed(failure) -> None:
            logger.error("worker could not start: %s", failure.getErrorMessage())
            exit_code[0] = 1
            reactor.stop()

        d.addErrback(failed)

    def drain() -> None:
        logger.info("worker %s: draining (no new jobs; running crawls stop and their leases are released)",
                    runner.owner)
        d = runner.stop()
        d.addErrback(lambda failure: logger.error("draining failed: %s", failure.getErrorMessage()))
        d.addBoth(lambda _: reactor.stop())

    def on_signal(signum, frame) -> None:
        signal.signal(signum, signal.SIG_DFL)  # a second signal ends the process at once
        reactor.callFromThread(drain)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    reactor.callWhenRunning(start)
    reactor.run(installSignalHandlers=False)
    return exit_code[0]


def _worker(args: argparse.Namespace) -> int:
    from webapp.settings import settings_for_command

    settings = settings_for_command()
    if settings is None:
        return 2
    if not settings.database_url or not settings.redis_url:
        print("docspasta: error: docspasta worker needs DATABASE_URL and REDIS_URL: workers share one "
              "PostgreSQL and Redis with the web app (docspasta serve)", file=sys.stderr)
        return 2
    if args.jobs is not None:
        from dataclasses import replace

        settings = replace(settings, max_concurrent_jobs=args.jobs)
    from webapp.logs import log_for_server

    log_for_server(args.log_level, settings.log_format)  # the same lines as serve's, with the job id
    return run_worker(settings)


def add_worker_command(commands: argparse._SubParsersAction) -> None:
    worker = commands.add_parser(
        "worker", help="run crawl jobs without the web app (DATABASE_URL, REDIS_URL)",
        description="Claim and run crawl jobs from the shared PostgreSQL; run any number of these, "
                    "on any machines that reach the same PostgreSQL and Redis. SIGTERM drains.")
    worker.add_argument("--jobs", type=int, metavar="N",
                        help="crawls at once in this worker (default: DOCSPASTA_MAX_CONCURRENT_JOBS, 50)")
    worker.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"))
    worker.set_defaults(handler=_worker)
