"""Private documentation: a crawl's own headers and cookies reach its site, every page and
discovery request of it, and nothing else; no log line holds them."""
from __future__ import annotations

import logging

import pytest_twisted

from tests.privatesite import COOKIE, COOKIE_NAME, HEADER, PAGES, TOKEN, private_site
from tests.sitefixture import FixtureSite


def allow(*sites: FixtureSite) -> dict[str, str]:
    return {"DOCSPASTA_ALLOW_HOSTS": ",".join(f"127.0.0.1:{s.port}" for s in sites), "LOG_LEVEL": "DEBUG"}


@pytest_twisted.inlineCallbacks
def test_without_its_header_and_cookie_the_site_refuses_the_crawl(site, other_site, crawl):
    private = private_site(site, other_site)
    result = yield crawl(private.start, settings=allow(site, other_site), max_depth=1)
    assert result.completed == [] and result.item(private.start)["http_status"] == 401


@pytest_twisted.inlineCallbacks
def test_a_private_site_is_crawled_whole_and_its_secrets_go_nowhere_else(site, other_site, crawl, caplog):
    private = private_site(site, other_site)
    caplog.set_level(logging.DEBUG)
    result = yield crawl(private.start, settings=allow(site, other_site), max_depth=1,
                         headers={HEADER: TOKEN}, cookies=f"{COOKIE_NAME}={COOKIE}")

    completed = {item["url"].removeprefix(site.url("")) for item in result.completed}
    # every page, and the one only the sitemap names: discovery (robots.txt, the sitemap) got them too
    assert completed == {"/docs/", "/docs/hidden.html", *(f"/docs/p{n}.html" for n in range(PAGES))}, completed
    assert ("own", "/robots.txt") in {(origin, path) for origin, path, _ in private.seen}
    refused = [path for origin, path, headers in private.seen if origin == "own" and not headers.get(HEADER)]
    assert refused == [], refused
    # The redirect to the other origin was followed (it was reached) without them.
    assert "/docs/landing.html" in [path for path, _ in private.other_requests()], private.seen
    assert private.leaked() == []
    assert result.item(site.url("/docs/moved.html"))["error"].startswith("redirected out of scope")
    # Scrapy's DEBUG log of every request and redirect, and ours: neither value anywhere.
    logged = "\n".join(record.getMessage() + (record.exc_text or "") for record in caplog.records)
    assert "Crawled (200)" in logged and "Redirecting (302)" in logged  # the log was captured at DEBUG
    assert TOKEN not in logged and COOKIE not in logged
    assert TOKEN not in repr(result.crawler.spider.options) and COOKIE not in str(result.items)


def test_the_secrets_own_site_is_the_start_urls_origin_or_its_https_upgrade():
    from spiders.safety.secrets import RequestSecrets

    secrets = RequestSecrets.for_site("http://docs.example.org/guide/", ((HEADER, TOKEN),))
    assert secrets.applies_to("http://docs.example.org/other/page.html")
    assert secrets.applies_to("https://DOCS.example.org:443/x")  # the usual upgrade
    for elsewhere in ("http://docs.example.org:8080/", "https://docs.example.org:8443/", "http://example.org/",
                      "http://evil.example/docs.example.org/", "ftp://docs.example.org/"):
        assert not secrets.applies_to(elsewhere), elsewhere
    downgraded = RequestSecrets.for_site("https://docs.example.org/", ((HEADER, TOKEN),))
    assert not downgraded.applies_to("http://docs.example.org/")  # never over plain http when given for https
    assert not RequestSecrets.for_site("http://docs.example.org/").applies_to("http://docs.example.org/")


def test_include_and_exclude_patterns_skip_discovered_urls_with_the_pattern_that_decided():
    from spiders.crawl.frontier import Frontier
    from spiders.crawl.paths import PathPatterns
    from spiders.crawl.urls import Scope

    frontier = Frontier(max_pages=10, max_depth=3, scope=Scope.from_url("https://d.example/", "host"),
                        paths=PathPatterns(include=("/guide/*", "/api/*"), exclude=("/api/v1/*",)))
    frontier.start("https://d.example/")
    assert frontier.add("https://d.example/guide/intro.html", 1, None) is None
    assert frontier.add("https://d.example/api/v1/old.html", 1, None).reason == "excluded: the path matches /api/v1/*"
    assert frontier.add("https://d.example/blog/post.html", 1, None).reason == (
        "not included: the path matches no include pattern")
    assert [ref.url for ref in frontier.next_pages()] == ["https://d.example/guide/intro.html"]
