"""Progress as a client sees it over the event stream: never backwards, never 100% before
`job_completed`, and `totalUrls` the one figure README defines.

Real crawls of fixture sites through the app, the runner and the pipelines.
"""
from __future__ import annotations

import json
import uuid

import pytest_twisted

from tests.sitefixture import Reply, page
from tests.web.conftest import D, call, docs_site, read_stream, sql, wait_until


@pytest_twisted.inlineCallbacks
def crawl(web, job_runner, url, **fields):
    """Run a job to its end; its events as a client reading from the start gets them."""
    response = yield call(web.post, "/api/v3/jobs", json={"url": url, **fields})
    assert response.status_code == 201, response.text
    job_id = response.json()["data"]["jobId"]
    yield wait_until(lambda: web.get(f"/api/v3/jobs/{job_id}").json()["data"]["status"]
                     in ("completed", "failed", "cancelled"), 60)
    yield wait_until(lambda: uuid.UUID(job_id) not in job_runner.active(), 60)
    messages = yield call(read_stream, web, f"/api/v3/jobs/{job_id}/stream", "0-0")
    return job_id, [json.loads(m["data"]) for m in messages]


def assert_honest(events):
    progress = [e["job"]["progress"] for e in events]
    assert progress == sorted(progress), [(e["type"], e["job"]["progress"]) for e in events]
    assert events[-1]["type"] == "job_completed" and progress[-1] == 100
    assert all(p < 100 for p in progress[:-1]), [(e["type"], e["job"]["progress"]) for e in events]
    for event in events:
        job = event["job"]
        fetched = job["processedUrls"] + job["failedUrls"]
        # README: the URLs the job fetches or judges, those finished plus those the budget has room for
        assert fetched <= job["totalUrls"], event


@pytest_twisted.inlineCallbacks
def test_a_small_site_crawl_reports_progress_that_only_goes_up(web, job_runner, site):
    # Fewer pages than the budget: every page found grows what the job expects to fetch.
    url = docs_site(site, pages=8)
    job_id, events = yield crawl(web, job_runner, url, maxPages=50, maxDepth=2)
    assert_honest(events)
    # the first page is reported with the links it led to, never as "1 of 1"
    first = next(e for e in events if e["type"] == "url_completed")
    assert first["job"]["discoveredUrls"] > 1 and first["job"]["totalUrls"] > 1, first
    final = events[-1]["job"]
    assert final["totalUrls"] == final["processedUrls"] + final["failedUrls"] + final["skippedUrls"]


@pytest_twisted.inlineCallbacks
def test_a_budget_smaller_than_the_site_gives_a_total_of_the_budget(web, job_runner, site, database_url):
    url = docs_site(site, pages=30)
    job_id, events = yield crawl(web, job_runner, url, maxPages=8, maxDepth=1)
    assert_honest(events)
    totals = [e["job"]["totalUrls"] for e in events if e["type"] == "url_completed"]
    # the start page found 31 links; the job expects to fetch 8 pages, from the first page to the last
    assert set(totals) == {8}, totals
    final = events[-1]["job"]
    assert final["processedUrls"] == 8 and final["totalUrls"] == 8, final
    never = sql(database_url, "SELECT count(*) AS n FROM job_urls WHERE job_id = $1 AND fetched_at IS NULL",
                uuid.UUID(job_id))[0]["n"]
    assert final["discoveredUrls"] == 8 + never and final["queuedUrls"] == 0


@pytest_twisted.inlineCallbacks
def test_failures_and_late_discoveries_do_not_move_the_bar_back(web, job_runner, site):
    # The start page links to two pages; each of those reveals more pages, some of them broken.
    site.add_page(D, "Start", "a.html", "b.html")
    site.add_page(f"{D}a.html", "A", *[f"a{n}.html" for n in range(6)], "gone1.html")
    site.add_page(f"{D}b.html", "B", *[f"b{n}.html" for n in range(6)], "gone2.html")
    for prefix in ("a", "b"):
        for n in range(6):
            site.add_page(f"{D}{prefix}{n}.html", f"{prefix.upper()} {n}")
    for name in ("gone1.html", "gone2.html"):
        site.add(f"{D}{name}", Reply(status=404, body=page("Gone")))
    _, events = yield crawl(web, job_runner, site.url(D), maxPages=50, maxDepth=2)
    assert_honest(events)
    assert events[-1]["job"]["failedUrls"] == 2
