"""Real crawls of JavaScript-rendered sites through Debian's Chromium: a docsify site
(docsify from the npm registry, vendored under tests/fixtures/docsify) and a small
client-rendered app, both served on 127.0.0.1; and a static site that must not
start the browser at all."""
from __future__ import annotations

import json
import os
from pathlib import Path

import psutil
import pytest
import pytest_twisted

from spiders.render.chromium import chromium_path
from tests.sitefixture import FixtureSite, Reply, page

CHROMIUM = chromium_path(os.environ.get("DOCSPASTA_CHROMIUM"))  # the one a crawl launches
needs_chromium = pytest.mark.skipif(
    not os.path.exists(CHROMIUM),
    reason=f"no Chromium at {CHROMIUM} (apt-get install chromium-headless-shell, or chromium)")

DOCSIFY = Path(__file__).resolve().parents[1] / "fixtures" / "docsify"
TYPES = {"html": "text/html; charset=utf-8", "js": "application/javascript", "css": "text/css",
         "md": "text/markdown; charset=utf-8"}
D = "/docs/"


def browser_processes() -> list[psutil.Process]:
    """Chromium and Playwright driver processes started by this test process."""
    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            if "chrom" in child.name() or "node" in child.name() or "playwright" in " ".join(child.cmdline()):
                found.append(child)
        except psutil.NoSuchProcess:
            pass
    return found


@pytest.fixture(autouse=True)
def no_browser_left_behind():
    yield
    leftover = browser_processes()
    _, alive = psutil.wait_procs(leftover, timeout=10)  # exiting processes are reaped, not slept on
    assert not alive, f"browser processes left after the crawl: {[p.name() for p in alive]}"


def serve_docsify(site, prefix=D):
    for path in DOCSIFY.rglob("*"):
        if path.is_file():
            rel = path.relative_to(DOCSIFY).as_posix()
            site.add(prefix + rel, Reply(body=path.read_bytes(), content_type=TYPES.get(path.suffix[1:], "text/plain")))
    site.add(prefix, Reply(body=(DOCSIFY / "index.html").read_bytes()))


CLIENT_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Widget API</title></head>
<body><div id="root"></div>
<script>
fetch("{data}").then(r => r.json()).then(d => {{
  const root = document.getElementById("root");
  root.innerHTML = "<main><h1>" + d.title + "</h1>" + d.paragraphs.map(p => "<p>" + p + "</p>").join("")
    + d.links.map(l => "<a href='" + l + "'>" + l + "</a>").join(" ") + "</main>";
}});
</script></body></html>"""


def client_rendered(site, path, title, data_path, *links):
    paragraphs = [f"{title} is documented here: every option of the widget, what it does and which "
                  f"values it accepts, with an example for each of them and the defaults. Part {n}." for n in range(3)]
    site.add(path, CLIENT_PAGE.format(data=data_path))
    data = {"title": title, "paragraphs": paragraphs, "links": list(links)}
    site.add(data_path, Reply(body=json.dumps(data), content_type="application/json"))


@needs_chromium
@pytest_twisted.inlineCallbacks
def test_docsify_site_in_auto_is_rendered_route_by_route(site, crawl):
    serve_docsify(site)
    result = yield crawl(site.url(D), max_pages=20, max_depth=2)
    pages = {item["url"].split("#", 1)[1] if "#" in item["url"] else "": item for item in result.completed}
    assert set(pages) == {"", "/quickstart", "/configuration", "/guide/templates", "/faq"}
    assert "pip install pastry" in pages["/quickstart"]["markdown"]
    assert "Jinja templates" in pages["/guide/templates"]["markdown"]
    assert "static site generator for recipe collections" in pages[""]["markdown"]
    assert all(item["rendered"] for item in result.completed)
    assert pages[""]["render_reason"].startswith("single-page app: <div id=app>")
    assert pages["/faq"]["render_reason"].startswith("host needs rendering (learned from ")
    # The start page was fetched plainly once. The browser loaded the document into a tab, and
    # showed the next routes in that document (the navigation a link makes), no route twice.
    in_document = result.stats.get("docspasta/render/same_document", 0)
    assert in_document >= 1, "every route loaded the document again"
    assert site.count(D) == 1 + len(pages) - in_document
    assert result.stats["playwright/page_count/max_concurrent"] <= 4


# A hash router that reads the fragment once, on load: it listens for hashchange (to log it) but
# shows nothing new, so a route is only right in a document loaded for it.
ONCE_ROUTED = """<!doctype html><html><head><meta charset="utf-8"><title>Routes</title></head>
<body><div id="app"></div>
<script>
const route = location.hash.slice(2) || "home";
const names = ["alpha", "beta", "gamma"];
document.getElementById("app").innerHTML = "<main><h1>Route " + route + "</h1><p>"
  + ("The " + route + " route explains its own subject at length, with examples. ").repeat(12) + "</p>"
  + names.map(n => "<a href='#/" + n + "'>" + n + "</a>").join(" ") + "</main>";
window.addEventListener("hashchange", () => console.log("route changed"));
</script></body></html>"""


# A hash router that shows each route in the document, except one whose route leaves for another document.
ROUTED = """<!doctype html><html><head><meta charset="utf-8"><title>Routes</title></head>
<body><div id="app"></div>
<script>
const names = ["alpha", "beta", "gamma", "away"];
function show() {
  const route = location.hash.slice(2) || "home";
  document.getElementById("app").innerHTML = "<main><h1>Route " + route + "</h1><p>"
    + ("The " + route + " route explains its own subject at length, with examples. ").repeat(12) + "</p>"
    + names.map(n => "<a href='#/" + n + "'>" + n + "</a>").join(" ") + "</main>";
}
show();
window.addEventListener("hashchange", () => location.hash === "#/away" ? location.assign("/elsewhere.html") : show());
</script></body></html>"""


@needs_chromium
@pytest_twisted.inlineCallbacks
def test_routes_render_in_their_document_and_one_that_leaves_it_is_loaded_afresh(site, crawl):
    site.add("/r/", ROUTED)
    site.add_page("/elsewhere.html", "Elsewhere")
    result = yield crawl(site.url("/r/"), max_pages=10, max_depth=2, settings={"PLAYWRIGHT_MAX_PAGES_PER_CONTEXT": 1})
    pages = {item["url"].split("#", 1)[1] if "#" in item["url"] else "": item for item in result.completed}
    assert set(pages) == {"", "/alpha", "/beta", "/gamma", "/away"}
    for route, item in pages.items():
        name = route[1:] or "home"
        assert f"The {name} route explains" in item["markdown"], f"{route or '/'} shows another route"
    # One tab: the document loaded for the start page showed alpha, beta and gamma; away was loaded.
    assert result.stats.get("docspasta/render/same_document", 0) == 3
    assert result.stats.get("docspasta/render/same_document_fallback", 0) == 1
    assert site.count("/r/") == 1 + 1 + 1  # the plain fetch, the start page's load, away's load


@needs_chromium
@pytest_twisted.inlineCallbacks
def test_a_route_the_document_does_not_show_is_loaded_afresh(site, crawl):
    site.add("/r/", ONCE_ROUTED)
    result = yield crawl(site.url("/r/"), max_pages=10, max_depth=2,
                         settings={"PLAYWRIGHT_MAX_PAGES_PER_CONTEXT": 1, "DOCSPASTA_RENDER_ROUTE_GRACE": 0.3})
    pages = {item["url"].split("#", 1)[1] if "#" in item["url"] else "": item for item in result.completed}
    assert set(pages) == {"", "/alpha", "/beta", "/gamma"}
    for route, item in pages.items():
        name = route[1:] or "home"
        assert f"The {name} route explains" in item["markdown"], f"{route or '/'} shows another route"
        assert all(f"The {other} route" not in item["markdown"] for other in ("home", "alpha", "beta", "gamma")
                   if other != name)
    # The document listens for hashchange, so a route was tried in it first: nothing changed there.
    assert result.stats.get("docspasta/render/same_document_fallback", 0) >= 1
    assert result.stats.get("docspasta/render/same_document", 0) == 0


@needs_chromium
@pytest_twisted.inlineCallbacks
def test_tabs_are_kept_for_the_crawl_and_what_carries_no_text_is_not_fetched(site, crawl):
    serve_docsify(site)
    result = yield crawl(site.url(D), max_pages=20, max_depth=2, settings={"PLAYWRIGHT_MAX_PAGES_PER_CONTEXT": 2})
    pages = {item["url"].split("#", 1)[1] if "#" in item["url"] else "": item for item in result.completed}
    assert len(pages) == 5 and all(item["rendered"] for item in pages.values())
    # Each route in a fresh document of a kept tab: its own text, not the route before it.
    assert "pip install pastry" in pages["/quickstart"]["markdown"]
    assert "pip install pastry" not in pages["/faq"]["markdown"]
    assert result.stats["playwright/page_count"] <= 2, "a new tab was opened for a page an idle tab could render"
    assert site.count(f"{D}lib/themes/vue.css") == 0, "the stylesheet was fetched"


@needs_chromium
@pytest_twisted.inlineCallbacks
def test_page_budget_stays_exact_when_pages_are_rendered_again(site, crawl):
    serve_docsify(site)
    result = yield crawl(site.url(D), max_pages=3, max_depth=2)
    assert len(result.completed) == 3
    # One plain fetch, then a load of the document per route not shown in an already loaded one.
    in_document = result.stats.get("docspasta/render/same_document", 0)
    assert site.count(D) == 1 + 3 - in_document, "a re-render took a second slot or a page was rendered twice"
    assert len({item["url"] for item in result.items}) == len(result.items)


@needs_chromium
@pytest_twisted.inlineCallbacks
def test_client_rendered_pages_in_auto_get_their_text_and_links_from_the_rendered_dom(site, crawl):
    client_rendered(site, f"{D}widget.html", "Widget API", f"{D}widget.json", "options.html")
    client_rendered(site, f"{D}options.html", "Widget options", f"{D}options.json")
    result = yield crawl(site.url(f"{D}widget.html"))
    start, options = result.item(site.url(f"{D}widget.html")), result.item(site.url(f"{D}options.html"))
    assert "every option of the widget" in start["markdown"]
    assert start["render_reason"] == "single-page app: <div id=root> holds 0 words until JavaScript runs"
    assert options["status"] == "completed" and "Widget options" in options["markdown"]
    assert options["render_reason"].startswith("host needs rendering")
    assert site.count(f"{D}options.html") == 1, "a learned host's page was still fetched plainly first"


@needs_chromium
@pytest_twisted.inlineCallbacks
def test_static_site_in_auto_never_starts_the_browser(site, crawl):
    running = []  # browser processes counted while each page is being served

    def static(title, *links):
        body = page(title, *links, head="<script src='/docs/search.js'></script>")

        def serve(_request):
            running.append(len(browser_processes()))
            return Reply(body=body)
        return serve

    site.add(D, static("Start", "a.html", "b.html"))
    site.add(f"{D}a.html", static("A", "b.html"))
    site.add(f"{D}b.html", static("B"))
    result = yield crawl(site.url(D))
    assert len(result.completed) == 3
    assert not any(item["rendered"] for item in result.items)
    assert all(item["render_reason"] is None for item in result.items)
    assert "playwright/browser_count" not in result.stats
    assert running == [0, 0, 0], "Chromium or the Playwright driver ran during a static crawl"


@needs_chromium
@pytest_twisted.inlineCallbacks
def test_render_always_and_never(site, crawl):
    site.add_page(D, "Start", "a.html")
    site.add_page(f"{D}a.html", "A")
    site.add(f"{D}app.html", "<html><body><div id='app'></div><script>1</script></body></html>")
    result = yield crawl(site.url(D), render="always")
    assert [item["render_reason"] for item in result.completed] == ["render=always"] * 2
    assert result.stats["playwright/browser_count"] == 1

    shell = yield crawl(site.url(f"{D}app.html"), render="never")
    (item,) = shell.items
    assert item["rendered"] is False and item["word_count"] == 0
    assert "playwright/browser_count" not in shell.stats


@needs_chromium
@pytest_twisted.inlineCallbacks
def test_the_browser_cannot_reach_internal_addresses_the_crawl_may_not(site, crawl):
    canary = FixtureSite().start()  # another local port: not on the allow-list
    try:
        canary.add("/secret", Reply(body="{}", content_type="application/json"))
        site.add(f"{D}leak.html", CLIENT_PAGE.format(data=canary.url("/secret")))
        result = yield crawl(site.url(f"{D}leak.html"))
    finally:
        canary.stop()
    assert canary.paths() == [], "a rendered page's script reached an internal address"
    assert result.stats["docspasta/render/blocked"] >= 1
    assert result.items[0]["rendered"] is True


@needs_chromium
@pytest_twisted.inlineCallbacks
def test_a_page_that_never_goes_quiet_is_taken_at_the_settle_cap(site, crawl):
    client_rendered(site, f"{D}live.html", "Live status", f"{D}live.json")
    site.add(f"{D}poll.json", Reply(body="{}", content_type="application/json", delay=0.05))
    site.add(f"{D}live.html", CLIENT_PAGE.format(data=f"{D}live.json").replace(
        "</script>", f"setInterval(() => fetch('{D}poll.json'), 20);</script>"))
    result = yield crawl(site.url(f"{D}live.html"), settings={"DOCSPASTA_RENDER_SETTLE_TIMEOUT": 1.5})
    (item,) = result.completed
    assert "Live status" in item["markdown"] and item["rendered"]
    assert site.count(f"{D}poll.json") >= 5, "the page did not keep the network busy"


@needs_chromium
@pytest_twisted.inlineCallbacks
def test_crawls_of_one_process_share_a_bounded_number_of_browsers(site, crawl):
    # One browser for the whole process: the second crawl's page waits for it, then
    # gives up with the reason; a crawl started after the first ended gets the browser.
    from twisted.internet import defer, reactor

    browsing = defer.Deferred()  # fires when the first crawl's browser asks for its page

    def slow(_request):
        reactor.callFromThread(lambda: browsing.called or browsing.callback(None))
        return Reply(body=page("Slow page"), delay=1.0)

    site.add(f"{D}slow.html", slow)
    site.add_page(f"{D}quick.html", "Quick page")
    one = {"DOCSPASTA_RENDER_MAX_BROWSERS": 1}
    first = crawl(site.url(f"{D}slow.html"), render="always", settings=one)
    yield browsing
    second = crawl(site.url(f"{D}quick.html"), render="always",
                   settings={**one, "DOCSPASTA_RENDER_BROWSER_WAIT": 0.3})
    second = yield second
    first = yield first
    assert first.completed and first.completed[0]["rendered"]
    (refused,) = second.items
    assert refused["status"] == "failed"
    assert refused["error"].startswith("rendering failed: ") and "DOCSPASTA_RENDER_MAX_BROWSERS=1 in use" in refused["error"]
    later = yield crawl(site.url(f"{D}quick.html"), render="always", settings={**one, "DOCSPASTA_RENDER_BROWSER_WAIT": 0.3})
    assert later.completed[0]["rendered"]


@needs_chromium
@pytest_twisted.inlineCallbacks
def test_a_crawl_waiting_for_a_browser_closes_at_once_when_cancelled(site, crawl):
    from scrapy import signals
    from scrapy.crawler import CrawlerRunner
    from scrapy.utils.defer import deferred_from_coro
    from scrapy.utils.project import get_project_settings
    from twisted.internet import defer, reactor

    from spiders.docs import DocsSpider
    from spiders.render.handler import browser_wait
    from tests.conftest import FAST

    browsing = defer.Deferred()

    def slow(_request):
        reactor.callFromThread(lambda: browsing.called or browsing.callback(None))
        return Reply(body=page("Slow page"), delay=2.0)

    site.add(f"{D}slow.html", slow)
    site.add_page(f"{D}quick.html", "Quick page")
    one = {"DOCSPASTA_RENDER_MAX_BROWSERS": 1}
    first = crawl(site.url(f"{D}slow.html"), render="always", settings=one)
    yield browsing

    settings = get_project_settings()
    settings.setdict({**FAST, **one, "DOCSPASTA_ALLOW_HOSTS": f"127.0.0.1:{site.port}"}, priority="cmdline")
    runner = CrawlerRunner(settings)
    crawler = runner.create_crawler(DocsSpider)
    items = []
    crawler.signals.connect(lambda item: items.append(dict(item)), signal=signals.item_scraped, weak=False)
    cancel = lambda limit: reactor.callLater(0, deferred_from_coro,  # noqa: E731
                                             crawler.engine.close_spider_async(reason="cancelled"))
    crawler.signals.connect(cancel, signal=browser_wait, weak=False)
    started = reactor.seconds()
    yield runner.crawl(crawler, url=site.url(f"{D}quick.html"), render="always")
    assert reactor.seconds() - started < 1.5, "the cancelled crawl waited for the browser anyway"
    assert [item["error"] for item in items] == [
        "rendering failed: NoBrowserFree: the crawl closed while it waited for a free browser"]
    assert crawler.stats.get_value("finish_reason") == "cancelled"
    yield first


@needs_chromium
@pytest_twisted.inlineCallbacks
def test_one_client_rendered_page_does_not_send_a_static_site_through_the_browser(site, crawl):
    script = "<script src='/docs/search.js'></script>"
    site.add_page(D, "Start", "explorer.html", head=script)
    client_rendered(site, f"{D}explorer.html", "API explorer", f"{D}explorer.json", "a.html")
    site.add_page(f"{D}a.html", "A", "b.html", head=script)
    site.add_page(f"{D}b.html", "B", head=script)
    result = yield crawl(site.url(D), max_depth=3)
    rendered = {item["url"].rsplit("/", 1)[-1]: item["rendered"] for item in result.completed}
    assert rendered == {"": False, "explorer.html": True, "a.html": False, "b.html": False}


@needs_chromium
@pytest_twisted.inlineCallbacks
def test_a_start_url_with_a_hash_route_is_that_route(site, crawl):
    serve_docsify(site)
    result = yield crawl(site.url(f"{D}#/quickstart"), max_depth=0)
    (item,) = result.items
    assert item["status"] == "completed" and item["url"].endswith("/docs/#/quickstart")
    assert "pip install pastry" in item["markdown"]
    assert item["render_reason"].startswith("single-page app")


@needs_chromium
@pytest_twisted.inlineCallbacks
def test_a_page_the_browser_cannot_load_fails_with_a_one_line_reason(site, crawl):
    shell = "<html><body><div id='app'></div><script>1</script></body></html>"
    site.sequence(f"{D}hangs.html", Reply(body=shell), Reply(body=shell, delay=3.0))  # plain fast, browser slow
    result = yield crawl(site.url(f"{D}hangs.html"), settings={"PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT": 1000})
    (item,) = result.items
    assert item["status"] == "failed" and item["rendered"] is True
    assert item["error"].startswith("rendering failed: BrowserError: ") and "Timeout 1000ms" in item["error"]
    assert "\n" not in item["error"]


@needs_chromium
@pytest_twisted.inlineCallbacks
def test_a_rendered_page_over_the_size_limit_fails(site, crawl):
    site.add(f"{D}huge.html", "<html><body><div id='root'></div><script>"
             "document.getElementById('root').textContent = 'word '.repeat(50000)</script></body></html>")
    result = yield crawl(site.url(f"{D}huge.html"), settings={"DOWNLOAD_MAXSIZE": 100_000})
    (item,) = result.items
    assert item["status"] == "failed" and item["error"] == "rendering failed: too large (over 100000 bytes)"


@pytest_twisted.inlineCallbacks
def test_without_chromium_a_page_that_needs_it_fails_with_the_reason(site, crawl):
    site.add(f"{D}app.html", "<html><body><div id='app'></div><script>1</script></body></html>")
    launch = {"executable_path": "/nonexistent/chromium", "headless": True, "timeout": 10_000}
    result = yield crawl(site.url(f"{D}app.html"), settings={"PLAYWRIGHT_LAUNCH_OPTIONS": launch})
    (item,) = result.items
    assert item["status"] == "failed" and item["error"].startswith("rendering failed: BrowserError: ")
    assert "/nonexistent/chromium" in item["error"] and "\n" not in item["error"]


@pytest_twisted.inlineCallbacks
def test_the_chromium_named_by_docspasta_chromium_is_the_one_launched(site, crawl):
    site.add(f"{D}app.html", "<html><body><div id='app'></div><script>1</script></body></html>")
    result = yield crawl(site.url(f"{D}app.html"), settings={"DOCSPASTA_CHROMIUM": "/nonexistent/headless-shell"})
    (item,) = result.items
    assert item["status"] == "failed" and "/nonexistent/headless-shell" in item["error"]
