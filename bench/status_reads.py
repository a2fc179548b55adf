"""Status reads on a large finished job: latency, and the bytes they read from PostgreSQL.

In a fresh database (dropped at the end) it makes, with SQL, a finished job of
--pages pages (default 10,000, about --page-bytes each: a document of tens of MB,
its llms.txt and its job_urls rows) and a finished 10-page job, then runs
`docspasta serve` (crawls off) in a subprocess and measures:
 1. `GET /api/v3/jobs/{id}` latency, one keep-alive client, sequential requests:
    p50/p99 (goal p99 < 10 ms for the large job), and the job page `GET /jobs/{id}`;
 2. through a relay counting the bytes PostgreSQL sends (tests/web/wiremeter.py):
    what one status read, one SSE client (the API's stream, and the page's) and
    the document download cost, on each job (goal: an SSE client of the API costs
    no more on the large job than on the 10-page one; the page's stream adds its
    log, at most DOCSPASTA_LOG_LINES rows).

    python bench/status_reads.py [--pages 10000] [--page-bytes 3000] [--requests 2000]
    python bench/status_reads.py --server-root /path/to/another/checkout   # the same, another version's server
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import asyncpg
import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.web.server import free_port  # noqa: E402
from tests.web.wiremeter import WireMeter  # noqa: E402
from webapp.migrate import migrate_url  # noqa: E402

ADMIN_URL = os.environ.get("DOCSPASTA_BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")

# One page's Markdown: a heading, prose, a code block; the words vary (md5) so the text is not one repeat.
PAGE_SQL = """
INSERT INTO job_urls (job_id, url, normalized_url, final_url, status, depth, title, markdown, quality,
                      word_count, token_count, http_status, fetched_at, finished_at, included)
SELECT $1, u, u, u, 'completed', 1, 'Page ' || n, md, 80, length(md) / 6, length(md) / 4, 200, at, at, true
FROM generate_series(1, $2) AS n,
     LATERAL (SELECT 'https://docs.example.org/docs/p' || n || '.html' AS u,
                     now() - ($2 - n) * interval '10 milliseconds' AS at) AS url,  -- one page after another
     LATERAL (SELECT '# Page ' || n || E'\n\nThis page explains part ' || n || E' of the library.\n\n'
                     || string_agg('The option ' || left(md5(n || '-' || i), 10) || ' sets how the '
                                   || left(md5(i || '+' || n), 8) || ' step behaves; see the example below.',
                                   ' ')
                     || E'\n\n```python\nimport lib\nlib.step(' || n || E')\n```\n' AS md
              FROM generate_series(1, greatest($3 / 80, 1)) AS i) AS page
"""
FINISH_SQL = """
UPDATE crawl_jobs SET
    final_markdown = (SELECT string_agg(markdown, E'\n\n' ORDER BY id) FROM job_urls WHERE job_id = $1),
    llms_txt = (SELECT '# Docs' || E'\n\n' || string_agg('- [' || title || '](' || url || ')', E'\n' ORDER BY id)
                FROM job_urls WHERE job_id = $1),
    final_token_count = (SELECT sum(token_count) FROM job_urls WHERE job_id = $1),
    total_urls = $2, processed_urls = $2, discovered_urls = $2
WHERE id = $1
"""


async def make_job(conn: asyncpg.Connection, pages: int, page_bytes: int) -> tuple[str, int]:
    """A completed job of `pages` pages; returns (id, document bytes)."""
    job_id = uuid.uuid4()
    await conn.execute(
        "INSERT INTO crawl_jobs (id, status, current_step, initial_url, max_pages, max_depth, quality_threshold,"
        " started_at, completed_at, close_reason)"
        " VALUES ($1, 'completed', 'done', 'https://docs.example.org/docs/', $2, 5, 20, now(), now(), 'finished')",
        job_id, pages)
    await conn.execute(PAGE_SQL, job_id, pages, page_bytes)
    await conn.execute(FINISH_SQL, job_id, pages)
    size = await conn.fetchval("SELECT octet_length(final_markdown) FROM crawl_jobs WHERE id = $1", job_id)
    return str(job_id), size


class Server:
    """`docspasta serve` with crawls off, from `root` (this checkout by default)."""

    def __init__(self, root: Path, database_url: str, prefix: str, log: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": REDIS_URL, "DOCSPASTA_REDIS_PREFIX": prefix,
               "DOCSPASTA_RUN_CRAWLS": "false", "DOCSPASTA_RATE_LIMIT": "0", "PYTHONPATH": str(root),
               # one client at a time: a few connections are plenty, and the shared server has a limit
               "DOCSPASTA_DB_POOL_SIZE": "4"}
        self._log = open(log, "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "webapp.cli", "serve", "--host", "127.0.0.1", "--port", str(self.port),
             "--log-level", "warning"], cwd=root, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited: see {log}")
            try:
                if httpx.get(self.url + "/api/v3/jobs", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not answer: see {log}")
            time.sleep(0.05)  # a port that is not open yet: nothing to wait on

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(30)
        self._log.close()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def latency(client: httpx.Client, server: Server, path: str, requests: int) -> dict[str, float]:
    """Sequential requests; with the server's CPU time per request, which the machine's load does not inflate."""
    for _ in range(20):  # warm: connections, prepared statements
        client.get(path).raise_for_status()
    process = psutil.Process(server.process.pid)
    cpu = cpu_seconds(process)
    times = []
    for _ in range(requests):
        start = time.perf_counter()
        client.get(path).raise_for_status()
        times.append((time.perf_counter() - start) * 1000)
    return {"n": requests, "p50_ms": round(statistics.median(times), 2), "p99_ms": round(percentile(times, 99), 2),
            "max_ms": round(max(times), 2),
            "server_cpu_ms_per_request": round((cpu_seconds(process) - cpu) * 1000 / requests, 2)}


def read_all(client: httpx.Client, path: str) -> int:
    """Read a response to its end (an SSE stream on a finished job ends by itself); its size."""
    with client.stream("GET", path) as response:
        response.raise_for_status()
        return sum(len(chunk) for chunk in response.iter_bytes())


def wire_costs(client: httpx.Client, meter: WireMeter, job_id: str) -> dict[str, int]:
    costs = {}
    for name, path in (("status", f"/api/v3/jobs/{job_id}"), ("sse_api", f"/api/v3/jobs/{job_id}/stream"),
                       ("sse_page", f"/jobs/{job_id}/events"), ("job_page", f"/jobs/{job_id}"),
                       ("document_md", f"/api/v3/jobs/{job_id}/document.md")):
        read_all(client, path)  # once to warm (statement preparation is a cost of the first use only)
        before = meter.received
        read_all(client, path)
        costs[name] = meter.received - before
    return costs


def load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


async def admin(statement: str) -> None:
    conn = await asyncpg.connect(ADMIN_URL)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@contextmanager
def throwaway_database() -> Iterator[str]:
    """A fresh database, migrated, for one run (dropped at the end), and a Redis prefix to go with it."""
    name = f"docspasta_bench_{uuid.uuid4().hex[:12]}"
    database_url = ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        asyncio.run(migrate_url(database_url))
        yield database_url
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=10_000)
    parser.add_argument("--page-bytes", type=int, default=3000)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--server-root", type=Path, default=ROOT, help="the checkout whose server is measured")
    args = parser.parse_args()

    prefix = f"docspasta_bench_{uuid.uuid4().hex[:12]}:"
    logs = ROOT / "bench" / "results"
    logs.mkdir(exist_ok=True)
    report: dict = {"server_root": str(args.server_root), "load_before": load()}
    with throwaway_database() as database_url:

        async def make() -> tuple[tuple[str, int], tuple[str, int]]:
            conn = await asyncpg.connect(database_url)
            try:
                return await make_job(conn, args.pages, args.page_bytes), await make_job(conn, 10, args.page_bytes)
            finally:
                await conn.close()

        started = time.monotonic()
        (large, large_bytes), (small, small_bytes) = asyncio.run(make())
        report["jobs"] = {"large": {"pages": args.pages, "document_bytes": large_bytes},
                          "small": {"pages": 10, "document_bytes": small_bytes},
                          "made_in_s": round(time.monotonic() - started, 1)}

        server = Server(args.server_root, database_url, prefix, logs / "status_reads_server.log")
        try:
            with httpx.Client(base_url=server.url, timeout=60) as client:
                report["get_status_large"] = {**latency(client, server, f"/api/v3/jobs/{large}", args.requests),
                                              "goal_p99_ms": 10}
                report["get_status_small"] = latency(client, server, f"/api/v3/jobs/{small}", args.requests)
                report["job_page_large"] = latency(client, server, f"/jobs/{large}", max(args.requests // 10, 50))
        finally:
            server.stop()

        meter = WireMeter.for_url(database_url)
        server = Server(args.server_root, meter.url(database_url), prefix, logs / "status_reads_server.log")
        try:
            with httpx.Client(base_url=server.url, timeout=120) as client:
                report["postgres_bytes_large"] = wire_costs(client, meter, large)
                report["postgres_bytes_small"] = wire_costs(client, meter, small)
        finally:
            server.stop()
            meter.close()
        big, little = report["postgres_bytes_large"], report["postgres_bytes_small"]
        # The page's stream also reads the page's log (its last DOCSPASTA_LOG_LINES URLs): bounded, but
        # a 10-page job has fewer lines to show; the API's stream reads the job's status and nothing else.
        report["sse_api_client_costs_no_more_on_the_large_job"] = big["sse_api"] <= little["sse_api"]
        report["load_after"] = load()
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
