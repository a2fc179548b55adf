"""Finalizing benchmark: a 10,000-page job finalizes while another job crawls on the same worker.

Acceptance ("Finalizing blocks the reactor"): while a 10,000-page job finalizes, another
job's event latency p99 stays under 100 ms and no lease is lost.

Set-up, against a fresh database (dropped at the end) and the shared Redis (this run's keys
under a unique prefix, deleted at the end):
  - job BIG: a running job with 10,000 completed pages written with SQL (generated
    documentation Markdown, 1-20 kB a page, ~4.7 kB on average, a shared footer and a
    sidebar order, as crawled pages carry), held by a lease of nobody's until released;
  - job SMALL: a pending job on a generated site (bench/sitegen.py) served by a local
    server that records when it finished sending each page; its crawl is paced
    (DOWNLOAD_DELAY) so that it is still fetching when BIG finalizes;
  - ONE `docspasta worker`. Once SMALL has stored some pages, BIG's lease is expired:
    the worker takes BIG over, finds nothing left to fetch and finalizes it.
Measured:
  - SMALL's event latency: for each `url_completed` event, the time it was published
    (the event's `at`) minus the time the server finished sending that page; p50/p99/max
    for the events during BIG's finalizing (from its step `finalizing` to its commit) and
    before it;
  - leases: both jobs' rows sampled every 0.25 s; a lease is lost if a running job's
    lease_owner is not the worker's or its lease_expires_at has passed; the longest gap
    between heartbeats; the worker's log is searched for "no longer holds its lease";
  - BIG's finalize time and the worker's peak RSS (with its children) while finalizing.

    python bench/finalize_latency.py [--pages 10000] [--workers 1]
    python bench/finalize_latency.py --code /path/to/other/checkout   # the same, on other code

`--workers` is DOCSPASTA_FINALIZE_WORKERS (1: a process; 0: a thread of the worker).
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import asyncpg
import redis

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from durable import RssSampler, Worker, wait_port  # noqa: E402
from sitegen import generate  # noqa: E402

from spiders.crawl.urls import normalize_url  # noqa: E402
from spiders.extract.tokens import count_tokens  # noqa: E402
from spiders.jobs.events import stream_key  # noqa: E402
from tests.web.server import free_port, server_env  # noqa: E402

ADMIN_URL = os.environ.get("DOCSPASTA_BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
LOGS = ROOT / "bench" / "results"
WORDS = ("crawler frontier token budget extraction markdown sitemap robots scope depth retry backoff "
         "worker lease heartbeat pipeline stream snapshot document quality request response handler "
         "setting middleware schedule signal parser selector callback").split()


# -- the stored job ------------------------------------------------------------------------------


def page_markdown(n: int, rng: random.Random) -> str:
    """One page of documentation-like Markdown; sizes spread like real docs (1-20 kB)."""
    size = min(max(int(rng.lognormvariate(8.3, 0.6)), 1000), 20000)
    parts = [f"# Page {n}\n"]
    while sum(map(len, parts)) < size:
        kind = rng.random()
        words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(20, 80)))
        if kind < 0.55:
            parts.append(f"{words.capitalize()} (see [section {rng.randint(1, 999)}](p{rng.randint(1, 9999)}.html)).")
        elif kind < 0.7:
            parts.append(f"## {words[:40].title()}")
        elif kind < 0.85:
            parts.append("```python\n" + "\n".join(f"def step_{n}_{k}(value):\n    return value * {k}"
                                                   for k in range(rng.randint(2, 6))) + "\n```")
        elif kind < 0.95:
            parts.append("\n".join(f"- `{rng.choice(WORDS)}`: {words[k * 10:k * 10 + 50]}" for k in range(5)))
        else:
            parts.append("| name | type | default |\n| --- | --- | --- |\n" + "\n".join(
                f"| {rng.choice(WORDS)} | int | {k} |" for k in range(6)))
    parts.append("Found a mistake? Edit this page on the project's repository. Licensed under Apache 2.0.")
    return "\n\n".join(parts) + "\n"


async def store_big_job(conn: asyncpg.Connection, job_id: uuid.UUID, start_url: str, pages: int) -> int:
    rng = random.Random(1)
    await conn.execute(
        "INSERT INTO crawl_jobs (id, status, current_step, initial_url, max_pages, max_depth, quality_threshold,"
        " processed_urls, discovered_urls, total_urls, started_at, lease_owner, heartbeat_at, lease_expires_at)"
        " VALUES ($1, 'running', 'processing', $2, $3, 5, 20, $3, $3, $3, now(), 'bench-holder', now(),"
        " now() + interval '1 day')", job_id, start_url, pages)
    sidebar = [f"{start_url}p{i}.html" for i in range(1, 12)]
    total = 0
    for first in range(0, pages, 1000):
        rows = []
        for n in range(first, min(first + 1000, pages)):
            url = start_url if n == 0 else f"{start_url}p{n}.html"
            md = page_markdown(n, rng)
            total += len(md)
            children = [f"{start_url}p{c}.html" for c in range(n * 10 + 1, n * 10 + 11) if c < pages]
            rows.append((job_id, url, normalize_url(url), "completed", min(len(str(n)), 5), url, f"Page {n}", md,
                         rng.randint(30, 95), len(md.split()), count_tokens(md), 200,
                         json.dumps({"toc_links": sidebar + children})))
        await conn.copy_records_to_table(
            "job_urls", records=rows,
            columns=["job_id", "url", "normalized_url", "status", "depth", "final_url", "title", "markdown",
                     "quality", "word_count", "token_count", "http_status", "extra"])
    await conn.execute("UPDATE job_urls SET fetched_at = now(), finished_at = now() WHERE job_id = $1", job_id)
    return total


# -- the crawled site, with the time each page was sent ----------------------------------------------


def serve_logged(directory: str, port: int, log: str) -> None:
    """The static server's process: threaded, keep-alive; one `epoch path` line per page sent."""
    from functools import partial
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    out = open(log, "a", buffering=1)
    lock = threading.Lock()

    class Handler(SimpleHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            super().do_GET()
            self.wfile.flush()
            with lock:
                out.write(f"{time.time():.6f} {self.path}\n")

        def log_message(self, format: str, *args: object) -> None:
            pass

    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer(("127.0.0.1", port), partial(Handler, directory=directory)).serve_forever()


class CodeWorker(Worker):
    """`docspasta worker` run from a checkout (its own directory first on sys.path)."""

    def __init__(self, env: dict[str, str], log_path: Path, code: Path):
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "webapp.cli", "worker", "--log-level", "info"],
            cwd=code, env={**os.environ, **env}, stdout=self._log, stderr=subprocess.STDOUT)


# -- measuring -----------------------------------------------------------------------------------


def stamp(value: str | None) -> float | None:
    return dt.datetime.fromisoformat(value).timestamp() if value else None


class LeaseWatch(threading.Thread):
    """Both jobs' leases every 0.25 s: lapses seen, and each job's heartbeats."""

    def __init__(self, database_url: str, job_ids: list[uuid.UUID]):
        super().__init__(daemon=True)
        self.database_url, self.job_ids = database_url, job_ids
        self.stopped = threading.Event()
        self.lost: list[str] = []
        self.heartbeats: dict[uuid.UUID, list[float]] = {job_id: [] for job_id in job_ids}
        self.owner: str | None = None

    def run(self) -> None:
        asyncio.run(self.watch())

    async def watch(self) -> None:
        conn = await asyncpg.connect(self.database_url)
        try:
            while not self.stopped.is_set():
                for row in await conn.fetch(
                        "SELECT id, status, lease_owner, heartbeat_at, lease_expires_at < now() AS lapsed"
                        " FROM crawl_jobs WHERE id = ANY($1::uuid[])", self.job_ids):
                    owner = row["lease_owner"] or ""
                    if row["status"] != "running" or owner in ("", "bench-holder"):
                        continue
                    self.owner = self.owner or owner
                    if owner != self.owner or row["lapsed"]:
                        self.lost.append(f"{row['id']}: owner {owner}, lapsed {row['lapsed']}")
                    beats = self.heartbeats[row["id"]]
                    beat = row["heartbeat_at"].timestamp()
                    if not beats or beats[-1] != beat:
                        beats.append(beat)
                await asyncio.sleep(0.25)
        finally:
            await conn.close()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def describe(values: list[float]) -> str:
    if not values:
        return "no events"
    return (f"{len(values)} events: p50 {1000 * statistics.median(values):.0f} ms, "
            f"p99 {1000 * percentile(values, 99):.0f} ms, max {1000 * max(values):.0f} ms")


# -- the run -------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=10_000, help="stored pages of the job that finalizes")
    parser.add_argument("--small", type=int, default=1000, help="pages of the site the other job crawls")
    parser.add_argument("--delay", type=float, default=0.1, help="DOWNLOAD_DELAY of the other job's crawl")
    parser.add_argument("--workers", type=int, default=1, help="DOCSPASTA_FINALIZE_WORKERS (0: a thread)")
    parser.add_argument("--code", help="run the worker from this checkout instead (PYTHONPATH)")
    parser.add_argument("--serve-logged", nargs=3, metavar=("DIR", "PORT", "LOG"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_logged:
        serve_logged(args.serve_logged[0], int(args.serve_logged[1]), args.serve_logged[2])
        return 0

    name = f"docspasta_finalize_{uuid.uuid4().hex[:10]}"
    database_url = ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    prefix = f"{name}:"
    LOGS.mkdir(parents=True, exist_ok=True)
    tmp = tempfile.TemporaryDirectory(prefix="docspasta-finalize-")
    served_log = Path(tmp.name) / "served.log"
    static = worker = watch = sampler = None
    created = False
    big, small = uuid.uuid4(), uuid.uuid4()

    async def admin(statement: str) -> None:
        conn = await asyncpg.connect(ADMIN_URL)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    async def db(query: str, *params: object) -> list:
        conn = await asyncpg.connect(database_url)
        try:
            return await conn.fetch(query, *params)
        finally:
            await conn.close()

    def wait_for(query: str, *params: object, timeout: float = 300) -> list:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rows = asyncio.run(db(query, *params))
            if rows:
                return rows
            time.sleep(0.25)
        raise RuntimeError(f"timed out: {query}\n{worker.log() if worker else ''}")

    load_before = os.getloadavg()
    print(f"load before: {load_before}", flush=True)
    try:
        site_root = Path(tmp.name) / "site"
        path = generate(site_root, args.small)
        port = free_port()
        static = subprocess.Popen([sys.executable, __file__, "--serve-logged", str(site_root), str(port),
                                   str(served_log)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(port, static)
        site = f"http://127.0.0.1:{port}"

        asyncio.run(admin(f'CREATE DATABASE "{name}"'))
        created = True
        env = {
            **server_env(database_url, REDIS_URL, prefix, f"127.0.0.1:{port}"),
            "DOCSPASTA_CRAWL_SETTINGS": json.dumps({
                "AUTOTHROTTLE_ENABLED": False, "LOG_LEVEL": "WARNING", "DOWNLOAD_DELAY": args.delay,
                "RANDOMIZE_DOWNLOAD_DELAY": False, "DOCSPASTA_FINALIZE_WORKERS": args.workers}),
        }
        if args.code:
            env["PYTHONPATH"] = args.code
        subprocess.run([sys.executable, "-m", "webapp.cli", "migrate"], cwd=args.code or ROOT,
                       env={**os.environ, **env}, check=True, capture_output=True)

        async def prepare() -> int:
            conn = await asyncpg.connect(database_url)
            try:
                # On the local server too: resuming it asks the site for its sitemaps (404 here).
                stored = await store_big_job(conn, big, f"{site}/big/docs/", args.pages)
                await conn.execute(
                    "INSERT INTO crawl_jobs (id, initial_url, max_pages, max_depth, quality_threshold)"
                    " VALUES ($1, $2, $3, 5, 0)", small, site + path, args.small)
                return stored
            finally:
                await conn.close()

        began = time.monotonic()
        stored = asyncio.run(prepare())
        print(f"stored {args.pages} pages ({stored / 1e6:.1f} MB of Markdown) in {time.monotonic() - began:.1f} s",
              flush=True)

        worker = CodeWorker(env, LOGS / "finalize_worker.log", Path(args.code) if args.code else ROOT)
        worker.wait_ready()
        sampler = RssSampler(worker.process.pid)
        sampler.start()
        watch = LeaseWatch(database_url, [big, small])
        watch.start()
        wait_for("SELECT 1 FROM crawl_jobs WHERE id = $1 AND processed_urls >= 20", small)
        print("the other job is crawling; releasing the stored job to the worker", flush=True)
        asyncio.run(db("UPDATE crawl_jobs SET lease_owner = NULL, lease_expires_at = NULL WHERE id = $1", big))
        rows = wait_for("SELECT status, error_details FROM crawl_jobs WHERE id = $1"
                        " AND status NOT IN ('pending', 'running')", big, timeout=600)
        # job_completed follows the job's state: once its document is in the library too
        events = redis.Redis.from_url(REDIS_URL)
        deadline = time.monotonic() + 300
        while rows[0]["status"] == "completed" and time.monotonic() < deadline and not any(
                f[b"type"] == b"job_completed" for _, f in events.xrange(stream_key(prefix, big))):
            time.sleep(0.5)
        events.close()
        still_crawling = asyncio.run(db("SELECT status FROM crawl_jobs WHERE id = $1", small))[0]["status"]
        asyncio.run(db("UPDATE crawl_jobs SET status = 'cancelled', current_step = 'done' WHERE id = $1"
                       " AND status IN ('pending', 'running')", small))
        watch.stopped.set()
        watch.join()
        sampler.stopped.set()
        load_after = os.getloadavg()

        client = redis.Redis.from_url(REDIS_URL)
        try:
            big_events = {f[b"type"]: json.loads(f[b"data"]) for _, f in client.xrange(stream_key(prefix, big))}
            small_events = [(float(f[b"at"]), json.loads(f[b"data"])) for _, f in client.xrange(stream_key(prefix, small))
                            if f[b"type"] == b"url_completed"]
        finally:
            client.close()
        if rows[0]["status"] != "completed" or b"job_completed" not in big_events:
            print(f"the stored job did not complete: {rows[0]['status']} {rows[0]['error_details']}")
            return 1
        window = (stamp(big_events[b"step_changed"]["job"]["updatedAt"]),
                  stamp(big_events[b"job_completed"]["job"]["completedAt"]))
        served: dict[str, float] = {}
        for line in served_log.read_text().splitlines():
            at, _, page_path = line.partition(" ")
            served.setdefault(page_path, float(at))
        during, before = [], []
        for published, data in small_events:
            path_of = data["url"][len(site):]
            if path_of not in served:
                continue
            latency = published - served[path_of]
            if window[0] <= served[path_of] <= window[1]:
                during.append(latency)
            elif served[path_of] < window[0]:
                before.append(latency)
        with sampler.lock:
            rss = max((value for t, value in sampler.samples if window[0] <= t <= window[1]), default=0)
        gaps = {str(job)[:8]: max((b - a for a, b in zip(beats, beats[1:], strict=False)), default=0.0)
                for job, beats in watch.heartbeats.items()}
        log = (LOGS / "finalize_worker.log").read_text(errors="replace")
        lost_in_log = log.count("no longer holds its lease")
        p99 = percentile(during, 99) if during else float("inf")

        print(f"\ncode: {args.code or ROOT}; DOCSPASTA_FINALIZE_WORKERS={args.workers}; load before/after: "
              f"{load_before} / {load_after}")
        print(f"finalizing {args.pages} pages: {window[1] - window[0]:.1f} s (step `finalizing` to the commit)")
        print(f"other job's event latency (page sent -> event published), during the finalizing: {describe(during)}")
        print(f"                                                          before it: {describe(before)}")
        print(f"the other job was still {still_crawling} when the stored job ended")
        print(f"leases: {len(watch.lost)} lapses seen, {lost_in_log} 'no longer holds its lease' in the log; "
              f"longest gap between heartbeats (lease 30 s, renewed every 10 s): "
              + ", ".join(f"{job} {gap:.1f} s" for job, gap in gaps.items()))
        print(f"worker peak RSS with its children while finalizing: {rss / 2 ** 20:.0f} MB")
        met = p99 < 0.1 and not watch.lost and not lost_in_log and bool(during)
        print(f"goal (p99 < 100 ms during the finalizing, no lease lost): {'MET' if met else 'NOT MET'}")
        return 0 if met else 1
    finally:
        if watch is not None:
            watch.stopped.set()
        if sampler is not None:
            sampler.stopped.set()
        if worker is not None:
            worker.stop()
        if static is not None:
            static.kill()
            static.wait()
        if created:
            asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(match=prefix + "*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()
        tmp.cleanup()


if __name__ == "__main__":
    raise SystemExit(main())
