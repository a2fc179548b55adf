"""The per-host rate cap holds across worker processes through Redis, and without Redis per process.

Real crawls of a fixture site on 127.0.0.1, real Redis (the shared one under a
prefix of this test's own, or a private redis-server on a free port), and the
site's own log of request times as the measure.
"""
from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import pytest
import pytest_twisted
import redis

from tests.sitefixture import FixtureSite, Reply, page
from tests.web.server import PrivateRedis

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("DOCSPASTA_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
D = "/docs/"
RATE = 10  # requests per second to the fixture host
# A second of requests seen by the server may hold one more than the cap (arrival jitter
# of a few milliseconds at the window's edges), and two more for the scheduler of a busy
# machine (a request sent late bunches up with the next one on time). Twice the rate, what
# the cap prevents, is 20 or more.
TOLERANCE = 3


def busiest_second(times: list[float]) -> int:
    """The most requests the server saw within any one second."""
    times = sorted(times)
    return max(sum(1 for t in times[i:] if t < start + 1.0) for i, start in enumerate(times))


def docs_pages(site: FixtureSite, pages: int) -> str:
    links = [f"p{n}.html" for n in range(pages)]
    site.add_page(D, "Start", *links)
    for link in links:
        site.add(f"{D}{link}", Reply(body=page(link)))
    return site.url(D)


@pytest.fixture
def prefix():
    prefix = f"docspasta_test_{uuid.uuid4().hex[:12]}:"
    yield prefix
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=prefix + "*"))
    if keys:
        client.delete(*keys)
    client.close()


def start_together(site: FixtureSite, crawls: int) -> None:
    """robots.txt, every crawl's first request, is answered once all the crawls have asked for it,
    so the crawls overlap however long each process takes to start."""
    agents: set[str] = set()
    everyone = threading.Event()

    def robots(request) -> Reply:
        agents.add(request.headers.get("User-Agent", ""))
        if len(agents) >= crawls:
            everyone.set()
        everyone.wait(30)
        return Reply(body="User-agent: *\nAllow: /\n", content_type="text/plain")

    site.add("/robots.txt", robots)


def crawl_in_a_process(url: str, agent: str, settings: dict[str, object]) -> subprocess.Popen:
    port = url.split(":")[2].split("/")[0]
    options = {"DOCSPASTA_ALLOW_HOSTS": f"127.0.0.1:{port}", "USER_AGENT": agent, "LOG_LEVEL": "WARNING",
               "AUTOTHROTTLE_ENABLED": False, "DOCSPASTA_EXTRACT_WORKERS": 0, **settings}
    args = [sys.executable, "-m", "scrapy", "crawl", "docs", "-a", f"url={url}", "-a", "max_depth=1"]
    for name, value in options.items():
        args += ["-s", f"{name}={value}"]
    return subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def two_crawlers(site: FixtureSite, settings: dict[str, object]) -> dict[str, list[float]]:
    """Two `scrapy crawl docs` processes on one fixture host; the request times the server saw, by process."""
    url = docs_pages(site, 20)
    start_together(site, 2)
    crawlers = [crawl_in_a_process(url, agent, settings) for agent in ("crawler-a", "crawler-b")]
    for crawler in crawlers:
        _, errors = crawler.communicate(timeout=60)
        assert crawler.returncode == 0, errors
        assert "Traceback" not in errors, errors
    assert site.count(f"{D}p19.html") == 2, "both crawls fetched every page"
    return {agent: [hit.at for hit in site.hits if hit.user_agent == agent] for agent in ("crawler-a", "crawler-b")}


def test_two_worker_processes_share_one_rate_per_host_through_redis(site, prefix):
    times = two_crawlers(site, {"DOCSPASTA_HOST_RATE": RATE, "DOCSPASTA_REDIS_URL": REDIS_URL,
                                "DOCSPASTA_REDIS_PREFIX": prefix})
    a, b = times["crawler-a"], times["crawler-b"]
    assert max(a[0], b[0]) < min(a[-1], b[-1]) - 1.0, "the two crawls ran side by side"
    both = sorted(a + b)
    assert busiest_second(both) <= RATE + TOLERANCE, busiest_second(both)
    # ... and the pair as a whole went near the cap (a little below: moments when neither had a request ready).
    assert (len(both) - 1) / (both[-1] - both[0]) >= 0.75 * RATE


def test_without_redis_each_process_has_the_whole_rate(site):
    """The same two crawls capped per process only: the host sees twice the rate (what the shared cap prevents)."""
    times = two_crawlers(site, {"DOCSPASTA_HOST_RATE": RATE})
    both = times["crawler-a"] + times["crawler-b"]
    assert busiest_second(both) >= 1.6 * RATE, busiest_second(both)


@pytest.fixture
def private_redis():
    server = PrivateRedis().start()
    yield server
    server.kill()


@pytest_twisted.inlineCallbacks
def test_redis_going_down_mid_crawl_falls_back_to_the_process_cap_and_comes_back(site, crawl, private_redis,
                                                                              caplog):
    caplog.set_level(logging.INFO, logger="spiders.crawl.hostrate")
    url = docs_pages(site, 40)
    # Redis dies while the crawl is under way and comes back a second later; the crawl has
    # well over a second left then (the cap tries Redis again a second after it failed).
    served = iter(range(1, 41))

    def outage(request) -> Reply:
        n = next(served)  # the nth page served (pages are fetched in no fixed order)
        if n == 6:
            private_redis.kill()
        elif n == 16:
            private_redis.start()
        return Reply(body=page(request.path))

    for n in range(40):
        site.add(f"{D}p{n}.html", outage)
    result = yield crawl(url, max_depth=1, settings={
        "DOCSPASTA_HOST_RATE": RATE, "DOCSPASTA_REDIS_URL": private_redis.url, "DOCSPASTA_REDIS_PREFIX": "cap:"})

    assert len(result.completed) == 41, "the crawl went on without Redis"
    times = [hit.at for hit in site.hits]
    assert busiest_second(times) <= RATE + TOLERANCE, [round(t - times[0], 3) for t in times]
    messages = [record.getMessage() for record in caplog.records if record.name == "spiders.crawl.hostrate"]
    assert len([m for m in messages if "unavailable" in m]) == 1, messages  # once, not per request
    assert len([m for m in messages if "is back" in m]) == 1, messages
    assert private_redis.keys() == [f"cap:hostrate:127.0.0.1:{site.port}".encode()], "Redis is used again"
