"""A private job's request headers and cookies go to its own site, and nowhere else.

"Its own site" is the start URL's host and port (its origin; an http start on port 80
also covers the same host's https on 443, the usual upgrade): not another host, not
another port of the same host, not a host a redirect leads to. `PrivateRequestsMiddleware`
sits just before the SSRF guard, so it sees every request after everything else changed
it: pages, robots.txt, sitemaps, llms.txt, retries, and each redirect hop (which Scrapy
builds as a copy of the request, headers included) alike. A request to the site gets the
secrets; any other request has them taken off. Requests the browser renders get none
from here: the browser handler adds them to each request Chromium makes to the site
itself (spiders/render/handler.py), since a page's scripts, frames and redirects go
wherever the page says.

The values live in the crawl's memory only: no message, log line or item carries them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from scrapy.crawler import Crawler
from scrapy.http import Request

Pairs = tuple[tuple[str, str], ...]
_PORTS = {"http": 80, "https": 443}


def _origin(url: str) -> tuple[str, str, int] | None:
    parts = urlsplit(url)
    if parts.scheme not in _PORTS or not parts.hostname:
        return None
    try:
        port = parts.port or _PORTS[parts.scheme]
    except ValueError:  # a port out of range: no origin at all
        return None
    return parts.scheme, parts.hostname.lower(), port


@dataclass(frozen=True)
class RequestSecrets:
    """The headers and cookies of one crawl, and the one site they may be sent to."""

    site: tuple[str, str, int] | None = None  # scheme, host, port of the start URL
    headers: Pairs = field(default=(), repr=False)
    cookies: Pairs = field(default=(), repr=False)

    @classmethod
    def for_site(cls, start_url: str, headers: Pairs = (), cookies: Pairs = ()) -> RequestSecrets:
        return cls(_origin(start_url), tuple(headers), tuple(cookies))

    def __bool__(self) -> bool:
        return bool(self.headers or self.cookies)

    def applies_to(self, url: str) -> bool:
        """Whether a request to `url` may carry the secrets: the start URL's origin, or its https upgrade."""
        if not self or self.site is None or (origin := _origin(url)) is None:
            return False
        scheme, host, port = self.site
        return origin == self.site or (scheme, port) == ("http", 80) and origin == ("https", host, 443)

    @property
    def header_names(self) -> frozenset[str]:
        return frozenset(name.lower() for name, _ in self.headers)

    def cookie_header(self, existing: str | None = None) -> str | None:
        """The Cookie header for a request to the site: `existing`'s other cookies, then these."""
        kept = self.without_cookies(existing)
        ours = "; ".join(f"{name}={value}" for name, value in self.cookies)
        return "; ".join(part for part in (kept, ours) if part) or None

    def without_cookies(self, existing: str | None) -> str | None:
        """`existing` (a Cookie header) without these cookies, or None if nothing is left."""
        if not existing:
            return None
        ours = {f"{name}={value}" for name, value in self.cookies}
        kept = [part.strip() for part in existing.split(";") if part.strip() and part.strip() not in ours]
        return "; ".join(kept) or None


class PrivateRequestsMiddleware:
    """Adds the crawl's secrets to requests for its own site; takes them off every other request."""

    def __init__(self, crawler: Crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PrivateRequestsMiddleware:
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        secrets: RequestSecrets | None = getattr(self.crawler.spider, "secrets", None)
        if not secrets:
            return None
        if secrets.applies_to(request.url) and not request.meta.get("playwright"):
            for name, value in secrets.headers:
                request.headers[name] = value
            if secrets.cookies:
                request.headers["Cookie"] = secrets.cookie_header(_text(request.headers.get("Cookie")))
            return None
        strip(request, secrets)
        return None


def strip(request: Request, secrets: RequestSecrets) -> None:
    """Take the secrets off a request (one copied from a request to the site, e.g. by a redirect)."""
    for name in list(request.headers.keys()):
        if _text(name).lower() in secrets.header_names:
            del request.headers[name]
    if secrets.cookies and (cookie := request.headers.get("Cookie")) is not None:
        kept = secrets.without_cookies(_text(cookie))
        if kept is None:
            del request.headers["Cookie"]
        else:
            request.headers["Cookie"] = kept


def _text(value: Any) -> str | None:
    return value.decode("latin-1") if isinstance(value, bytes) else value
