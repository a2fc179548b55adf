"""The job page a person reads, in Debian's Chromium against a real `docspasta serve` and crawl:
every URL by fate with the filter kept across live updates, one page's detail, the downloads and
their names, the layout at a phone's and a desktop's width, and an axe-core check.

Screenshots of the finished job at 390 px and 1280 px go to tests/artifacts/ (ignored by git).
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx

from tests.sitefixture import Reply, page
from tests.web.conftest import ARTIFACTS
from tests.web.test_browser import ARGS, CHROMIUM, in_thread, pytestmark  # noqa: F401 - the same skip

ROOT = Path(__file__).resolve().parents[2]
AXE = "/static/vendor/axe.min.js"
GOOD = 14
BODY = ("<p>Page {n} of the fates site explains one part of the library in enough words to count as "
        "documentation: what it does, an example, the reasons behind the design, and what to read next.</p>")


def fates_site(site) -> str:
    """A start page linking to a thin page (left out), two missing ones (failed, answered late so
    a filter can be chosen first) and more good pages than the job may store (skipped)."""
    links = ["thin.html", "missing-one.html", "missing-two.html"] + [f"p{n}.html" for n in range(GOOD)]
    site.add_page("/fates/docs/", "Fates start", *links)
    site.add("/fates/docs/thin.html", Reply(body=page("Thin", body="<p>short</p>")))
    for name in ("missing-one.html", "missing-two.html"):
        site.add(f"/fates/docs/{name}", Reply(status=404, body="gone", delay=4.0))
    for n in range(GOOD):
        body = BODY.format(n=n)
        if n == 0:  # crawled text that looks like markup: shown as text, never run
            body += "<pre><code>&lt;script&gt;window.__pwned = 1&lt;/script&gt;</code></pre>"
        site.add(f"/fates/docs/p{n}.html", Reply(body=page(f"Fates page {n}", *links[3:5], body=body), delay=0.3))
    return site.url("/fates/docs/")


def overflow(pw_page) -> dict[str, int]:
    return pw_page.evaluate("({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})")


def axe_violations(pw_page, base: str) -> list[dict[str, Any]]:
    """axe-core (vendored, loaded from the app's own origin: the CSP allows nothing else)."""
    pw_page.add_script_tag(url=base + AXE)
    return pw_page.evaluate("""async () => {
        const result = await axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']});
        return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                             nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
    }""")


def test_pages_by_fate_detail_downloads_layout_and_accessibility(live):
    site, server = live
    start = fates_site(site)
    ARTIFACTS.mkdir(exist_ok=True)

    def scenario() -> dict[str, Any]:
        from playwright.sync_api import expect, sync_playwright

        out: dict[str, Any] = {}
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 900})
                tab = context.new_page()
                requests: list[str] = []
                tab.on("request", lambda request: requests.append(request.url))

                tab.goto(server.url + "/")
                out["front_axe"] = axe_violations(tab, server.url)
                tab.fill("#url", start)
                tab.fill("#max_pages", "10")
                tab.fill("#max_depth", "1")
                tab.click("button[type=submit]")
                tab.wait_for_url("**/jobs/*")
                job = tab.url.rsplit("/", 1)[-1]
                out["job"] = job

                # Choose a filter while the job runs: Failed, then a text filter. The two 404s
                # arrive later, over the stream, into the list under that filter.
                expect(tab.locator("#job-status")).to_have_text("running")
                tab.click("#fate-failed")
                expect(tab.locator("#fate-failed")).to_have_attribute("aria-current", "page")
                expect(tab).to_have_url(re.compile("fate=failed"))  # the swap has settled: a new search box
                tab.fill("#page-search", "missing")
                expect(tab).to_have_url(re.compile('q=missing'))
                out["failed_before"] = tab.inner_text("#fate-failed .count")
                out["status_while_filtering"] = tab.inner_text("#job-status")
                expect(tab.locator("#url-log li.failed")).to_have_count(2, timeout=30_000)
                out["url_after_live"] = tab.url
                out["failed_rows"] = tab.inner_text("#url-log")
                out["search_focused"] = tab.evaluate("document.activeElement && document.activeElement.id")
                expect(tab.locator("#fate-failed")).to_have_attribute("aria-current", "page")
                expect(tab.locator("#job-status")).to_have_text("completed", timeout=30_000)
                out["streams"] = [url for url in requests if f"/jobs/{job}/events" in url]

                # A finished job, fresh: the fates and their counts.
                tab.goto(f"{server.url}/jobs/{job}")
                out["counts"] = {fate: int(tab.inner_text(f"#fate-{fate} .count"))
                                 for fate in ("fetched", "included", "left_out", "failed", "skipped")}
                tab.click("#fate-skipped")
                expect(tab.locator("#fate-skipped")).to_have_attribute("aria-current", "page")
                out["skipped_groups"] = tab.locator("#skipped-groups li").all_inner_texts()
                tab.click("#fate-left_out")
                expect(tab.locator("#fate-left_out")).to_have_attribute("aria-current", "page")
                out["left_out"] = tab.inner_text("#url-log")
                tab.click("#fate-included")
                expect(tab.locator("#fate-included")).to_have_attribute("aria-current", "page")
                out["included_rows"] = tab.locator("#url-log li").count()
                # Back: the previous filter, the page loaded again (htmx keeps no copy of it in sessionStorage).
                tab.go_back()
                expect(tab.locator("#fate-left_out")).to_have_attribute("aria-current", "page")
                out["back_url"] = tab.url
                out["back_rows"] = tab.inner_text("#url-log")
                out["session_keys"] = tab.evaluate("Object.keys(sessionStorage)")
                tab.go_forward()
                expect(tab.locator("#fate-included")).to_have_attribute("aria-current", "page")

                # One page's detail, from the list.
                tab.locator("#url-log a.detail", has_text="Fates page 0").click()
                tab.wait_for_url("**/pages/*")
                out["detail"] = {name: tab.inner_text(f"#page-{name}") for name in
                                 ("title", "status", "included", "depth", "found-from", "quality", "tokens", "markdown")}
                out["detail_source"] = tab.get_attribute("#page-source", "href")
                out["pwned"] = tab.evaluate("window.__pwned === undefined ? null : window.__pwned")
                tab.go_back()

                # Downloads, named after the site.
                tab.goto(f"{server.url}/jobs/{job}")
                names = {}
                for link in ("md", "json", "llms", "llms-full"):
                    with tab.expect_download() as info:
                        tab.click(f"#download-{link}")
                    download = info.value
                    names[link] = download.suggested_filename
                    saved = ARTIFACTS / f"jobpage-{download.suggested_filename}"
                    download.save_as(str(saved))
                    out[f"body_{link}"] = saved.read_text()
                out["names"] = names
                out["icon"] = tab.get_attribute("link[rel=icon]", "href")

                # Keyboard: the focus ring shows on the fate tabs.
                tab.focus("#page-search")
                tab.keyboard.press("Shift+Tab")  # back to the last fate tab, or the search's label order
                tab.locator("#fate-included").focus()
                tab.keyboard.press("Tab")
                out["focus_outline"] = tab.evaluate(
                    "(() => { const s = getComputedStyle(document.activeElement); return [s.outlineStyle, s.outlineWidth]; })()")

                # Layout at a phone's width and a desktop's: nothing wider than the window.
                out["job_axe"] = axe_violations(tab, server.url)
                out["widths"] = {}
                for width in (390, 1280):
                    tab.set_viewport_size({"width": width, "height": 900})
                    for where in ("/", f"/jobs/{job}", f"/jobs/{job}?fate=skipped"):
                        tab.goto(server.url + where)
                        out["widths"][(width, where)] = overflow(tab)
                    tab.goto(f"{server.url}/jobs/{job}")
                    tab.screenshot(path=str(ARTIFACTS / f"job-page-{width}.png"), full_page=True)
                return out
            finally:
                browser.close()

    out = in_thread(scenario)
    job = out["job"]
    # The filter chosen while running was kept by the live updates (one stream per filter, no reload).
    assert out["status_while_filtering"] == "running" and out["failed_before"] == "0", out
    assert "fate=failed" in out["url_after_live"] and "q=missing" in out["url_after_live"]
    assert "missing-one.html" in out["failed_rows"] and "missing-two.html" in out["failed_rows"]
    assert "404" in out["failed_rows"] and "left out" not in out["failed_rows"], out["failed_rows"]
    assert any("fate=failed" in url and "q=missing" in url for url in out["streams"]), out["streams"]
    # Every fate counted; skipped ones grouped by reason, not one row per URL.
    counts = out["counts"]
    assert counts["failed"] == 2 and counts["left_out"] >= 1 and counts["skipped"] >= 2, counts
    assert counts["fetched"] == counts["included"] + counts["left_out"] + counts["failed"], counts
    assert out["included_rows"] == counts["included"]
    assert "fate=left_out" in out["back_url"] and out["back_rows"] == out["left_out"], out
    assert "htmx-history-cache" not in out["session_keys"], out["session_keys"]
    assert len(out["skipped_groups"]) < counts["skipped"], out["skipped_groups"]
    assert any("page limit reached" in group and f"{counts['skipped']} URLs" in group
               for group in out["skipped_groups"]) or sum(
        int(group.split(" URL")[0].rsplit(" ", 1)[-1]) for group in out["skipped_groups"]) == counts["skipped"]
    assert "Thin" in out["left_out"] and "left out:" in out["left_out"] and "quality" in out["left_out"]
    # The detail: the Markdown as text (the script in it never ran), and why it is in the document.
    detail = out["detail"]
    assert detail["title"] == "Fates page 0" and "Page 0 of the fates site explains" in detail["markdown"]
    assert "<script>window.__pwned = 1</script>" in detail["markdown"] and out["pwned"] is None
    assert detail["included"] == "yes" and detail["depth"] == "1" and "/fates/docs/" in detail["found-from"]
    assert "/ 100" in detail["quality"] and int(detail["tokens"].split()[0]) > 20
    assert out["detail_source"].endswith("/fates/docs/p0.html")
    # Downloads named after the site; llms-full.txt holds every included page in full.
    assert out["names"] == {"md": "127.0.0.1-docs.md", "json": "127.0.0.1-export.json", "llms": "llms.txt",
                            "llms-full": "llms-full.txt"}, out["names"]
    assert "Page 3 of the fates site explains" in out["body_llms-full"] and "Source: http" in out["body_llms-full"]
    assert "llms-full.txt" in out["body_llms"]
    icon = httpx.get(server.url + "/favicon.ico", timeout=10)
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    assert httpx.get(server.url + out["icon"], timeout=10).status_code == 200
    head = httpx.get(f"{server.url}/api/v3/jobs/{job}/document.md", timeout=10)
    assert head.headers["content-disposition"] == 'attachment; filename="127.0.0.1-docs.md"'
    # Focus visible, no overflow at either width, no serious or critical accessibility violation.
    assert out["focus_outline"][0] != "none" and out["focus_outline"][1] != "0px", out["focus_outline"]
    for (width, where), measured in out["widths"].items():
        assert measured["scroll"] <= measured["inner"], (width, where, measured)
    for where in ("front_axe", "job_axe"):
        serious = [v for v in out[where] if v["impact"] in ("serious", "critical")]
        assert serious == [], (where, serious)
