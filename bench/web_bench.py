"""Web app benchmark: job creation latency, event latency, and ten 100-page jobs at once.

Runs `docspasta serve` in subprocesses against a fresh database (dropped at the end)
and a fixture site on 127.0.0.1:
 1. job creation: 20 concurrent clients POST /api/v3/jobs (crawls off, so only the
    API, validation and the INSERT are measured), first as fast as they can (a closed
    loop that saturates the server), then each at 10 requests/s; p50/p99 latency
    (goal p99 < 20 ms);
 2. event latency: from the pipeline's XADD (the event's `publishedAt`) to the SSE
    client receiving it, over a 100-page crawl and again while 10 jobs run;
    p50/p99 (goal p99 < 50 ms);
 3. 10 jobs of 100 pages each at once: all must complete; wall time.
The server runs with DOCSPASTA_HOST_RATE=0: the service's default cap of 20 requests/s
per target host would pace all the jobs on the one fixture host and measure the cap.

    python bench/web_bench.py [--clients 20] [--requests 1000] [--jobs 10] [--pages 100]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.sitefixture import FixtureSite, Reply, page  # noqa: E402
from tests.web.conftest import parse_sse  # noqa: E402
from tests.web.server import ServerProcess, server_env  # noqa: E402

ADMIN_URL = os.environ.get("DOCSPASTA_BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def summary(values_ms: list[float]) -> dict[str, float]:
    return {"n": len(values_ms), "p50_ms": round(percentile(values_ms, 50), 2),
            "p99_ms": round(percentile(values_ms, 99), 2), "max_ms": round(max(values_ms), 2),
            "mean_ms": round(statistics.fmean(values_ms), 2)}


def build_site(site: FixtureSite, name: str, pages: int) -> str:
    links = [f"p{n}.html" for n in range(pages - 1)]
    site.add_page(f"/{name}/", "Start", *links)
    for n in range(pages - 1):
        body = (f"<p>{name} page {n} explains one part of the library in enough words to count as documentation: "
                "what it does, an example, the reasons behind the design, and what to read next.</p>"
                f"<pre><code class='language-python'>import lib\nlib.step({n})</code></pre>")
        site.add(f"/{name}/p{n}.html", Reply(body=page(f"{name} page {n}", *links[:3], body=body)))
    return site.url(f"/{name}/")


class RawClient:
    """A keep-alive HTTP/1.1 connection speaking just enough HTTP to POST JSON and read the answer.

    httpx costs about a millisecond of CPU per request, on the same two cores as the server;
    this client costs a few microseconds, so the latency measured is the server's.
    """

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.write(
            f"POST {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        await self.reader.readexactly(length)
        return status

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            await self.writer.wait_closed()


async def create_jobs(base: str, url: str, clients: int, total: int, interval: float = 0.0) -> list[float]:
    """`clients` concurrent clients; each sends its next request at once (interval 0: a closed loop
    that saturates the server) or every `interval` seconds (an open loop at a steady rate)."""
    from urllib.parse import urlsplit

    latencies: list[float] = []
    per_client = total // clients
    parts = urlsplit(base)
    body = json.dumps({"url": url, "maxPages": 10}).encode()

    async def client_loop(client: RawClient, offset: float) -> None:
        if interval:  # spread the clients over the interval instead of firing in bursts of 20
            await asyncio.sleep(offset)
        next_at = time.perf_counter()
        for _ in range(per_client):
            if interval:
                next_at += interval
            started = time.perf_counter()
            status = await client.post("/api/v3/jobs", body)
            latencies.append((time.perf_counter() - started) * 1000)
            assert status == 201, status
            if interval and (wait := next_at - time.perf_counter()) > 0:
                await asyncio.sleep(wait)  # pacing the load, not waiting for a result

    pool = [RawClient(parts.hostname, parts.port) for _ in range(clients)]
    try:
        for client in pool:  # warm up connections and the server's pools
            for _ in range(3):
                await client.post("/api/v3/jobs", body)
        await asyncio.gather(*(client_loop(client, n * interval / clients) for n, client in enumerate(pool)))
    finally:
        for client in pool:
            await client.close()
    return latencies


async def follow(client: httpx.AsyncClient, base: str, job_id: str) -> tuple[list[dict], list[float]]:
    """Read a job's JSON stream until its terminal event; latencies of every published event."""
    events, latencies = [], []
    async with client.stream("GET", f"{base}/api/v3/jobs/{job_id}/stream") as response:
        lines: list[str] = []
        async for line in response.aiter_lines():
            received = time.time()
            lines.append(line)
            if line == "":
                for message in parse_sse(lines):
                    event = json.loads(message["data"])
                    events.append(event)
                    if "publishedAt" in event:
                        latencies.append((received - event["publishedAt"]) * 1000)
                lines = []
    return events, latencies


async def run_jobs(base: str, urls: list[str], pages: int) -> dict:
    async with httpx.AsyncClient(timeout=httpx.Timeout(600, connect=10),
                                 limits=httpx.Limits(max_connections=64)) as client:
        started = time.perf_counter()
        ids = []
        for url in urls:
            response = await client.post(f"{base}/api/v3/jobs", json={"url": url, "maxPages": pages, "maxDepth": 1})
            ids.append(response.json()["data"]["jobId"])
        results = await asyncio.gather(*(follow(client, base, job_id) for job_id in ids))
        wall = time.perf_counter() - started
    finals = [events[-1] for events, _ in results]
    return {
        "jobs": len(ids), "wall_s": round(wall, 2),
        "completed": sum(final["type"] == "job_completed" for final in finals),
        "pages_done": [final["job"]["processedUrls"] for final in finals],
        "latencies": [lat for _, lats in results for lat in lats],
    }


def _site_process(conn, names: list[str], pages: int) -> None:
    site = FixtureSite()
    urls = [build_site(site, name, pages) for name in names]
    site.start()
    conn.send((site.port, urls))
    conn.recv()  # until told to stop
    site.stop()


class SiteProcess:
    """The fixture sites in a process of their own: serving 1000 pages must not share the
    measuring client's GIL (their threads would delay the client's reads)."""

    def __init__(self, names: list[str], pages: int):
        import multiprocessing

        ctx = multiprocessing.get_context("fork")
        self._conn, child = ctx.Pipe()
        self._process = ctx.Process(target=_site_process, args=(child, names, pages), daemon=True)
        self._process.start()
        if not self._conn.poll(60):
            raise RuntimeError("the fixture site did not start")
        self.port, self.urls = self._conn.recv()

    def stop(self) -> None:
        self._conn.send("stop")
        self._process.join(10)
        if self._process.is_alive():
            self._process.kill()


def measure_creation(env: dict[str, str], logs: Path, url: str, clients: int, requests: int) -> dict:
    server = ServerProcess(env, logs / "web_serve_api.log").wait_ready()
    try:
        started = time.perf_counter()
        creation = asyncio.run(create_jobs(server.url, url, clients, requests))
        rate = len(creation) / (time.perf_counter() - started)
        paced = asyncio.run(create_jobs(server.url, url, clients, requests // 2, interval=0.1))
    finally:
        server.stop()
    return {"clients": clients, "closed_loop": {**summary(creation), "req_per_s": round(rate)},
            "each_client_10_per_s": summary(paced), "goal_p99_ms": 20}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=10)
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--skip-creation", action="store_true", help="only the crawling parts")
    args = parser.parse_args()

    name = f"docspasta_bench_{uuid.uuid4().hex[:10]}"
    database_url = ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    api_database_url = database_url + "_api"  # its jobs stay pending: a crawling server would start them
    prefix = f"{name}:"

    async def admin(statement: str) -> None:
        conn = await asyncpg.connect(ADMIN_URL)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    asyncio.run(admin(f'CREATE DATABASE "{name}_api"'))
    site = SiteProcess([f"site{n}" for n in range(args.jobs + 1)], args.pages)
    logs = ROOT / "bench" / "results"
    logs.mkdir(parents=True, exist_ok=True)
    report: dict = {}
    try:
        urls = site.urls
        # The service's rate cap per target host (DOCSPASTA_HOST_RATE, 20/s) would measure the cap,
        # not the app: every job here crawls one local fixture host, so it is off.
        env = {**server_env(database_url, REDIS_URL, prefix, f"127.0.0.1:{site.port}"), "DOCSPASTA_HOST_RATE": "0"}

        report["load_average_before"] = os.getloadavg()[0]
        if not args.skip_creation:
            api_env = {**env, "DATABASE_URL": api_database_url, "DOCSPASTA_RUN_CRAWLS": "false"}
            report["job_creation"] = measure_creation(api_env, logs, urls[0], args.clients, args.requests)
        server = ServerProcess(env, logs / "web_serve_crawl.log").wait_ready()
        try:
            single = asyncio.run(run_jobs(server.url, [urls[-1]], args.pages))
            report["event_latency_one_job"] = {**summary(single["latencies"]), "goal_p99_ms": 50,
                                               "wall_s": single["wall_s"], "pages": single["pages_done"][0]}
            many = asyncio.run(run_jobs(server.url, urls[: args.jobs], args.pages))
            report["concurrent_jobs"] = {k: v for k, v in many.items() if k != "latencies"}
            report["event_latency_under_load"] = {**summary(many["latencies"]), "goal_p99_ms": 50}
        finally:
            server.stop()
    finally:
        site.stop()
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}_api" WITH (FORCE)'))
        import redis

        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(match=prefix + "*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()
    report["load_average_after"] = os.getloadavg()[0]
    print(json.dumps(report, indent=2))
    (logs / "web.json").write_text(json.dumps(report, indent=2))
    ok = (report["concurrent_jobs"]["completed"] == args.jobs
          and all(done == args.pages for done in report["concurrent_jobs"]["pages_done"]))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
