from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from scrapy import signals
from scrapy.crawler import CrawlerRunner
from scrapy.utils.project import get_project_settings

from spiders.docs import DocsSpider
from tests.sitefixture import FixtureSite

# Settings that keep tests quick without changing what is being tested.
FAST = {
    "LOG_LEVEL": "WARNING",
    "AUTOTHROTTLE_ENABLED": False,
    "DOCSPASTA_RETRY_BACKOFF_BASE": 0.05,
}


@pytest.fixture
def site():
    fixture = FixtureSite().start()
    yield fixture
    fixture.stop()


class CrawlResult:
    def __init__(self, crawler, items):
        self.crawler = crawler
        self.items = items

    @property
    def stats(self):
        return self.crawler.stats.get_stats()

    def by_status(self, status):
        return [item for item in self.items if item["status"] == status]

    @property
    def completed(self):
        return self.by_status("completed")

    def item(self, url):
        (match,) = [item for item in self.items if item["url"] == url]
        return match


@pytest.fixture
def crawl():
    """`result = yield crawl(url, settings={...}, max_pages=..)` runs a real crawl in-process."""

    def run(url, settings=None, **spider_args):
        project = get_project_settings()
        port = urlsplit(url).port
        allow = {"DOCSPASTA_ALLOW_HOSTS": f"127.0.0.1:{port},localhost:{port}"}
        project.setdict({**FAST, **allow, **(settings or {})}, priority="cmdline")
        runner = CrawlerRunner(project)
        crawler = runner.create_crawler(DocsSpider)
        items = []
        crawler.signals.connect(lambda item: items.append(dict(item)), signal=signals.item_scraped, weak=False)
        deferred = runner.crawl(crawler, url=url, **spider_args)
        deferred.addCallback(lambda _: CrawlResult(crawler, items))
        return deferred

    return run
