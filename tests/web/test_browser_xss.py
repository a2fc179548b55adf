"""Hostile pages crawled and watched in headless Chromium: nothing they carry runs.

A fixture site serves pages whose titles and content carry `<img onerror>`,
`<script>`, `hx-get` and `hx-on` payloads (each would set `window.__pwned` or
request a canary path). The job is started from the form, followed live (SSE
fragments), then its page is loaded whole, with a `javascript:` URL added to its
log. Nothing may run, no canary may be requested, and no CSP violation may be
reported: the app's own features (form, SSE, copy) need none, and an escaped
payload never gets far enough to be refused.
"""
from __future__ import annotations

import uuid
from html import escape
from typing import Any

import pytest

from tests.sitefixture import FixtureSite, Reply, page
from tests.web.conftest import REDIS_URL, fresh_database, sql
from tests.web.test_browser import ARGS, CHROMIUM, in_thread

pytestmark = pytest.mark.skipif(not __import__("os").path.exists(CHROMIUM), reason="Debian's chromium is not installed")

WATCH = """
window.__csp = [];
document.addEventListener('securitypolicyviolation',
  (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sample || ''}`));
"""


def payloads(canary: str) -> list[str]:
    return [
        f'<img src=x onerror="window.__pwned=1;fetch(\'{canary}\')">',
        "<script>window.__pwned=2</script>",
        f'<b hx-get="/canary" hx-trigger="load">b</b><img src="{canary}">',
        '<i hx-on:htmx:load="window.__pwned=3" hx-on::load="window.__pwned=4">i</i>',
        '<svg onload="window.__pwned=5"></svg>',
        '<a href="javascript:window.__pwned=6">click</a>',
    ]


def hostile_site(site: FixtureSite) -> str:
    canary = site.url("/canary")
    evil = payloads(canary)
    escaped = "".join(f"<p>{escape(text)}</p>" for text in evil)
    links = [f"p{n}.html" for n in range(6)]
    site.add_page("/evil/docs/", evil[0] + evil[1], *links)
    for n in range(6):
        body = (f"<p>Page {n} explains one part of the library in enough words to count as documentation: "
                "what it does, an example, the reasons behind the design, and what to read next.</p>"
                f"{escaped}<pre><code>{escaped}</code></pre>" + "".join(evil))
        title = escape(evil[n % len(evil)])  # as text: the page's title *is* the payload
        site.add(f"/evil/docs/p{n}.html", Reply(body=page(title, *links[:2], body=body), delay=0.4))
    return site.url("/evil/docs/")


@pytest.fixture(scope="module")
def hostile(redis_prefix, tmp_path_factory):
    from tests.web.server import ServerProcess, server_env

    databases = fresh_database()
    database_url = next(databases)
    site = FixtureSite().start()
    server = ServerProcess(server_env(database_url, REDIS_URL, redis_prefix, f"127.0.0.1:{site.port}"),
                           tmp_path_factory.mktemp("xss") / "serve.log")
    try:
        server.wait_ready()
        yield site, server, database_url
    finally:
        server.stop()
        site.stop()
        databases.close()


def test_crawled_payloads_execute_nothing_live_or_on_reload(hostile):
    site, server, database_url = hostile
    start = hostile_site(site)

    def scenario() -> dict[str, Any]:
        from playwright.sync_api import expect, sync_playwright

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                context = browser.new_context()
                context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
                context.add_init_script(WATCH)
                page = context.new_page()
                requests: list[str] = []
                dialogs: list[str] = []
                console: list[str] = []
                page.on("request", lambda request: requests.append(request.url))
                page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
                page.on("console", lambda message: console.append(message.text))
                verdicts: list[dict[str, Any]] = []

                def verdict(where: str) -> None:
                    verdicts.append({"where": where, **page.evaluate(
                        "() => ({pwned: window.__pwned ?? null, csp: window.__csp})")})

                page.goto(server.url + "/")
                page.fill("#url", start)
                page.fill("#max_pages", "7")
                page.fill("#max_depth", "1")
                page.click("button[type=submit]")
                page.wait_for_url("**/jobs/*")
                job_id = page.url.rsplit("/", 1)[-1]
                # live: the log fills through SSE fragments while the crawl runs
                expect(page.locator("#url-log")).to_contain_text("<img src=x onerror=", timeout=30_000)
                verdict("live, running")
                expect(page.locator("#job-status")).to_have_text("completed", timeout=60_000)
                expect(page.locator("#document-preview")).to_contain_text("<script>window.__pwned=2</script>")
                live_log = page.inner_text("#url-log")
                verdict("live, completed")
                page.click("button.copy")
                expect(page.locator("button.copy")).to_have_text("Copied")

                # a javascript: URL in the log (the crawl never stores one; the page must not trust that)
                sql(database_url, "INSERT INTO job_urls (job_id, url, normalized_url, status, title, finished_at)"
                    " VALUES ($1, 'javascript:window.__pwned=7', 'x', 'failed', $2, now())", uuid.UUID(job_id),
                    '<img src=x onerror="window.__pwned=8">')
                page.reload()
                expect(page.locator("#url-log")).to_contain_text('<img src=x onerror="window.__pwned=8">')
                script_links = page.locator("a[href^='javascript' i]").count()
                page.get_by_text('<img src=x onerror="window.__pwned=8">').click()
                verdict("reloaded")
                page.goto(server.url + "/")
                verdict("front page")
                return {"verdicts": verdicts, "requests": requests, "dialogs": dialogs, "live_log": live_log,
                        "script_links": script_links, "page_url": page.url,
                        "csp_console": [line for line in console if "Content Security Policy" in line]}
            finally:
                browser.close()

    result = in_thread(scenario)
    for verdict in result["verdicts"]:
        assert verdict["pwned"] is None, verdict
        assert verdict["csp"] == [], verdict
    assert result["csp_console"] == []
    assert result["dialogs"] == []
    assert not [url for url in result["requests"] if "canary" in url or url.endswith("/x")]
    assert site.count("/canary") == 0
    assert result["script_links"] == 0
    for payload in ('hx-get="/canary"', 'hx-on:htmx:load="window.__pwned=3"', '<svg onload="window.__pwned=5">'):
        assert payload in result["live_log"], "the payload reached the page, as text"


def test_a_form_whose_token_is_gone_says_so_and_starts_nothing(hostile):
    site, server, database_url = hostile
    before = sql(database_url, "SELECT count(*) AS n FROM crawl_jobs")[0]["n"]

    def scenario() -> str:
        from playwright.sync_api import expect, sync_playwright

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                context = browser.new_context()
                page = context.new_page()
                page.goto(server.url + "/")
                context.clear_cookies()  # as if the cookie expired, or the post came from another site
                page.fill("#url", site.url("/evil/docs/"))
                page.click("button[type=submit]")
                expect(page.locator(".request-error")).to_contain_text("security token is missing")
                return page.url
            finally:
                browser.close()

    assert in_thread(scenario) == server.url + "/"
    assert sql(database_url, "SELECT count(*) AS n FROM crawl_jobs")[0]["n"] == before
