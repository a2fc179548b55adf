"""Hostile sites: bombs, floods, loops and traps end with a reason, never silently."""
from __future__ import annotations

import gzip

import pytest_twisted

from tests.sitefixture import Reply, page

D = "/docs/"


@pytest_twisted.inlineCallbacks
def test_decompression_bomb_stops_at_the_size_cap_and_says_too_large(site, crawl):
    bomb = gzip.compress(b"<html><body>" + b"A" * (30 * 1024 * 1024) + b"</body></html>", 9)
    assert len(bomb) < 100_000
    site.add_page(D, "Start", "bomb.html")
    site.add(f"{D}bomb.html", Reply(body=bomb, headers={"Content-Encoding": "gzip"}))
    result = yield crawl(site.url(D), settings={"DOWNLOAD_MAXSIZE": 5 * 1024 * 1024})
    bomb_item = result.item(site.url(f"{D}bomb.html"))
    assert (bomb_item["status"], bomb_item["error"]) == ("failed", "too large (over 5 MB)")


@pytest_twisted.inlineCallbacks
def test_body_without_length_over_the_cap_is_cut_off(site, crawl):
    def endless(req):
        return Reply(body=b"<html><body>" + b"x" * 3_000_000, chunks=30, length=False)

    site.add_page(D, "Start", "stream.html")
    site.add(f"{D}stream.html", endless)
    result = yield crawl(site.url(D), settings={"DOWNLOAD_MAXSIZE": 1_000_000})
    item = result.item(site.url(f"{D}stream.html"))
    assert (item["status"], item["error"]) == ("failed", "too large (over 1000000 bytes)")


@pytest_twisted.inlineCallbacks
def test_redirect_loops_and_long_chains_end_with_a_reason(site, crawl):
    site.add_page(D, "Start", "loop-a.html", "chain0.html")
    site.redirect(f"{D}loop-a.html", f"{D}loop-b.html")
    site.redirect(f"{D}loop-b.html", f"{D}loop-a.html")
    for n in range(30):
        site.redirect(f"{D}chain{n}.html", f"{D}chain{n + 1}.html")
    result = yield crawl(site.url(D))
    for name in ("loop-a.html", "chain0.html"):
        item = result.item(site.url(f"{D}{name}"))
        assert (item["status"], item["error"]) == ("failed", "redirect loop or too many redirects")
    assert site.count(f"{D}chain12.html") == 0


@pytest_twisted.inlineCallbacks
def test_slow_server_times_out_without_holding_up_the_rest(site, crawl):
    site.add_page(D, "Start", "slow.html", *[f"p{n}.html" for n in range(10)])
    site.add(f"{D}slow.html", Reply(body=page("Slow"), delay=3))
    for n in range(10):
        site.add_page(f"{D}p{n}.html", f"P{n}")
    result = yield crawl(site.url(D), settings={"DOWNLOAD_TIMEOUT": 1, "RETRY_TIMES": 0})
    assert len(result.completed) == 11
    assert result.item(site.url(f"{D}slow.html"))["error"].startswith("timed out")


@pytest_twisted.inlineCallbacks
def test_crawler_traps_stop_at_their_limits_with_a_reason(site, crawl):
    def ever_deeper(req):  # every page links one level deeper, with the same segment
        return Reply(body=page("Deeper", "more/index.html", "again/"))

    long_link = "long.html?q=" + "a" * 3000
    many_params = "search.html?" + "&".join(f"p{n}=1" for n in range(20))
    site.add_page(D, "Start", "more/index.html", long_link, many_params)
    for path in (f"{D}more/index.html", f"{D}more/more/index.html", f"{D}more/more/more/index.html"):
        site.add(path, ever_deeper)
    result = yield crawl(site.url(D), max_depth=10, max_pages=50)
    reasons = {item["url"].split("/docs/", 1)[1][:20]: item["error"] for item in result.by_status("skipped")}
    assert reasons["long.html?q=" + "a" * 8] == "crawler trap: URL longer than 2048 characters"
    assert reasons[many_params[:20]] == "crawler trap: more than 12 query parameters"
    assert reasons["more/more/more/index"] == "crawler trap: path segment 'more' repeated 3 times"
    assert site.count(f"{D}more/more/more/index.html") == 0
    assert not [path for path in site.paths() if "long.html" in path or "search.html" in path]
