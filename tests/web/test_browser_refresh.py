"""The Refresh button and the change report a person reads, in Debian's Chromium against a real
`docspasta serve`: a completed job refreshed after a page changed, its counts and diff, the
layout at a phone's and a desktop's width, and an axe-core check."""
from __future__ import annotations

import time
from typing import Any

import httpx

from tests.refresh.site import VersionedSite
from tests.web.test_browser import ARGS, CHROMIUM, in_thread, pytestmark  # noqa: F401 - the same skip
from tests.web.test_browser_jobpage import axe_violations, overflow
from tests.web.test_server import create

D = "/refresh-ui/docs/"


def code_page(versioned: VersionedSite, name: str, call: str) -> None:
    versioned.put_page(f"{D}{name}.html", f"Guide {name}",
                       body=f"<p>Guide {name} explains one part of the library in enough words to count as"
                            " documentation: what it does and why.</p>"
                            f"<pre><code class='language-python'>import lib\nlib.{call}</code></pre>")


def test_the_refresh_button_leads_to_a_change_report_with_its_diff(live):
    site, server = live
    versioned = VersionedSite(site)
    versioned.put_page(D, "Start", "a.html", "b.html")
    code_page(versioned, "a", "a()")
    code_page(versioned, "b", "b()")
    job = create(server, site.url(D), maxPages=10, maxDepth=1)
    deadline = time.monotonic() + 60
    while httpx.get(f"{server.url}/api/v3/jobs/{job}", timeout=5).json()["data"]["status"] != "completed":
        assert time.monotonic() < deadline, "the first crawl did not complete"
        time.sleep(0.1)
    code_page(versioned, "b", "b(retries=3)  # &lt;img src=x onerror=alert(1)&gt;")

    def scenario() -> dict[str, Any]:
        from playwright.sync_api import expect, sync_playwright

        out: dict[str, Any] = {}
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                tab = browser.new_page(viewport={"width": 1280, "height": 900})
                alerts: list[str] = []
                tab.on("dialog", lambda dialog: (alerts.append(dialog.message), dialog.dismiss()))
                tab.goto(f"{server.url}/jobs/{job}")
                tab.click("#refresh-form button")
                tab.wait_for_url(lambda url: not url.endswith(job), timeout=20_000)
                out["refresh"] = tab.url.rsplit("/", 1)[-1]
                # the page follows the refresh live and shows the report when it ends
                expect(tab.locator("#change-counts")).to_be_visible(timeout=60_000)
                out["counts"] = {kind: tab.locator(f"#changes-{kind}").inner_text()
                                 for kind in ("new", "changed", "removed", "unchanged", "unchecked")}
                tab.locator(".diff-view summary").first.click()
                out["diff"] = tab.locator("pre.diff").first.inner_text()
                out["added"] = tab.locator("pre.diff .diff-add").all_inner_texts()
                out["refresh_of"] = tab.locator("#refresh-of a").get_attribute("href")
                out["axe"] = axe_violations(tab, server.url)
                out["widths"] = {}
                for width in (390, 1280):
                    tab.set_viewport_size({"width": width, "height": 900})
                    tab.reload()
                    tab.locator(".diff-view summary").first.click()
                    out["widths"][width] = overflow(tab)
                out["alerts"] = alerts
                return out
            finally:
                browser.close()

    out = in_thread(scenario)
    assert out["counts"] == {"new": "0", "changed": "1", "removed": "0", "unchanged": "2", "unchecked": "0"}
    assert "-lib.b()" in out["diff"] and "+lib.b(retries=3)  # <img src=x onerror=alert(1)>" in out["diff"]
    assert any(line.startswith("+lib.b(retries=3)") for line in out["added"]), out["added"]
    assert out["alerts"] == [], "crawled text ran as markup"
    assert out["refresh_of"] == f"/jobs/{job}"
    data = httpx.get(f"{server.url}/api/v3/jobs/{out['refresh']}", timeout=5).json()["data"]
    assert data["refreshOf"] == job and data["status"] == "completed"
    for width, measured in out["widths"].items():
        assert measured["scroll"] <= measured["inner"], (width, measured)
    serious = [v for v in out["axe"] if v["impact"] in ("serious", "critical")]
    assert serious == [], serious
