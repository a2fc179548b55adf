"""The job page's controls in Debian's Chromium, against a real `docspasta serve` and crawl: the
document's outline while the job runs and after, against its token budget; Run again, for a
job and for a private one; the front page's recent jobs updating live and paged.
"""
from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from tests.sitefixture import Reply, page
from tests.web.conftest import live_server
from tests.web.test_browser import ARGS, CHROMIUM, in_thread, pytestmark  # noqa: F401 - the same skip
from tests.web.test_server import add_site

RECENT = 3  # jobs per page of the front page's list, so that a few jobs make two pages


@pytest.fixture(scope="module")
def server(redis_prefix, tmp_path_factory):
    with live_server(redis_prefix, tmp_path_factory.mktemp("server"), DOCSPASTA_RECENT_JOBS=str(RECENT)) as found:
        yield found


def create(server, **fields) -> str:
    response = httpx.post(f"{server.url}/api/v3/jobs", json=fields, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()["data"]["jobId"]


def outline_site(site) -> str:
    """Twelve pages of about 150 tokens, each answered after 0.4 s: time to watch the outline grow."""
    links = [f"o{n}.html" for n in range(12)]
    site.add_page("/outline/docs/", "Outline start", *links)
    for n in range(12):
        body = "".join(f"<p>Part {part} of outline page {n} explains one more side of the library in enough words "
                       f"to count as documentation: what step {part} does, an example of it, the reasons behind its "
                       f"design, and what to read after section {n}.{part}.</p>" for part in range(3))
        site.add(f"/outline/docs/o{n}.html", Reply(body=page(f"Outline page {n}", body=body), delay=0.4))
    return site.url("/outline/docs/")


def test_the_outline_grows_live_then_follows_the_document_and_a_job_runs_again(server):
    site, srv = server
    start = outline_site(site)
    budget = 1200

    def scenario() -> dict[str, Any]:
        from playwright.sync_api import expect, sync_playwright

        out: dict[str, Any] = {}
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                tab = browser.new_page(viewport={"width": 1100, "height": 1000})
                tab.goto(srv.url + "/")
                tab.fill("#url", start)
                tab.fill("#max_pages", "13")
                tab.fill("#max_depth", "1")
                tab.click("details summary")
                tab.fill("#token_budget", str(budget))
                tab.fill("#exclude", "/outline/docs/o11.html")
                tab.click("button[type=submit]")
                tab.wait_for_url("**/jobs/*")
                job = tab.url.rsplit("/", 1)[-1]
                out["settings"] = tab.inner_text("#job-settings")

                # Live: entries arrive while the job runs, the total is an estimate against the budget.
                expect(tab.locator("#job-status")).to_have_text("running")
                tab.wait_for_function("() => document.querySelectorAll('#outline-list li').length >= 3", timeout=20_000)
                out["live_status"] = tab.inner_text("#job-status")
                out["live_tokens"] = tab.inner_text("#outline-tokens")
                out["live_note"] = tab.inner_text(".outline-note")
                out["live_budget"] = tab.inner_text("#outline-budget")
                expect(tab.locator("#outline-over")).to_be_visible(timeout=30_000)  # more stored than the budget
                out["status_when_over"] = tab.inner_text("#job-status")

                # After: the document's outline, in its order, with its own token counts.
                expect(tab.locator("#job-status")).to_have_text("completed", timeout=30_000)
                expect(tab.locator(".outline-note")).to_contain_text("In the document's order", timeout=15_000)
                out["final_tokens"] = tab.inner_text("#outline-tokens")
                out["final_entries"] = tab.locator("#outline-list li").all_inner_texts()
                out["document_tokens"] = tab.inner_text("#document h2")
                out["over_after"] = tab.locator("#outline-over").count()
                tab.locator("#outline-list a").first.click()
                tab.wait_for_url("**/library/**")
                out["library_title"] = tab.inner_text("h1")
                tab.go_back()

                # Run again: one click, a new job with the same settings.
                tab.goto(f"{srv.url}/jobs/{job}")
                tab.click("#rerun")
                tab.wait_for_url(lambda url: "/jobs/" in url and not url.endswith(job))
                out["rerun_job"] = tab.url.rsplit("/", 1)[-1]
                out["rerun_settings"] = tab.inner_text("#job-settings")
                expect(tab.locator("#job-status")).to_have_text(re.compile("pending|running|completed"))

                # A private job's Run again: the form, filled in, saying its headers must be entered again.
                private = create(srv, url=site.url("/private-gone/"), maxPages=5,
                                 headers={"Authorization": "Bearer zz-browser-secret"})
                tab.goto(f"{srv.url}/jobs/{private}")
                expect(tab.locator("#job-status")).to_have_text("failed", timeout=30_000)
                out["private_settings"] = tab.inner_text("#job-settings")
                out["private_note"] = tab.inner_text("#rerun-note")
                tab.click("#rerun")
                tab.wait_for_url(f"**/?rerun={private}")
                out["form_note"] = tab.inner_text("#rerun-of")
                out["headers_visible"] = tab.locator("#headers").is_visible()
                out["headers_value"] = tab.input_value("#headers")
                out["form_url"] = tab.input_value("#url")
                out["page_text"] = tab.content()
                return out
            finally:
                browser.close()

    out = in_thread(scenario)
    assert "token budget 1,200" in out["settings"] and "never /outline/docs/o11.html" in out["settings"], out["settings"]
    assert out["live_status"] == "running" and out["live_tokens"].startswith("about "), out
    assert "stored so far" in out["live_note"] and out["live_budget"] == "1,200"
    assert out["status_when_over"] == "running", out  # seen over the budget before the end
    final_tokens = int(out["final_tokens"].split()[0].replace(",", ""))
    assert final_tokens <= budget and not out["final_tokens"].startswith("about") and out["over_after"] == 0
    assert f"{final_tokens} tokens" in out["document_tokens"].replace(",", "")
    assert 2 <= len(out["final_entries"]) < 12 and all("tokens" in entry for entry in out["final_entries"])
    assert out["library_title"] == out["final_entries"][0].rsplit(" ", 2)[0]
    assert out["rerun_job"] != "" and out["rerun_settings"] == out["settings"]
    assert "1 header (not shown)" in out["private_settings"] and "zz-browser-secret" not in out["private_settings"]
    assert out["private_note"] == "its 1 header must be entered again"
    assert "It sent 1 header" in out["form_note"] and "enter them again" in out["form_note"]
    assert out["headers_visible"] and out["headers_value"] == "" and out["form_url"].endswith("/private-gone/")
    assert "zz-browser-secret" not in out["page_text"]


def test_the_front_pages_recent_jobs_update_live_and_page(server):
    site, srv = server
    slow = add_site(site, "recent-live", pages=40, delay=1.5)  # 8 at once: about 8 s, several polls

    def scenario() -> dict[str, Any]:
        from playwright.sync_api import expect, sync_playwright

        out: dict[str, Any] = {}
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                tab = browser.new_page(viewport={"width": 1000, "height": 900})
                navigations: list[str] = []
                tab.on("framenavigated", lambda frame: navigations.append(frame.url) if frame == tab.main_frame else None)
                job = create(srv, url=slow, maxPages=41, maxDepth=1)
                tab.goto(srv.url + "/")
                row = tab.locator(f"tr[data-job-id='{job}']")
                expect(row).to_have_count(1)
                done = row.locator(".pages-done")
                seen = [done.inner_text()]
                while len(seen) < 3:  # the count changes in place, with no reload
                    tab.wait_for_function("([sel, prev]) => { const e = document.querySelector(sel); "
                                          "return e && e.innerText !== prev; }",
                                          arg=[f"tr[data-job-id='{job}'] .pages-done", seen[-1]], timeout=20_000)
                    seen.append(done.inner_text())
                out["counts"] = seen
                expect(row.locator(".badge")).to_have_text("completed", timeout=30_000)
                out["final"] = done.inner_text()
                out["navigations"] = list(navigations)

                # More jobs than a page holds (each ends at once: nothing at that address), and a new
                # job shows up on the open page by itself.
                for n in range(RECENT):
                    create(srv, url=site.url(f"/nothing-{n}/"), maxPages=1)
                newest = create(srv, url=site.url("/nothing-last/"), maxPages=1)
                expect(tab.locator(f"tr[data-job-id='{newest}']")).to_have_count(1, timeout=20_000)
                out["first_page"] = tab.locator("tr[data-job-id]").evaluate_all("rows => rows.map(r => r.dataset.jobId)")
                tab.click("#jobs-next")
                expect(tab).to_have_url(re.compile(r"\?page=2$"))
                expect(tab.locator("#jobs-prev")).to_be_visible()
                out["second_page"] = tab.locator("tr[data-job-id]").evaluate_all(
                    "rows => rows.map(r => r.dataset.jobId)")
                return out
            finally:
                browser.close()

    out = in_thread(scenario)
    counts = [int(text) for text in out["counts"]]
    assert counts == sorted(counts) and len(set(counts)) == 3, out["counts"]
    assert int(out["final"]) == 41 and len(out["navigations"]) == 1, out
    assert len(out["first_page"]) == RECENT and len(out["second_page"]) >= 1
    assert not set(out["first_page"]) & set(out["second_page"])
