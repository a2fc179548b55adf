"""The library over HTTP: a real crawl of a fixture site, then search, outline, pages, sections and the search page."""
from __future__ import annotations

import dataclasses
import re
import uuid

import pytest_twisted
from starlette.testclient import TestClient

from tests.sitefixture import Reply, page
from tests.web.conftest import D, call, sql, wait_until
from webapp.app import create_app

LINKS = ["install.html", "config.html", "errors.html"]
PAGES = {
    "install.html": ("Installation", """
        <p>DocsPasta's example library installs from the package index with one command on every platform.</p>
        <h2>Requirements</h2><p>You need a recent interpreter and a compiler for the native speedups.</p>
        <h2>Installing on Windows</h2><p>On Windows the installer registers the launcher in the registry
        so that the command works from any console window.</p>"""),
    "config.html": ("Configuration", """
        <p>The library reads its configuration from a file and from environment variables at start-up.</p>
        <h2>Environment variables</h2><p>Every setting can be given as an environment variable.</p>
        <h3>Timeouts</h3><p>The <code>LIB_TIMEOUT</code> variable sets how many seconds a request may take
        before the client gives up and raises a timeout error to the caller.</p>
        <h2>Configuration files</h2>""" + "".join(
        f"<p>Paragraph {n} of the file format: keys, sections, quoting rules and comments, described in "
        "enough words to make the page long enough to be cut by a small token budget.</p>" for n in range(40))),
    "errors.html": ("Failures", """
        <p>Errors raised by the library all derive from one base class, so that a single except clause
        catches every failure the library reports, while the subclasses say what went wrong.</p>
        <h2>Retrying failed requests</h2><p>A failed request is retried with exponential backoff, three
        attempts by default, before the error reaches your code. The delay doubles after each attempt
        and a little random jitter keeps many clients from retrying at the same moment.</p>
        <pre><code class="language-python">client = Client(retries=5)\nclient.fetch("/items")</code></pre>"""),
}


def library_site(site) -> str:
    site.add_page(D, "Library documentation", *LINKS)
    for path, (title, body) in PAGES.items():
        site.add(D + path, Reply(body=page(title, *LINKS, body=body)))
    return site.url(D)


@pytest_twisted.inlineCallbacks
def crawl(web, job_runner, url):
    response = yield call(web.post, "/api/v3/jobs", json={"url": url, "maxPages": 10, "maxDepth": 2})
    assert response.status_code == 201, response.text
    job_id = response.json()["data"]["jobId"]
    yield wait_until(lambda: web.get(f"/api/v3/jobs/{job_id}").json()["data"]["status"] == "completed", 60)
    yield wait_until(lambda: uuid.UUID(job_id) not in job_runner.active(), 60)
    # indexed right after the job completes, before job_completed goes out
    yield wait_until(lambda: web.get(f"/api/v3/jobs/{job_id}/outline").status_code == 200, 30)
    return job_id


@pytest_twisted.inlineCallbacks
def test_a_completed_job_is_searchable_by_section_with_heading_paths_and_snippets(web, job_runner, site):
    job_id = yield crawl(web, job_runner, library_site(site))
    response = yield call(web.get, "/api/v3/search", params={"q": "request timeout seconds"})
    assert response.status_code == 200, response.text
    results = response.json()["data"]["results"]
    top = results[0]
    assert top["headingPath"] == ["Configuration", "Environment variables", "Timeouts"]
    assert top["url"] == site.url(D + "config.html") and top["jobId"] == job_id
    assert top["site"] == f"127.0.0.1:{site.port}/docs" and top["tokenCount"] > 10
    assert "«timeout»" in top["snippet"].lower() or "«seconds»" in top["snippet"]

    title_hit = (yield call(web.get, "/api/v3/search", params={"q": "retrying"})).json()["data"]["results"][0]
    assert title_hit["headingPath"] == ["Failures", "Retrying failed requests"]
    windows = (yield call(web.get, "/api/v3/search", params={"q": "windows registry", "limit": "1"})).json()["data"]
    assert [hit["headingPath"][-1] for hit in windows["results"]] == ["Installing on Windows"]

    # (the module's database holds the other tests' sites too: each fixture site has a port of its own)
    sites = [s for s in (yield call(web.get, "/api/v3/sites")).json()["data"]
             if s["site"] == f"127.0.0.1:{site.port}/docs"]
    assert [(s["jobId"], s["pages"]) for s in sites] == [(job_id, 4)]
    narrowed = yield call(web.get, "/api/v3/search", params={"q": "timeout", "site": sites[0]["site"]})
    assert narrowed.json()["data"]["results"]


@pytest_twisted.inlineCallbacks
def test_outline_page_and_section_answer_within_max_tokens_and_say_what_they_left_out(web, job_runner, site):
    job_id = yield crawl(web, job_runner, library_site(site))
    outline = (yield call(web.get, f"/api/v3/jobs/{job_id}/outline")).json()["data"]
    titles = [p["title"] for p in outline["pages"]]
    assert titles[0] == "Library documentation" and set(titles[1:]) == {"Installation", "Configuration",
                                                                          "Failures"}
    config = next(p for p in outline["pages"] if p["title"] == "Configuration")
    assert [s["headingPath"][1:] for s in config["sections"]] == [
        [], ["Environment variables"], ["Environment variables", "Timeouts"], ["Configuration files"]]
    assert config["tokenCount"] == sum(s["tokenCount"] for s in config["sections"]) > 800

    url = site.url(D + "config.html")
    whole = (yield call(web.get, f"/api/v3/jobs/{job_id}/pages", params={"url": url})).json()["data"]
    assert not whole["truncated"] and whole["leftOut"] is None and "Paragraph 39" in whole["markdown"]
    cut = (yield call(web.get, f"/api/v3/jobs/{job_id}/pages", params={"url": url, "max_tokens": "200"})).json()["data"]
    assert cut["truncated"] and cut["tokenCount"] <= 200 < cut["totalTokens"]
    assert re.search(r"\[truncated: \d+ of \d+ tokens shown; \d+ more block\(s\) left out", cut["leftOut"])
    assert "Paragraph 39" not in cut["markdown"]

    section = (yield call(web.get, f"/api/v3/jobs/{job_id}/sections",
                          params={"url": url, "heading": "Environment variables > Timeouts"})).json()["data"]
    assert section["headingPath"] == ["Configuration", "Environment variables", "Timeouts"]
    assert "LIB_TIMEOUT" in section["markdown"] and "Configuration files" not in section["markdown"]
    by_last = (yield call(web.get, f"/api/v3/jobs/{job_id}/sections", params={"url": url, "heading": "timeouts"}))
    assert by_last.json()["data"]["headingPath"] == section["headingPath"]


EVENTS = ("<p>Emitters call listener functions when an event is emitted, in the order they were added.</p>"
          "<{h}>Handling events only once</{h}><p>A listener registered with <code>once()</code> is called at"
          " most one time: the emitter unregisters the listener and then calls it.</p>"
          "<{h}>Error events</{h}><p>When an emitter fails it emits an error event; without a listener for"
          " it the error is thrown and the process exits.</p>")
TIMERS = ("<p>Timers schedule a function to be called at some future period of time.</p>"
          "<{h}>Cancelling timers</{h}><p>Pass the object a timer function returned to its clear function to"
          " stop a scheduled call before it runs.</p>")


@pytest_twisted.inlineCallbacks
def test_a_section_a_compilation_page_repeats_is_found_once_and_pushes_nothing_out(web, job_runner, site,
                                                                                  database_url):
    # A "printable chapter" page holding two pages whole (too few for the document to leave it out
    # as a compilation): its copies nest a level deeper and link elsewhere, but read the same.
    links = ["events.html", "timers.html", "print.html"]
    site.add_page(D, "Runtime documentation", *links)
    site.add(D + "events.html", Reply(body=page("Events", *links, body=EVENTS.format(h="h2"))))
    site.add(D + "timers.html", Reply(body=page("Timers", *links, body=TIMERS.format(h="h2"))))
    site.add(D + "print.html", Reply(body=page("Events and timers, printable", *links, body=(
        "<h2>Events</h2>" + EVENTS.format(h="h3") + "<h2>Timers</h2>" + TIMERS.format(h="h3")))))
    job_id = yield crawl(web, job_runner, site.url(D))

    def search(q, limit):
        return call(web.get, "/api/v3/search", params={"q": q, "job": job_id, "limit": str(limit)})

    once = [(hit["url"], hit["headingPath"][-1])
            for hit in (yield search("listener called at most once", 10)).json()["data"]["results"]]
    assert once[0] == (site.url(D + "events.html"), "Handling events only once")
    assert [hit for hit in once if hit[1] == "Handling events only once"] == once[:1], once
    # every section of the events page ties with its copy: the copies would take half the places
    found = (yield search("listener emitter", 3)).json()["data"]["results"]
    assert sorted((hit["url"], hit["headingPath"][-1]) for hit in found) == [
        (site.url(D + "events.html"), heading) for heading in ("Error events", "Events", "Handling events only once")]
    repeated = sql(database_url, "SELECT url, heading FROM library_sections WHERE job_id = $1 AND repeated"
                                 " ORDER BY page_ordinal, ordinal", uuid.UUID(job_id))
    assert [(row["url"], row["heading"]) for row in repeated] == [(site.url(D + "print.html"), heading) for heading in (
        "Events", "Handling events only once", "Error events", "Timers", "Cancelling timers")]
    # the compilation stays in the document: its page reads as crawled
    printable = (yield call(web.get, f"/api/v3/jobs/{job_id}/pages",
                            params={"url": site.url(D + "print.html")})).json()["data"]
    assert "Cancelling timers" in printable["markdown"]


@pytest_twisted.inlineCallbacks
def test_bad_library_parameters_get_the_apis_4xx_shape(web, job_runner, site):
    job_id = yield crawl(web, job_runner, library_site(site))
    url = site.url(D + "config.html")
    cases = [
        ("/api/v3/search", {}, 422, "q"),
        ("/api/v3/search", {"q": "  "}, 422, "q"),
        ("/api/v3/search", {"q": "x" * 501}, 422, "q"),
        ("/api/v3/search", {"q": "timeout", "limit": "0"}, 422, "limit"),
        ("/api/v3/search", {"q": "timeout", "limit": "ten"}, 422, "limit"),
        ("/api/v3/search", {"q": "timeout", "sort": "date"}, 422, "sort"),
        ("/api/v3/search", {"q": "timeout", "job": "nope"}, 422, "job"),
        ("/api/v3/search", {"q": "timeout", "site": "no.such.site"}, 404, "site"),
        ("/api/v3/search", {"q": "timeout", "job": str(uuid.uuid4())}, 404, "job"),
        (f"/api/v3/jobs/{job_id}/pages", {}, 422, "url"),
        (f"/api/v3/jobs/{job_id}/pages", {"url": url, "max_tokens": "5"}, 422, "max_tokens"),
        (f"/api/v3/jobs/{job_id}/pages", {"url": url, "max_tokens": "10000000"}, 422, "max_tokens"),
        (f"/api/v3/jobs/{job_id}/pages", {"url": site.url("/nowhere.html")}, 404, "url"),
        (f"/api/v3/jobs/{job_id}/sections", {"url": url}, 422, "heading"),
        (f"/api/v3/jobs/{job_id}/sections", {"url": url, "heading": "No such heading"}, 404, "heading"),
        (f"/api/v3/jobs/{uuid.uuid4()}/outline", {}, 404, "jobId"),
        ("/api/v3/jobs/not-a-uuid/outline", {}, 404, "jobId"),
    ]
    for path, params, status, field in cases:
        response = yield call(web.get, path, params=params)
        body = response.json()
        assert response.status_code == status, (path, params, body)
        assert body["success"] is False and body["error"] and body.get("field") == field, (path, params, body)
    pending = (yield call(web.post, "/api/v3/jobs", json={"url": site.url("/slow/")})).json()["data"]["jobId"]
    response = yield call(web.get, f"/api/v3/jobs/{pending}/outline")
    assert response.status_code == 409 and response.json()["field"] == "status", response.text


@pytest_twisted.inlineCallbacks
def test_the_web_page_searches_the_library_and_links_each_result_to_its_page(web, job_runner, site):
    job_id = yield crawl(web, job_runner, library_site(site))
    home = yield call(web.get, "/")
    assert 'action="/search"' in home.text and 'name="q"' in home.text
    response = yield call(web.get, "/search", params={"q": "exponential backoff"})
    assert response.status_code == 200
    # (other tests' sites are in this database's library too)
    link = re.search(rf'<a href="(/library/{job_id}/page\?url=[^"]+)">Failures › Retrying failed requests</a>',
                     response.text)
    assert link, response.text
    assert "<mark>backoff</mark>" in response.text
    fragment = yield call(web.get, "/search", params={"q": "exponential backoff"}, headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and "Retrying failed requests" in fragment.text
    detail = yield call(web.get, link.group(1).replace("&amp;", "&"))
    assert detail.status_code == 200 and "Client(retries=5)" in detail.text
    nothing = yield call(web.get, "/search", params={"q": "zyzzyva"})
    assert "Nothing in the library matches" in nothing.text


@pytest_twisted.inlineCallbacks
def test_jobs_completed_before_the_library_existed_are_indexed_at_start_up(web, job_runner, site, settings,
                                                                         database_url):
    job_id = yield crawl(web, job_runner, library_site(site))
    sql(database_url, "DELETE FROM library_sections WHERE job_id = $1", uuid.UUID(job_id))
    sql(database_url, "UPDATE crawl_jobs SET library_indexed_at = NULL, site_name = NULL WHERE id = $1",
        uuid.UUID(job_id))
    before = yield call(web.get, "/api/v3/search", params={"q": "timeout", "job": job_id})
    assert before.status_code == 409, "not in the library"

    def search(client):
        response = client.get("/api/v3/search", params={"q": "timeout", "job": job_id})
        return response.status_code == 200 and response.json()["data"]["results"]

    # a restarted app: its start-up indexes the job in the background while it serves
    with TestClient(create_app(dataclasses.replace(settings, run_crawls=False))) as client:
        found = yield wait_until(lambda: search(client), 30)
    assert found[0]["jobId"] == job_id and found[0]["headingPath"][-1] == "Timeouts"


@pytest_twisted.inlineCallbacks
def test_a_job_is_labelled_through_the_api_and_its_sites_newest_job_stays_the_one_searched(web, job_runner, site):
    url = library_site(site)
    older = yield crawl(web, job_runner, url)
    labelled = yield call(web.patch, f"/api/v3/jobs/{older}", json={"site": " acme-docs ", "version": "1.0"})
    assert labelled.status_code == 200, labelled.text
    assert labelled.json()["data"] == {"jobId": older, "site": "acme-docs", "version": "1.0", "status": "completed",
                                       "searchedByDefault": True}
    listed = [s for s in (yield call(web.get, "/api/v3/sites")).json()["data"] if s["site"] == "acme-docs"]
    assert [(s["jobId"], s["version"]) for s in listed] == [(older, "1.0")]

    newer = yield crawl(web, job_runner, url)  # a recrawl: labelled by its URL until named too
    renamed = (yield call(web.patch, f"/api/v3/jobs/{newer}", json={"site": "acme-docs"})).json()["data"]
    assert (renamed["site"], renamed["version"], renamed["searchedByDefault"]) == ("acme-docs", None, True)
    found = (yield call(web.get, "/api/v3/search", params={"q": "timeout", "site": "acme-docs"})).json()["data"]
    assert {hit["jobId"] for hit in found["results"]} == {newer}
    everywhere = (yield call(web.get, "/api/v3/search", params={"q": "timeout seconds", "limit": "50"})).json()["data"]
    assert newer in {hit["jobId"] for hit in everywhere["results"]}
    assert older not in {hit["jobId"] for hit in everywhere["results"]}
    pinned = (yield call(web.get, "/api/v3/search", params={"q": "timeout", "job": older})).json()["data"]
    assert {hit["jobId"] for hit in pinned["results"]} == {older}, "an older job is still searched when named"

    cleared = (yield call(web.patch, f"/api/v3/jobs/{older}", json={"version": None})).json()["data"]
    assert (cleared["site"], cleared["version"], cleared["searchedByDefault"]) == ("acme-docs", None, False)


@pytest_twisted.inlineCallbacks
def test_bad_labels_get_the_apis_4xx_shape(web, job_runner, site):
    job_id = yield crawl(web, job_runner, library_site(site))
    cases = [
        ({}, 422, "site"),
        ({"site": ""}, 422, "site"),
        ({"site": "   "}, 422, "site"),
        ({"site": None}, 422, "site"),
        ({"site": 7}, 422, "site"),
        ({"site": "x" * 201}, 422, "site"),
        ({"site": "acme\ndocs"}, 422, "site"),
        ({"version": ["1"]}, 422, "version"),
        ({"version": "v" * 101}, 422, "version"),
        ({"site": "acme", "name": "Acme"}, 422, "name"),
    ]
    for body, status, field in cases:
        response = yield call(web.patch, f"/api/v3/jobs/{job_id}", json=body)
        assert response.status_code == status, (body, response.text)
        assert response.json()["success"] is False and response.json()["field"] == field, (body, response.text)
    not_json = yield call(web.patch, f"/api/v3/jobs/{job_id}", content=b"site=acme",
                          headers={"content-type": "application/x-www-form-urlencoded"})
    assert not_json.status_code == 415 and not_json.json()["field"] == "content-type"
    not_object = yield call(web.patch, f"/api/v3/jobs/{job_id}", content=b"[1]", headers={"content-type": "application/json"})
    assert not_object.status_code == 400 and not_object.json()["success"] is False
    for unknown in (str(uuid.uuid4()), "not-a-uuid"):
        response = yield call(web.patch, f"/api/v3/jobs/{unknown}", json={"site": "acme"})
        assert response.status_code == 404 and response.json()["field"] == "jobId", response.text
    unchanged = (yield call(web.get, "/api/v3/sites")).json()["data"]
    assert [s["site"] for s in unchanged if s["jobId"] == job_id] == [f"127.0.0.1:{site.port}/docs"]
