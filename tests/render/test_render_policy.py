"""The render policy without a browser: which plain responses need one, and hash routes as page keys."""
from __future__ import annotations

import pytest
from scrapy.http import HtmlResponse, Request

from spiders.crawl.urls import clean_url, normalize_url
from spiders.jobs.options import CrawlArgumentError, CrawlOptions
from spiders.render.policy import PLAIN_WORDS_META, RENDER_META, RenderPolicy, needs_rendering

PROSE = " ".join(["Documentation prose with enough words to be a real page."] * 12)


def html(body: str, head: str = "", url: str = "https://docs.example.org/guide/") -> HtmlResponse:
    page = f"<!doctype html><html><head><title>T</title>{head}</head><body>{body}</body></html>"
    return HtmlResponse(url, body=page.encode(), encoding="utf-8", request=Request(url))


SCRIPT = "<script src='/app.js'></script>"


@pytest.mark.parametrize("body", [
    f"<nav>Home</nav><main><h1>Guide</h1><p>{PROSE}</p></main>{SCRIPT}",  # static page with a script
    f"<div id='__docusaurus'><main><p>{PROSE}</p></main></div>{SCRIPT}",  # server-rendered SPA
    f"<div id='app'><article><p>{PROSE}</p></article></div>{SCRIPT}",  # hydrated app root
    "<p>Short page.</p>",  # thin but without scripts: a browser would show the same
    f"<main><p>{PROSE}</p></main><noscript>Please enable JavaScript to search.</noscript>{SCRIPT}",
    # Sphinx's search page: thin, and its <noscript> asks for JavaScript, to search.
    "<h1>Search</h1><noscript><div class='admonition warning'><p>Please activate JavaScript to enable the "
    f"search functionality.</p></div></noscript><form action=''><input name='q'></form>"
    f"<div class='sphinxsidebar'>{PROSE[:250]}</div>{SCRIPT}",
    # A Sphinx API entry whose anchor is id="app", on a page with little text.
    f"<div class='body'><dl><dt id='app'>app</dt><dd>The app.</dd></dl></div>{PROSE[:250]}{SCRIPT}",
])
def test_pages_with_their_text_need_no_browser(body):
    assert needs_rendering(html(body)) is None


@pytest.mark.parametrize("body, reason", [
    (f"<div id='app'>Loading...</div>{SCRIPT}", "single-page app: <div id=app> holds 1 words"),
    (f"<div id='root'></div>{SCRIPT}", "single-page app: <div id=root> holds 0 words"),
    (f"<app-root></app-root>{SCRIPT}", "single-page app: <app-root>"),
    (f"<header>Acme docs</header><div class='shell'></div>{SCRIPT}", "near-empty page: 2 words"),
    (f"<nav>{PROSE[:300]}</nav><main></main>{SCRIPT}", "empty <main>"),
    (f"<p>{PROSE[:200]}</p><noscript>You need to enable JavaScript to run this app.</noscript>{SCRIPT}",
     "<noscript> asks for JavaScript"),
])
def test_empty_shells_need_a_browser_with_a_reason(body, reason):
    assert reason in (needs_rendering(html(body)) or "")


def test_auto_rerenders_a_shell_and_learns_the_host_only_when_rendering_found_text():
    policy = RenderPolicy("auto")
    shell = html(f"<div id='app'>Loading...</div>{SCRIPT}")
    meta = policy.rerender_meta(shell)
    assert meta["playwright"] is True and meta[PLAIN_WORDS_META] == 1
    assert meta[RENDER_META].startswith("single-page app")
    assert policy.request_meta("https://docs.example.org/other/") == {}

    def rendered(body):
        response = html(body)
        response.request.meta.update(meta)
        return response

    policy.learn(rendered(f"<div id='app'>{SCRIPT}</div>"), start=True)  # the browser found nothing more
    assert policy.hosts == {}
    policy.learn(rendered(f"<div id='app'><p>{PROSE}</p></div>"))  # one deep page paid off: not yet
    assert policy.hosts == {}
    policy.learn(rendered(f"<div id='app'><p>{PROSE}</p></div>"))  # a second one: learned
    assert policy.request_meta("https://DOCS.example.org:443/other/")[RENDER_META] == (
        "host needs rendering (learned from https://docs.example.org/guide/)")
    assert policy.request_meta("https://elsewhere.example.org/")== {}
    assert policy.rerender_meta(rendered("<div id='app'></div>" + SCRIPT)) is None, "a rendered page is final"


def test_a_start_page_that_needed_rendering_teaches_the_host_at_once():
    policy = RenderPolicy("auto")
    response = html(f"<div id='app'><p>{PROSE}</p></div>")
    response.request.meta.update(policy.rerender_meta(html(f"<div id='app'></div>{SCRIPT}")))
    policy.learn(response, start=True)
    assert policy.request_meta("https://docs.example.org/next/")["playwright"] is True


def test_always_and_never():
    assert RenderPolicy("always").request_meta("https://a.example/")[RENDER_META] == "render=always"
    shell = html(f"<div id='app'></div>{SCRIPT}")
    assert RenderPolicy("always").rerender_meta(shell) is None
    assert RenderPolicy("never").rerender_meta(shell) is None
    assert RenderPolicy("never").request_meta("https://a.example/") == {}


def test_render_option_is_validated_like_the_others():
    assert CrawlOptions.parse(url="https://a.example/").render == "auto"
    assert CrawlOptions.parse(url="https://a.example/", render=" Always ").render == "always"
    with pytest.raises(CrawlArgumentError, match=r"^render: must be one of auto, always, never, got 'sometimes'$"):
        CrawlOptions.parse(url="https://a.example/", render="sometimes")


@pytest.mark.parametrize("url, cleaned, key", [
    ("https://d.example/docs/#/guide", "https://d.example/docs/#/guide", "https://d.example/docs#/guide"),
    ("https://d.example/docs/#/guide?id=install", "https://d.example/docs/#/guide", "https://d.example/docs#/guide"),
    ("https://d.example/docs/index.html#!/api?utm_source=x", "https://d.example/docs/index.html#!/api",
     "https://d.example/docs#!/api"),
    ("https://d.example/docs/#/", "https://d.example/docs/", "https://d.example/docs"),
    ("https://d.example/docs/#/?id=intro", "https://d.example/docs/", "https://d.example/docs"),
    ("https://d.example/docs/#install", "https://d.example/docs/", "https://d.example/docs"),
    ("https://d.example/docs/page.html#section-2", "https://d.example/docs/page.html", "https://d.example/docs/page.html"),
])
def test_hash_routes_are_pages_and_anchors_are_not(url, cleaned, key):
    assert clean_url(url) == cleaned
    assert normalize_url(url) == key


def test_two_routes_are_two_pages():
    assert normalize_url("https://d.example/#/guide") != normalize_url("https://d.example/#/faq")
    assert normalize_url("https://d.example/#/guide") != normalize_url("https://d.example/")


def test_one_browser_per_crawl_whatever_the_scheme():
    from scrapy.utils.misc import build_from_crawler
    from scrapy.utils.test import get_crawler

    from spiders.docs import DocsSpider
    from spiders.render.handler import BrowserDownloadHandler

    crawler, other = (get_crawler(DocsSpider) for _ in range(2))
    http, https = (build_from_crawler(BrowserDownloadHandler, crawler) for _ in range(2))
    elsewhere = build_from_crawler(BrowserDownloadHandler, other)
    assert http.owner is http and https.owner is http
    assert elsewhere.owner is elsewhere
    assert not http.launched, "the driver must not start before a browser request"


def test_network_quiet_waits_for_every_request_to_end():
    from spiders.render.policy import NetworkQuiet

    network = NetworkQuiet()
    network._started(None)
    network._started(None)
    network._ended(None)
    assert not network.settled(0)
    network._ended(None)
    assert network.settled(0) and not network.settled(60)


def test_a_plain_response_keeps_the_hash_route_it_was_asked_for_even_after_a_redirect():
    from spiders.render.routes import RouteFragmentMiddleware

    middleware = RouteFragmentMiddleware()
    asked = Request("https://d.example/docs/#/guide")
    plain = HtmlResponse("https://d.example/docs/", body=b"<html></html>", request=asked)
    assert middleware.process_response(asked, plain).url == "https://d.example/docs/#/guide"
    redirected = Request("https://d.example/docs/", meta={"redirect_urls": ["http://d.example/docs#/guide"]})
    final = HtmlResponse("https://d.example/docs/", body=b"<html></html>", request=redirected)
    assert middleware.process_response(redirected, final).url == "https://d.example/docs/#/guide"
    plain_page = Request("https://d.example/docs/page.html")
    untouched = HtmlResponse("https://d.example/docs/page.html", body=b"<html></html>", request=plain_page)
    assert middleware.process_response(plain_page, untouched) is untouched


def test_the_browser_keeps_every_feature_playwright_disables():
    """Chromium honours the last --disable-features only, and the settings' one comes after
    Playwright's: it must still hold every feature the installed Playwright disables."""
    import re
    from pathlib import Path

    import playwright

    from spiders import settings

    # Where the installed driver keeps the list: a module of its own (1.55, a function of the
    # assistant mode there), or the one bundle of the driver (1.65).
    lib = Path(playwright.__file__).parent / "driver" / "package" / "lib"
    scripts = [lib / "server" / "chromium" / "chromiumSwitches.js", lib / "coreBundle.js"]
    script = next((path for path in scripts if path.exists()), None)
    assert script, f"none of {[str(path) for path in scripts]} in the installed Playwright"
    listed = re.search(r"disabledFeatures = (?:\([^)]*\)\s*=>\s*)?\[(.*?)\]", script.read_text(), re.DOTALL)
    assert listed, f"Playwright's disabled features not found in {script}"
    theirs = set(re.findall(r'^\s*"(\w+)"', listed.group(1), re.MULTILINE))
    assert len(theirs) >= 5
    ours = [arg for arg in settings.PLAYWRIGHT_LAUNCH_OPTIONS["args"] if arg.startswith("--disable-features=")]
    assert len(ours) == 1
    missing = theirs - set(ours[0].split("=", 1)[1].split(","))
    assert not missing, f"add Playwright's {sorted(missing)} to PLAYWRIGHT_DISABLED_FEATURES (spiders/settings.py)"
