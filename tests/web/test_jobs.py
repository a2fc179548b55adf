"""Real crawls of fixture sites through the API, the runner and the pipelines (pytest-twisted's reactor).

The state machine, counters that match the rows, export contents that match the
database, cancel, and the event stream a client sees.
"""
from __future__ import annotations

import json
import uuid

import pytest_twisted

from tests.sitefixture import Reply, page
from tests.web.conftest import D, call, docs_site, form_token, read_stream, sql, wait_until

STEPS = ["init", "discovery", "processing", "finalizing", "done"]


@pytest_twisted.inlineCallbacks
def start(web, url, **fields):
    response = yield call(web.post, "/api/v3/jobs", json={"url": url, **fields})
    assert response.status_code == 201, response.text
    return response.json()["data"]["jobId"]


@pytest_twisted.inlineCallbacks
def job(web, job_id):
    response = yield call(web.get, f"/api/v3/jobs/{job_id}")
    return response.json()["data"]


@pytest_twisted.inlineCallbacks
def wait_ended(web, job_runner, job_id, timeout=60):
    data = yield wait_until(lambda: (d := web.get(f"/api/v3/jobs/{job_id}").json()["data"])["status"]
                            in ("completed", "failed", "cancelled") and d, timeout)
    yield wait_until(lambda: uuid.UUID(job_id) not in job_runner.active(), timeout)
    return data


@pytest_twisted.inlineCallbacks
def events_of(web, job_id):
    messages = yield call(read_stream, web, f"/api/v3/jobs/{job_id}/stream", "0-0")
    return messages, [json.loads(m["data"]) for m in messages]


@pytest_twisted.inlineCallbacks
def test_a_job_runs_through_its_states_and_its_counters_match_the_rows(web, job_runner, site, database_url):
    url = docs_site(site, pages=8)
    job_id = yield start(web, url, maxPages=6, maxDepth=2)
    first = yield job(web, job_id)
    final = yield wait_ended(web, job_runner, job_id)
    assert (final["status"], final["currentStep"]) == ("completed", "done"), final
    assert final["processedUrls"] == 6, "the page budget is exact"

    rows = sql(database_url, "SELECT status, count(*) AS n FROM job_urls WHERE job_id = $1 GROUP BY status",
               uuid.UUID(job_id))
    counts = {row["status"]: row["n"] for row in rows}
    assert counts.get("completed") == final["processedUrls"]
    assert counts.get("failed", 0) == final["failedUrls"]
    assert counts.get("skipped", 0) == final["skippedUrls"]
    assert sum(counts.values()) == final["discoveredUrls"]
    never = sql(database_url, "SELECT count(*) AS n FROM job_urls WHERE job_id = $1 AND fetched_at IS NULL",
                uuid.UUID(job_id))[0]["n"]
    assert final["totalUrls"] == final["discoveredUrls"] - never, "totalUrls: the URLs the job reached"
    assert "pending" not in counts and "processing" not in counts
    attempted = sql(database_url, "SELECT count(*) AS n FROM job_urls WHERE job_id = $1 AND status = 'completed'"
                    " AND last_attempt_at IS NOT NULL AND processing_started_at IS NOT NULL", uuid.UUID(job_id))
    assert attempted[0]["n"] == final["processedUrls"]
    assert first["status"] in ("pending", "running")

    messages, events = yield events_of(web, job_id)
    ids = [m["id"] for m in messages]
    assert ids == sorted(ids, key=lambda i: tuple(map(int, i.split("-")))), "event ids in order"
    assert events[0]["type"] == "discovery_started" and events[-1]["type"] == "job_completed"
    assert sum(e["type"] == "url_completed" for e in events) >= 6
    # The state machine, as the events saw it: never backwards.
    order = [(e["job"]["status"], e["job"]["currentStep"]) for e in events]
    steps = [STEPS.index(step) for _, step in order]
    assert steps == sorted(steps), order
    assert ("running", "finalizing") in order
    statuses = [status for status, _ in order]
    assert statuses[-1] == "completed" and set(statuses[:-1]) == {"running"}
    # the url_completed events count up one page at a time
    done = [e["job"]["processedUrls"] for e in events if e["type"] == "url_completed" and e["status"] == "success"]
    assert done == list(range(1, 7))


@pytest_twisted.inlineCallbacks
def test_export_matches_the_database_and_the_document(web, job_runner, site, database_url):
    url = docs_site(site, pages=4)
    site.add(f"{D}broken.html", Reply(status=404, body="<h1>gone</h1>"))
    site.add_page(D, "Start", "p0.html", "p1.html", "p2.html", "p3.html", "thin.html", "broken.html",
                  "manual.pdf")
    job_id = yield start(web, url, maxPages=10, maxDepth=1, qualityThreshold=20)
    final = yield wait_ended(web, job_runner, job_id)
    assert final["status"] == "completed"

    export = yield call(web.get, f"/api/v3/jobs/{job_id}/export.json")
    assert export.headers["content-disposition"].startswith("attachment")
    data = export.json()
    assert data["job"]["id"] == job_id and data["job"]["maxPages"] == 10 and data["job"]["qualityThreshold"] == 20
    rows = sql(database_url, "SELECT * FROM job_urls WHERE job_id = $1", uuid.UUID(job_id))
    assert len(data["pages"]) == len(rows)
    by_url = {row["url"]: row for row in rows}
    item_fields = {"url", "final_url", "title", "depth", "discovered_from", "status", "http_status", "error",
                   "markdown", "quality", "quality_reasons", "word_count", "token_count", "fetched_at"}
    for page_ in data["pages"]:
        assert item_fields <= set(page_)
        row = by_url[page_["url"]]
        assert (page_["status"], page_["title"], page_["markdown"], page_["quality"], page_["error"]) == (
            row["status"], row["title"], row["markdown"], row["quality"], row["error_message"])
        assert page_["included"] == row["included"] and page_["reason"] == row["drop_reason"]
        assert page_["included"] is not None, "every page has a verdict once the document is assembled"
        assert page_["included"] or page_["reason"]
    pages = {p["url"].rsplit("/", 1)[-1]: p for p in data["pages"]}
    assert pages["broken.html"]["status"] == "failed" and pages["broken.html"]["error"] == "HTTP 404"
    assert pages["manual.pdf"]["status"] == "skipped"
    assert pages["thin.html"]["included"] is False and "quality" in pages["thin.html"]["reason"]
    dropped = {d["url"].rsplit("/", 1)[-1]: d["reason"] for d in data["dropped"]}
    assert {"broken.html", "manual.pdf", "thin.html"} <= set(dropped)

    document = yield call(web.get, f"/api/v3/jobs/{job_id}/document.md")
    assert document.status_code == 200 and document.headers["content-type"].startswith("text/markdown")
    stored = sql(database_url, "SELECT final_markdown, final_token_count, llms_txt FROM crawl_jobs WHERE id = $1",
                 uuid.UUID(job_id))[0]
    assert document.text == stored["final_markdown"]
    for name in ("Page 0", "Page 3"):
        assert name in document.text
    assert "lib.step(2)" in document.text
    assert data["job"]["tokenCount"] == stored["final_token_count"] > 0
    llms = yield call(web.get, f"/api/v3/jobs/{job_id}/llms.txt")
    assert llms.status_code == 200 and llms.text == stored["llms_txt"] and "p1.html" in llms.text


@pytest_twisted.inlineCallbacks
def test_cancel_stops_the_crawl_at_once_and_keeps_the_pages_stored(web, job_runner, site, database_url):
    url = docs_site(site, pages=80, delay=0.3)  # 3 s or more: time to cancel under any load
    job_id = yield start(web, url, maxPages=80, maxDepth=1)
    yield wait_until(lambda: web.get(f"/api/v3/jobs/{job_id}").json()["data"]["processedUrls"] >= 3)
    # URLs whose request is out are `processing` in the frontier, with their attempt time
    in_flight = yield wait_until(lambda: sql(
        database_url, "SELECT * FROM job_urls WHERE job_id = $1 AND status = 'processing'", uuid.UUID(job_id)))
    assert all(row["processing_started_at"] and row["last_attempt_at"] for row in in_flight)
    response = yield call(web.post, f"/api/v3/jobs/{job_id}/cancel")
    assert response.status_code == 200 and response.json()["data"]["status"] == "cancelled"
    final = yield wait_ended(web, job_runner, job_id)
    assert final["status"] == "cancelled"
    assert 3 <= final["processedUrls"] < 80
    again = yield call(web.post, f"/api/v3/jobs/{job_id}/cancel")
    assert again.status_code == 200 and again.json()["data"]["status"] == "cancelled"
    stored = sql(database_url, "SELECT count(*) AS n FROM job_urls WHERE job_id = $1 AND status = 'completed'",
                 uuid.UUID(job_id))[0]["n"]
    assert stored >= 3, "pages stored before the cancel stay"
    _, events = yield events_of(web, job_id)
    assert events[-1]["type"] == "job_cancelled"
    assert sum(e["type"] in ("job_cancelled", "job_completed", "job_failed") for e in events) == 1
    assert (yield call(web.get, f"/api/v3/jobs/{job_id}/document.md")).status_code == 200, "partial (test_cancel.py)"
    # the crawl really stopped: nothing was stored once the runner let go of the job
    later = yield job(web, job_id)
    assert (later["processedUrls"], later["updatedAt"]) == (final["processedUrls"], final["updatedAt"])
    assert len([p for p in site.paths() if p.startswith(D + "p")]) < 80, "every page was requested anyway"


@pytest_twisted.inlineCallbacks
def test_a_site_that_cannot_be_crawled_fails_the_job_with_the_reason(web, job_runner, site):
    site.add(D, Reply(status=500, body="down"))
    job_id = yield start(web, site.url(D))
    final = yield wait_ended(web, job_runner, job_id)
    assert final["status"] == "failed"
    assert "HTTP 500" in final["error"]
    _, events = yield events_of(web, job_id)
    assert events[-1]["type"] == "job_failed" and "HTTP 500" in events[-1]["error"]


@pytest_twisted.inlineCallbacks
def test_the_html_form_starts_a_job_and_its_page_shows_the_document(web, job_runner, site):
    url = docs_site(site, pages=3)
    token = yield call(form_token, web)
    bad = yield call(web.post, "/jobs", data={"url": url, "max_pages": "900", "csrf_token": token},
                     headers={"HX-Request": "true"})
    assert bad.status_code == 422 and 'id="max_pages-error"' in bad.text and "<form" in bad.text
    assert "<html" not in bad.text, "an htmx request gets the form fragment only"
    ok = yield call(web.post, "/jobs", data={"url": url, "max_pages": "5", "max_depth": "1", "quality_threshold": "20",
                                       "scope": "prefix", "csrf_token": token}, follow_redirects=False)
    assert ok.status_code == 303
    job_page = ok.headers["location"]
    job_id = job_page.rsplit("/", 1)[-1]
    yield wait_ended(web, job_runner, job_id)
    html = (yield call(web.get, job_page)).text
    assert 'data-status="completed"' in html and 'id="document-preview"' in html
    assert "sse-connect" not in html, "a finished job's page opens no stream"
    assert f"/api/v3/jobs/{job_id}/document.md" in html


@pytest_twisted.inlineCallbacks
def test_the_page_stream_of_a_running_job_ends_with_done(web, job_runner, site):
    url = docs_site(site, pages=5, delay=0.05)
    job_id = yield start(web, url, maxPages=5, maxDepth=1)
    page_html = (yield call(web.get, f"/jobs/{job_id}")).text
    assert f'sse-connect="/jobs/{job_id}/events"' in page_html
    messages = yield call(read_stream, web, f"/jobs/{job_id}/events")
    # each batch: the list of pages, the outline, then the state ("progress"; "done" at the end)
    assert [m["event"] for m in messages[:3]] == ["pages", "outline", "progress"], "no Last-Event-ID: a snapshot first"
    assert [m["event"] for m in messages[-3:]] == ["pages", "outline", "done"]
    assert all(m["event"] == ("pages", "outline", "progress")[n % 3] for n, m in enumerate(messages[:-1]))
    assert 'data-status="completed"' in messages[-1]["data"]
    assert "5 pages" in messages[-2]["data"] and "In the document's order" in messages[-2]["data"]


@pytest_twisted.inlineCallbacks
def test_a_page_whose_processing_raises_is_failed_with_the_error_and_an_error_event(
        web, job_runner, site, database_url, monkeypatch):
    import spiders.crawl.offload

    real = spiders.crawl.offload.read_page

    def broken(body, encoding, url, *args, **kwargs):
        if url.endswith("/p1.html"):
            raise ValueError("cannot read this page")
        return real(body, encoding, url, *args, **kwargs)

    monkeypatch.setattr(spiders.crawl.offload, "read_page", broken)  # web tests extract inline (FAST_CRAWL)
    url = docs_site(site, pages=3)
    job_id = yield start(web, url, maxPages=10, maxDepth=1)
    final = yield wait_ended(web, job_runner, job_id)
    assert final["status"] == "completed" and final["failedUrls"] == 1
    row = sql(database_url, "SELECT status, error_message FROM job_urls WHERE job_id = $1 AND url LIKE '%/p1.html'",
              uuid.UUID(job_id))[0]
    assert row["status"] == "failed" and "cannot read this page" in row["error_message"]
    _, events = yield events_of(web, job_id)
    errors = [e for e in events if e["type"] == "error"]
    assert len(errors) == 1 and errors[0]["url"].endswith("/p1.html") and "ValueError" in errors[0]["message"]


@pytest_twisted.inlineCallbacks
def test_a_cancel_written_by_another_process_stops_the_crawl_at_its_next_page(web, job_runner, site, database_url):
    url = docs_site(site, pages=80, delay=0.2)
    job_id = yield start(web, url, maxPages=80, maxDepth=1)
    yield wait_until(lambda: web.get(f"/api/v3/jobs/{job_id}").json()["data"]["processedUrls"] >= 2)
    # what another web process does: the database only (this process's runner is not told)
    # in a thread: the UPDATE waits for the crawl's open transaction, which needs the reactor running
    yield call(sql, database_url, "UPDATE crawl_jobs SET status = 'cancelled', current_step = 'done' WHERE id = $1",
               uuid.UUID(job_id))
    yield wait_until(lambda: uuid.UUID(job_id) not in job_runner.active(), timeout=15)
    final = yield job(web, job_id)
    assert final["status"] == "cancelled" and final["processedUrls"] < 80


@pytest_twisted.inlineCallbacks
def test_the_document_keeps_the_sites_link_order_not_the_order_pages_finished(web, job_runner, site):
    links = [f"p{n}.html" for n in range(6)]
    site.add_page(D, "Start", *links)
    for n in range(6):  # the first links answer slowest
        body = (f"<p>Chapter {n} explains one part of the library in enough words to count as documentation: "
                "what it does, an example, and the reasons behind the design of it.</p>")
        site.add(f"{D}p{n}.html", Reply(body=page(f"Chapter {n}", body=body), delay=0.05 * (6 - n)))
    job_id = yield start(web, site.url(D), maxPages=10, maxDepth=1)
    final = yield wait_ended(web, job_runner, job_id)
    assert final["status"] == "completed"
    document = (yield call(web.get, f"/api/v3/jobs/{job_id}/document.md")).text
    positions = [document.index(f"## Chapter {n}") for n in range(6)]
    assert positions == sorted(positions)


@pytest_twisted.inlineCallbacks
def test_cancel_works_without_javascript_too(web, job_runner, site):
    url = docs_site(site, pages=80, delay=0.3)
    job_id = yield start(web, url, maxPages=80, maxDepth=1)
    html = (yield call(web.get, f"/jobs/{job_id}")).text
    assert f'<form method="post" action="/jobs/{job_id}/cancel"' in html
    token = yield call(form_token, web, f"/jobs/{job_id}")
    response = yield call(web.post, f"/jobs/{job_id}/cancel", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == f"/jobs/{job_id}"
    final = yield wait_ended(web, job_runner, job_id)
    assert final["status"] == "cancelled"


@pytest_twisted.inlineCallbacks
def test_an_ended_jobs_fate_counts_are_kept_on_its_row_and_match_its_urls(web, job_runner, site, database_url):
    from spiders.jobs.store import FATES

    url = docs_site(site, pages=6)  # and a thin page, left out of the document
    job_id = yield start(web, url, maxPages=4, maxDepth=1)
    yield wait_ended(web, job_runner, job_id)
    live = sql(database_url, "SELECT " + ", ".join(f"count(*) FILTER (WHERE {where}) AS {name}"
                                                  for name, where in FATES.items())
               + " FROM job_urls WHERE job_id = $1", uuid.UUID(job_id))[0]
    kept = json.loads(sql(database_url, "SELECT fate_counts FROM crawl_jobs WHERE id = $1", uuid.UUID(job_id))[0][
        "fate_counts"])
    assert kept == live and live["included"] + live["left_out"] == 4 and live["skipped"] >= 1, (kept, live)
    html = (yield call(web.get, f"/jobs/{job_id}")).text
    assert f'id="fate-included" href="/jobs/{job_id}?fate=included"' in html
    assert f'<span class="count">{kept["included"]}</span>' in html and f"{kept['included']} pages" in html
