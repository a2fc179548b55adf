"""The SSRF guard as a downloader middleware: every request, hop and retry is checked."""
from __future__ import annotations

from scrapy.crawler import Crawler
from scrapy.exceptions import CannotResolveHostError, IgnoreRequest
from scrapy.http import Request, Response
from scrapy.utils.httpobj import urlparse_cached

from spiders.safety.addresses import AllowList, GuardedResolver, blocked_reason, install_guarded_resolver, ip_literal


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
