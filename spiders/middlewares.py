"""Downloader middlewares of the DocsPasta crawl."""
from __future__ import annotations

import asyncio
import email.utils
import time

from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import CannotResolveHostError, IgnoreRequest
from scrapy.http import Request, Response
from scrapy.settings import BaseSettings
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.response import response_status_message

from spiders.safety import AllowList, GuardedResolver, blocked_reason, install_guarded_resolver, ip_literal

RETRY_DELAY_META = "docspasta_retry_delay"


def parse_retry_after(value: bytes | str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class BackoffRetryMiddleware(RetryMiddleware):
    """Scrapy's retry policy, but each retry waits: exponential backoff, or the
    server's Retry-After (capped) when it sends one.

    The wait happens in `process_request` of the retried request, so it never
    blocks the reactor and other requests keep flowing meanwhile.
    """

    def __init__(self, settings: BaseSettings):
        super().__init__(settings)
        self.backoff_base = settings.getfloat("DOCSPASTA_RETRY_BACKOFF_BASE", 0.5)
        self.backoff_max = settings.getfloat("DOCSPASTA_RETRY_BACKOFF_MAX", 10.0)
        self.retry_after_max = settings.getfloat("DOCSPASTA_RETRY_AFTER_MAX", 30.0)

    async def process_request(self, request: Request) -> None:
        delay = request.meta.pop(RETRY_DELAY_META, 0)
        if delay > 0:
            await asyncio.sleep(delay)

    def process_response(self, request: Request, response: Response) -> Request | Response:
        if request.meta.get("dont_retry", False) or response.status not in self.retry_http_codes:
            return response
        retry = self._retry(request, response_status_message(response.status))
        if retry is None:
            return response
        server_wait = parse_retry_after(response.headers.get(b"Retry-After"))
        retry.meta[RETRY_DELAY_META] = (
            min(server_wait, self.retry_after_max) if server_wait is not None else self._backoff(retry)
        )
        return retry

    def process_exception(self, request: Request, exception: Exception) -> Request | Response | None:
        retry = super().process_exception(request, exception)
        if isinstance(retry, Request):
            retry.meta[RETRY_DELAY_META] = self._backoff(retry)
        return retry

    def _backoff(self, retry: Request) -> float:
        attempt = retry.meta.get("retry_times", 1)
        return min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1))


class BlockedRequest(IgnoreRequest):
    """The request would reach an address DocsPasta refuses to connect to."""


class SSRFGuardMiddleware:
    """Refuses requests to internal addresses: every request, hop and retry.

    Sits closest to the downloader, so it sees each request after every other
    middleware changed it (redirects, meta refresh, robots.txt and sitemaps all
    pass here) and sees download errors before the retry middleware does. The
    connection-time check is the guarded resolver; this middleware turns its
    verdict into a clear reason, refuses non-web schemes and internal IP
    literals up front, and checks the address each response came from.
    """

    def __init__(self, allow: AllowList, resolver: GuardedResolver):
        self.allow = allow
        self.resolver = resolver

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SSRFGuardMiddleware:
        from twisted.internet import reactor

        allow = AllowList.parse(crawler.settings.get("DOCSPASTA_ALLOW_HOSTS"))
        return cls(allow, install_guarded_resolver(reactor, allow))

    def _refusal(self, request: Request) -> str | None:
        parts = urlparse_cached(request)
        if parts.scheme not in ("http", "https"):
            return f"blocked: {parts.scheme or 'no'} scheme; only http and https are fetched"
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        if self.allow.allows(host, port):
            return None
        literal = ip_literal(host)
        if literal is not None and (reason := blocked_reason(literal)):
            return f"blocked: {reason}"
        return None

    def process_request(self, request: Request) -> None:
        if reason := self._refusal(request):
            raise BlockedRequest(reason)

    def process_exception(self, request: Request, exception: Exception) -> None:
        host = (urlparse_cached(request).hostname or "").lower()
        if isinstance(exception, CannotResolveHostError) and host in self.resolver.blocked:
            raise BlockedRequest(f"blocked: {self.resolver.blocked[host]}")
        return None

    def process_response(self, request: Request, response: Response) -> Response:
        parts = urlparse_cached(request)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        if response.ip_address is not None and not self.allow.allows(parts.hostname or "", port):
            if reason := blocked_reason(str(response.ip_address)):
                raise BlockedRequest(f"blocked: {parts.hostname} answered from {reason}")
        return response
