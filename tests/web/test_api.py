"""The JSON API's contract with crawls switched off: shapes, validation, unknown ids, migrations."""
from __future__ import annotations

import asyncio
import dataclasses
import json
import uuid

import asyncpg
import pytest

from tests.web.conftest import run_async, sql
from webapp.migrate import available, migrate


def test_create_returns_the_contract_shape_and_a_pending_job(api, api_site):
    response = api.post("/api/v3/jobs", json={"url": api_site.url("/docs/"), "maxPages": 5, "maxDepth": 1,
                                              "qualityThreshold": 30})
    assert response.status_code == 201
    body = response.json()
    assert body["success"] is True
    assert set(body["data"]) == {"jobId", "url", "status"}
    assert body["data"]["status"] == "pending"
    job = api.get(f"/api/v3/jobs/{body['data']['jobId']}").json()["data"]
    for field in ("id", "status", "currentStep", "totalUrls", "processedUrls", "failedUrls", "discoveredUrls",
                  "createdAt", "updatedAt"):
        assert field in job
    assert (job["status"], job["currentStep"]) == ("pending", "init")
    assert (job["maxPages"], job["maxDepth"], job["qualityThreshold"], job["scope"], job["render"]) == (
        5, 1, 30, "prefix", "auto")


def test_defaults_follow_the_architecture(api, api_site):
    job_id = api.post("/api/v3/jobs", json={"url": api_site.url("/docs/")}).json()["data"]["jobId"]
    job = api.get(f"/api/v3/jobs/{job_id}").json()["data"]
    assert (job["maxPages"], job["maxDepth"], job["qualityThreshold"]) == (50, 2, 20)


@pytest.mark.parametrize("body, field", [
    ({}, "url"),
    ({"url": ""}, "url"),
    ({"url": "ftp://example.org/"}, "url"),
    ({"url": "javascript:alert(1)"}, "url"),
    ({"url": 42}, "url"),
    ({"url": "http://127.0.0.1:1/docs/"}, "url"),  # the SSRF guard: not on the allow-list
    ({"url": "OK", "maxPages": 0}, "maxPages"),
    ({"url": "OK", "maxPages": 201}, "maxPages"),
    ({"url": "OK", "maxPages": "ten"}, "maxPages"),
    ({"url": "OK", "maxPages": 2.5}, "maxPages"),
    ({"url": "OK", "maxPages": True}, "maxPages"),
    ({"url": "OK", "maxPages": [3]}, "maxPages"),
    ({"url": "OK", "maxDepth": 0}, "maxDepth"),
    ({"url": "OK", "maxDepth": 6}, "maxDepth"),
    ({"url": "OK", "qualityThreshold": -1}, "qualityThreshold"),
    ({"url": "OK", "qualityThreshold": 101}, "qualityThreshold"),
    ({"url": "OK", "scope": "galaxy"}, "scope"),
    ({"url": "OK", "render": "sometimes"}, "render"),
    ({"url": "OK", "max_pages": 3}, "max_pages"),  # snake_case is the form's, not the API's
    ({"url": "http://x:99999/"}, "url"),
    ({"url": "http://[::1/"}, "url"),
    ({"url": "http://127.0.0.1:abc/"}, "url"),
    ({"url": "http://x:-1/"}, "url"),
    ({"url": "http://x/\ud800"}, "url"),
    ({"url": "OK", "scope": "\udfff"}, "scope"),
    ({"url": "OK", "maxPages": float("nan")}, "maxPages"),
    ({"url": "OK", "maxPages": 10 ** 40}, "maxPages"),
])
def test_bad_input_is_a_4xx_json_error_naming_the_field(api, api_site, body, field):
    if body.get("url") == "OK":
        body = {**body, "url": api_site.url("/docs/")}
    # json.dumps as Python writes it: lone surrogates escaped, NaN allowed (as a careless client might send)
    response = api.post("/api/v3/jobs", content=json.dumps(body), headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    error = response.json()
    assert error["success"] is False
    assert error["field"] == field
    assert error["error"].startswith(field)


@pytest.mark.parametrize("raw, content_type", [
    (b"not json", "application/json"),
    (b"[1, 2]", "application/json"),
    (b"", "application/json"),
    (b"\xff\xfe", "application/json"),
])
def test_a_body_that_is_not_a_json_object_is_a_400(api, raw, content_type):
    response = api.post("/api/v3/jobs", content=raw, headers={"content-type": content_type})
    assert response.status_code == 400
    assert response.json()["success"] is False


@pytest.mark.parametrize("method, suffix", [
    ("GET", ""), ("GET", "/stream"), ("POST", "/cancel"), ("GET", "/export.json"),
    ("GET", "/document.md"), ("GET", "/llms.txt"),
])
@pytest.mark.parametrize("job_id", [str(uuid.uuid4()), "not-a-uuid", "1%27%20OR%201=1"])
def test_an_unknown_job_is_a_404_everywhere(api, method, suffix, job_id):
    response = api.request(method, f"/api/v3/jobs/{job_id}{suffix}")
    assert response.status_code == 404
    assert response.json()["success"] is False


def test_wrong_method_and_unknown_route_are_json_errors(api):
    assert api.delete("/api/v3/jobs").status_code == 405
    assert api.get("/api/v3/nothing").json()["success"] is False


def test_outputs_of_an_unfinished_job_are_a_409(api, api_site):
    job_id = api.post("/api/v3/jobs", json={"url": api_site.url("/docs/")}).json()["data"]["jobId"]
    for suffix in ("document.md", "llms.txt"):
        response = api.get(f"/api/v3/jobs/{job_id}/{suffix}")
        assert response.status_code == 409
        assert response.json()["field"] == "status"
    export = api.get(f"/api/v3/jobs/{job_id}/export.json").json()
    assert export["job"]["status"] == "pending" and export["pages"] == [] and export["dropped"] == []


def test_cancel_is_idempotent_and_refused_once_the_job_has_ended(api, api_site, database_url):
    job_id = api.post("/api/v3/jobs", json={"url": api_site.url("/docs/")}).json()["data"]["jobId"]
    first = api.post(f"/api/v3/jobs/{job_id}/cancel")
    again = api.post(f"/api/v3/jobs/{job_id}/cancel")
    assert first.status_code == again.status_code == 200
    assert first.json()["data"]["status"] == again.json()["data"]["status"] == "cancelled"
    other = api.post("/api/v3/jobs", json={"url": api_site.url("/docs/")}).json()["data"]["jobId"]
    sql(database_url, "UPDATE crawl_jobs SET status = 'completed' WHERE id = $1", uuid.UUID(other))
    refused = api.post(f"/api/v3/jobs/{other}/cancel")
    assert refused.status_code == 409 and refused.json()["field"] == "status"


def test_recent_jobs_are_listed_newest_first(api, api_site):
    ids = [api.post("/api/v3/jobs", json={"url": api_site.url(f"/docs/{n}/")}).json()["data"]["jobId"] for n in range(3)]
    listed = [job["id"] for job in api.get("/api/v3/jobs").json()["data"]]
    assert listed[:3] == ids[::-1]


def test_the_job_table_refuses_a_second_row_for_the_same_normalised_url(api, api_site, database_url):
    job_id = uuid.UUID(api.post("/api/v3/jobs", json={"url": api_site.url("/docs/")}).json()["data"]["jobId"])
    insert = "INSERT INTO job_urls (job_id, url, normalized_url) VALUES ($1, $2, $3)"
    sql(database_url, insert, job_id, "http://a/x", "http://a/x")
    with pytest.raises(asyncpg.UniqueViolationError):
        sql(database_url, insert, job_id, "http://a/x#top", "http://a/x")


def test_migrations_are_idempotent_and_safe_when_two_processes_start_at_once(database_url):
    async def twice_at_once() -> list[list[str]]:
        conns = [await asyncpg.connect(database_url) for _ in range(3)]
        try:
            return await asyncio.gather(*(migrate(conn) for conn in conns))
        finally:
            for conn in conns:
                await conn.close()

    results = run_async(twice_at_once())
    assert all(result == [] for result in results), "the app's start-up had already applied them"
    versions = [row["version"] for row in sql(database_url, "SELECT version FROM schema_migrations ORDER BY 1")]
    assert versions == [version for version, _, _ in available()]


def test_migrations_on_a_fresh_database_run_once_when_raced(database_url):
    name = f"docspasta_test_mig_{uuid.uuid4().hex[:8]}"
    admin = database_url.rsplit("/", 1)[0] + "/postgres"
    sql(admin, f'CREATE DATABASE "{name}"')
    fresh = database_url.rsplit("/", 1)[0] + "/" + name
    try:
        async def race() -> list[list[str]]:
            conns = [await asyncpg.connect(fresh) for _ in range(4)]
            try:
                return await asyncio.gather(*(migrate(conn) for conn in conns))
            finally:
                for conn in conns:
                    await conn.close()

        results = run_async(race())
        assert sorted(map(len, results)) == [0, 0, 0, len(available())]
    finally:
        sql(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class FakeLauncher:
    """Records what the app asks of the crawl side."""

    def __init__(self):
        self.submitted: list[uuid.UUID] = []
        self.cancelled: list[uuid.UUID] = []

    def submit(self, job_id):
        self.submitted.append(job_id)

    async def cancel(self, job_id):
        self.cancelled.append(job_id)
        return True


def test_start_up_hands_over_jobs_whose_worker_died_and_pending_ones(settings, database_url, site):
    from starlette.testclient import TestClient

    from webapp.app import create_app

    insert = ("INSERT INTO crawl_jobs (id, status, current_step, initial_url, max_pages, max_depth,"
              " quality_threshold, lease_owner, lease_expires_at)"
              " VALUES ($1, $2, $3, $4, 5, 1, 20, $5, now() + make_interval(secs => $6)) RETURNING id")
    url = site.url("/docs/")
    dead = uuid.uuid4()
    alive = uuid.uuid4()
    waiting = uuid.uuid4()
    # migrations run in the app's lifespan: make sure the tables exist first
    with TestClient(create_app(dataclasses.replace(settings, run_crawls=False))):
        pass
    sql(database_url, insert, dead, "running", "processing", url, "gone-worker", -30)
    sql(database_url, insert, alive, "running", "processing", url, "other-worker", 60)
    sql(database_url, insert, waiting, "pending", "init", url, None, 0)
    launcher = FakeLauncher()
    with TestClient(create_app(settings, launcher=launcher)) as client:
        # the dead worker's job is resumed, not failed; a live worker's job is left to it
        assert client.get(f"/api/v3/jobs/{dead}").json()["data"]["status"] == "running"
        assert dead in launcher.submitted and waiting in launcher.submitted
        assert alive not in launcher.submitted
        assert client.get(f"/api/v3/jobs/{alive}").json()["data"]["status"] == "running"
        response = client.post(f"/api/v3/jobs/{alive}/cancel")
        assert response.json()["data"]["status"] == "cancelled" and launcher.cancelled == [alive]
