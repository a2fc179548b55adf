"""Private documentation rendered in Chromium: the site's header and cookie reach every request
the browser makes to the site, and none it makes elsewhere (a frame, a script's fetch, a redirect)."""
from __future__ import annotations

import logging

import pytest_twisted

from tests.privatesite import COOKIE, COOKIE_NAME, HEADER, PAGES, TOKEN, private_site
from tests.render.test_render_crawl import needs_chromium, no_browser_left_behind  # noqa: F401 - autouse


@needs_chromium
@pytest_twisted.inlineCallbacks
def test_rendered_pages_get_the_secrets_and_other_origins_never_do(site, other_site, crawl, caplog):
    private = private_site(site, other_site, scripted=True)
    caplog.set_level(logging.DEBUG)
    settings = {"DOCSPASTA_ALLOW_HOSTS": f"127.0.0.1:{site.port},127.0.0.1:{other_site.port}", "LOG_LEVEL": "DEBUG"}
    result = yield crawl(private.start, settings=settings, max_depth=1, render="always",
                         headers={HEADER: TOKEN}, cookies={COOKIE_NAME: COOKIE})

    rendered = [item for item in result.completed if item["rendered"]]
    assert {item["url"].removeprefix(site.url("")) for item in rendered} >= {
        "/docs/", *(f"/docs/p{n}.html" for n in range(PAGES))}, result.items
    refused = [path for origin, path, headers in private.seen if origin == "own" and not private.allowed(
        type("H", (), {"headers": headers})())]
    assert refused == [] or all(path == "/favicon.ico" for path in refused), refused
    # The browser went to the other origin three ways (a frame, a script's fetch, a redirect), bare each time.
    reached = {path for path, _ in private.other_requests()}
    assert {"/frame.html", "/api/ping", "/docs/landing.html"} <= reached, reached
    assert private.leaked() == [], private.leaked()
    logged = "\n".join(record.getMessage() + (record.exc_text or "") for record in caplog.records)
    assert TOKEN not in logged and COOKIE not in logged
