"""The real server: `docspasta serve` (uvicorn + crochet + the asyncio reactor) crawling a fixture site.

Streams are read live over HTTP while the crawl runs.
"""
from __future__ import annotations

import json
import time

import httpx
import psutil

from tests.sitefixture import Reply, page
from tests.web.conftest import D, live_server, parse_sse

TERMINAL = {"job_completed", "job_failed", "job_cancelled"}


def add_site(site, prefix: str, pages: int, delay: float) -> str:
    links = [f"p{n}.html" for n in range(pages)]
    site.add_page(f"/{prefix}{D}", "Start", *links)
    for n in range(pages):
        body = (f"<p>Page {n} of {prefix} explains one part of the library in enough words to count as "
                "documentation: what it does, an example, and the reasons behind the design.</p>")
        site.add(f"/{prefix}{D}p{n}.html", Reply(body=page(f"{prefix} page {n}", *links[:2], body=body), delay=delay))
    return site.url(f"/{prefix}{D}")


def stream(server, job_id, last_event_id=None, timeout=60):
    headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
    with httpx.stream("GET", f"{server.url}/api/v3/jobs/{job_id}/stream", headers=headers,
                      timeout=httpx.Timeout(timeout, connect=5)) as response:
        assert response.status_code == 200
        messages = parse_sse(response.iter_lines())
    return messages, [json.loads(m["data"]) for m in messages]


def create(server, url, **fields):
    response = httpx.post(f"{server.url}/api/v3/jobs", json={"url": url, **fields}, timeout=10)
    assert response.status_code == 201, response.text
    return response.json()["data"]["jobId"]


def test_a_live_stream_follows_a_real_crawl_and_resumes_exactly(live):
    site, server = live
    url = add_site(site, "live", pages=12, delay=0.05)
    job_id = create(server, url, maxPages=12, maxDepth=1)
    messages, events = stream(server, job_id)
    kinds = [event["type"] for event in events]
    assert kinds[0] == "snapshot", "a client without Last-Event-ID starts from a snapshot"
    assert kinds[-1] == "job_completed", kinds
    assert kinds.count("url_completed") >= 12
    processed = [e["job"]["processedUrls"] for e in events if e["type"] == "url_completed" and e["status"] == "success"]
    assert processed == sorted(processed) and processed[-1] == 12
    # A client that saw up to the fifth event gets exactly the rest.
    ids = [m.get("id") for m in messages]
    cut = 5
    resumed, resumed_events = stream(server, job_id, last_event_id=ids[cut])
    assert [m["id"] for m in resumed] == ids[cut + 1:]
    assert resumed_events[-1]["type"] == "job_completed"
    document = httpx.get(f"{server.url}/api/v3/jobs/{job_id}/document.md", timeout=10)
    assert document.status_code == 200 and "live page 10" in document.text


def test_cancel_ends_a_running_crawl_with_a_cancelled_event(live):
    site, server = live
    url = add_site(site, "slow", pages=80, delay=0.4)  # 4 s or more: time to cancel under any load
    job_id = create(server, url, maxPages=80, maxDepth=1)
    deadline = time.monotonic() + 30
    while httpx.get(f"{server.url}/api/v3/jobs/{job_id}", timeout=5).json()["data"]["processedUrls"] < 2:
        assert time.monotonic() < deadline, "the crawl did not start"
        time.sleep(0.05)
    response = httpx.post(f"{server.url}/api/v3/jobs/{job_id}/cancel", timeout=10)
    assert response.json()["data"]["status"] == "cancelled"
    _, events = stream(server, job_id, last_event_id="0-0")
    assert events[-1]["type"] == "job_cancelled"
    assert sum(event["type"] in TERMINAL for event in events) == 1
    job = httpx.get(f"{server.url}/api/v3/jobs/{job_id}", timeout=5).json()["data"]
    assert job["status"] == "cancelled" and 2 <= job["processedUrls"] < 80


def test_ten_jobs_at_once_all_complete(live):
    site, server = live
    urls = [add_site(site, f"many{n}", pages=10, delay=0.0) for n in range(10)]
    ids = [create(server, url, maxPages=10, maxDepth=1) for url in urls]
    for job_id in ids:
        _, events = stream(server, job_id)
        assert events[-1]["type"] == "job_completed", events[-1]
        assert events[-1]["job"]["processedUrls"] == 10


def test_shutdown_does_not_wait_for_open_streams(database_url, redis_prefix, tmp_path):
    from tests.web.conftest import REDIS_URL
    from tests.web.server import ServerProcess, server_env

    # crawls off: the jobs other tests left pending stay pending too
    env = {**server_env(database_url, REDIS_URL, redis_prefix, "127.0.0.1:9"), "DOCSPASTA_RUN_CRAWLS": "false"}
    server = ServerProcess(env, tmp_path / "serve.log")
    try:
        server.wait_ready()
        job_id = create(server, "http://127.0.0.1:9/docs/")  # crawls off: it stays pending, its stream open
        with httpx.stream("GET", f"{server.url}/jobs/{job_id}/events", timeout=30) as response:
            lines = response.iter_lines()
            assert next(line for line in lines if line.startswith("event:")) == "event: pages"  # the page's stream opens with the list, then progress
            started = time.monotonic()
            code = server.stop(timeout=20)
        assert code in (0, -15), server.log()
        assert time.monotonic() - started < 15, "shutdown waited for the open stream"
    finally:
        server.stop()


def test_connections_to_the_served_socket_send_small_responses_at_once():
    """The socket `docspasta serve` listens on gives asyncio what it needs to set TCP_NODELAY on
    each connection: without it, every small response waited ~40 ms for a delayed ACK."""
    import asyncio
    import socket

    from webapp.serve import listen

    async def nodelay_of_an_accepted_connection() -> int:
        accepted: asyncio.Future = asyncio.get_running_loop().create_future()

        def handle(reader, writer):
            accepted.set_result(writer.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        sock = listen("127.0.0.1", 0)
        server = await asyncio.start_server(handle, sock=sock)
        async with server:
            _, writer = await asyncio.open_connection(*sock.getsockname()[:2])
            value = await asyncio.wait_for(accepted, 10)
            writer.close()
        return value

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:  # a loop of its own, beside the tests' reactor
        assert pool.submit(asyncio.run, nodelay_of_an_accepted_connection()).result(30) != 0


def test_a_started_server_has_an_extraction_worker_ready_before_its_first_job(redis_prefix, tmp_path):
    """The first job's first page does not wait ~1 s for the pool to start and load the extractor."""
    with live_server(redis_prefix, tmp_path) as (_, server):
        deadline = time.monotonic() + 30
        while not any("spiders.crawl.pool" in " ".join(child.cmdline())
                      for child in psutil.Process(server.process.pid).children(recursive=True)):
            assert time.monotonic() < deadline, "no extraction worker was started"
            time.sleep(0.05)
