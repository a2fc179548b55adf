"""The `docs` spider: crawl one documentation site within a job's limits.

Scrapy callbacks and wiring only. What to fetch next, depth, deduplication and the
exact page budget belong to the `Frontier` (spiders/crawl/frontier.py): the spider
asks it for pages to request, reports back how each ended, and hands Scrapy at most
a window of requests at a time. Robots.txt, sitemaps and llms.txt are read through
`Discovery` (spiders/crawl/discovery.py). Pages are deduplicated on `normalize_url`
keys, including the URL a page was redirected to and its in-scope
`<link rel=canonical>`.

A refresh (`previous`: the earlier crawl, spiders/refresh/previous.py) sends its page
requests conditionally (spiders/refresh/conditional.py); a 304 becomes a page item
from the stored extraction, and the crawl goes on through the page's stored links.
"""
from __future__ import annotations

import asyncio
import contextlib
from typing import Any, AsyncIterator, Iterator

import scrapy
from scrapy import signals
from scrapy.exceptions import DontCloseSpider, StopDownload
from scrapy.http import Request, Response, TextResponse
from twisted.python.failure import Failure

from spiders.crawl.discovery import SITEMAP_FALLBACK, Discovery, SitemapSkipped, llms_txt_pages
from spiders.crawl.failures import describe_failure, too_large
from spiders.crawl.frontier import PAGE_META, Frontier, FrontierSnapshot, PageRef
from spiders.crawl.heap import map_large_allocations, trim_memory
from spiders.crawl.items import PageItem, page_item
from spiders.crawl.offload import PageReader
from spiders.crawl.paths import PathPatterns
from spiders.crawl.signals import pages_queued
from spiders.crawl.traps import TrapLimits
from spiders.crawl.urls import Scope, clean_url, normalize_url
from spiders.jobs.options import CrawlOptions
from spiders.refresh.conditional import CONDITIONAL_META, UNCONDITIONAL_META
from spiders.render.policy import RenderPolicy, render_fields
from spiders.safety.secrets import RequestSecrets

BYTES_META = "docspasta_bytes_received"
TRIM_AFTER_BYTES = 4 * 2**20  # page bodies freed between two trims of the crawl process's heap
_HTML_TYPES = (b"text/html", b"application/xhtml+xml")


def _content_type(headers: Any) -> bytes:
    return (headers.get(b"Content-Type") or b"").split(b";")[0].strip().lower()


def _header(headers: Any, name: bytes) -> str | None:
    value = headers.get(name)
    return value.decode("latin-1") if value else None


def _is_html_type(content_type: bytes) -> bool:
    # No Content-Type at all: let the body decide (Scrapy sniffs it).
    return not content_type or content_type in _HTML_TYPES or content_type.endswith(b"+html")


class DocsSpider(scrapy.Spider):
    name = "docs"

    def __init__(
        self,
        url: str | None = None,
        max_pages: Any = None,
        max_depth: Any = None,
        quality_threshold: Any = None,
        scope: str | None = None,
        render: str | None = None,
        token_budget: Any = None,
        include: Any = None,
        exclude: Any = None,
        headers: Any = None,
        cookies: Any = None,
        resume: FrontierSnapshot | None = None,
        previous: Any = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.options = CrawlOptions.parse(
            url=url, max_pages=max_pages, max_depth=max_depth,
            quality_threshold=quality_threshold, scope=scope, render=render, token_budget=token_budget,
            include=include, exclude=exclude, headers=headers, cookies=cookies,
        )
        self.start_url = clean_url(self.options.url)
        # Sent only to the start URL's own host (spiders/safety/secrets.py), whatever the scope.
        self.secrets = RequestSecrets.for_site(self.start_url, self.options.headers, self.options.cookies)
        self.frontier = Frontier(max_pages=self.options.max_pages, max_depth=self.options.max_depth,
                                 scope=Scope.from_url(self.start_url, self.options.scope),
                                 paths=PathPatterns(self.options.include, self.options.exclude))
        self.discovery = self._discovery(max_size=0)
        self._read = PageReader(0)
        self._rendered_reads = asyncio.Semaphore(1)  # see `_handle_page`
        self._untrimmed = 0  # bytes of page bodies freed since the heap was last trimmed
        self.render = RenderPolicy(self.options.render)
        self.resume = resume
        self.previous = previous  # the earlier crawl a refresh compares with (a PreviousCrawl), or None
        if previous is not None:
            self.frontier.earlier = previous.earlier

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> DocsSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        map_large_allocations()  # the process's big pages go back to the system once freed (heap.py)
        spider.frontier.traps = TrapLimits.from_settings(crawler.settings)
        # Scrapy holds at most twice its concurrency in requests; the rest wait in the frontier.
        spider.frontier.window = 2 * max(crawler.settings.getint("CONCURRENT_REQUESTS"), 1)
        spider.discovery = spider._discovery(max_size=crawler.settings.getint("DOWNLOAD_MAXSIZE"))
        spider._read = PageReader.from_settings(crawler.settings)
        spider.render = RenderPolicy.from_settings(crawler.settings, spider.options.render)
        crawler.signals.connect(spider._on_idle, signal=signals.spider_idle)
        crawler.signals.connect(spider._on_headers, signal=signals.headers_received)
        crawler.signals.connect(spider._on_bytes, signal=signals.bytes_received)
        return spider

    def _discovery(self, max_size: int) -> Discovery:
        return Discovery(robots=self.parse_robots, sitemap=self.parse_sitemap, llms_txt=self.parse_llms_txt,
                         failed=self.discovery_failed, max_size=max_size)

    async def start(self):
        self._read.fill()  # the workers boot while robots.txt and the start page are fetched
        if self.resume is not None:
            self.frontier.resume(self.resume)
            for request in self._pump():
                yield request
            if self.resume.site_url:
                # Sitemaps and llms.txt may not have been read before the stop; what they
                # list that is already stored is filtered out as seen.
                for request in self._discovery_requests(self.resume.site_url):
                    yield request
            return
        yield self._request(self.frontier.start(self.start_url))

    # -- requests -----------------------------------------------------------

    def _request(self, ref: PageRef, url: str | None = None, render_meta: dict | None = None,
                 **extra_meta: Any) -> Request:
        meta = {PAGE_META: ref, **(self.render.request_meta(ref.url) if render_meta is None else render_meta),
                **extra_meta}
        if attempts := self.frontier.retries_made(ref.key):
            meta["retry_times"] = attempts  # retries made before a restart still count
        return Request(url or ref.url, callback=self.parse_page, errback=self.page_failed,
                       meta=meta, priority=-ref.depth, dont_filter=True)

    def _follow(self, ref: PageRef, links: list[str], source_url: str) -> list[Any]:
        """Queue a page's links one step deeper; the links recorded skipped without a fetch (traps, files)."""
        judged: list[Any] = []
        if ref.depth < self.options.max_depth:
            for link in links:
                judged.extend(self._add(link, ref.depth + 1, source_url))
        return judged

    def _add(self, url: str, depth: int, discovered_from: str | None) -> Iterator[Any]:
        """Queue a discovered URL, or record it as skipped if it is not a page."""
        if skipped := self.frontier.add(url, depth, discovered_from):
            yield page_item(skipped.ref, "skipped", error=skipped.reason)

    def _announce(self) -> None:
        """Tell the listeners (a job's frontier in PostgreSQL) of the pages queued since last time."""
        if new := self.frontier.take_new():
            self.crawler.signals.send_catch_log(pages_queued, refs=new, spider=self)

    def _pump(self) -> Iterator[Request]:
        """Requests for as many queued pages as the page budget has room for."""
        self._announce()
        for ref in self.frontier.next_pages():
            yield self._request(ref)

    def _on_idle(self) -> None:
        if lost := self.frontier.release_lost():
            self.logger.warning("%d page requests vanished without a response; releasing their slots", lost)
        requests = list(self._pump())
        for request in requests:
            self.crawler.engine.crawl(request)
        if requests:
            raise DontCloseSpider

    def _on_headers(self, headers: Any, body_length: int, request: Request, spider: Any = None) -> None:
        # Stop non-HTML bodies (PDFs, archives, images) before they download.
        if PAGE_META in request.meta and not _is_html_type(_content_type(headers)):
            raise StopDownload(fail=False)

    def _on_bytes(self, data: bytes, request: Request, spider: Any = None) -> None:
        # Scrapy cancels a body that grows past DOWNLOAD_MAXSIZE with an empty
        # error; the byte count lets the errback say "too large".
        request.meta[BYTES_META] = request.meta.get(BYTES_META, 0) + len(data)

    # -- pages --------------------------------------------------------------

    async def parse_page(self, response: Response) -> AsyncIterator[Any]:
        ref: PageRef = response.meta[PAGE_META]
        if ref.depth == 0:
            self.frontier.land(response.url)
        outputs = [output async for output in self._handle_page(ref, response)]
        # The next pages' requests before the page's item: Scrapy hands a callback's outputs on one
        # at a time, and a job's item is stored before the next output goes (a database write, and
        # the crawl waited for it with free slots: bench/serve.py).
        for request in self._pump():
            yield request
        for output in outputs:
            yield output
        if ref.depth == 0 and not response.meta.get("playwright"):  # a re-render must not discover twice
            for request in self._discovery_requests(response.url):
                yield request
        for request in self._pump():
            yield request
        # The page's response and body are freed: their memory goes back to the system once the
        # bodies freed since the last time add up to TRIM_AFTER_BYTES (after every page, the
        # trims took ~0.45 s of the reactor's time per 500 pages, for no lower peak).
        self._untrimmed += len(response.body)
        if self._untrimmed >= TRIM_AFTER_BYTES:
            self._untrimmed = 0
            trim_memory()

    async def _handle_page(self, ref: PageRef, response: Response) -> AsyncIterator[Any]:
        def skip(reason: str) -> Any:
            self.frontier.release()
            return page_item(ref, "skipped", final_url=response.url, http_status=response.status, error=reason,
                             **render_fields(response.meta))

        if response.status == 304 and CONDITIONAL_META in response.meta:
            async for output in self._not_modified(ref, response):
                yield output
            return
        content_type = _content_type(response.headers)
        if not isinstance(response, TextResponse) or not _is_html_type(content_type):
            yield skip(f"not HTML ({content_type.decode('latin-1') or 'unknown type'}), not downloaded")
            return
        final_key = normalize_url(response.url)
        if final_key != ref.key:
            if not self.frontier.scope.contains(response.url):
                yield skip(f"redirected out of scope to {response.url}")
                return
            self.frontier.see(final_key)
        keys = {ref.key, final_key}
        if duplicate_of := self.frontier.duplicate_of(keys):
            yield skip(f"duplicate of {duplicate_of}")
            return
        # Read once, off the reactor: links, canonical link, rendering signs and extraction
        # from one parse (spiders/crawl/reading.py). The page keeps its slot meanwhile.
        self.frontier.extract()
        try:
            # Pages from the browser are read one at a time: the browser is the crawl's pace (and
            # most of its memory), and one read at a time does not grow the shared pool for them.
            async with self._rendered_reads if response.meta.get("playwright") else contextlib.nullcontext():
                read = await self._read(response.body, response.encoding, response.url, self.frontier.scope,
                                        check_render=self.render.checks(response.meta),
                                        words_limit=self.render.words_wanted(response.meta))
        except BaseException:
            self.frontier.extraction_failed()
            raise
        if read.canonical_key is not None:
            keys.add(read.canonical_key)
        if read.page is None:  # the plain fetch saw an empty shell
            self.frontier.refetch()
            if duplicate_of := self.frontier.duplicate_of(keys):
                yield skip(f"duplicate of {duplicate_of}")
                return
            # Fetch the page again through the browser. It keeps its slot (in flight
            # again); the item records why.
            yield self._request(ref, url=response.url,
                                render_meta=self.render.rerender_for(read.render_reason, read.plain_words))
            return
        if read.words is not None:
            self.render.learn_words(response.url, response.meta, read.words, start=ref.depth == 0)
        if duplicate_of := self.frontier.complete(keys):  # another page holds these keys
            yield page_item(ref, "skipped", final_url=response.url, http_status=response.status,
                            error=f"duplicate of {duplicate_of}", **render_fields(response.meta))
            return
        page = read.page
        judged = self._follow(ref, read.links, response.url)
        # The links are announced before the page is handed over: a job's frontier then has
        # them when the page is recorded, and its progress counts them (never "1 of 1").
        self._announce()
        fetched = render_fields(response.meta)
        plain = not fetched["rendered"]  # a rendered page keeps no validators (see spiders/refresh)
        yield page_item(
            ref, "completed", final_url=response.url, http_status=response.status,
            title=page.title, markdown=page.markdown, quality=page.quality,
            quality_reasons=list(page.quality_reasons), word_count=page.word_count,
            token_count=page.token_count, toc_links=page.toc_links, description=page.description,
            site_name=page.site_name, head_title=page.head_title, generated=page.generated,
            links=read.links, content_hash=read.content_hash,
            etag=_header(response.headers, b"ETag") if plain else None,
            last_modified=_header(response.headers, b"Last-Modified") if plain else None,
            **fetched,
        )
        for output in judged:
            yield output

    async def _not_modified(self, ref: PageRef, response: Response) -> AsyncIterator[Any]:
        """A 304: the page as the earlier crawl stored it, no download and no extraction."""
        stored = await self.previous.reuse(ref.key)
        if stored is None or not isinstance(stored.get("links"), list):
            # The stored page is gone (or holds no links): fetch it whole. It keeps its slot.
            yield self._request(ref, url=response.url, **{UNCONDITIONAL_META: True})
            return
        keys = {ref.key, normalize_url(response.url)}
        if stored.get("final_url"):
            keys.add(normalize_url(stored["final_url"]))
        if duplicate_of := self.frontier.duplicate_of(keys):
            self.frontier.release()
            yield page_item(ref, "skipped", final_url=response.url, http_status=response.status,
                            error=f"duplicate of {duplicate_of}", **render_fields(response.meta))
            return
        self.frontier.extract()
        if duplicate_of := self.frontier.complete(keys):
            yield page_item(ref, "skipped", final_url=response.url, http_status=response.status,
                            error=f"duplicate of {duplicate_of}", **render_fields(response.meta))
            return
        judged = self._follow(ref, stored["links"], response.url)
        self._announce()
        fields = {name: value for name, value in stored.items() if name in PageItem.fields}
        fields.update(final_url=response.url, http_status=response.status, not_modified=True,
                      etag=_header(response.headers, b"ETag") or stored.get("etag"),
                      last_modified=_header(response.headers, b"Last-Modified") or stored.get("last_modified"),
                      **render_fields(response.meta))
        yield page_item(ref, "completed", **fields)
        for output in judged:
            yield output

    def page_failed(self, failure: Failure) -> Iterator[Any]:
        ref: PageRef = failure.request.meta[PAGE_META]
        self.frontier.release()
        max_size = self.crawler.settings.getint("DOWNLOAD_MAXSIZE")
        status, http_status, reason = describe_failure(failure, max_size)
        if reason.startswith("DownloadCancelledError") and failure.request.meta.get(BYTES_META, 0) >= max_size:
            reason = too_large(max_size)
        response = getattr(failure.value, "response", None)
        rendered = render_fields(failure.request.meta)
        if rendered["rendered"] and status == "failed":
            reason = f"rendering failed: {reason}"
        yield page_item(ref, status, final_url=response.url if response is not None else None,
                        http_status=http_status, error=reason, **rendered)
        yield from self._pump()

    # -- discovery: sitemaps and llms.txt seed the frontier -----------------

    def _discovery_requests(self, site_url: str) -> Iterator[Request]:
        if self.options.max_depth >= 1:
            yield from self.discovery.requests(site_url)

    def parse_robots(self, response: Response) -> Iterator[Request]:
        for url in self.discovery.sitemaps_in_robots(response):
            yield from self.discovery.sitemap_request(url)

    def discovery_failed(self, failure: Failure) -> Iterator[Request]:
        request = failure.request
        if fallback := request.meta.get(SITEMAP_FALLBACK):
            yield from self.discovery.sitemap_request(fallback)
        self.logger.debug("discovery request %s failed: %s", request.url, failure.getErrorMessage())

    def parse_sitemap(self, response: Response) -> Iterator[Any]:
        try:
            links = self.discovery.sitemap_links(response)
        except SitemapSkipped as why:
            self.logger.warning("sitemap %s skipped: %s", response.url, why)
            return
        if links.is_index:
            for url in links.urls:
                yield from self.discovery.sitemap_request(url)
            return
        for url in links.urls:
            yield from self._add(url, 1, response.url)
        yield from self._pump()

    def parse_llms_txt(self, response: Response) -> Iterator[Any]:
        for url in llms_txt_pages(response):
            yield from self._add(url, 1, response.url)
        yield from self._pump()
