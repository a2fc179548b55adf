"""One cap per target host across every crawl in this process, and a rate across every worker.

Scrapy's per-domain concurrency and AutoThrottle act within one crawl; fifty
jobs on one site would each get their own share. `HostCapMiddleware` holds a
process-wide semaphore per host, so however many jobs target one host, it sees
at most DOCSPASTA_HOST_CONCURRENCY requests at once from this process. With
DOCSPASTA_HOST_RATE > 0 requests to a host are also spaced 1/rate seconds apart:
across every process sharing DOCSPASTA_REDIS_URL and DOCSPASTA_REDIS_PREFIX
(spiders/crawl/hostrate.py), or within this process alone without Redis or while it is
down.
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from scrapy import signals
from scrapy.http import Request, Response
from scrapy.utils.httpobj import urlparse_cached

from spiders.crawl.hostrate import SharedHostRate
from spiders.jobs.events import REDIS_PREFIX

HELD_META = "docspasta_host_cap"


@dataclass
class _Host:
    slots: asyncio.Semaphore
    next_at: float = 0.0  # this process's next free turn (time.monotonic())
    solo_until: float = 0.0  # the end of the turns it took on its own, without Redis


class HostCaps:
    """The per-host caps shared by every crawl on this event loop."""

    def __init__(self, concurrency: int, rate: float, shared: SharedHostRate | None = None):
        self.concurrency = concurrency
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.shared = shared
        self._hosts: dict[str, _Host] = {}

    def _host(self, name: str) -> _Host:
        host = self._hosts.get(name)
        if host is None:
            host = self._hosts[name] = _Host(asyncio.Semaphore(self.concurrency))
        return host

    async def acquire(self, name: str) -> None:
        host = self._host(name)
        await host.slots.acquire()
        try:
            if self.interval:
                await self._wait_for_turn(name, host)
        except BaseException:  # cancelled while waiting (the crawl closed): the slot goes back
            host.slots.release()
            raise

    async def _wait_for_turn(self, name: str, host: _Host) -> None:
        # Turns are reserved, not waited for in line: each request gets the next free one.
        shared = None
        if self.shared is not None:
            # Turns this process took on its own before Redis came back still stand: the
            # shared turns (this process's and every other's) start after them.
            shared = await self.shared.reserve(name, not_before=host.solo_until - time.monotonic())
        now = time.monotonic()
        if shared is None:  # no Redis, or it is down: this process's own turns
            turn = max(host.next_at, now)
            host.solo_until = turn + self.interval
        else:
            turn = now + shared
        # max(): replies from Redis may arrive out of order. Should Redis fail, this
        # process's own turns start after the latest one it holds, never bunched up with them.
        host.next_at = max(host.next_at, turn + self.interval)
        if turn > now:
            await asyncio.sleep(turn - now)

    def release(self, name: str) -> None:
        self._hosts[name].slots.release()


_CAPS: dict[tuple, HostCaps] = {}


def host_caps(concurrency: int, rate: float, redis_url: str | None = None, prefix: str = REDIS_PREFIX) -> HostCaps:
    # One registry per loop-wide configuration: crawls with the same settings share caps.
    shared_by = (redis_url, prefix) if redis_url and rate > 0 else None
    caps = _CAPS.get((concurrency, rate, shared_by))
    if caps is None:
        shared = SharedHostRate(redis_url, prefix, rate) if shared_by else None
        caps = _CAPS[(concurrency, rate, shared_by)] = HostCaps(concurrency, rate, shared)
    return caps


class HostCapMiddleware:
    """Waits for the host's shared slot and turn before a request goes to the downloader."""

    def __init__(self, caps: HostCaps):
        self.caps = caps

    @classmethod
    def from_crawler(cls, crawler) -> HostCapMiddleware:
        settings = crawler.settings
        middleware = cls(host_caps(settings.getint("DOCSPASTA_HOST_CONCURRENCY", 8),
                                   settings.getfloat("DOCSPASTA_HOST_RATE", 0),
                                   settings.get("DOCSPASTA_REDIS_URL") or None,
                                   settings.get("DOCSPASTA_REDIS_PREFIX") or REDIS_PREFIX))
        if middleware.caps.shared is not None:
            crawler.signals.connect(middleware.spider_opened, signal=signals.spider_opened)
            crawler.signals.connect(middleware.spider_closed, signal=signals.spider_closed)
        return middleware

    def spider_opened(self) -> None:
        self.caps.shared.open()

    async def spider_closed(self) -> None:
        await self.caps.shared.close()

    async def process_request(self, request: Request) -> None:
        host = urlparse_cached(request).netloc.lower()
        await self.caps.acquire(host)
        request.meta[HELD_META] = host

    def _release(self, request: Request) -> None:
        host = request.meta.pop(HELD_META, None)
        if host is not None:
            self.caps.release(host)

    def process_response(self, request: Request, response: Response) -> Response:
        self._release(request)
        return response

    def process_exception(self, request: Request, exception: Exception) -> None:
        self._release(request)
        return None
