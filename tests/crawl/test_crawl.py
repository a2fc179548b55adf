"""Real crawls of fixture sites served on 127.0.0.1: what a user of the docs spider sees."""
from __future__ import annotations

import pytest_twisted

from tests.sitefixture import Reply, page

D = "/docs/"


def chain_site(site, length):
    """/docs/ -> c1 -> c2 -> ... : page cN is N links from the start."""
    site.add_page(D, "Start", "c1.html")
    for n in range(1, length + 1):
        site.add_page(f"{D}c{n}.html", f"Chapter {n}", f"c{n + 1}.html")


@pytest_twisted.inlineCallbacks
def test_depth_counts_links_from_the_start_and_stops_at_max_depth(site, crawl):
    chain_site(site, 5)
    result = yield crawl(site.url(D), max_depth=2)
    depths = {item["url"].rsplit("/", 1)[-1]: item["depth"] for item in result.completed}
    assert depths == {"": 0, "c1.html": 1, "c2.html": 2}
    assert site.count(f"{D}c3.html") == 0, "a page deeper than max_depth was requested"
    assert result.item(site.url(f"{D}c2.html"))["discovered_from"] == site.url(f"{D}c1.html")


@pytest_twisted.inlineCallbacks
def test_depth_is_the_shortest_path_even_when_a_longer_one_is_found_first(site, crawl):
    # c1 is slow, so its link to "deep" is found late; "deep" is also linked via a 3-hop path.
    site.add_page(D, "Start", "a.html", "slow.html")
    site.add_page(f"{D}a.html", "A", "b.html")
    site.add_page(f"{D}b.html", "B", "deep.html")
    site.add(f"{D}slow.html", Reply(body=page("Slow", "deep.html"), delay=0.3))
    site.add_page(f"{D}deep.html", "Deep")
    result = yield crawl(site.url(D), max_depth=2)
    assert result.item(site.url(f"{D}deep.html"))["depth"] == 2
    assert result.item(site.url(f"{D}deep.html"))["status"] == "completed"


def wide_site(site, pages, broken=()):
    links = [f"p{n}.html" for n in range(pages)]
    site.add_page(D, "Start", *links)
    for n in range(pages):
        if n in broken:
            continue
        site.add(f"{D}p{n}.html", Reply(body=page(f"Page {n}", *links[:5]), delay=0.02))


@pytest_twisted.inlineCallbacks
def test_page_limit_is_exact_at_high_concurrency(site, crawl):
    wide_site(site, 60)
    result = yield crawl(site.url(D), max_pages=10,
                         settings={"CONCURRENT_REQUESTS": 64, "CONCURRENT_REQUESTS_PER_DOMAIN": 64})
    assert len(result.completed) == 10
    page_hits = [p for p in site.paths() if p.startswith(D) and p.endswith(".html") or p == D]
    assert len(page_hits) == 10, "requests in flight overshot the page budget"


@pytest_twisted.inlineCallbacks
def test_failed_pages_give_their_slot_back(site, crawl):
    wide_site(site, 30, broken={1, 2, 3, 4})
    result = yield crawl(site.url(D), max_pages=12,
                         settings={"CONCURRENT_REQUESTS": 32, "CONCURRENT_REQUESTS_PER_DOMAIN": 32})
    assert len(result.completed) == 12
    assert all(item["error"] == "HTTP 404" for item in result.by_status("failed"))


@pytest_twisted.inlineCallbacks
def test_url_variants_of_one_page_are_fetched_and_emitted_once(site, crawl):
    site.add_page(D, "Start", "guide/", "guide/index.html", "guide", "guide/#install",
                  f"{site.url(D)}guide/?utm_source=news&utm_medium=mail", "a%7Eb.html", "a~b.html",
                  f"http://127.0.0.1:{site.port}//docs/../docs/guide/")
    site.add_page(f"{D}guide/", "Guide")
    site.add_page(f"{D}guide/index.html", "Guide")
    site.redirect(f"{D}guide", f"{D}guide/")
    site.add_page(f"{D}a~b.html", "Tilde")
    site.add_page(f"{D}a%7Eb.html", "Tilde")
    result = yield crawl(site.url(D))
    finals = sorted(item["final_url"].rsplit("/docs", 1)[-1] for item in result.completed)
    assert finals == ["/", "/a~b.html", "/guide/"] or finals == ["/", "/a%7Eb.html", "/guide/"]
    guide_fetches = sum(site.count(p) for p in (f"{D}guide/", f"{D}guide/index.html", f"{D}guide"))
    assert guide_fetches == 1
    assert not [p for p in site.paths() if "utm_" in p]


@pytest_twisted.inlineCallbacks
def test_canonical_link_in_scope_makes_two_urls_one_page(site, crawl):
    site.add_page(D, "Start", "print.html", "page.html")
    canonical = f'<link rel="canonical" href="{site.url(D)}page.html">'
    site.add(f"{D}print.html", Reply(body=page("Page", head=canonical), delay=0.05))
    site.add(f"{D}page.html", Reply(body=page("Page"), delay=0.2))
    result = yield crawl(site.url(D), settings={"CONCURRENT_REQUESTS_PER_DOMAIN": 1})
    titles = [item["title"] for item in result.completed]
    assert titles.count("Page") == 1
    assert site.count(f"{D}page.html") <= 1


@pytest_twisted.inlineCallbacks
def test_off_scope_links_are_not_followed(site, crawl):
    site.add_page(D, "Start", "in.html", "/blog/post.html", site.url("/docs/x.html", host="localhost"), "../other/")
    site.add_page(f"{D}in.html", "In")
    site.add_page("/blog/post.html", "Blog")
    result = yield crawl(site.url(D))
    assert {item["title"] for item in result.completed} == {"Start", "In"}
    assert site.count("/blog/post.html") == 0 and site.count("/other/") == 0
    assert all(hit.host.startswith("127.0.0.1") for hit in site.hits)


@pytest_twisted.inlineCallbacks
def test_host_scope_follows_the_whole_host(site, crawl):
    site.add_page(D, "Start", "/blog/post.html")
    site.add_page("/blog/post.html", "Blog")
    result = yield crawl(site.url(D), scope="host")
    assert {item["title"] for item in result.completed} == {"Start", "Blog"}


@pytest_twisted.inlineCallbacks
def test_scope_moves_with_the_start_url_redirect(site, crawl):
    # localhost/docs redirects to 127.0.0.1/docs/ (like bare host -> www, /docs -> /docs/).
    def start(req):
        if req.headers["Host"].startswith("localhost"):
            return Reply(301, headers={"Location": site.url(D)})
        return Reply(body=page("Start", "guide.html", "/elsewhere.html"))

    site.add("/docs", start)
    site.add(D, start)
    site.add_page(f"{D}guide.html", "Guide")
    site.add_page("/elsewhere.html", "Elsewhere")
    result = yield crawl(site.url("/docs", host="localhost"))
    assert {item["title"] for item in result.completed} == {"Start", "Guide"}
    assert result.item(site.url("/docs", host="localhost"))["final_url"] == site.url(D)


@pytest_twisted.inlineCallbacks
def test_robots_txt_is_obeyed_and_the_user_agent_names_docspasta(site, crawl):
    site.add("/robots.txt", Reply(body="User-agent: *\nDisallow: /docs/private/\n", content_type="text/plain"))
    site.add_page(D, "Start", "private/secret.html", "public.html")
    site.add_page(f"{D}private/secret.html", "Secret")
    site.add_page(f"{D}public.html", "Public")
    result = yield crawl(site.url(D))
    assert site.count(f"{D}private/secret.html") == 0
    assert result.item(site.url(f"{D}private/secret.html"))["status"] == "skipped"
    assert result.item(site.url(f"{D}private/secret.html"))["error"] == "disallowed by robots.txt"
    assert all(hit.user_agent.startswith("DocsPasta/") for hit in site.hits)


@pytest_twisted.inlineCallbacks
def test_user_agent_is_configurable(site, crawl):
    site.add_page(D, "Start")
    yield crawl(site.url(D), settings={"USER_AGENT": "AcmeDocs/1.0"})
    assert {hit.user_agent for hit in site.hits} == {"AcmeDocs/1.0"}


@pytest_twisted.inlineCallbacks
def test_non_html_is_skipped_without_downloading_the_body(site, crawl):
    big = b"%PDF-1.4\n" + b"0" * (8 * 1024 * 1024)
    site.add_page(D, "Start", "manual.pdf", "logo.png", "download")
    site.add(f"{D}download", Reply(body=big, content_type="application/pdf", chunks=64))
    result = yield crawl(site.url(D))
    assert site.count(f"{D}manual.pdf") == 0 and site.count(f"{D}logo.png") == 0
    assert result.item(site.url(f"{D}manual.pdf"))["status"] == "skipped"
    download = result.item(site.url(f"{D}download"))
    assert download["status"] == "skipped"
    assert "application/pdf" in download["error"]
    assert result.stats["downloader/response_bytes"] < 2 * 1024 * 1024


@pytest_twisted.inlineCallbacks
def test_sitemap_from_robots_and_llms_txt_seed_pages_in_scope(site, crawl):
    site.add("/robots.txt", Reply(body=f"Sitemap: {site.url('/sitemap-docs.xml')}\n", content_type="text/plain"))
    urls = "".join(f"<url><loc>{site.url(p)}</loc></url>" for p in (f"{D}orphan1.html", "/blog/x.html"))
    site.add("/sitemap-docs.xml", Reply(body=f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>', content_type="application/xml"))
    site.add("/llms.txt", Reply(body=f"# Docs\n\n- [Orphan 2]({site.url(D)}orphan2.html): a page\n", content_type="text/plain"))
    site.add_page(D, "Start")
    site.add_page(f"{D}orphan1.html", "Orphan 1")
    site.add_page(f"{D}orphan2.html", "Orphan 2")
    site.add_page("/blog/x.html", "Blog")
    result = yield crawl(site.url(D))
    assert {item["title"] for item in result.completed} == {"Start", "Orphan 1", "Orphan 2"}
    assert site.count("/blog/x.html") == 0


@pytest_twisted.inlineCallbacks
def test_sitemap_xml_at_the_root_is_used_without_robots_txt_and_limits_still_hold(site, crawl):
    urls = "".join(f"<url><loc>{site.url(f'{D}s{n}.html')}</loc></url>" for n in range(20))
    site.add("/sitemap.xml", Reply(body=f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>', content_type="application/xml"))
    site.add_page(D, "Start")
    for n in range(20):
        site.add_page(f"{D}s{n}.html", f"S{n}")
    result = yield crawl(site.url(D), max_pages=5)
    assert len(result.completed) == 5


@pytest_twisted.inlineCallbacks
def test_transient_errors_are_retried_with_backoff(site, crawl):
    site.add_page(D, "Start", "flaky.html", "busy.html", "reset.html")
    site.sequence(f"{D}flaky.html", Reply(503), Reply(502), Reply(body=page("Flaky")))
    site.sequence(f"{D}busy.html", Reply(429, headers={"Retry-After": "1"}), Reply(body=page("Busy")))
    site.sequence(f"{D}reset.html", Reply(reset=True), Reply(body=page("Reset")))
    result = yield crawl(site.url(D))
    assert {item["title"] for item in result.completed} == {"Start", "Flaky", "Busy", "Reset"}
    assert site.count(f"{D}flaky.html") == 3
    busy = [hit.at for hit in site.hits if hit.path == f"{D}busy.html"]
    assert busy[1] - busy[0] >= 0.95, "Retry-After was not honoured"


@pytest_twisted.inlineCallbacks
def test_retry_after_is_capped(site, crawl):
    site.add_page(D, "Start", "busy.html")
    site.sequence(f"{D}busy.html", Reply(503, headers={"Retry-After": "3600"}), Reply(body=page("Busy")))
    result = yield crawl(site.url(D), settings={"DOCSPASTA_RETRY_AFTER_MAX": 0.5})
    busy = [hit.at for hit in site.hits if hit.path == f"{D}busy.html"]
    assert 0.45 <= busy[1] - busy[0] < 5
    assert result.item(site.url(f"{D}busy.html"))["status"] == "completed"


@pytest_twisted.inlineCallbacks
def test_persistent_and_permanent_failures_are_recorded_with_the_reason(site, crawl):
    site.add_page(D, "Start", "down.html", "gone.html", "missing.html", "slow.html")
    site.add(f"{D}down.html", Reply(500))
    site.add(f"{D}gone.html", Reply(410))
    site.add(f"{D}slow.html", Reply(body=page("Slow"), delay=2))
    result = yield crawl(site.url(D), settings={"DOWNLOAD_TIMEOUT": 0.5})
    assert site.count(f"{D}down.html") == 3 and result.item(site.url(f"{D}down.html"))["error"] == "HTTP 500"
    assert site.count(f"{D}gone.html") == 1 and result.item(site.url(f"{D}gone.html"))["error"] == "HTTP 410"
    assert site.count(f"{D}missing.html") == 1
    assert result.item(site.url(f"{D}missing.html"))["http_status"] == 404
    slow = result.item(site.url(f"{D}slow.html"))
    assert slow["status"] == "failed" and slow["error"].startswith("timed out")
    assert site.count(f"{D}slow.html") == 3


@pytest_twisted.inlineCallbacks
def test_per_host_concurrency_is_capped(site, crawl):
    links = [f"p{n}.html" for n in range(12)]
    site.add_page(D, "Start", *links)
    for link in links:
        site.add(f"{D}{link}", Reply(body=page(link), delay=0.15))
    yield crawl(site.url(D), settings={"CONCURRENT_REQUESTS_PER_DOMAIN": 2})
    assert site.max_active == 2


@pytest_twisted.inlineCallbacks
def test_oversized_page_fails_with_a_reason(site, crawl):
    site.add_page(D, "Start", "huge.html")
    site.add(f"{D}huge.html", Reply(body="<html><body>" + "x" * 300_000 + "</body></html>"))
    result = yield crawl(site.url(D), settings={"DOWNLOAD_MAXSIZE": 100_000})
    huge = result.item(site.url(f"{D}huge.html"))
    assert huge["status"] == "failed"
    assert huge["error"] == "too large (over 100000 bytes)"


@pytest_twisted.inlineCallbacks
def test_items_carry_every_field(site, crawl):
    site.add_page(D, "Start")
    result = yield crawl(site.url(D))
    (item,) = result.completed
    assert set(item) >= {"url", "final_url", "title", "depth", "discovered_from", "status", "http_status",
                         "error", "markdown", "quality", "quality_reasons", "word_count", "token_count",
                         "fetched_at"}
    assert item["http_status"] == 200 and item["word_count"] > 10 and item["token_count"] > 10
    assert "# Start" in item["markdown"] and "Copyright fixture" not in item["markdown"]


@pytest_twisted.inlineCallbacks
def test_the_per_host_cap_holds_across_crawls_at_once(site, crawl):
    from twisted.internet import defer

    links = [f"p{n}.html" for n in range(10)]
    site.add_page(D, "Start", *links)
    for link in links:
        site.add(f"{D}{link}", Reply(body=page(link), delay=0.1))
    cap = {"DOCSPASTA_HOST_CONCURRENCY": 3, "CONCURRENT_REQUESTS_PER_DOMAIN": 8}
    results = yield defer.gatherResults([crawl(site.url(D), settings=cap) for _ in range(3)])
    assert [len(result.completed) for result in results] == [11, 11, 11]
    assert site.max_active == 3


@pytest_twisted.inlineCallbacks
def test_a_crawl_resumes_from_a_stored_frontier_without_refetching(site, crawl):
    from spiders.crawl.frontier import FrontierSnapshot, PageRef
    from spiders.crawl.urls import normalize_url

    site.add_page(D, "Start", "a.html", "b.html", "flaky.html")
    site.add_page(f"{D}a.html", "A", "c.html")
    site.add_page(f"{D}b.html", "B", "d.html")
    site.add_page(f"{D}c.html", "C")
    site.add_page(f"{D}d.html", "D")
    site.add(f"{D}flaky.html", Reply(503))

    def ref(name, depth, parent):
        url = site.url(f"{D}{name}")
        return PageRef(url, normalize_url(url), depth, parent and site.url(f"{D}{parent}"))

    stored = [ref("", 0, None), ref("a.html", 1, ""), ref("c.html", 2, "a.html")]
    snapshot = FrontierSnapshot(
        site_url=site.url(D), completed=2, done_keys={r.key for r in stored[:2]},
        seen_keys={r.key for r in stored}, pending=[ref("b.html", 1, ""), ref("flaky.html", 1, ""), stored[2]],
        attempts={ref("flaky.html", 1, "").key: 1},
    )
    result = yield crawl(site.url(D), resume=snapshot, max_pages=4)
    assert site.count(D) == 0 and site.count(f"{D}a.html") == 0, "a stored page was fetched again"
    assert sorted(item["title"] for item in result.completed) == ["B", "C"]  # 2 stored + 2 = max_pages
    assert site.count(f"{D}d.html") == 0
    assert site.count(f"{D}flaky.html") == 2, "retries made before the restart must still count"
    assert result.item(site.url(f"{D}flaky.html"))["error"] == "HTTP 503"
