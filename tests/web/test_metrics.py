"""`/metrics`: Prometheus text from the app's own registry, figures from PostgreSQL, the token."""
from __future__ import annotations

import pytest

pytest.importorskip("prometheus_client")

from prometheus_client.parser import text_string_to_metric_families  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

# the web tests' fixtures (database_url, redis_prefix, api, api_site) come from tests/web/conftest.py
from tests.web.conftest import REDIS_URL, run_async, sql  # noqa: E402,F401
from webapp.app import create_app  # noqa: E402
from webapp.settings import Settings  # noqa: E402


def samples(text: str) -> dict[tuple[str, tuple], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


TOKEN = {"Authorization": "Bearer s3cret"}


@pytest.fixture
def scraper(database_url, redis_prefix):
    settings = Settings(database_url=database_url, redis_url=REDIS_URL, redis_prefix=redis_prefix,
                        db_pool_size=2, run_crawls=False, metrics_token="s3cret")
    with TestClient(create_app(settings)) as client:
        yield client


def test_metrics_count_jobs_and_the_queue_from_the_database(api, scraper, api_site, database_url):
    before = samples(scraper.get("/metrics", headers=TOKEN).text)
    response = api.post("/api/v3/jobs", json={"url": api_site.url("/docs/")})
    assert response.status_code == 201
    job_id = response.json()["data"]["jobId"]
    sql(database_url, "INSERT INTO job_urls (job_id, url, normalized_url) VALUES ($1::uuid, $2, $2)",
        job_id, api_site.url("/docs/"))
    after = scraper.get("/metrics", headers=TOKEN)
    assert after.status_code == 200 and after.headers["content-type"].startswith("text/plain")
    now = samples(after.text)
    assert now[("docspasta_jobs_created_total", ())] == before[("docspasta_jobs_created_total", ())] + 1
    # crawls are off in `api`: the job stays pending with its start URL queued (inserted above)
    assert now[("docspasta_jobs_active", (("status", "pending"),))] >= 1
    assert now[("docspasta_queue_depth", ())] >= 1
    for name in ("docspasta_jobs_completed_total", "docspasta_jobs_failed_total", "docspasta_pages_crawled_total",
                 "docspasta_sse_connections", "docspasta_url_processing_seconds_count"):
        assert (name, ()) in now, name
    assert ("docspasta_url_processing_seconds_bucket", (("le", "+Inf"),)) in now


def test_metrics_need_the_token(scraper, api):
    assert scraper.get("/metrics").status_code == 401
    assert scraper.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    ok = scraper.get("/metrics", headers=TOKEN)
    assert ok.status_code == 200 and "docspasta_jobs_created_total" in ok.text
    # no token configured: refused, and the answer says what to set
    refused = api.get("/metrics", headers=TOKEN)
    assert refused.status_code == 401 and "DOCSPASTA_METRICS_TOKEN is not set" in refused.text
    assert "docspasta_jobs_created_total" not in refused.text


def test_each_app_has_its_own_registry(database_url, redis_prefix):
    settings = Settings(database_url=database_url, redis_url=REDIS_URL, redis_prefix=redis_prefix,
                        db_pool_size=2, run_crawls=False, metrics_token="s3cret")
    with TestClient(create_app(settings)) as one, TestClient(create_app(settings)) as two:
        assert one.get("/metrics", headers=TOKEN).status_code == two.get("/metrics", headers=TOKEN).status_code == 200


def test_open_sse_streams_are_counted_while_open():
    from webapp.views.metrics import Metrics

    metrics = Metrics()

    async def body():
        yield b"data: 1\n\n"
        yield b"data: 2\n\n"

    async def scenario():
        stream = metrics.track_stream(body())
        assert await stream.__anext__() == b"data: 1\n\n"
        during = metrics.registry.get_sample_value("docspasta_sse_connections")
        await stream.aclose()  # the client went away
        return during, metrics.registry.get_sample_value("docspasta_sse_connections")

    assert run_async(scenario()) == (1, 0)  # a loop of its own: the reactor's runs in this thread
