"""The HTMX page in headless Chromium (Debian's, driven by Playwright), against `docspasta serve`.

Submit a URL, watch the progress fragment change over SSE (no polling), cancel a
job, watch another complete and its document appear, download the .md.
Screenshots go to tests/artifacts/ (ignored by git).
"""
from __future__ import annotations

import os
import threading
from typing import Any, Callable

import httpx
import pytest

from tests.web.conftest import ARTIFACTS
from tests.web.test_server import add_site

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run"]

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed")


def in_thread(scenario: Callable[[], Any]) -> Any:
    """Playwright's sync API refuses a thread whose asyncio loop is running (the reactor's is): use another."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = scenario()
        except BaseException as exc:  # noqa: BLE001 - re-raised below
            outcome["error"] = exc

    thread = threading.Thread(target=target, name="playwright")
    thread.start()
    thread.join(180)
    assert not thread.is_alive(), "the browser scenario did not finish in time"
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")


def watch_changes(page, selector: str, wanted: int, timeout_ms: int = 30_000) -> list[str]:
    """Distinct texts of `selector`, waiting for each change in the browser (no sleeps), until `wanted`."""
    seen = [page.inner_text(selector)]
    while len(seen) < wanted:
        page.wait_for_function(
            "([sel, prev]) => { const e = document.querySelector(sel); return e && e.innerText !== prev; }",
            arg=[selector, seen[-1]], timeout=timeout_ms)
        seen.append(page.inner_text(selector))
    return seen


def test_the_job_page_updates_live_cancels_completes_and_downloads(live):
    site, server = live
    slow = add_site(site, "browser-slow", pages=80, delay=0.5)  # 10 s or more: time to watch and cancel
    fast = add_site(site, "browser-fast", pages=8, delay=0.05)
    ARTIFACTS.mkdir(exist_ok=True)

    def scenario() -> dict[str, Any]:
        from playwright.sync_api import expect, sync_playwright

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                context = browser.new_context(accept_downloads=True, viewport={"width": 1100, "height": 1000})
                context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
                page = context.new_page()
                requests: list[str] = []
                page.on("request", lambda request: requests.append(request.url))

                # The form validates inline.
                page.goto(server.url + "/")
                page.fill("#url", slow)
                page.fill("#max_pages", "999")
                page.click("button[type=submit]")
                expect(page.locator("#max_pages-error")).to_contain_text("Must be from 1 to 200")
                page.screenshot(path=str(ARTIFACTS / "form-error.png"), full_page=True)

                # A slow crawl: the progress fragment changes at least three times, then cancel.
                page.fill("#max_pages", "80")
                page.fill("#max_depth", "1")
                page.click("button[type=submit]")
                page.wait_for_url("**/jobs/*")
                slow_job = page.url.rsplit("/", 1)[-1]
                changes = watch_changes(page, "#counters", 4)
                assert page.inner_text("#job-status") == "running", "the slow crawl ended before it could be cancelled"
                page.screenshot(path=str(ARTIFACTS / "job-running.png"), full_page=True)
                assert page.get_attribute(".progress", "role") == "progressbar"
                # pages stored besides the start page (a table of contents, left out): a partial document to show
                page.wait_for_function("() => Number(document.querySelector('#count-done').innerText) >= 4")
                page.click("button.cancel")
                expect(page.locator("#job-status")).to_have_text("cancelled", timeout=15_000)
                expect(page.locator("button.cancel")).to_have_count(0)
                # Its partial results: the document of the pages it stored, marked partial, with every download.
                expect(page.locator("#document h2")).to_contain_text("Partial document")
                expect(page.locator("#partial-note")).to_contain_text("The job cancelled before it finished")
                for link in ("md", "json", "llms", "llms-full"):
                    expect(page.locator(f"#download-{link}")).to_be_visible()
                expect(page.locator(".outline-note")).to_contain_text("The pages of the partial document")
                with page.expect_download() as partial_info:
                    page.click("#download-md")
                partial_saved = ARTIFACTS / "partial-document.md"
                partial_info.value.save_as(str(partial_saved))
                partial_name = partial_info.value.suggested_filename
                page.screenshot(path=str(ARTIFACTS / "job-cancelled.png"), full_page=True)
                polled = [url for url in requests if f"/api/v3/jobs/{slow_job}" in url and "/document" not in url]
                streams = [url for url in requests if url.endswith(f"/jobs/{slow_job}/events")]

                # A quick crawl: watch it complete and its document appear; download the .md.
                page.goto(server.url + "/")
                page.fill("#url", fast)
                page.fill("#max_pages", "9")
                page.fill("#max_depth", "1")
                page.click("button[type=submit]")
                page.wait_for_url("**/jobs/*")
                fast_job = page.url.rsplit("/", 1)[-1]
                expect(page.locator("#job-status")).to_have_text("completed", timeout=30_000)
                expect(page.locator("#document-preview")).to_contain_text("browser-fast page 3")
                tokens = page.inner_text("#document h2")
                log_lines = page.locator("#url-log li").count()
                page.screenshot(path=str(ARTIFACTS / "job-completed.png"), full_page=True)
                page.click("button.copy")
                expect(page.locator("button.copy")).to_have_text("Copied")
                clipboard = page.evaluate("navigator.clipboard.readText()")
                with page.expect_download() as download_info:
                    page.click("#download-md")
                download = download_info.value
                saved = ARTIFACTS / "document.md"
                download.save_as(str(saved))

                page.goto(server.url + "/")
                expect(page.locator(f"tr[data-job-id='{slow_job}'] .badge")).to_have_text("cancelled")
                expect(page.locator(f"tr[data-job-id='{fast_job}'] .badge")).to_have_text("completed")
                page.screenshot(path=str(ARTIFACTS / "recent-jobs.png"), full_page=True)
                return {"partial": partial_saved.read_text(), "partial_name": partial_name,
                        "changes": changes, "polled": polled, "streams": streams, "fast_job": fast_job,
                        "download_name": download.suggested_filename, "saved": saved.read_text(),
                        "tokens": tokens, "log_lines": log_lines, "clipboard": clipboard}
            finally:
                browser.close()

    result = in_thread(scenario)
    assert result["partial_name"] == "127.0.0.1-docs.md"
    assert "was cancelled before it finished" in result["partial"] and "browser-slow page" in result["partial"]
    assert len(set(result["changes"])) >= 4, result["changes"]
    assert result["polled"] == [], "the page polled the API instead of listening to its stream"
    assert len(result["streams"]) == 1, result["streams"]
    assert "tokens" in result["tokens"] and result["log_lines"] >= 9
    expected = httpx.get(f"{server.url}/api/v3/jobs/{result['fast_job']}/document.md", timeout=10).text
    assert result["saved"] == expected
    assert result["clipboard"] == expected, "Copy puts the whole document on the clipboard, not the preview"
    assert result["download_name"].endswith(".md")
