"""The crawl through `docspasta serve`: one job against the terminal crawl, and 10 jobs at once.

Issue 18's service goals, on the real documentation bench/crawl.py crawls (a corpus site served
by nginx on loopback; its helpers: `serve`, `serve_locations`, `run`, `tree_rss`):

  single  Run after run, interleaved: the terminal crawl (bench/crawl.py's `docs` run: the
          `docs` spider in a process of its own, project settings) and the same crawl as ONE job
          of a running `docspasta serve` (POST /api/v3/jobs with the same start URL, maxPages and
          maxDepth), timed from the POST to the job's completion: crawling, storing every page
          and finalizing the document. The end is the job's `completedAt` as
          GET /api/v3/jobs/{id} gives it (polled every --poll seconds, 0.5: it only says when to
          look): the moment the job was recorded completed, its document stored. Timing it by a
          GET every 50 ms instead cost ~1 CPU-second of this benchmark's client and ~0.5 s of
          the service's per 500-page job (on 2 cores ~10% of the job's CPU, a load the terminal
          crawl is not under): `--poll 0.05 --poll-clock` measures that way.
          Prints both pages/s and their ratio (goal: serve >= 0.85x terminal).
  many    10 jobs of 200 pages submitted at once, each on its own copy of the site (nginx
          serves the site under /j0/ ... /j9/, one host): all must complete with every page,
          and the serve process's RSS summed with its children's (the extraction pool, the
          finalizing process; sampled every 50 ms) must peak under 400 MB.

The server: `docspasta serve` (web app and crawls in one process), a fresh database (dropped at
the end), the shared Redis under a key prefix of this run's own (its keys deleted at the end).
Crawl settings as the terminal's (the project's; AutoThrottle on), with the service's own
politeness lifted for loopback: DOCSPASTA_HOST_RATE=0 and DOCSPASTA_ALLOW_HOSTS for nginx's
port; the API's maxPages/maxDepth limits raised to the run's.

    python bench/serve.py [--site dask] [--max-pages 500] [--runs 3] [--jobs 10] [--job-pages 200]
                          [--only single|many] [--poll 0.5] [--poll-clock]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import httpx
import psutil
import redis

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import crawl  # noqa: E402  (bench/crawl.py)

from tests.web.server import ServerProcess, server_env  # noqa: E402

ADMIN_URL = os.environ.get("DOCSPASTA_BENCH_ADMIN_URL", "postgresql://127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
TERMINAL = ("completed", "failed", "cancelled")
MAX_DEPTH = 20  # as bench/crawl_run.py's docs crawl


class Sampler(threading.Thread):
    """The RSS of a process summed with its descendants' (crawl.tree_rss), every 50 ms; the peak
    since the last `reset()`, and each process's own peak."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.process = psutil.Process(pid)
        self.stopped = threading.Event()
        self.lock = threading.Lock()
        self.current = self.peak = 0
        self.peaks: dict[int, int] = {}
        self.cpu: dict[int, float] = {}

    def run(self) -> None:
        while not self.stopped.wait(0.05):
            peaks: dict[int, int] = {}
            try:
                value = crawl.tree_rss(self.process, peaks, self.cpu)
            except psutil.NoSuchProcess:
                return
            with self.lock:
                self.current, self.peak = value, max(self.peak, value)
                for pid, rss in peaks.items():
                    self.peaks[pid] = max(self.peaks.get(pid, 0), rss)

    def reset(self) -> None:
        with self.lock:
            self.peak, self.peaks = self.current, {}
            self.cpu_before = dict(self.cpu)

    def cpu_spent(self) -> str:
        """CPU seconds since the last `reset()`: the serve process + its children."""
        with self.lock:
            spent = {pid: cpu - getattr(self, "cpu_before", {}).get(pid, 0.0) for pid, cpu in self.cpu.items()}
        own = spent.pop(self.process.pid, 0.0)
        return f"{own:.0f} + {sum(spent.values()):.0f}"

    def each(self) -> str:
        """The peaks of the serve process (first) and of its children, MB."""
        with self.lock:
            own = self.peaks.get(self.process.pid, 0)
            others = sorted((rss for pid, rss in self.peaks.items() if pid != self.process.pid), reverse=True)
        return f"{own / 2**20:.0f}" + (f" ({'+'.join(f'{rss / 2**20:.0f}' for rss in others)})" if others else "")


async def submit(client: httpx.AsyncClient, base: str, url: str, pages: int) -> str:
    response = await client.post(f"{base}/api/v3/jobs", json={"url": url, "maxPages": pages, "maxDepth": MAX_DEPTH})
    if response.status_code != 201:
        raise SystemExit(f"POST /api/v3/jobs {url}: {response.status_code} {response.text}")
    return response.json()["data"]["jobId"]


async def wait_job(client: httpx.AsyncClient, base: str, job_id: str, timeout: float, poll: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        response = await client.get(f"{base}/api/v3/jobs/{job_id}")
        response.raise_for_status()
        data = response.json()["data"]
        if data["status"] in TERMINAL:
            return data
        if time.monotonic() > deadline:
            raise SystemExit(f"job {job_id} still {data['status']} after {timeout:.0f} s: {data}")
        await asyncio.sleep(poll)


async def indexed(database_url: str, job_id: str, timeout: float = 120) -> float | None:
    """Seconds from the job's completion until its library sections are in (seen within 0.1 s)."""
    conn = await asyncpg.connect(database_url)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            row = await conn.fetchrow("SELECT completed_at, library_indexed_at FROM crawl_jobs WHERE id = $1",
                                      uuid.UUID(job_id))
            if row["library_indexed_at"] is not None:
                return (datetime.now(row["completed_at"].tzinfo) - row["completed_at"]).total_seconds()
            await asyncio.sleep(0.1)
    finally:
        await conn.close()
    return None


async def phases(database_url: str, job_id: str) -> tuple[str, float | None]:
    """Where a job's time went, from its rows: created -> started (claimed), -> first page stored,
    -> last page stored, -> completed (finalized)."""
    conn = await asyncpg.connect(database_url)
    try:
        row = await conn.fetchrow(
            "SELECT j.created_at, j.started_at, j.completed_at, min(u.finished_at) AS first, max(u.finished_at)"
            " FILTER (WHERE u.status = 'completed') AS last FROM crawl_jobs j JOIN job_urls u ON u.job_id = j.id"
            " WHERE j.id = $1 GROUP BY j.id", uuid.UUID(job_id))
    finally:
        await conn.close()
    if row is None or None in (row["started_at"], row["first"], row["last"], row["completed_at"]):
        return "", None
    at = [row[name] for name in ("created_at", "started_at", "first", "last", "completed_at")]
    spans = [(b - a).total_seconds() for a, b in zip(at, at[1:], strict=False)]
    # up to the last page stored: what the terminal crawl's own clock covers (it assembles nothing)
    return ("start {:.1f} s, first page {:.1f} s, crawl {:.1f} s, finalize {:.1f} s".format(*spans),
            (row["last"] - row["created_at"]).total_seconds())


async def one_job(base: str, database_url: str, url: str, pages: int, poll: float, poll_clock: bool) -> dict:
    async with httpx.AsyncClient(timeout=30) as client:
        started, wall = time.monotonic(), time.time()
        job_id = await submit(client, base, url, pages)
        data = await wait_job(client, base, job_id, 1800, poll)
        seconds = time.monotonic() - started
    if not poll_clock and data["completedAt"]:
        seconds = datetime.fromisoformat(data["completedAt"]).timestamp() - wall
    # The service adds the document to its library after the job completes (~1.5 s of PostgreSQL's
    # CPU for 500 pages): not on the next run's clock, whichever it is.
    library = await indexed(database_url, job_id) if data["status"] == "completed" else None
    return {"id": job_id, "status": data["status"], "pages": data["processedUrls"], "seconds": seconds,
            "failed": data["failedUrls"], "error": data["error"], "library": library,
            **dict(zip(("phases", "to_last_page"), await phases(database_url, job_id), strict=True))}


async def many_jobs(base: str, urls: list[str], pages: int, poll: float) -> list[dict]:
    async with httpx.AsyncClient(timeout=30) as client:
        started = time.monotonic()
        ids = await asyncio.gather(*(submit(client, base, url, pages) for url in urls))
        finals = await asyncio.gather(*(wait_job(client, base, job_id, 1800, poll) for job_id in ids))
        seconds = time.monotonic() - started
    return [{"id": job_id, "status": data["status"], "pages": data["processedUrls"], "failed": data["failedUrls"],
             "error": data["error"], "seconds": seconds} for job_id, data in zip(ids, finals, strict=True)]


class Service:
    """`docspasta serve` on a fresh database and a Redis prefix of its own, its RSS sampled."""

    def __init__(self, allow_hosts: str, max_pages: int, workdir: Path):
        self.database = f"servebench_{uuid.uuid4().hex[:8]}"
        self.prefix = f"servebench:{uuid.uuid4().hex[:8]}:"
        asyncio.run(self._admin(f'CREATE DATABASE "{self.database}"'))
        self.database_url = database_url = f"{ADMIN_URL.rsplit('/', 1)[0]}/{self.database}"
        env = server_env(database_url, REDIS_URL, self.prefix, allow_hosts)
        env.update({
            # the terminal crawl's settings: the project's (AutoThrottle on), warnings only
            "DOCSPASTA_CRAWL_SETTINGS": json.dumps({"LOG_LEVEL": "WARNING"}),
            "DOCSPASTA_MAX_PAGES_LIMIT": str(max(max_pages, 200)), "DOCSPASTA_MAX_DEPTH_LIMIT": str(MAX_DEPTH),
            "DOCSPASTA_RECENT_JOBS": "100",
        })
        self.server = ServerProcess(env, workdir / "serve.log").wait_ready()
        self.sampler = Sampler(self.server.process.pid)
        self.sampler.start()

    async def _admin(self, statement: str) -> None:
        conn = await asyncpg.connect(ADMIN_URL)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    def close(self) -> None:
        self.sampler.stopped.set()
        code = self.server.stop(120)
        if code not in (0, None):
            print(f"(the server exited with {code}; log: {self.server.log()[-1500:]})", flush=True)
        asyncio.run(self._admin(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)'))
        client = redis.Redis.from_url(REDIS_URL)
        try:
            keys = list(client.scan_iter(match=self.prefix + "*", count=1000))
            for start in range(0, len(keys), 500):
                client.delete(*keys[start:start + 500])
        finally:
            client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--site", default="dask", choices=sorted(crawl.SITES))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--max-pages", type=int, default=500)
    parser.add_argument("--jobs", type=int, default=10)
    parser.add_argument("--job-pages", type=int, default=200)
    parser.add_argument("--only", choices=("single", "many"))
    parser.add_argument("--poll", type=float, default=0.5, help="seconds between the GETs that wait for a job")
    parser.add_argument("--poll-clock", action="store_true",
                        help="time a job by the GET that first shows it done, not by its completedAt")
    args = parser.parse_args()
    directory, entry = crawl.SITES[args.site]
    rundir = Path(tempfile.mkdtemp(prefix="docspasta-bench-nginx-"))
    rundir.chmod(0o755)  # nginx workers may run as another user
    # the site at / (the terminal crawl's URL and the single job's), and under /jN/ for the N-th concurrent job
    locations = {"/": directory, **{f"/j{n}/": directory for n in range(args.jobs)}}
    nginx, url, _ = crawl.serve_locations(rundir, locations, entry)
    port = urlsplit(url).port
    allow = f"127.0.0.1:{port}"
    print(f"site: {args.site} ({url}), {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}; jobs polled every "
          f"{args.poll} s, timed {'by that poll' if args.poll_clock else 'to their completedAt'}", flush=True)
    service = None
    try:
        service = Service(allow, args.max_pages, rundir)
        idle = service.sampler.current or crawl.tree_rss(service.sampler.process, {}, {})
        print(f"serve process RSS idle: {idle / 2**20:.0f} MB", flush=True)
        if args.only != "many":
            print(f"\n-- single: {args.max_pages} pages, the terminal crawl and one job through the service")
            print(f"{'run':>3} {'mode':<8} {'pages':>6} {'s':>7} {'pages/s':>8} {'peak RSS MB':>12} {'load':>5}  "
                  "RSS MB main (others)", flush=True)
            for number in range(1, args.runs + 1):
                term = crawl.run("docs", url, args.max_pages, ROOT, None)
                term_rate = term["pages"] / term["seconds"]
                print(f"{number:>3} {'terminal':<8} {term['pages']:>6} {term['seconds']:>7.1f} {term_rate:>8.1f} "
                      f"{term['tree_peak_mb']:>12.1f} {term['load']:>5.1f}  {term['each_mb']}  CPU s {term['cpu']}",
                      flush=True)
                service.sampler.reset()
                load = os.getloadavg()[0]
                job = asyncio.run(one_job(service.server.url, service.database_url, url, args.max_pages, args.poll,
                                          args.poll_clock))
                load = (load + os.getloadavg()[0]) / 2
                rate = job["pages"] / job["seconds"]
                library = "" if job["library"] is None else f", library sections in {job['library']:.1f} s more"
                print(f"{number:>3} {'serve':<8} {job['pages']:>6} {job['seconds']:>7.1f} {rate:>8.1f} "
                      f"{service.sampler.peak / 2**20:>12.1f} {load:>5.1f}  {service.sampler.each()}  "
                      f"CPU s {service.sampler.cpu_spent()}  {job['status']}{' ' + job['error'] if job['error'] else ''}"
                      f"; {job['phases']}{library}", flush=True)
                crawled = (f"; up to the last page stored (no finalizing) "
                           f"{job['pages'] / job['to_last_page'] / term_rate:.2f}" if job["to_last_page"] else "")
                print(f"{number:>3} ratio    serve/terminal pages/s {rate / term_rate:.2f} (goal >= 0.85){crawled}",
                      flush=True)
        if args.only != "single":
            print(f"\n-- many: {args.jobs} jobs x {args.job_pages} pages at once", flush=True)
            service.sampler.reset()
            load = os.getloadavg()[0]
            urls = [f"http://127.0.0.1:{port}/j{n}{entry}" for n in range(args.jobs)]
            jobs = asyncio.run(many_jobs(service.server.url, urls, args.job_pages, args.poll))
            load = (load + os.getloadavg()[0]) / 2
            full = sum(job["status"] == "completed" and job["pages"] == args.job_pages for job in jobs)
            peak = service.sampler.peak / 2**20
            pages = sum(job["pages"] for job in jobs)
            print(f"completed with every page: {full}/{len(jobs)}; {pages} pages in {jobs[0]['seconds']:.1f} s "
                  f"({pages / jobs[0]['seconds']:.1f} pages/s); peak RSS {peak:.1f} MB (goal < 400), "
                  f"main (others) {service.sampler.each()}, CPU s {service.sampler.cpu_spent()}; load {load:.1f}", flush=True)
            for job in jobs:
                if job["status"] != "completed" or job["pages"] != args.job_pages:
                    print(f"  NOT complete: {job}", flush=True)
        # what the jobs left behind: per-job state should be gone once they have ended
        time.sleep(3)
        after = crawl.tree_rss(service.sampler.process, {}, {})
        main_after = service.sampler.process.memory_info().rss
        print(f"\nserve RSS once every job had ended (3 s later): {after / 2**20:.0f} MB, "
              f"the serve process alone {main_after / 2**20:.0f} MB (idle at start {idle / 2**20:.0f} MB)", flush=True)
    finally:
        if service is not None:
            service.close()
        nginx.terminate()
        nginx.wait()
        shutil.rmtree(rundir, ignore_errors=True)


if __name__ == "__main__":
    main()
