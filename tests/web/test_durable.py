"""Durable jobs, shown with real processes: kill -9, a second worker, a paused worker.

Every test runs `docspasta serve` and/or `docspasta worker` as subprocesses on a
database of its own, against a fixture site on 127.0.0.1, and checks what a user
would: the job completes, and its result holds every page exactly once.
"""
from __future__ import annotations

import os
import signal
import socket
import time

import httpx
import pytest

from tests.sitefixture import FixtureSite
from tests.web.conftest import REDIS_URL, fresh_database, sql
from tests.web.server import PrivatePostgres, PrivateRedis, ServerProcess, WorkerProcess, server_env
from tests.web.test_server import add_site, create

FAST = {"DOCSPASTA_LEASE_SECONDS": "3", "DOCSPASTA_CLAIM_INTERVAL": "1"}


@pytest.fixture
def world(redis_prefix, tmp_path):
    """A database of its own, a slow fixture site, and the environment for servers and workers."""
    databases = fresh_database()
    database_url = next(databases)
    site = FixtureSite().start()
    env = {**server_env(database_url, REDIS_URL, redis_prefix, f"127.0.0.1:{site.port}"), **FAST}
    started: list = []
    yield database_url, site, env, started, tmp_path
    for process in started:
        process.stop()
    site.stop()
    databases.close()


def job_row(database_url, job_id):
    return sql(database_url, "SELECT * FROM crawl_jobs WHERE id = $1", job_id)[0]


def wait_for(check, timeout=90.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)  # polling another process's database rows: no event to wait on
    raise AssertionError(f"timed out waiting for {what}")


def stored_pages(database_url, job_id):
    return sql(database_url, "SELECT normalized_url, status FROM job_urls WHERE job_id = $1", job_id)


def assert_every_page_once(database_url, job_id, pages):
    rows = stored_pages(database_url, job_id)
    completed = [row["normalized_url"] for row in rows if row["status"] == "completed"]
    assert len(completed) == len(set(completed)) == pages, (len(completed), len(set(completed)), pages)
    job = job_row(database_url, job_id)
    assert job["status"] == "completed" and job["processed_urls"] == pages


@pytest.mark.parametrize("kill_after", [1, 12])
def test_kill_9_mid_crawl_then_a_restart_completes_the_job_with_every_page_once(world, kill_after):
    database_url, site, env, started, tmp = world
    url = add_site(site, "k", 24, delay=0.1)
    server = ServerProcess(env, tmp / "serve-1.log").wait_ready()
    started.append(server)
    job_id = create(server, url, maxPages=50, maxDepth=1)
    wait_for(lambda: job_row(database_url, job_id)["processed_urls"] >= kill_after, what="pages stored")
    server.process.kill()  # kill -9: no shutdown code runs
    server.process.wait(10)
    assert job_row(database_url, job_id)["status"] == "running"

    restarted = ServerProcess(env, tmp / "serve-2.log").wait_ready()
    started.append(restarted)
    wait_for(lambda job_id=job_id: job_row(database_url, job_id)["status"] == "completed", what="the resumed job to complete")
    assert_every_page_once(database_url, job_id, 25)
    export = httpx.get(f"{restarted.url}/api/v3/jobs/{job_id}/export.json", timeout=10).json()
    urls = [page["url"] for page in export["pages"] if page["status"] == "completed"]
    assert len(urls) == len(set(urls)) == 25
    document = httpx.get(f"{restarted.url}/api/v3/jobs/{job_id}/document.md", timeout=10).text
    assert all(f"k page {n}" in document for n in range(24))
    # A client that was following the first server reconnects to the new one and converges.
    from tests.web.test_server import stream

    _, events = stream(restarted, job_id, timeout=30)
    assert events[0]["job"]["status"] in ("running", "completed")
    assert events[-1]["type"] == "job_completed" and events[-1]["job"]["processedUrls"] == 25


def test_two_workers_share_a_set_of_jobs(world):
    database_url, site, env, started, tmp = world
    urls = [add_site(site, f"w{n}", 8, delay=0.05) for n in range(6)]
    api = ServerProcess({**env, "DOCSPASTA_RUN_CRAWLS": "false"}, tmp / "api.log").wait_ready()
    started.append(api)
    job_ids = [create(api, url, maxPages=20, maxDepth=1) for url in urls]
    workers = [WorkerProcess({**env, "DOCSPASTA_MAX_CONCURRENT_JOBS": "2"}, tmp / f"worker-{n}.log")
               for n in range(2)]
    started.extend(workers)
    for job_id in job_ids:
        wait_for(lambda job_id=job_id: job_row(database_url, job_id)["status"] == "completed", what=f"job {job_id}")
        assert_every_page_once(database_url, job_id, 9)
    logs = [worker.log() for worker in workers]
    assert all("claiming jobs" in log for log in logs), logs
    for worker in workers:
        assert worker.stop() == 0, worker.log()


# Every committed row write, with the application_name (`docspasta host:pid`) of its session.
AUDIT = (
    "CREATE TABLE write_audit (at timestamptz NOT NULL DEFAULT clock_timestamp(), app text, tbl text, op text)",
    "CREATE FUNCTION write_audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
    " INSERT INTO write_audit (app, tbl, op) VALUES (current_setting('application_name'), TG_TABLE_NAME, TG_OP);"
    " RETURN NULL; END $$",
    "CREATE TRIGGER audit_job_urls AFTER INSERT OR UPDATE OR DELETE ON job_urls"
    " FOR EACH ROW EXECUTE FUNCTION write_audit()",
    "CREATE TRIGGER audit_crawl_jobs AFTER INSERT OR UPDATE OR DELETE ON crawl_jobs"
    " FOR EACH ROW EXECUTE FUNCTION write_audit()",
)


def test_a_paused_worker_woken_mid_crawl_is_fenced_out_and_writes_nothing(world):
    database_url, site, env, started, tmp = world
    url = add_site(site, "s", 60, delay=1.0)
    api = ServerProcess({**env, "DOCSPASTA_RUN_CRAWLS": "false"}, tmp / "api.log").wait_ready()
    started.append(api)
    for statement in AUDIT:
        sql(database_url, statement)
    first = WorkerProcess(env, tmp / "worker-a.log")
    started.append(first)
    job_id = create(api, url, maxPages=100, maxDepth=1)
    wait_for(lambda: job_row(database_url, job_id)["processed_urls"] >= 3, what="the first worker to store pages")
    os.kill(first.process.pid, signal.SIGSTOP)  # paused with requests in flight and pages unwritten
    paused_owner = job_row(database_url, job_id)["lease_owner"]
    paused_app = f"docspasta {socket.gethostname()}:{first.process.pid}"
    assert sql(database_url, "SELECT count(*) AS n FROM write_audit WHERE app = $1", paused_app)[0]["n"] > 0

    second = WorkerProcess(env, tmp / "worker-b.log")
    started.append(second)
    wait_for(lambda: job_row(database_url, job_id)["lease_owner"] not in (None, paused_owner),
             what="the second worker to take the lease over")
    taken = job_row(database_url, job_id)["processed_urls"]
    wait_for(lambda: job_row(database_url, job_id)["processed_urls"] >= taken + 3, what="the second worker to crawl")
    assert job_row(database_url, job_id)["status"] == "running"
    woken_at = sql(database_url, "SELECT clock_timestamp() AS now")[0]["now"]
    os.kill(first.process.pid, signal.SIGCONT)  # mid-crawl: its responses and timers all fire now
    wait_for(lambda job_id=job_id: job_row(database_url, job_id)["status"] == "completed", what="the job to complete")
    time.sleep(1)  # anything the woken worker still had queued gets its chance to write
    late = sql(database_url, "SELECT tbl, op, at FROM write_audit WHERE app = $1 AND at >= $2", paused_app, woken_at)
    assert late == [], f"the fenced-out worker wrote {len(late)} rows after waking: {late[:4]}"
    assert_every_page_once(database_url, job_id, 61)
    assert "lease" in first.log().lower(), first.log()


def test_sigterm_drains_and_another_worker_resumes_at_once(world):
    database_url, site, env, started, tmp = world
    url = add_site(site, "t", 20, delay=0.2)
    api = ServerProcess({**env, "DOCSPASTA_RUN_CRAWLS": "false"}, tmp / "api.log").wait_ready()
    started.append(api)
    first = WorkerProcess({**env, "DOCSPASTA_LEASE_SECONDS": "600"}, tmp / "worker-a.log")
    started.append(first)
    job_id = create(api, url, maxPages=50, maxDepth=1)
    wait_for(lambda: job_row(database_url, job_id)["processed_urls"] >= 3, what="pages stored")
    assert first.stop(timeout=20) == 0, first.log()
    job = job_row(database_url, job_id)
    assert job["status"] == "running" and job["lease_owner"] is None  # released, not failed
    second = WorkerProcess(env, tmp / "worker-b.log")
    started.append(second)
    wait_for(lambda job_id=job_id: job_row(database_url, job_id)["status"] == "completed", timeout=60, what="the job to complete")
    assert_every_page_once(database_url, job_id, 21)


def test_the_cron_endpoint_reaps_stalled_jobs_and_needs_the_secret(settings, database_url, site):
    import dataclasses
    import uuid

    from starlette.testclient import TestClient

    from webapp.app import create_app

    stalled = uuid.uuid4()
    with TestClient(create_app(dataclasses.replace(settings, run_crawls=False, cron_secret="s3cret"))) as client:
        sql(database_url, "INSERT INTO crawl_jobs (id, status, current_step, initial_url, max_pages, max_depth,"
                          " quality_threshold, lease_owner, lease_expires_at)"
                          " VALUES ($1, 'running', 'processing', $2, 5, 1, 20, 'gone', now() - interval '1 minute')",
            stalled, site.url("/docs/"))
        sql(database_url, "INSERT INTO job_urls (job_id, url, normalized_url, status) VALUES ($1, $2, $2, 'processing')",
            stalled, site.url("/docs/"))
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret"}):
            response = client.post("/api/v3/process", headers=headers)
            assert response.status_code == 401 and response.json()["field"] == "authorization"
        assert job_row(database_url, stalled)["lease_owner"] == "gone"
        response = client.post("/api/v3/process", headers={"Authorization": "Bearer s3cret"})
        assert response.status_code == 200, response.text
        data = response.json()["data"]
        # (other tests' stalled jobs in this database may be reaped too)
        assert data["reapedJobs"] >= 1 and data["requeuedUrls"] >= 1 and str(stalled) in data["claimableJobs"]
        assert job_row(database_url, stalled)["lease_owner"] is None
        assert stored_pages(database_url, stalled)[0]["status"] == "pending"
    with TestClient(create_app(dataclasses.replace(settings, run_crawls=False))) as client:
        response = client.post("/api/v3/process", headers={"Authorization": "Bearer "})
        assert response.status_code == 401 and "CRON_SECRET is not set" in response.json()["error"]


def test_a_redis_restart_mid_crawl_loses_nothing_and_the_stream_recovers(world):
    from tests.web.test_server import stream

    database_url, site, env, started, tmp = world
    redis = PrivateRedis().start()
    try:
        env = {**env, "REDIS_URL": redis.url}
        url = add_site(site, "r", 24, delay=0.15)
        server = ServerProcess(env, tmp / "serve.log").wait_ready()
        started.append(server)
        job_id = create(server, url, maxPages=50, maxDepth=1)
        wait_for(lambda: job_row(database_url, job_id)["processed_urls"] >= 3, what="pages stored")
        redis.kill()
        time.sleep(2)  # the crawl goes on without Redis meanwhile
        redis.start()
        wait_for(lambda job_id=job_id: job_row(database_url, job_id)["status"] == "completed", what="the job to complete")
        assert_every_page_once(database_url, job_id, 25)
        _, events = stream(server, job_id, timeout=30)
        assert events[-1]["job"]["status"] == "completed" and events[-1]["job"]["processedUrls"] == 25
    finally:
        redis.kill()


def test_a_postgresql_restart_of_20_seconds_mid_crawl_loses_no_page(world):
    # A PostgreSQL of the test's own: the machine's is shared, and is never stopped by a test.
    _, site, env, started, tmp = world
    postgres = PrivatePostgres().start()
    server = None
    try:
        database_url = postgres.url
        url = add_site(site, "p", 24, delay=0.4)
        server = ServerProcess({**env, "DATABASE_URL": database_url, "DOCSPASTA_LEASE_SECONDS": "60"},
                               tmp / "serve.log").wait_ready()
        job_id = create(server, url, maxPages=50, maxDepth=1)
        wait_for(lambda: job_row(database_url, job_id)["processed_urls"] >= 2, what="pages stored")
        postgres.stop()
        time.sleep(20)  # the outage: the crawl keeps fetching; its writes wait and retry
        postgres.start()
        wait_for(lambda: job_row(database_url, job_id)["status"] in ("completed", "failed"), timeout=120,
                 what="the job to end")
        assert_every_page_once(database_url, job_id, 25)
    finally:
        if server is not None:
            server.stop()  # before its PostgreSQL, which it would otherwise wait for
        postgres.close()


def test_cancel_racing_completion_ends_one_way_only(world):
    from tests.web.test_server import stream

    database_url, site, env, started, tmp = world
    server = ServerProcess(env, tmp / "serve.log").wait_ready()
    started.append(server)
    outcomes = set()
    for attempt, delay in enumerate((0.0, 0.05, 0.1, 0.2, 0.3, 0.5)):
        url = add_site(site, f"c{attempt}", 2, delay=0.05)
        job_id = create(server, url, maxPages=5, maxDepth=1)
        time.sleep(delay)  # cancel at a different moment of the crawl each time
        response = httpx.post(f"{server.url}/api/v3/jobs/{job_id}/cancel", timeout=10)
        wait_for(lambda job_id=job_id: job_row(database_url, job_id)["status"] in ("completed", "cancelled"), timeout=30,
                 what="the job to end")
        job = job_row(database_url, job_id)
        outcomes.add(job["status"])
        if response.status_code == 200:
            assert job["status"] == "cancelled" and job["final_markdown"] is None
        else:
            assert response.status_code == 409 and job["status"] == "completed" and job["final_markdown"]
        messages, events = stream(server, job_id, last_event_id="0-0", timeout=30)
        terminal = [e["type"] for e in events if e["type"] in ("job_completed", "job_cancelled", "job_failed")]
        assert terminal == [f"job_{job['status']}"], (terminal, job["status"])
        time.sleep(1)  # a cancelled crawl that wrongly went on would store pages now
        assert job_row(database_url, job_id)["status"] == job["status"]
    assert outcomes <= {"completed", "cancelled"}


def test_the_database_holds_the_page_budget_whatever_the_crawlers_send(database_url):
    import uuid

    from spiders.jobs.store import JobStore, create_pool
    from tests.web.conftest import run_async
    from webapp.migrate import migrate_url

    job_id = uuid.uuid4()

    async def go():
        await migrate_url(database_url)
        pool = await create_pool(database_url, 2)
        try:
            await pool.execute("INSERT INTO crawl_jobs (id, status, initial_url, max_pages, max_depth,"
                               " quality_threshold) VALUES ($1, 'running', 'http://x.test/', 3, 1, 20)", job_id)
            writer = JobStore(pool)
            for n in range(5):  # two more completed pages than the budget, e.g. from a buggy or raced crawl
                await writer.record(job_id, {"url": f"http://x.test/p{n}", "status": "completed", "depth": 1,
                                             "markdown": "text", "title": f"P{n}"})
            return await pool.fetch("SELECT status, error_message FROM job_urls WHERE job_id = $1 ORDER BY url",
                                    job_id), await writer.get(job_id)
        finally:
            await pool.close()

    rows, job = run_async(go())
    assert [row["status"] for row in rows] == ["completed"] * 3 + ["skipped"] * 2
    assert rows[-1]["error_message"] == "not stored: page limit reached"
    assert job["processed_urls"] == 3
