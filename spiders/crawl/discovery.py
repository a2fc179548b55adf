"""Discovery: robots.txt, sitemaps and llms.txt name pages that links may not reach.

Once the start page has landed, the spider asks for the site's `/robots.txt` (its
`Sitemap:` lines, or `/sitemap.xml` when it names none) and `/llms.txt`. Sitemap
indexes are followed, at most MAX_SITEMAPS sitemaps per crawl. What they list goes
into the frontier at depth 1, where scope, depth and the page budget apply as to
any link.

Everything here reads a stranger's bytes, so every size has a cap: a gzipped
sitemap is inflated to at most DOWNLOAD_MAXSIZE, the same limit the download
itself has (Scrapy only bounds bodies it decompresses itself, for Content-Encoding);
a larger or unreadable sitemap is skipped with its reason and the crawl goes on.
"""
from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple
from urllib.parse import urljoin, urlsplit

from scrapy.http import Request, Response, TextResponse
from scrapy.utils.gz import gunzip
from scrapy.utils.sitemap import Sitemap, sitemap_urls_from_robots

from spiders.crawl.failures import size_text
from spiders.crawl.urls import clean_url, is_http_url, url_extension

MAX_SITEMAPS = 20
SITEMAP_FALLBACK = "sitemap_fallback"  # request meta: the sitemap to try when robots.txt cannot be read
_MD_LINK = re.compile(r"\[[^\]]*\]\(\s*<?([^)\s>]+)>?[^)]*\)")


class SitemapSkipped(Exception):
    """A sitemap that is not read, and why (in the message)."""


class SitemapLinks(NamedTuple):
    is_index: bool  # the URLs are more sitemaps, not pages
    urls: list[str]


class Discovery:
    """The discovery requests of one crawl, with the spider's callbacks."""

    def __init__(self, *, robots: Callable, sitemap: Callable, llms_txt: Callable, failed: Callable,
                 max_size: int, max_sitemaps: int = MAX_SITEMAPS) -> None:
        self._robots, self._sitemap, self._llms_txt, self._failed = robots, sitemap, llms_txt, failed
        self.max_size = max_size  # DOWNLOAD_MAXSIZE; 0, as in Scrapy, means no limit
        self.max_sitemaps = max_sitemaps
        self.sitemaps = 0

    def requests(self, site_url: str) -> Iterator[Request]:
        """robots.txt (and through it the sitemaps) and llms.txt of the site at `site_url`."""
        root = "{0.scheme}://{0.netloc}/".format(urlsplit(site_url))
        yield Request(root + "robots.txt", callback=self._robots, errback=self._failed,
                      meta={"dont_obey_robotstxt": True, SITEMAP_FALLBACK: root + "sitemap.xml"},
                      dont_filter=True, priority=10)
        yield Request(root + "llms.txt", callback=self._llms_txt, errback=self._failed,
                      dont_filter=True, priority=10)

    def sitemap_request(self, url: str) -> Iterator[Request]:
        """A request for one more sitemap, while the crawl's allowance lasts."""
        if self.sitemaps < self.max_sitemaps and is_http_url(url):
            self.sitemaps += 1
            yield Request(url, callback=self._sitemap, errback=self._failed, dont_filter=True, priority=10)

    def sitemaps_in_robots(self, response: Response) -> list[str]:
        """The sitemaps robots.txt names, or the fallback `/sitemap.xml`."""
        return list(sitemap_urls_from_robots(response.body, base_url=response.url)) or [response.meta[SITEMAP_FALLBACK]]

    def sitemap_links(self, response: Response) -> SitemapLinks:
        """The URLs a sitemap lists; SitemapSkipped when it is too large or unreadable."""
        body = response.body
        if body[:2] == b"\x1f\x8b":
            try:
                body = gunzip(body, max_size=self.max_size)
            except ValueError as exc:  # Scrapy's "decompressed more than max_size"
                raise SitemapSkipped(f"larger than {size_text(self.max_size)} uncompressed") from exc
            except (OSError, EOFError, struct.error, zlib.error) as exc:
                raise SitemapSkipped(f"unreadable gzip ({exc})") from exc
        try:
            sitemap = Sitemap(body)
        except Exception as exc:  # noqa: BLE001 - a broken sitemap is not a broken crawl
            raise SitemapSkipped(f"unreadable ({exc})") from exc
        locs = [urljoin(response.url, entry["loc"]) for entry in sitemap if entry.get("loc")]
        if sitemap.type == "sitemapindex":
            return SitemapLinks(True, locs)
        return SitemapLinks(False, [clean_url(loc) for loc in locs])


def llms_txt_pages(response: Any) -> list[str]:
    """The HTML pages an llms.txt links to (a Markdown twin `page.html.md` stands for `page.html`)."""
    if not isinstance(response, TextResponse):
        return []
    pages = []
    for target in _MD_LINK.findall(response.text):
        url = clean_url(urljoin(response.url, target))
        if url.endswith(".html.md"):
            url = url[: -len(".md")]
        elif url_extension(url) == "md":
            continue
        pages.append(url)
    return pages
