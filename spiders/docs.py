"""The `docs` spider: crawl one documentation site within a job's limits.

The spider keeps its own frontier instead of handing every link to Scrapy's
scheduler, for two guarantees users rely on:
- the page limit is exact: a request is only made while
  `completed + in_flight < max_pages`, so requests in flight never overshoot,
  and a failed or skipped page gives its slot back;
- depth is the shortest link distance from the start URL, and nothing deeper
  than `max_depth` is requested.
Pages are deduplicated on `normalize_url` keys, including the URL a page was
redirected to and its in-scope `<link rel=canonical>`.
"""
from __future__ import annotations

import gzip
import heapq
import itertools
import re
from datetime import UTC, datetime
from typing import Any, AsyncIterator, Iterator
from urllib.parse import urljoin, urlsplit

import scrapy
from scrapy import signals
from scrapy.exceptions import DontCloseSpider, StopDownload
from scrapy.http import Request, Response, TextResponse
from scrapy.utils.sitemap import Sitemap, sitemap_urls_from_robots
from twisted.python.failure import Failure

from spiders.crawl.failures import describe_failure, too_large
from spiders.crawl.frontier import PAGE_META, FrontierSnapshot, PageRef
from spiders.crawl.items import PageItem
from spiders.crawl.offload import Extractor
from spiders.crawl.signals import pages_queued
from spiders.crawl.traps import TrapLimits
from spiders.crawl.urls import Scope, clean_url, is_http_url, is_non_html_url, normalize_url, url_extension
from spiders.jobs.options import CrawlOptions
from spiders.render.policy import RenderPolicy, render_fields

BYTES_META = "docspasta_bytes_received"
MAX_SITEMAPS = 20
_HTML_TYPES = (b"text/html", b"application/xhtml+xml")
_MD_LINK = re.compile(r"\[[^\]]*\]\(\s*<?([^)\s>]+)>?[^)]*\)")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _content_type(headers: Any) -> bytes:
    return (headers.get(b"Content-Type") or b"").split(b";")[0].strip().lower()


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
        resume: FrontierSnapshot | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.options = CrawlOptions.parse(
            url=url, max_pages=max_pages, max_depth=max_depth,
            quality_threshold=quality_threshold, scope=scope, render=render,
        )
        self.start_url = clean_url(self.options.url)
        self.scope = Scope.from_url(self.start_url, self.options.scope)
        self._heap: list[tuple[int, int, str]] = []
        self._queued: dict[str, PageRef] = {}
        self._seen: set[str] = set()  # keys queued, requested or recorded
        self._done: set[str] = set()  # keys of pages already emitted as completed
        self._seq = itertools.count()
        self._in_flight = 0
        self._extracting = 0  # pages fetched and being extracted: still within the budget
        self.completed = 0
        self._sitemaps = 0
        self._newly_queued: list[PageRef] = []
        self._traps = TrapLimits()
        self._extract = Extractor(0)
        self._window = 32  # requests handed to Scrapy at once (from_crawler: 2 x CONCURRENT_REQUESTS)
        self.render = RenderPolicy(self.options.render)
        self.resume = resume
        self._attempts: dict[str, int] = {}

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> DocsSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider._traps = TrapLimits.from_settings(crawler.settings)
        spider._extract = Extractor(crawler.settings.getint("DOCSPASTA_EXTRACT_WORKERS", 1))
        spider._window = 2 * max(crawler.settings.getint("CONCURRENT_REQUESTS"), 1)
        spider.render = RenderPolicy.from_settings(crawler.settings, spider.options.render)
        crawler.signals.connect(spider._on_idle, signal=signals.spider_idle)
        crawler.signals.connect(spider._on_headers, signal=signals.headers_received)
        crawler.signals.connect(spider._on_bytes, signal=signals.bytes_received)
        return spider

    async def start(self):
        if self.resume is not None:
            for request in self._resume(self.resume):
                yield request
            return
        ref = PageRef(self.start_url, normalize_url(self.start_url), 0, None)
        self._seen.add(ref.key)
        self._in_flight += 1
        yield self._request(ref)

    def _resume(self, snapshot: FrontierSnapshot) -> Iterator[Request]:
        """Go on from a stored frontier: nothing stored is fetched again."""
        if snapshot.site_url:
            self.scope = Scope.from_url(snapshot.site_url, self.options.scope)
        self.completed = snapshot.completed
        self._done |= snapshot.done_keys
        self._seen |= snapshot.seen_keys | snapshot.done_keys
        self._attempts = dict(snapshot.attempts)
        for ref in snapshot.pending:
            self._seen.add(ref.key)
            self._queued[ref.key] = ref
            heapq.heappush(self._heap, (ref.depth, next(self._seq), ref.key))
        yield from self._pump()
        if snapshot.site_url:
            # Sitemaps and llms.txt may not have been read before the stop; what they
            # list that is already stored is filtered out as seen.
            yield from self._discovery_requests(snapshot.site_url)

    # -- frontier -----------------------------------------------------------

    def _request(self, ref: PageRef, url: str | None = None, render_meta: dict | None = None) -> Request:
        meta = {PAGE_META: ref, **(self.render.request_meta(ref.url) if render_meta is None else render_meta)}
        if attempts := self._attempts.pop(ref.key, 0):
            meta["retry_times"] = attempts  # retries made before a restart still count
        return Request(url or ref.url, callback=self.parse_page, errback=self.page_failed,
                       meta=meta, priority=-ref.depth, dont_filter=True)

    def _enqueue(self, url: str, depth: int, discovered_from: str | None) -> Iterator[PageItem]:
        """Queue a discovered URL, or record it as skipped if it is not a page."""
        if depth > self.options.max_depth or not self.scope.contains(url):
            return
        key = normalize_url(url)
        queued = self._queued.get(key)
        if queued is not None and depth < queued.depth:  # found a shorter path
            self._queued[key] = PageRef(queued.url, key, depth, discovered_from)
            heapq.heappush(self._heap, (depth, next(self._seq), key))
        if key in self._seen:
            return
        self._seen.add(key)
        if trap := self._traps.reason(url):
            yield self._record(PageRef(url, key, depth, discovered_from), "skipped", error=trap)
            return
        if is_non_html_url(url):
            yield self._record(PageRef(url, key, depth, discovered_from), "skipped",
                               error=f"not HTML (.{url_extension(url)} file), not downloaded")
            return
        ref = self._queued[key] = PageRef(url, key, depth, discovered_from)
        heapq.heappush(self._heap, (depth, next(self._seq), key))
        self._newly_queued.append(ref)

    def _announce(self) -> None:
        """Tell the listeners (a job's frontier in PostgreSQL) of the pages queued since last time."""
        if self._newly_queued:
            refs, self._newly_queued = self._newly_queued, []
            self.crawler.signals.send_catch_log(pages_queued, refs=refs, spider=self)

    def _pump(self) -> Iterator[Request]:
        """Requests for as many queued pages as the page budget has room for."""
        self._announce()
        # Scrapy holds at most a window of requests; the rest wait here as small PageRefs,
        # so a 10,000-page job does not keep 9,000 Request objects in the scheduler.
        while (self._heap and self.completed + self._in_flight + self._extracting < self.options.max_pages
               and self._in_flight < self._window):
            depth, _, key = heapq.heappop(self._heap)
            ref = self._queued.get(key)
            if ref is None or ref.depth != depth:
                continue  # stale entry: already requested, or re-queued shallower
            del self._queued[key]
            if key in self._done:
                continue  # claimed meanwhile through a redirect or canonical link
            self._in_flight += 1
            yield self._request(ref)

    def _on_idle(self) -> None:
        if self._in_flight:
            self.logger.warning("%d page requests vanished without a response; releasing their slots", self._in_flight)
            self._in_flight = 0
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

    def _record(self, ref: PageRef, status: str, *, final_url: str | None = None,
                http_status: int | None = None, error: str | None = None, **fields: Any) -> PageItem:
        return PageItem(
            url=ref.url, final_url=final_url or ref.url, title=fields.pop("title", ""),
            depth=ref.depth, discovered_from=ref.discovered_from, status=status,
            http_status=http_status, error=error, markdown=fields.pop("markdown", ""),
            quality=fields.pop("quality", 0), quality_reasons=fields.pop("quality_reasons", []),
            word_count=fields.pop("word_count", 0), token_count=fields.pop("token_count", 0),
            fetched_at=_now(), rendered=fields.pop("rendered", False),
            render_reason=fields.pop("render_reason", None), toc_links=fields.pop("toc_links", []),
            description=fields.pop("description", ""), **fields,
        )

    async def parse_page(self, response: Response) -> AsyncIterator[Any]:
        ref: PageRef = response.meta[PAGE_META]
        self._in_flight -= 1
        if ref.depth == 0:
            # The site's real address is where the start URL landed (http -> https,
            # bare host -> www, /docs -> /docs/): the scope moves with it.
            self.scope = Scope.from_url(response.url, self.options.scope)
        async for output in self._handle_page(ref, response):
            yield output
        if ref.depth == 0 and not response.meta.get("playwright"):  # a re-render must not discover twice
            for request in self._discovery_requests(response.url):
                yield request
        for request in self._pump():
            yield request

    async def _handle_page(self, ref: PageRef, response: Response) -> AsyncIterator[Any]:
        skip = lambda reason: self._record(ref, "skipped", final_url=response.url,  # noqa: E731
                                           http_status=response.status, error=reason,
                                           **render_fields(response.meta))
        content_type = _content_type(response.headers)
        if not isinstance(response, TextResponse) or not _is_html_type(content_type):
            yield skip(f"not HTML ({content_type.decode('latin-1') or 'unknown type'}), not downloaded")
            return
        final_key = normalize_url(response.url)
        if final_key != ref.key:
            if not self.scope.contains(response.url):
                yield skip(f"redirected out of scope to {response.url}")
                return
            self._seen.add(final_key)
        keys = {ref.key, final_key}
        canonical = response.xpath("//head/link[contains(concat(' ', normalize-space(@rel), ' '), ' canonical ')]/@href").get()
        if canonical:
            canonical_url = clean_url(urljoin(response.url, canonical.strip()))
            if is_http_url(canonical_url) and self.scope.contains(canonical_url):
                keys.add(normalize_url(canonical_url))
        if duplicate_of := keys & self._done:
            yield skip(f"duplicate of {min(duplicate_of)}")
            return
        if self.completed >= self.options.max_pages:  # cannot happen while the budget holds; never overshoot
            yield skip("page limit reached")
            return
        if (render_meta := self.render.rerender_meta(response)) is not None:
            # The plain fetch saw an empty shell: fetch the page again through the
            # browser. It keeps its slot (back in flight); the item records why.
            self._in_flight += 1
            yield self._request(ref, url=response.url, render_meta=render_meta)
            return
        self.render.learn(response, start=ref.depth == 0)
        # The page keeps its place in the budget while it is extracted elsewhere.
        self._extracting += 1
        try:
            page = await self._extract(response.text, response.url)
        finally:
            self._extracting -= 1
        if duplicate_of := keys & self._done:  # another page claimed these keys meanwhile
            yield skip(f"duplicate of {min(duplicate_of)}")
            return
        self.completed += 1
        self._done |= keys
        self._seen |= keys
        judged: list[PageItem] = []  # links recorded skipped without a fetch (traps, files)
        if ref.depth < self.options.max_depth:
            # lxml directly: a parsel Selector per link costs more than the rest of the loop.
            for href in dict.fromkeys(map(str, response.selector.root.xpath("//a/@href"))):
                if href.startswith("#") and not href.startswith(("#/", "#!/")):
                    continue  # an anchor on this same page
                link = clean_url(urljoin(response.url, href.strip()))
                if is_http_url(link):
                    judged.extend(self._enqueue(link, ref.depth + 1, response.url))
        # The links are announced before the page is handed over: a job's frontier then has
        # them when the page is recorded, and its progress counts them (never "1 of 1").
        self._announce()
        yield self._record(
            ref, "completed", final_url=response.url, http_status=response.status,
            title=page.title, markdown=page.markdown, quality=page.quality,
            quality_reasons=list(page.quality_reasons), word_count=page.word_count,
            token_count=page.token_count, toc_links=page.toc_links, description=page.description,
            site_name=page.site_name, head_title=page.head_title, generated=page.generated,
            **render_fields(response.meta),
        )
        for output in judged:
            yield output

    def page_failed(self, failure: Failure) -> Iterator[Any]:
        ref: PageRef = failure.request.meta[PAGE_META]
        self._in_flight -= 1
        max_size = self.crawler.settings.getint("DOWNLOAD_MAXSIZE")
        status, http_status, reason = describe_failure(failure, max_size)
        if reason.startswith("DownloadCancelledError") and failure.request.meta.get(BYTES_META, 0) >= max_size:
            reason = too_large(max_size)
        response = getattr(failure.value, "response", None)
        rendered = render_fields(failure.request.meta)
        if rendered["rendered"] and status == "failed":
            reason = f"rendering failed: {reason}"
        yield self._record(ref, status, final_url=response.url if response is not None else None,
                           http_status=http_status, error=reason, **rendered)
        yield from self._pump()

    # -- discovery: sitemaps and llms.txt seed the frontier -----------------

    def _discovery_requests(self, site_url: str) -> Iterator[Request]:
        if self.options.max_depth < 1:
            return
        root = "{0.scheme}://{0.netloc}/".format(urlsplit(site_url))
        yield Request(root + "robots.txt", callback=self.parse_robots, errback=self.discovery_failed,
                      meta={"dont_obey_robotstxt": True, "sitemap_fallback": root + "sitemap.xml"},
                      dont_filter=True, priority=10)
        yield Request(root + "llms.txt", callback=self.parse_llms_txt, errback=self.discovery_failed,
                      dont_filter=True, priority=10)

    def parse_robots(self, response: Response) -> Iterator[Request]:
        sitemaps = list(sitemap_urls_from_robots(response.body, base_url=response.url))
        for url in sitemaps or [response.meta["sitemap_fallback"]]:
            yield from self._sitemap_request(url)

    def discovery_failed(self, failure: Failure) -> Iterator[Request]:
        request = failure.request
        if fallback := request.meta.get("sitemap_fallback"):
            yield from self._sitemap_request(fallback)
        self.logger.debug("discovery request %s failed: %s", request.url, failure.getErrorMessage())

    def _sitemap_request(self, url: str) -> Iterator[Request]:
        if self._sitemaps < MAX_SITEMAPS and is_http_url(url):
            self._sitemaps += 1
            yield Request(url, callback=self.parse_sitemap, errback=self.discovery_failed, dont_filter=True, priority=10)

    def parse_sitemap(self, response: Response) -> Iterator[Any]:
        body = response.body
        if body[:2] == b"\x1f\x8b":
            try:
                body = gzip.decompress(body)
            except OSError:
                return
        try:
            sitemap = Sitemap(body)
        except Exception:  # noqa: BLE001 - a broken sitemap is not a broken crawl
            self.logger.info("ignoring unreadable sitemap %s", response.url)
            return
        locs = [entry["loc"] for entry in sitemap if entry.get("loc")]
        if sitemap.type == "sitemapindex":
            for loc in locs:
                yield from self._sitemap_request(urljoin(response.url, loc))
            return
        for loc in locs:
            yield from self._enqueue(clean_url(urljoin(response.url, loc)), 1, response.url)
        yield from self._pump()

    def parse_llms_txt(self, response: Response) -> Iterator[Any]:
        if not isinstance(response, TextResponse):
            return
        for target in _MD_LINK.findall(response.text):
            url = clean_url(urljoin(response.url, target))
            if url.endswith(".html.md"):  # llms.txt links to Markdown twins of HTML pages
                url = url[: -len(".md")]
            elif url_extension(url) == "md":
                continue
            yield from self._enqueue(url, 1, response.url)
        yield from self._pump()
