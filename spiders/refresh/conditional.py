"""Conditional requests for a refresh: a page asks only for what changed since last time.

`ConditionalRequestMiddleware` adds `If-None-Match` (the page's stored ETag) and
`If-Modified-Since` (its stored Last-Modified) to each page request of a crawl that
has an earlier crawl to compare with (the spider's `previous`), and lets a 304 through
to the spider (`handle_httpstatus_list`), which reuses the stored extraction for it
(spiders/docs.py). A server that ignores the headers answers 200: the page is extracted
and its Markdown's hash decides whether it changed. Requests rendered in the browser are
left alone, as are robots.txt, sitemaps and llms.txt (read whole every time).
"""
from __future__ import annotations

from typing import Any

from scrapy.exceptions import NotConfigured
from scrapy.http import Request

from spiders.crawl.frontier import PAGE_META

# The request meta key: the validators sent (the spider's sign that a 304 answers them).
CONDITIONAL_META = "docspasta_conditional"
# Set on a request that must be sent whole (its stored page could not be reused after all).
UNCONDITIONAL_META = "docspasta_unconditional"


class ConditionalRequestMiddleware:
    def __init__(self, previous: Any):
        self.previous = previous

    @classmethod
    def from_crawler(cls, crawler: Any) -> ConditionalRequestMiddleware:
        previous = getattr(crawler.spider, "previous", None)
        if previous is None:
            # No earlier crawl to compare with: the usual case, so without a message (Scrapy
            # logs a NotConfigured that has one as a warning).
            raise NotConfigured
        return cls(previous)

    def process_request(self, request: Request) -> None:
        ref = request.meta.get(PAGE_META)
        if ref is None or request.meta.get("playwright") or request.meta.get(UNCONDITIONAL_META):
            return None
        validators = self.previous.validators(ref.key)
        if validators is None:
            return None
        if validators.etag:
            request.headers[b"If-None-Match"] = validators.etag
        if validators.last_modified:
            request.headers[b"If-Modified-Since"] = validators.last_modified
        request.meta[CONDITIONAL_META] = validators
        request.meta["handle_httpstatus_list"] = [*request.meta.get("handle_httpstatus_list", ()), 304]
        return None
