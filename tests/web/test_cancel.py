"""Cancel, as a user sees it: nothing left in flight, the pages already done offered as a
partial document (API, page, downloads), an export listing every URL, and one log line.

Real crawls of fixture sites: through the app and a runner on pytest-twisted's reactor, and
through `docspasta serve` in a subprocess for the server's own log.
"""
from __future__ import annotations

import dataclasses
import json
import re
import time
import uuid

import httpx
import pytest
import pytest_twisted
from starlette.testclient import TestClient

from spiders.jobs.launcher import CrochetLauncher
from spiders.jobs.runner import JobRunner
from tests.web.conftest import FAST_CRAWL, REDIS_URL, D, call, docs_site, fresh_database, read_stream, sql, wait_until
from tests.web.server import ManagedProcess, ServerProcess, free_port, server_env
from webapp.app import create_app

FINAL = ("completed", "failed", "skipped")


@pytest_twisted.inlineCallbacks
def cancel_mid_crawl(web, job_runner, site, database_url):
    """A job of 40 slow pages cancelled once 3 are stored and others are in flight; its id."""
    url = docs_site(site, pages=40, delay=0.3)
    response = yield call(web.post, "/api/v3/jobs", json={"url": url, "maxPages": 40, "maxDepth": 1})
    job_id = response.json()["data"]["jobId"]
    yield wait_until(lambda: web.get(f"/api/v3/jobs/{job_id}").json()["data"]["processedUrls"] >= 3)
    yield wait_until(lambda: sql(database_url, "SELECT 1 FROM job_urls WHERE job_id = $1 AND status = 'processing'",
                                 uuid.UUID(job_id)))
    cancelled = yield call(web.post, f"/api/v3/jobs/{job_id}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["data"]["status"] == "cancelled"
    yield wait_until(lambda: uuid.UUID(job_id) not in job_runner.active(), 30)
    return job_id


@pytest_twisted.inlineCallbacks
def test_a_cancelled_job_leaves_nothing_in_flight_and_says_why_each_url_was_not_fetched(
        web, job_runner, site, database_url):
    job_id = yield cancel_mid_crawl(web, job_runner, site, database_url)
    rows = sql(database_url, "SELECT url, status, error_message, fetched_at FROM job_urls WHERE job_id = $1",
               uuid.UUID(job_id))
    assert {row["status"] for row in rows} <= set(FINAL), {row["status"] for row in rows}
    never = [row for row in rows if row["fetched_at"] is None]
    assert never and all(row["status"] == "skipped" and row["error_message"] == "cancelled" for row in never)
    data = (yield call(web.get, f"/api/v3/jobs/{job_id}")).json()["data"]
    assert data["status"] == "cancelled" and data["partial"] is True
    assert data["queuedUrls"] == 0 and data["discoveredUrls"] == len(rows)
    assert data["totalUrls"] == len(rows) - len(never) and data["progress"] < 100
    # the job page says so too: no "queued 37" for ever
    html = (yield call(web.get, f"/jobs/{job_id}")).text
    assert re.search(r'id="count-queued">0<', html), html


@pytest_twisted.inlineCallbacks
def test_a_cancelled_job_offers_the_document_of_the_pages_it_stored(web, job_runner, site, database_url):
    job_id = yield cancel_mid_crawl(web, job_runner, site, database_url)
    stored = sql(database_url, "SELECT title FROM job_urls WHERE job_id = $1 AND status = 'completed'",
                 uuid.UUID(job_id))
    document = yield call(web.get, f"/api/v3/jobs/{job_id}/document.md")
    assert document.status_code == 200, document.text
    assert document.headers["content-disposition"].startswith("attachment")
    head = document.text.split("\n## ", 1)[0]
    assert "**Partial document:** the job was cancelled" in head and f"holds the {len(stored)} pages" in head
    for row in stored:
        if row["title"].startswith("Page "):
            assert f"## {row['title']}" in document.text
    llms = yield call(web.get, f"/api/v3/jobs/{job_id}/llms.txt")
    assert llms.status_code == 200 and "Page " in llms.text

    export = (yield call(web.get, f"/api/v3/jobs/{job_id}/export.json")).json()
    rows = sql(database_url, "SELECT url, status FROM job_urls WHERE job_id = $1", uuid.UUID(job_id))
    assert {(p["url"], p["status"]) for p in export["pages"]} == {(r["url"], r["status"]) for r in rows}
    assert export["job"]["partial"] is True and export["job"]["tokenCount"] > 0
    assert all(p["included"] is not None for p in export["pages"]), "every URL has its verdict"
    unfetched = [p for p in export["pages"] if p["fetched_at"] is None]
    assert unfetched and all((p["status"], p["error"]) == ("skipped", "cancelled") for p in unfetched)
    assert {d["url"] for d in export["dropped"]} >= {p["url"] for p in unfetched}

    html = (yield call(web.get, f"/jobs/{job_id}")).text
    assert "Partial document" in html and 'id="document-preview"' in html
    assert f"/api/v3/jobs/{job_id}/document.md" in html and f"/api/v3/jobs/{job_id}/llms.txt" in html
    # assembled once: the state did not move, and a second download is the same document
    again = yield call(web.get, f"/api/v3/jobs/{job_id}/document.md")
    assert again.text == document.text
    messages = yield call(read_stream, web, f"/api/v3/jobs/{job_id}/stream", "0-0")
    events = [json.loads(m["data"]) for m in messages]
    assert events[-1]["type"] == "job_cancelled" and events[-1]["job"]["partial"] is True


@pytest.fixture
def stopping(settings):
    """The app and a runner whose crawls stop after 3 items (Scrapy's CLOSESPIDER_ITEMCOUNT):
    a crawl that ends for a reason other than finishing, so its job fails with pages stored."""
    settings = dataclasses.replace(settings, crawl_settings={**FAST_CRAWL, "CLOSESPIDER_ITEMCOUNT": 3})
    runner = JobRunner(settings, owner="tests", claim=False)
    pytest_twisted.blockon(runner.start())
    try:
        with TestClient(create_app(settings, launcher=CrochetLauncher(runner, owns_runner=False))) as client:
            yield client, runner
    finally:
        pytest_twisted.blockon(runner.stop())


@pytest_twisted.inlineCallbacks
def test_a_failed_job_offers_the_document_of_the_pages_it_stored(stopping, site, database_url):
    web, runner = stopping
    url = docs_site(site, pages=20, delay=0.1)
    job_id = (yield call(web.post, "/api/v3/jobs", json={"url": url, "maxPages": 20, "maxDepth": 1})).json()["data"]["jobId"]
    yield wait_until(lambda: web.get(f"/api/v3/jobs/{job_id}").json()["data"]["status"] == "failed", 60)
    yield wait_until(lambda: uuid.UUID(job_id) not in runner.active(), 30)
    data = (yield call(web.get, f"/api/v3/jobs/{job_id}")).json()["data"]
    assert data["partial"] is True and data["processedUrls"] >= 1 and data["queuedUrls"] == 0, data
    statuses = sql(database_url, "SELECT DISTINCT status FROM job_urls WHERE job_id = $1", uuid.UUID(job_id))
    assert {row["status"] for row in statuses} <= set(FINAL)
    document = yield call(web.get, f"/api/v3/jobs/{job_id}/document.md")
    assert document.status_code == 200 and "**Partial document:** the job failed" in document.text
    assert "Page " in document.text


def test_a_job_cancelled_before_it_started_has_no_document(api, api_site):
    # crawls are off in `api`: the job is still pending when it is cancelled
    api_site.add_page(D, "Start")
    job_id = api.post("/api/v3/jobs", json={"url": api_site.url(D)}).json()["data"]["jobId"]
    data = api.post(f"/api/v3/jobs/{job_id}/cancel").json()["data"]
    assert (data["status"], data["partial"], data["queuedUrls"]) == ("cancelled", False, 0)
    assert api.get(f"/api/v3/jobs/{job_id}/document.md").status_code == 409


class InfoServer(ServerProcess):
    """`docspasta serve --log-level info`: the log an operator reads."""

    def __init__(self, env, log_path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        ManagedProcess.__init__(self, ["serve", "--host", "127.0.0.1", "--port", str(self.port),
                                       "--log-level", "info"], env, log_path)


def test_one_cancel_writes_one_line_to_the_servers_log(site, redis_prefix, tmp_path):
    databases = fresh_database()
    database_url = next(databases)
    url = docs_site(site, pages=60, delay=0.3)
    server = InfoServer(server_env(database_url, REDIS_URL, redis_prefix, f"127.0.0.1:{site.port}"),
                        tmp_path / "serve.log")
    try:
        server.wait_ready()
        response = httpx.post(f"{server.url}/api/v3/jobs", json={"url": url, "maxPages": 60, "maxDepth": 1}, timeout=10)
        job_id = response.json()["data"]["jobId"]
        deadline = time.monotonic() + 30
        while httpx.get(f"{server.url}/api/v3/jobs/{job_id}", timeout=5).json()["data"]["processedUrls"] < 3:
            assert time.monotonic() < deadline, server.log()
            time.sleep(0.05)  # polling the API for the crawl's progress: nothing to wait on but it
        before = server.log_path.stat().st_size
        response = httpx.post(f"{server.url}/api/v3/jobs/{job_id}/cancel", timeout=10)
        assert response.json()["data"]["status"] == "cancelled"
        # the stream ends with job_cancelled; the crawl's own stop follows within the server
        with httpx.stream("GET", f"{server.url}/api/v3/jobs/{job_id}/stream", timeout=30) as stream:
            assert any("job_cancelled" in line for line in stream.iter_lines())
    finally:
        code = server.stop()  # the whole log is written once the server has stopped
        databases.close()
    assert code in (0, -15)
    with open(server.log_path, "rb") as log:
        log.seek(before)
        after = log.read().decode(errors="replace").splitlines()
    about_job = [line for line in after if f"job={job_id}" in line]
    assert len(about_job) == 1 and "cancelled" in about_job[0], "\n".join(after[:40])
    assert not [line for line in after if " WARNING " in line or " ERROR " in line], "\n".join(after[:40])
    assert not any("explains one part" in line for line in after), "no page's Markdown in the log"
