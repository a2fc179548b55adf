"""One cap per target host across every crawl in this process.

Scrapy's per-domain concurrency and AutoThrottle act within one crawl; fifty
jobs on one site would each get their own share. `HostCapMiddleware` holds a
process-wide semaphore per host (and, optionally, a minimum interval between
requests to it), so however many jobs target one host, it sees at most
DOCSPASTA_HOST_CONCURRENCY requests at once and at most DOCSPASTA_HOST_RATE per
second from this worker.
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from scrapy.http import Request, Response
from scrapy.utils.httpobj import urlparse_cached

HELD_META = "docspasta_host_cap"


@dataclass
class _Host:
    slots: asyncio.Semaphore
    next_at: float = 0.0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class HostCaps:
    """The per-host caps shared by every crawl on this event loop."""

    def __init__(self, concurrency: int, rate: float):
        self.concurrency = concurrency
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self._hosts: dict[str, _Host] = {}

    def _host(self, name: str) -> _Host:
        host = self._hosts.get(name)
        if host is None:
            host = self._hosts[name] = _Host(asyncio.Semaphore(self.concurrency))
        return host

    async def acquire(self, name: str) -> None:
        host = self._host(name)
        await host.slots.acquire()
        if self.interval:
            async with host.lock:
                wait = host.next_at - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                host.next_at = max(host.next_at, time.monotonic()) + self.interval

    def release(self, name: str) -> None:
        self._hosts[name].slots.release()


_CAPS: dict[tuple[int, float], HostCaps] = {}


def host_caps(concurrency: int, rate: float) -> HostCaps:
    # One registry per loop-wide configuration: crawls with the same settings share caps.
    return _CAPS.setdefault((concurrency, rate), HostCaps(concurrency, rate))


class HostCapMiddleware:
    """Waits for the host's shared slot before a request goes to the downloader."""

    def __init__(self, caps: HostCaps):
        self.caps = caps

    @classmethod
    def from_crawler(cls, crawler) -> HostCapMiddleware:
        settings = crawler.settings
        return cls(host_caps(settings.getint("DOCSPASTA_HOST_CONCURRENCY", 8),
                             settings.getfloat("DOCSPASTA_HOST_RATE", 0)))

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
