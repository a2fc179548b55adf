"""PostgreSQL or Redis going away: every page and API call answers 503 with a message, never 500.

`docspasta serve` runs against a PostgreSQL and a Redis of the test's own (the machine's are
never stopped): PostgreSQL on a Unix socket, as the embedded one is, so a stopped server is a
socket file that is gone (FileNotFoundError), the case that answered 500 on every page.
"""
from __future__ import annotations

import time

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Route
from starlette.testclient import TestClient

from tests.web.server import PrivatePostgres, PrivateRedis, ServerProcess, server_env
from tests.web.test_server import add_site, create
from webapp.guards.errors import exception_handlers

pytest.importorskip("pgserver")


@pytest.fixture
def outage(tmp_path, site, redis_prefix):
    postgres = PrivatePostgres().start()
    redis = PrivateRedis().start()
    server = None
    try:
        env = server_env(postgres.url, redis.url, redis_prefix, f"127.0.0.1:{site.port}")
        server = ServerProcess(env, tmp_path / "serve.log").wait_ready()
        yield server, postgres, redis
    finally:
        if server is not None:
            server.stop()
        redis.kill()
        postgres.close()


def wait_job(server, job_id, timeout=60.0):
    deadline = time.monotonic() + timeout
    while True:
        job = httpx.get(f"{server.url}/api/v3/jobs/{job_id}", timeout=5).json()["data"]
        if job["status"] in ("completed", "failed", "cancelled") or time.monotonic() > deadline:
            return job
        time.sleep(0.1)  # a poll of the job's state, as a user would watch it


def requests_of_a_user(server, job_id, site):
    """(what, response) for the pages and API calls a user makes."""
    url = server.url
    return [
        ("front page", httpx.get(url + "/", timeout=15)),
        ("job page", httpx.get(f"{url}/jobs/{job_id}", timeout=15)),
        ("job list", httpx.get(url + "/api/v3/jobs", timeout=15)),
        ("job status", httpx.get(f"{url}/api/v3/jobs/{job_id}", timeout=15)),
        ("document", httpx.get(f"{url}/api/v3/jobs/{job_id}/document.md", timeout=15)),
        ("stream", httpx.get(f"{url}/api/v3/jobs/{job_id}/stream", timeout=15)),
        ("new job", httpx.post(url + "/api/v3/jobs", json={"url": site.url("/o/docs/")}, timeout=15)),
    ]


def test_postgresql_going_away_answers_503_with_a_message_then_recovers(outage, site):
    server, postgres, redis = outage
    job_id = create(server, add_site(site, "o", 2, delay=0), maxPages=3, maxDepth=1)
    assert wait_job(server, job_id)["status"] == "completed"

    postgres.stop()
    for what, response in requests_of_a_user(server, job_id, site):
        assert response.status_code == 503, (what, response.status_code, response.text, server.log())
        assert response.headers["retry-after"] == "5", what
        if response.request.url.path.startswith("/api/"):
            body = response.json()
            assert body["success"] is False and body["error"].startswith("PostgreSQL is unavailable"), (what, body)
        else:
            assert response.text.startswith("Service unavailable: PostgreSQL is unavailable"), (what, response.text)

    postgres.start()  # the same socket: the app reconnects by itself
    answers = {what: response.status_code for what, response in requests_of_a_user(server, job_id, site)}
    assert answers == {"front page": 200, "job page": 200, "job list": 200, "job status": 200, "document": 200,
                       "stream": 200, "new job": 201}, server.log()
    assert "Exception in ASGI application" not in server.log()


def test_redis_going_away_leaves_pages_and_api_working(outage, site):
    server, postgres, redis = outage
    job_id = create(server, add_site(site, "o", 2, delay=0), maxPages=3, maxDepth=1)
    assert wait_job(server, job_id)["status"] == "completed"

    redis.kill()  # events are lost meanwhile; the state is in PostgreSQL
    answers = {what: response.status_code for what, response in requests_of_a_user(server, job_id, site)}
    assert answers == {"front page": 200, "job page": 200, "job list": 200, "job status": 200, "document": 200,
                       "stream": 200, "new job": 201}, server.log()

    postgres.stop()  # both gone: PostgreSQL, which holds the state, is the one named
    response = httpx.get(f"{server.url}/api/v3/jobs/{job_id}", timeout=15)
    assert response.status_code == 503 and "PostgreSQL is unavailable" in response.json()["error"]
    assert "Exception in ASGI application" not in server.log()


def test_an_os_error_of_our_own_is_a_500_not_an_outage():
    def broken(request):
        open("/nonexistent/docspasta/template")  # a bug of ours, with no database in sight

    app = Starlette(routes=[Route("/api/v3/broken", broken)], exception_handlers=exception_handlers())
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/api/v3/broken").status_code == 500
