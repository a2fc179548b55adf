from __future__ import annotations

import ipaddress
import socket
import sys
from urllib.parse import urlsplit

import pytest
from scrapy import signals
from scrapy.crawler import CrawlerRunner
from scrapy.utils.project import get_project_settings

from spiders.docs import DocsSpider
from tests.marks import pytest_collection_modifyitems  # noqa: F401  (the hook that marks slow tests)
from tests.shared_services import shared_services_untouched  # noqa: F401  (a session fixture: autouse)
from tests.sitefixture import FixtureSite

# Tests send traffic to loopback only. Every connect() this process makes (in-process
# crawls, the browser's proxy, database and HTTP clients) is checked: another address is
# refused before any packet leaves, and the test that tried fails.
# (In a network namespace with only a loopback interface, tests/safety/netns_cases.py, nothing can
# leave anyway, and its probe must see the namespace's own "network is unreachable".)
OUTSIDE_LOOPBACK: list[str] = []
ISOLATED = [name for _, name in socket.if_nameindex()] == ["lo"]


def _loopback_only(event: str, args: tuple) -> None:
    if event != "socket.connect" or ISOLATED:
        return
    sock, address = args
    if sock.family not in (socket.AF_INET, socket.AF_INET6):
        return  # Unix sockets (embedded PostgreSQL and Redis)
    host = str(address[0]).split("%")[0]
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback:
        OUTSIDE_LOOPBACK.append(f"{host}:{address[1]}")
        raise ConnectionRefusedError(f"tests connect to loopback addresses only, not {host}")


sys.addaudithook(_loopback_only)


@pytest.fixture(autouse=True)
def loopback_only():
    OUTSIDE_LOOPBACK.clear()
    yield
    assert not OUTSIDE_LOOPBACK, f"the test tried to connect outside loopback: {OUTSIDE_LOOPBACK}"

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


@pytest.fixture
def other_site():
    """A second fixture site: another origin (another port), for what must never reach it."""
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
