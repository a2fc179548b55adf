"""Finalizing a large job leaves the reactor free: other crawls and the lease renewals go on.

A job whose pages are all stored (written here with SQL, as a worker that died
after crawling would leave them) is resumed by the runner, finds nothing left to
fetch and is finalized. Meanwhile a LoopingCall on the same reactor records when
it ran. Assembling the pages is most of the finalizing step; on the reactor thread
it would leave a gap with no tick at all across the middle of the step.
"""
from __future__ import annotations

import json
import time
import uuid

import pytest_twisted
import redis

from spiders.crawl.urls import normalize_url
from spiders.jobs.events import stream_key
from tests.web.conftest import REDIS_URL, D, sql, wait_until

PAGES = 1000


def markdown(n: int) -> str:
    """About 4 kB of documentation-like Markdown, different on every page, with a shared footer."""
    words = " ".join(f"term{(n * 7 + k) % 997} explains how step {k} of page {n} works" for k in range(12))
    return (f"# Page {n}\n\n{words}.\n\n## Usage\n\n```python\nimport lib\nlib.run({n})\n```\n\n"
            + "\n\n".join(f"- item {k}: {words[k * 40:(k + 1) * 40]}" for k in range(20))
            + f"\n\n{words} and more.\n\n{words[::-1]}\n\n"
            "Copyright the project authors. Licensed under the Apache License, version 2.0.\n")


def stored_job(database_url: str, start_url: str) -> uuid.UUID:
    """A running job with every page stored and no URL left, whose worker's lease has run out."""
    job_id = uuid.uuid4()
    sql(database_url,
        "INSERT INTO crawl_jobs (id, status, current_step, initial_url, max_pages, max_depth, quality_threshold,"
        " processed_urls, discovered_urls, total_urls, started_at, lease_owner, lease_expires_at)"
        " VALUES ($1, 'running', 'processing', $2, $3, 5, 0, $3, $3, $3, now(), 'a-dead-worker',"
        " now() - interval '1 minute')", job_id, start_url, PAGES)
    urls = [start_url] + [f"{start_url}p{n}.html" for n in range(1, PAGES)]
    sql(database_url,
        "INSERT INTO job_urls (job_id, url, normalized_url, status, depth, final_url, title, markdown,"
        " quality, word_count, token_count, http_status, fetched_at, finished_at)"
        " SELECT $1, u.url, u.key, 'completed', 1, u.url, 'Page ' || u.n, u.md, 80, 600, 900, 200, now(), now()"
        " FROM unnest($2::text[], $3::text[], $4::text[], $5::int[]) AS u(url, key, md, n)",
        job_id, urls, [normalize_url(url) for url in urls], [markdown(n) for n in range(PAGES)],
        list(range(PAGES)))
    return job_id


def stamp(event: dict, field: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(json.loads(event[b"data"])["job"][field]).timestamp()


@pytest_twisted.inlineCallbacks
def test_the_reactor_keeps_running_while_a_large_job_is_finalized(web, job_runner, site, database_url,
                                                                   redis_prefix):
    from twisted.internet import task

    site.add_page(D, "Start")
    job_id = stored_job(database_url, site.url(D))
    ticks: list[float] = []
    loop = task.LoopingCall(lambda: ticks.append(time.time()))
    loop.start(0.01)
    try:
        yield job_runner.run_job(job_id)
    finally:
        loop.stop()

    rows = yield wait_until(lambda: sql(database_url, "SELECT status, error_details, final_token_count"
                                                      " FROM crawl_jobs WHERE id = $1", job_id))
    assert rows[0]["status"] == "completed", rows[0]["error_details"]
    assert rows[0]["final_token_count"] > 0
    client = redis.Redis.from_url(REDIS_URL)
    try:
        events = {fields[b"type"]: fields for _, fields in client.xrange(stream_key(redis_prefix, job_id))}
    finally:
        client.close()
    # The step, as PostgreSQL stamped it: from entering `finalizing` to the document's commit.
    began = stamp(events[b"step_changed"], "updatedAt")
    ended = stamp(events[b"job_completed"], "completedAt")
    third = (ended - began) / 3
    during = [t for t in ticks if began + third <= t <= ended - third]
    assert during, (f"no reactor tick in the middle third of finalizing ({ended - began:.2f} s): the reactor "
                    f"was blocked; ticks around it: {[round(t - began, 2) for t in ticks if began <= t <= ended]}")
