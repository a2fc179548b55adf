"""Private documentation through the web app: a job's headers and cookies crawl a site that refuses
everyone else, are kept apart while the job runs, go with its end, and are never shown, exported,
logged or carried into a re-run."""
from __future__ import annotations

import logging
import re
import uuid

import pytest
import pytest_twisted

from tests.privatesite import COOKIE, COOKIE_NAME, HEADER, PAGES, TOKEN, private_site
from tests.shared_services import REDIS_URL
from tests.web.conftest import FAST_CRAWL, NO_LIMITS, call, form_token, sql
from tests.web.test_jobs import start, wait_ended
from webapp.settings import Settings

SECRETS = {"headers": {HEADER: TOKEN}, "cookies": {COOKIE_NAME: COOKIE}}


@pytest.fixture
def settings(database_url, redis_prefix, site, other_site):
    """The web fixtures' settings, with the second origin allowed too (else the guard, not the
    secrets' scoping, would keep it from being reached)."""
    return Settings(database_url=database_url, redis_url=REDIS_URL, redis_prefix=redis_prefix,
                    allow_hosts=f"127.0.0.1:{site.port},127.0.0.1:{other_site.port}", crawl_settings=FAST_CRAWL,
                    db_pool_size=4, crawl_db_pool_size=4, **NO_LIMITS)


def holding(database_url: str, *values: str) -> list[str]:
    """Every table (and column) of the database whose rows hold any of `values`, anywhere."""
    tables = [row["table_name"] for row in sql(
        database_url, "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")]
    found = []
    for table in tables:
        for value in values:
            if sql(database_url, f'SELECT 1 FROM "{table}" t WHERE t::text LIKE $1 LIMIT 1', f"%{value}%"):
                found.append(f"{table}: {value}")
    return found


@pytest_twisted.inlineCallbacks
def test_a_private_job_crawls_its_site_whole_and_leaves_no_secret_behind(web, job_runner, site, other_site,
                                                                          database_url, caplog):
    private = private_site(site, other_site)
    caplog.set_level(logging.DEBUG)
    job_id = yield start(web, private.start, maxPages=20, maxDepth=1, **SECRETS)
    final = yield wait_ended(web, job_runner, job_id)

    assert final["status"] == "completed" and final["processedUrls"] == PAGES + 2, final  # start, p0..p3, hidden
    assert (final["privateHeaders"], final["privateCookies"]) == (1, 1)
    assert private.leaked() == [] and "/docs/landing.html" in [path for path, _ in private.other_requests()]
    # The job ended: its secrets went with it, and no row of any table holds either value.
    assert sql(database_url, "SELECT 1 FROM job_secrets WHERE job_id = $1", uuid.UUID(job_id)) == []
    assert holding(database_url, TOKEN, COOKIE) == []
    # Not shown, not exported, not in the outputs.
    html = (yield call(web.get, f"/jobs/{job_id}")).text
    assert re.search(r'id="job-private">1 header, 1 cookie \(not shown\)</span>', html), html
    outputs = ""
    for name in ("export.json", "document.md", "llms.txt", "llms-full.txt"):
        response = yield call(web.get, f"/api/v3/jobs/{job_id}/{name}")
        assert response.status_code == 200
        outputs += response.text
    assert HEADER not in html + outputs and COOKIE_NAME not in html + outputs
    assert TOKEN not in html + outputs and COOKIE not in html + outputs
    # Nor logged: Scrapy's DEBUG log of each request and redirect, and ours.
    logged = "\n".join(record.getMessage() + (record.exc_text or "") for record in caplog.records)
    assert "Crawled (200)" in logged and "Redirecting (302)" in logged
    assert TOKEN not in logged and COOKIE not in logged


def test_secrets_are_kept_apart_while_a_job_waits_and_go_when_it_is_cancelled(api, api_site, database_url):
    response = api.post("/api/v3/jobs", json={"url": api_site.url("/docs/"), **SECRETS})
    assert response.status_code == 201, response.text
    job_id = uuid.UUID(response.json()["data"]["jobId"])
    kept = sql(database_url, "SELECT headers::text || cookies::text AS held FROM job_secrets WHERE job_id = $1",
               job_id)
    assert len(kept) == 1 and TOKEN in kept[0]["held"] and COOKIE in kept[0]["held"]
    assert sql(database_url, "SELECT 1 FROM crawl_jobs c WHERE id = $1 AND c::text LIKE $2", job_id, f"%{TOKEN}%") == []
    shown = api.get(f"/api/v3/jobs/{job_id}").text
    assert TOKEN not in shown and HEADER not in shown and '"privateHeaders":1' in shown.replace(" ", "")
    assert api.post(f"/api/v3/jobs/{job_id}/cancel").status_code == 200
    assert sql(database_url, "SELECT 1 FROM job_secrets WHERE job_id = $1", job_id) == []


@pytest.mark.parametrize(("fields", "message"), [
    ({"headers": {"Host": "evil.example"}}, "headers: Host is a header DocsPasta does not let a job set"),
    ({"headers": {"Transfer-Encoding": "chunked"}}, "headers: Transfer-Encoding is a header DocsPasta does not"),
    ({"headers": {"X-Token": f"{TOKEN}\r\nHost: evil.example"}},
     "headers: the value of X-Token contains a line break or another control character"),
    ({"cookies": {"session": f"{COOKIE}; admin=1"}}, "cookies: the value of session may not contain"),
    ({"headers": ["X-Token"]}, "headers: header 1 is not written Name: value"),
    ({"headers": "X-Token: a"}, None),  # text is fine too (one header per line)
])
def test_the_api_refuses_bad_headers_and_cookies_with_a_422_that_repeats_no_value(api, api_site, fields, message):
    response = api.post("/api/v3/jobs", json={"url": api_site.url("/docs/"), **fields})
    if message is None:
        assert response.status_code == 201, response.text
        return
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["success"] is False and body["error"].startswith(message) and body["field"] in fields
    assert TOKEN not in response.text and COOKIE not in response.text


def test_the_form_refuses_a_bad_header_and_never_shows_the_values_back(api, api_site):
    token = form_token(api)
    response = api.post("/jobs", data={"url": api_site.url("/docs/"), "max_pages": "5", "csrf_token": token,
                                       "headers": f"Connection: close\nX-Token: {TOKEN}",
                                       "cookies": f"{COOKIE_NAME}={COOKIE}"})
    assert response.status_code == 422
    assert 'id="headers-error"' in response.text and "Connection is a header DocsPasta does not let a job set" in (
        response.text)
    assert TOKEN not in response.text and COOKIE not in response.text
    assert 'id="secrets-again"' in response.text  # and it says they must be entered again


def test_a_private_job_is_not_refreshed_without_its_secrets(api, api_site, database_url):
    response = api.post("/api/v3/jobs", json={"url": api_site.url("/docs/"), **SECRETS})
    job_id = response.json()["data"]["jobId"]
    sql(database_url, "UPDATE crawl_jobs SET status = 'completed', current_step = 'done', site_name = 'x'"
        " WHERE id = $1::uuid", job_id)
    refused = api.post(f"/api/v3/jobs/{job_id}/refresh")
    assert refused.status_code == 409 and "headers or cookies, which are not kept" in refused.json()["error"]
    page = api.get(f"/jobs/{job_id}").text
    assert 'id="refresh-private"' in page and 'id="refresh-form"' not in page
