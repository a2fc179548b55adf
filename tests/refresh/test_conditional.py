"""Conditional requests in real crawls: the docs spider against a fixture site that knows ETags
and Last-Modified, crawled once, then again against the first crawl's pages."""
from __future__ import annotations

import pytest
import pytest_twisted

from spiders.refresh.previous import ExportedPrevious
from tests.refresh.site import VersionedSite
from tests.sitefixture import Reply, page

D = "/docs/"


def small_site(versioned: VersionedSite) -> None:
    versioned.put_page(D, "Start", "a.html", "b.html")
    versioned.put_page(f"{D}a.html", "Alpha", "c.html",
                       body="<p>Alpha explains the first part of the library in words enough for a page.</p>")
    versioned.put_page(f"{D}b.html", "Beta",
                       body="<p>Beta explains the second part of the library in words enough for a page.</p>")
    versioned.put_page(f"{D}c.html", "Gamma",
                       body="<p>Gamma is only linked from Alpha, so it is found through Alpha's links.</p>")


@pytest.mark.parametrize("validators", [("etag",), ("last_modified",)])
@pytest_twisted.inlineCallbacks
def test_an_unchanged_site_answers_304_and_the_pages_come_back_whole(site, crawl, validators):
    versioned = VersionedSite(site, validators=validators)
    small_site(versioned)
    first = yield crawl(site.url(D), max_depth=2)
    assert len(first.completed) == 4
    assert all(item["content_hash"] and isinstance(item["links"], list) for item in first.completed)
    versioned.clear_log()

    again = yield crawl(site.url(D), max_depth=2, previous=ExportedPrevious(first.items))
    assert versioned.downloaded() == [], "an unchanged page was downloaded again"
    assert sorted(versioned.not_modified()) == sorted([D, f"{D}a.html", f"{D}b.html", f"{D}c.html"])
    by_url = {item["url"]: item for item in again.completed}
    assert len(by_url) == 4, "Gamma is reached through Alpha's stored links"
    for item in first.completed:
        reused = by_url[item["url"]]
        assert reused["not_modified"] is True and reused["http_status"] == 304
        assert (reused["markdown"], reused["title"], reused["content_hash"]) == \
               (item["markdown"], item["title"], item["content_hash"])


@pytest_twisted.inlineCallbacks
def test_a_server_that_ignores_conditional_headers_serves_everything_and_the_hashes_match(site, crawl):
    versioned = VersionedSite(site, ignores_conditional=True)
    small_site(versioned)
    first = yield crawl(site.url(D), max_depth=2)
    versioned.clear_log()
    again = yield crawl(site.url(D), max_depth=2, previous=ExportedPrevious(first.items))
    assert len(versioned.downloaded()) == 4 and versioned.not_modified() == []
    hashes = {item["url"]: item["content_hash"] for item in first.completed}
    assert {item["url"]: item["content_hash"] for item in again.completed} == hashes
    assert not any(item["not_modified"] for item in again.completed)


@pytest_twisted.inlineCallbacks
def test_a_changed_page_is_downloaded_and_the_unchanged_ones_are_not(site, crawl):
    versioned = VersionedSite(site)
    small_site(versioned)
    first = yield crawl(site.url(D), max_depth=2)
    versioned.put_page(f"{D}b.html", "Beta", body="<p>Beta now explains something else entirely, in new words.</p>")
    versioned.clear_log()
    again = yield crawl(site.url(D), max_depth=2, previous=ExportedPrevious(first.items))
    assert versioned.downloaded() == [f"{D}b.html"]
    beta = again.item(site.url(f"{D}b.html"))
    assert "something else entirely" in beta["markdown"]
    assert beta["content_hash"] != first.item(site.url(f"{D}b.html"))["content_hash"]


@pytest_twisted.inlineCallbacks
def test_a_first_crawl_sends_no_conditional_headers(site, crawl):
    seen = []

    def start(request):
        seen.append(dict(request.headers))
        return Reply(body=page("Start"), headers={"ETag": '"v1"'})

    site.add(D, start)
    yield crawl(site.url(D), max_depth=0)
    assert seen and not any(name.lower().startswith("if-") for name in seen[0])
