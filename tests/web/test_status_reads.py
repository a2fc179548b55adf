"""Status reads read the status: a finished job's document is read only by what returns it.

The app talks to PostgreSQL through a relay that counts the bytes the server sends
(tests/web/wiremeter.py), so what is measured is what a request really read.
"""
from __future__ import annotations

import json
import uuid

import pytest
from starlette.testclient import TestClient

from tests.web.conftest import NO_LIMITS, REDIS_URL, form_token, read_stream, sql
from tests.web.wiremeter import WireMeter
from webapp.app import create_app
from webapp.settings import Settings

DOCUMENT_BYTES = 4_000_000
SMALL = 60_000  # a status, an SSE snapshot, a page with its 6,000-character preview: far below this


@pytest.fixture(scope="module")
def metered(database_url, redis_prefix):
    meter = WireMeter.for_url(database_url)
    settings = Settings(database_url=meter.url(database_url), redis_url=REDIS_URL, redis_prefix=redis_prefix,
                        db_pool_size=2, run_crawls=False, **NO_LIMITS)
    with TestClient(create_app(settings)) as client:
        yield client, meter
    meter.close()


@pytest.fixture(scope="module")
def finished_job(metered, database_url):
    """A completed job whose document is 4 MB and llms.txt 400 kB, made directly in the database."""
    job_id = uuid.uuid4()
    section = "## Section {n}\n\nThe function `step({n})` does one part of the work; an example follows.\n\n"
    document = "".join(section.format(n=n) for n in range(DOCUMENT_BYTES // 90))[:DOCUMENT_BYTES]
    sql(database_url,
        "INSERT INTO crawl_jobs (id, status, current_step, initial_url, max_pages, max_depth, quality_threshold,"
        " total_urls, processed_urls, discovered_urls, final_markdown, final_token_count, llms_txt,"
        " started_at, completed_at)"
        " VALUES ($1, 'completed', 'done', 'https://docs.example.org/', 10, 2, 20, 1, 1, 1, $2, 1000000, $3,"
        " now(), now())", job_id, document, "- [Page](https://docs.example.org/p)\n" * 10_000)
    sql(database_url,
        "INSERT INTO job_urls (job_id, url, normalized_url, status, depth, title, markdown, finished_at)"
        " VALUES ($1, 'https://docs.example.org/', 'https://docs.example.org/', 'completed', 0, 'Start',"
        " 'start', now())", job_id)
    return str(job_id), document


def cost(meter: WireMeter, request) -> tuple[int, object]:
    """(bytes PostgreSQL sent while `request()` ran, its result)."""
    before = meter.received
    result = request()
    return meter.received - before, result


def test_the_status_of_a_finished_job_does_not_read_its_document(metered, finished_job):
    client, meter = metered
    job_id, _ = finished_job
    read, response = cost(meter, lambda: client.get(f"/api/v3/jobs/{job_id}"))
    assert response.status_code == 200 and response.json()["data"]["status"] == "completed"
    assert response.json()["data"]["tokenCount"] == 1_000_000
    assert read < SMALL, f"GET /api/v3/jobs/{{id}} read {read:,} bytes from PostgreSQL"


def test_a_stream_on_a_finished_job_does_not_read_its_document(metered, finished_job):
    client, meter = metered
    job_id, _ = finished_job
    read, messages = cost(meter, lambda: read_stream(client, f"/api/v3/jobs/{job_id}/stream"))
    assert [json.loads(m["data"])["type"] for m in messages] == ["snapshot", "job_completed"]
    assert read < SMALL, f"the SSE stream read {read:,} bytes from PostgreSQL"


def test_the_job_page_reads_only_its_preview(metered, finished_job):
    client, meter = metered
    job_id, document = finished_job
    read, response = cost(meter, lambda: client.get(f"/jobs/{job_id}"))
    assert response.status_code == 200 and 'id="document-preview"' in response.text
    assert "4.0 MB" in response.text and document[:500] in response.text and document[6000:6100] not in response.text
    assert read < SMALL, f"the job page read {read:,} bytes from PostgreSQL"
    read, messages = cost(meter, lambda: read_stream(client, f"/jobs/{job_id}/events"))
    assert messages[-1]["event"] == "done" and 'id="document-preview"' in messages[-1]["data"]
    assert read < SMALL, f"the job page's stream read {read:,} bytes from PostgreSQL"


def test_cancelling_a_finished_job_does_not_read_its_document(metered, finished_job):
    client, meter = metered
    job_id, _ = finished_job
    read, response = cost(meter, lambda: client.post(f"/api/v3/jobs/{job_id}/cancel"))
    assert response.status_code == 409
    assert read < SMALL, f"a refused cancel read {read:,} bytes from PostgreSQL"
    token = form_token(client)
    read, response = cost(meter, lambda: client.post(f"/jobs/{job_id}/cancel", data={"csrf_token": token},
                                                     headers={"HX-Request": "true"}))
    assert response.status_code == 200 and 'data-status="completed"' in response.text
    assert read < SMALL, f"the form's cancel read {read:,} bytes from PostgreSQL"


def test_the_downloads_still_read_the_whole_document(metered, finished_job):
    client, meter = metered
    job_id, document = finished_job
    read, response = cost(meter, lambda: client.get(f"/api/v3/jobs/{job_id}/document.md"))
    assert response.status_code == 200 and response.text == document
    assert DOCUMENT_BYTES <= read < DOCUMENT_BYTES + SMALL, read  # the document once, not twice
    response = client.get(f"/api/v3/jobs/{job_id}/llms.txt")
    assert response.status_code == 200 and response.text.count("\n") == 10_000
