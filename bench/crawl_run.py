"""One crawl for bench/crawl.py, in a process of its own (bench/crawl.py samples its memory).

    python bench/crawl_run.py docs|bare URL MAX_PAGES [ITEMS.jsonl]   -> one JSON line on stdout

`docs` writes each item as a JSON line to ITEMS.jsonl as it is scraped (as a job stores it),
so bench/crawl.py can assemble and compare the document after the crawl. The code crawled
with is this checkout's, or the one in $BENCH_CODE (bench/crawl.py --code: before and after).
"""
from __future__ import annotations

import json
import os
import re
import resource
import sys
from pathlib import Path

sys.path.insert(0, os.environ.get("BENCH_CODE") or str(Path(__file__).resolve().parents[1]))

import scrapy  # noqa: E402
from scrapy import signals  # noqa: E402
from scrapy.crawler import CrawlerProcess  # noqa: E402
from scrapy.exceptions import CloseSpider  # noqa: E402
from scrapy.http import TextResponse  # noqa: E402
from scrapy.linkextractors import LinkExtractor  # noqa: E402
from scrapy.utils.project import get_project_settings  # noqa: E402

from spiders.docs import DocsSpider  # noqa: E402


class BareSpider(scrapy.Spider):
    """Follows every link under the start URL's directory; extracts nothing."""

    name = "bare"
    custom_settings = {"DUPEFILTER_CLASS": "scrapy.dupefilters.RFPDupeFilter"}

    def __init__(self, url: str, max_pages: str, **kwargs):
        super().__init__(**kwargs)
        self.start_url = url
        self.prefix = url.rsplit("/", 1)[0] + "/"
        self.max_pages = int(max_pages)
        self.pages = 0
        self.links = LinkExtractor(allow=[re.escape(self.prefix)])

    async def start(self):
        yield scrapy.Request(self.start_url)

    def parse(self, response):
        if self.pages >= self.max_pages:
            raise CloseSpider("page limit")
        self.pages += 1
        if not isinstance(response, TextResponse):
            return
        # Scrapy's LinkExtractor skips the usual non-HTML extensions, as the docs spider does.
        for link in self.links.extract_links(response):
            yield scrapy.Request(link.url)


def main() -> None:
    kind, url, max_pages = sys.argv[1:4]
    settings = get_project_settings()
    settings.set("LOG_LEVEL", "ERROR", priority="cmdline")
    process = CrawlerProcess(settings)
    if kind == "docs":
        crawler = process.create_crawler(DocsSpider)
        completed = []
        out = open(sys.argv[4], "w", encoding="utf-8") if len(sys.argv) > 4 else None

        def on_item(item):
            completed.append(item["status"] == "completed")
            if out is not None:
                out.write(json.dumps(dict(item), ensure_ascii=False, default=str) + "\n")

        crawler.signals.connect(on_item, signal=signals.item_scraped, weak=False)
        process.crawl(crawler, url=url, max_pages=max_pages, max_depth=20)
    else:
        crawler = process.create_crawler(BareSpider)
        process.crawl(crawler, url=url, max_pages=max_pages)
    process.start()
    if kind == "docs" and out is not None:
        out.close()
    stats = crawler.stats.get_stats()
    pages = sum(completed) if kind == "docs" else crawler.spider.pages
    print(json.dumps({
        "pages": pages,
        "seconds": stats["elapsed_time_seconds"],
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


if __name__ == "__main__":
    main()
