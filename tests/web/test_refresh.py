"""Refresh through the API, the runner and the pipelines: real crawls of a fixture site whose
pages the test rewrites between the first crawl and its refresh (pytest-twisted's reactor)."""
from __future__ import annotations

import dataclasses
import uuid

import asyncpg
import pytest
import pytest_twisted
from starlette.testclient import TestClient

from tests.refresh.site import VersionedSite
from tests.web.conftest import call, form_token, sql, wait_until
from tests.web.test_jobs import start, wait_ended
from webapp.app import create_app

D = "/docs/"
CODE = "<pre><code class='language-python'>import lib\nlib.{call}</code></pre>"


def start_page(links: list[str]) -> str:
    """The start page: its links in a <nav>, out of the extracted Markdown (a new link is no change to it)."""
    anchors = "".join(f'<li><a href="{href}">{href}</a></li>' for href in links)
    return (f"<!doctype html><html><head><title>Start</title></head><body><nav><ul>{anchors}</ul></nav>"
            "<main><h1>Start</h1><p>The start page of the fixture library's documentation, with enough words"
            " in it to count as a page of its own.</p></main></body></html>")


def body(name: str, call_: str) -> str:
    return (f"<p>{name} explains one part of the library in enough words to count as documentation: what it"
            f" does, an example, and the reasons behind the design.</p>" + CODE.format(call=call_))


def build(versioned: VersionedSite, links=("a.html", "b.html", "c.html", "d.html", "e.html")) -> None:
    versioned.put(D, start_page(list(links)))
    for name in "abcde":
        versioned.put_page(f"{D}{name}.html", f"Page {name.upper()}", body=body(f"Page {name.upper()}", f"{name}()"),
                           footer="Built on 2025-01-01")


@pytest_twisted.inlineCallbacks
def crawl_then_refresh(web, job_runner, site, versioned, change=None):
    url = site.url(D)
    first_id = yield start(web, url, maxPages=20, maxDepth=1)
    first = yield wait_ended(web, job_runner, first_id)
    assert first["status"] == "completed", first
    if change:
        change(versioned)
    versioned.clear_log()
    response = yield call(web.post, f"/api/v3/jobs/{first_id}/refresh")
    assert response.status_code == 201, response.text
    data = response.json()["data"]
    assert data["refreshOf"] == first_id
    final = yield wait_ended(web, job_runner, data["jobId"])
    assert final["status"] == "completed", final
    changes = yield call(web.get, f"/api/v3/jobs/{data['jobId']}/changes")
    assert changes.status_code == 200, changes.text
    return first_id, data["jobId"], changes.json()["data"]


def urls(entries):
    return sorted(entry["url"].rsplit("/", 1)[-1] for entry in entries)


@pytest.mark.parametrize("validators, ignores", [(("etag",), False), (("last_modified",), False),
                                                 (("etag", "last_modified"), True)],
                         ids=["etag", "last-modified", "server-ignores-conditional-headers"])
@pytest_twisted.inlineCallbacks
def test_a_refresh_of_an_unchanged_site_reports_no_change_and_stores_no_page_twice(
        web, job_runner, site, database_url, validators, ignores):
    versioned = VersionedSite(site, validators=validators, ignores_conditional=ignores)
    build(versioned)
    first_id, refresh_id, changes = yield crawl_then_refresh(web, job_runner, site, versioned)
    assert changes["counts"] == {"new": 0, "changed": 0, "removed": 0, "unchanged": 6, "unchecked": 0}
    assert changes["final"] is True
    if ignores:  # every page downloaded and extracted again: the hashes decide
        assert len(versioned.downloaded()) == 6 and versioned.not_modified() == []
    else:
        assert versioned.downloaded() == [], "an unchanged page was downloaded again"
        assert len(versioned.not_modified()) == 6
    rows = sql(database_url, "SELECT url, markdown, markdown_from, extra_from, http_status FROM job_urls"
               " WHERE job_id = $1 AND status = 'completed'", uuid.UUID(refresh_id))
    assert len(rows) == 6
    assert all(row["markdown"] == "" and row["markdown_from"] for row in rows), "a page's Markdown stored twice"
    assert all((row["extra_from"] is not None) == (not ignores) for row in rows)
    # ...and yet the refresh's outputs are whole: its document, its export, a page's detail
    document = (yield call(web.get, f"/api/v3/jobs/{refresh_id}/document.md")).text
    assert all(f"lib.{name}()" in document for name in "abcde"), document
    assert document == (yield call(web.get, f"/api/v3/jobs/{first_id}/document.md")).text, "nothing changed"
    export = (yield call(web.get, f"/api/v3/jobs/{refresh_id}/export.json")).json()
    pages = {p["url"].rsplit("/", 1)[-1]: p for p in export["pages"]}
    assert "lib.b()" in pages["b.html"]["markdown"] and pages["b.html"]["links"] == []
    assert export["changes"]["counts"]["unchanged"] == 6
    assert pages["b.html"]["not_modified"] is (not ignores)
    # the library holds the site's pages once: the refresh takes the refreshed job's place there
    yield wait_until(lambda: sql(database_url, "SELECT library_indexed_at FROM crawl_jobs WHERE id = $1",
                                 uuid.UUID(refresh_id))[0]["library_indexed_at"])
    sections = {str(row["job_id"]): row["n"] for row in sql(
        database_url, "SELECT job_id, count(*) AS n FROM library_sections WHERE job_id = ANY($1::uuid[])"
        " GROUP BY job_id", [uuid.UUID(first_id), uuid.UUID(refresh_id)])}
    assert first_id not in sections and sections.get(refresh_id, 0) >= 6, sections
    gone = yield call(web.get, f"/api/v3/jobs/{first_id}/outline")
    assert gone.status_code == 404 and refresh_id in gone.json()["error"], gone.text
    assert (yield call(web.get, f"/api/v3/jobs/{refresh_id}/outline")).status_code == 200


@pytest_twisted.inlineCallbacks
def test_a_refresh_reports_new_changed_removed_and_unchanged_pages_with_diffs(web, job_runner, site, database_url):
    versioned = VersionedSite(site)
    build(versioned)

    def change(versioned):
        versioned.put_page(f"{D}b.html", "Page B", body=body("Page B", "b()"), footer="Built on 2025-06-30")
        versioned.put_page(f"{D}c.html", "Page C", body=body("Page C", "c(retries=3)  # &lt;script&gt;alert(1)&lt;/script&gt;"),
                           footer="Built on 2025-06-30")
        versioned.remove(f"{D}d.html")  # 404 now
        versioned.put(D, start_page(["a.html", "b.html", "c.html", "d.html", "f.html"]))  # e unlinked, f new
        versioned.put_page(f"{D}f.html", "Page F", body=body("Page F", "f()"))

    first_id, refresh_id, changes = yield crawl_then_refresh(web, job_runner, site, versioned, change)
    assert changes["counts"] == {"new": 1, "changed": 1, "removed": 2, "unchanged": 3, "unchecked": 0}, changes
    assert urls(changes["new"]) == ["f.html"]
    assert urls(changes["changed"]) == ["c.html"]
    assert urls(changes["unchanged"]) == ["", "a.html", "b.html"], "a new build date or a new link is no change"
    removed = {entry["url"].rsplit("/", 1)[-1]: entry["reason"] for entry in changes["removed"]}
    assert removed == {"d.html": "HTTP 404", "e.html": "no longer linked"}
    diff = changes["changed"][0]["diff"]
    assert "-lib.c()" in diff and "+lib.c(retries=3)  # <script>alert(1)</script>" in diff
    assert "Built on" not in diff
    # downloaded: what the server said changed (b's footer, c, the start page) and the new page
    assert sorted(versioned.downloaded()) == sorted([D, f"{D}b.html", f"{D}c.html", f"{D}f.html"])
    assert versioned.not_modified() == [f"{D}a.html"]

    document = (yield call(web.get, f"/api/v3/jobs/{refresh_id}/document.md")).text
    assert "lib.c(retries=3)" in document and "lib.f()" in document and "lib.a()" in document
    assert "lib.d()" not in document and "lib.e()" not in document
    export = (yield call(web.get, f"/api/v3/jobs/{refresh_id}/export.json")).json()
    assert export["changes"]["counts"] == changes["counts"] and export["job"]["refreshOf"] == first_id

    # the job page: counts, lists and the diff, escaped
    html = (yield call(web.get, f"/jobs/{refresh_id}")).text
    assert 'id="changes-changed">1<' in html and 'id="changes-removed">2<' in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert(1)" not in html
    assert 'class="diff-add">+lib.c(retries=3)' in html
    assert f'href="/jobs/{first_id}"' in html


@pytest_twisted.inlineCallbacks
def test_one_refresh_of_a_site_at_a_time_and_clear_errors(web, quiet, job_runner, site, database_url):
    versioned = VersionedSite(site)
    build(versioned)
    first_id = yield start(web, site.url(D), maxPages=20, maxDepth=1)
    early = yield call(web.post, f"/api/v3/jobs/{first_id}/refresh")
    assert early.status_code == 409 and early.json()["field"] == "status"  # not completed yet (pending/running)
    yield wait_ended(web, job_runner, first_id)
    not_a_refresh = yield call(web.get, f"/api/v3/jobs/{first_id}/changes")
    assert not_a_refresh.status_code == 409 and not_a_refresh.json()["success"] is False
    assert (yield call(web.post, f"/api/v3/jobs/{uuid.uuid4()}/refresh")).status_code == 404
    fields = yield call(web.post, f"/api/v3/jobs/{first_id}/refresh", json={"maxPages": 3})
    assert fields.status_code == 422 and fields.json()["field"] == "maxPages"

    # Two refreshes asked for, the first still pending (an app that starts no crawl): the database keeps one.
    one = yield call(quiet.post, f"/api/v3/jobs/{first_id}/refresh")
    two = yield call(web.post, f"/api/v3/jobs/{first_id}/refresh")
    assert one.status_code == 201 and two.status_code == 409
    refresh_id = one.json()["data"]["jobId"]
    assert refresh_id in two.json()["error"]
    # ...whoever writes: a second pending refresh of the site is refused by the database itself
    with pytest.raises(asyncpg.UniqueViolationError):
        sql(database_url, "INSERT INTO crawl_jobs (id, initial_url, max_pages, max_depth, quality_threshold,"
            " refresh_of, site_name) SELECT $1, initial_url, max_pages, max_depth, quality_threshold, id, site_name"
            " FROM crawl_jobs WHERE id = $2", uuid.uuid4(), uuid.UUID(first_id))
    # the form's button on a completed job's page takes the user to the refresh already running
    token = yield call(form_token, web, f"/jobs/{first_id}")
    html = (yield call(web.get, f"/jobs/{first_id}")).text
    assert 'id="refresh-form"' in html
    button = yield call(web.post, f"/jobs/{first_id}/refresh", data={"csrf_token": token}, follow_redirects=False)
    assert button.status_code == 303 and button.headers["location"] == f"/jobs/{refresh_id}"
    forged = yield call(web.post, f"/jobs/{first_id}/refresh", data={"csrf_token": "x"}, follow_redirects=False)
    assert forged.status_code == 403
    job_runner.run_job(uuid.UUID(refresh_id))
    final = yield wait_ended(web, job_runner, refresh_id)
    assert final["status"] == "completed" and final["refreshOf"] == first_id


@pytest.fixture
def quiet(settings):
    """A second app on the same database that starts no crawl (jobs it makes stay pending), with a CRON_SECRET."""
    with TestClient(create_app(dataclasses.replace(settings, run_crawls=False, cron_secret="cron-secret"))) as client:
        yield client


@pytest_twisted.inlineCallbacks
def test_a_scheduled_refresh_starts_when_due_and_only_once(web, quiet, job_runner, site, database_url):
    versioned = VersionedSite(site)
    build(versioned)
    first_id = yield start(web, site.url(D), maxPages=20, maxDepth=1)
    yield wait_ended(web, job_runner, first_id)
    # labelled as it goes into the library, a moment after its status reads completed
    name = yield wait_until(lambda: sql(database_url, "SELECT site_name FROM crawl_jobs WHERE id = $1",
                                        uuid.UUID(first_id))[0]["site_name"])
    secret = {"Authorization": "Bearer cron-secret"}
    cron = quiet  # refreshes it starts stay pending until the runner is given them below
    assert (yield call(cron.put, "/api/v3/schedules", json={"site": name, "refreshEvery": 3600})).status_code == 401
    bad = yield call(cron.put, "/api/v3/schedules", json={"site": name, "refreshEvery": 60}, headers=secret)
    assert bad.status_code == 422 and bad.json()["field"] == "refreshEvery"
    unknown = yield call(cron.put, "/api/v3/schedules", json={"site": "nowhere.example/x", "refreshEvery": 3600},
                         headers=secret)
    assert unknown.status_code == 404 and unknown.json()["field"] == "site"
    scheduled = yield call(cron.put, "/api/v3/schedules", json={"site": name, "refreshEvery": 3600}, headers=secret)
    assert scheduled.status_code == 200 and scheduled.json()["data"]["refreshEvery"] == 3600

    # not due: the site's latest job is minutes old
    process = yield call(cron.post, "/api/v3/process", headers=secret)
    assert process.json()["data"]["refreshesStarted"] == []
    # an hour later (the job's dates moved back), it is due: one refresh, however often the cron calls
    sql(database_url, "UPDATE crawl_jobs SET created_at = created_at - interval '2 hours',"
        " completed_at = completed_at - interval '2 hours' WHERE id = $1", uuid.UUID(first_id))
    started = (yield call(cron.post, "/api/v3/process", headers=secret)).json()["data"]["refreshesStarted"]
    again = (yield call(cron.post, "/api/v3/process", headers=secret)).json()["data"]["refreshesStarted"]
    assert len(started) == 1 and again == []
    refresh = sql(database_url, "SELECT refresh_of, site_name, status FROM crawl_jobs WHERE id = $1",
                  uuid.UUID(started[0]))[0]
    assert (str(refresh["refresh_of"]), refresh["site_name"], refresh["status"]) == (first_id, name, "pending")
    job_runner.run_job(uuid.UUID(started[0]))
    final = yield wait_ended(web, job_runner, started[0])
    assert final["status"] == "completed" and final["refreshOf"] == first_id
    # the refresh is the site's latest job now: the next one is an interval away
    assert (yield call(cron.post, "/api/v3/process", headers=secret)).json()["data"]["refreshesStarted"] == []
    listed = (yield call(cron.get, "/api/v3/schedules", headers=secret)).json()["data"]
    assert [entry["site"] for entry in listed] == [name] and listed[0]["nextDueAt"]
    removed = yield call(cron.delete, f"/api/v3/schedules?site={name}", headers=secret)
    assert removed.status_code == 200
    assert (yield call(cron.delete, f"/api/v3/schedules?site={name}", headers=secret)).status_code == 404
