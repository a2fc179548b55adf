"""Run a finished job again in one click; the front page's recent jobs, paged, as a fragment of their own."""
from __future__ import annotations

import re
import uuid

from tests.web.conftest import form_token, sql
from tests.web.test_sse import set_status

SETTINGS = {"maxPages": 7, "maxDepth": 1, "qualityThreshold": 35, "scope": "host", "render": "never",
            "tokenBudget": 5000, "include": ["/docs/*"], "exclude": ["/docs/old/*", "/docs/*.pdf"]}
KEPT = ("maxPages", "maxDepth", "qualityThreshold", "scope", "render", "tokenBudget", "include", "exclude")


def created(api, site, **fields) -> str:
    response = api.post("/api/v3/jobs", json={"url": site.url("/docs/"), **fields})
    assert response.status_code == 201, response.text
    return response.json()["data"]["jobId"]


def test_a_finished_job_runs_again_with_the_same_settings_in_one_click(api, api_site, database_url):
    old = created(api, api_site, **SETTINGS)
    set_status(database_url, old, "completed")
    page = api.get(f"/jobs/{old}").text
    assert 'id="rerun"' in page and 'id="rerun-note"' not in page
    response = api.post(f"/jobs/{old}/rerun", data={"csrf_token": form_token(api, f"/jobs/{old}")},
                        follow_redirects=False)
    assert response.status_code == 303
    new = response.headers["location"].rsplit("/", 1)[-1]
    assert response.headers["location"] == f"/jobs/{new}" and new != old
    before, after = api.get(f"/api/v3/jobs/{old}").json()["data"], api.get(f"/api/v3/jobs/{new}").json()["data"]
    assert after["status"] == "pending" and after["url"] == before["url"]
    assert {key: after[key] for key in KEPT} == {key: before[key] for key in KEPT} == SETTINGS
    # htmx: the same, told where to go
    again = api.post(f"/jobs/{old}/rerun", headers={"HX-Request": "true"},
                     data={"csrf_token": form_token(api, f"/jobs/{old}")})
    assert again.status_code == 200 and again.headers["hx-redirect"].startswith("/jobs/")


def test_a_running_job_is_not_run_again_and_a_rerun_needs_the_pages_token(api, api_site):
    job = created(api, api_site)  # pending: crawls are off here
    assert 'id="rerun"' not in api.get(f"/jobs/{job}").text
    refused = api.post(f"/jobs/{job}/rerun", data={"csrf_token": form_token(api, f"/jobs/{job}")})
    assert refused.status_code == 409 and "run it again once it has ended" in refused.json()["error"]
    assert api.post(f"/jobs/{job}/rerun", data={}).status_code == 403


def test_a_private_job_runs_again_from_the_form_which_asks_for_its_secrets_again(api, api_site, database_url):
    old = created(api, api_site, headers={"Authorization": "Bearer zz-secret", "X-Team": "docs"},
                  cookies={"session": "zz-cookie"}, **SETTINGS)
    api.post(f"/api/v3/jobs/{old}/cancel")
    page = api.get(f"/jobs/{old}").text
    assert re.search(r'id="rerun-note">its 2 headers, 1 cookie must be entered again', page), page
    response = api.post(f"/jobs/{old}/rerun", data={"csrf_token": form_token(api, f"/jobs/{old}")},
                        follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == f"/?rerun={old}"
    form = api.get(response.headers["location"]).text
    assert "It sent 2 headers, 1 cookie" in form and "enter them again" in form
    assert 'id="max_pages" name="max_pages" type="number" value="7"' in form
    assert 'value="/docs/old/*, /docs/*.pdf"' in form and 'value="5000"' in form
    assert '<option value="host" selected>' in form and "<details open>" in form
    assert re.search(r'<textarea id="headers"[^>]*></textarea>', form) and "zz-secret" not in form
    jobs = sql(database_url, "SELECT count(*) AS n FROM crawl_jobs WHERE initial_url = $1 AND created_at > "
               "(SELECT created_at FROM crawl_jobs WHERE id = $2)", api_site.url("/docs/"), uuid.UUID(old))
    assert jobs[0]["n"] == 0, "a private job's re-run starts nothing until its secrets are given again"


def test_the_recent_jobs_are_paged_and_refresh_as_a_fragment(api, api_site, database_url):
    per_page = 20  # DOCSPASTA_RECENT_JOBS's default
    for _ in range(per_page + 1):
        created(api, api_site)
    newest = [str(row["id"]) for row in sql(database_url, "SELECT id FROM crawl_jobs ORDER BY created_at DESC, id")]
    first = api.get("/").text
    assert 'hx-trigger="every 2s"' in first and 'id="jobs-next"' in first  # pending jobs listed: polled often
    listed = re.findall(r'data-job-id="([^"]+)"', first)
    assert listed == newest[:per_page]
    fragment = api.get("/?page=2", headers={"HX-Request": "true", "HX-Target": "recent-jobs"})
    assert fragment.status_code == 200 and "<html" not in fragment.text and "<form" not in fragment.text
    assert fragment.text.lstrip().startswith('<div id="recent-jobs" hx-get="/?page=2"')
    assert re.findall(r'data-job-id="([^"]+)"', fragment.text) == newest[per_page:2 * per_page]
    assert 'id="jobs-prev"' in fragment.text
    assert api.get("/?page=999").text.count("data-job-id") == len(newest) - per_page * ((len(newest) - 1) // per_page)
