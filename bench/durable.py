"""Durable jobs benchmark: one `docspasta worker` on a 10,000-page job, and 50 jobs at once.

Acceptance ("Durable jobs"): a 10,000-page job on a generated local site, with pages/s and
the worker's peak RSS (goals: RSS < 400 MB, pages/s >= 0.8x that of a 500-page job); 50
concurrent jobs of 100 pages, all completing, with the time to finish and the spread of
progress between jobs.

Processes, against a fresh database (dropped at the end) and the shared Redis (this run's
keys under a unique prefix, deleted at the end):
  - `docspasta serve` with DOCSPASTA_RUN_CRAWLS=false: the API only, no crawls;
  - ONE `docspasta worker`: claims and crawls every job; its RSS (with any children) is
    sampled with psutil every 0.2 s, so the peak is the worker's alone;
  - a static server (a threaded http.server, HTTP/1.1 keep-alive, no request log) serving
    the generated sites from a temporary directory on 127.0.0.1:
      /n500/docs/   500 pages  (bench/sitegen.py's tree: fanout 10, a sidebar on every page)
      /n10000/docs/ 10,000 pages (depth 4 reaches all of them; maxDepth 5)
      /s0/docs/ ... /s49/docs/  100 pages each, one start URL per concurrent job.
Crawl settings: the project's, with AUTOTHROTTLE_ENABLED=false (DOCSPASTA_CRAWL_SETTINGS);
robots.txt, politeness caps (8 requests in flight per host across the worker's crawls) and
the SSRF guard (DOCSPASTA_ALLOW_HOSTS=127.0.0.1:PORT) as they are; the rate cap per target
host off (DOCSPASTA_HOST_RATE=0): the service's default of 20 requests/s would pace every
job on the one local host and measure the cap, not the worker.

Phases: a 500-page job, then a 10,000-page job (pages/s of each, ratio, peak RSS), then
50 x 100-page jobs submitted at once (every job's processedUrls sampled every 0.5 s through
GET /api/v3/jobs). Exits 1 if any job does not complete with every page processed.

    python bench/durable.py [--big 10000] [--small 500] [--jobs 50] [--pages 100]
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from sitegen import page_html  # noqa: E402

from tests.web.server import ServerProcess, free_port, server_env  # noqa: E402

ADMIN_URL = os.environ.get("DOCSPASTA_BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
LOGS = ROOT / "bench" / "results"
MAX_DEPTH = 5


# -- the generated sites and their server ------------------------------------------------------


def generate_site(root: Path, name: str, total: int) -> str:
    """bench/sitegen.py's site of `total` pages under /NAME/docs/ (its absolute links moved there)."""
    docs = root / name / "docs"
    docs.mkdir(parents=True, exist_ok=True)
    prefix = f"/{name}/docs/"
    for n in range(total):
        html = page_html(n, total).replace("/docs/", prefix)
        (docs / ("index.html" if n == 0 else f"p{n}.html")).write_text(html)
    return prefix


def serve_static(directory: str, port: int) -> None:
    """The static server's process: threaded, HTTP/1.1 keep-alive, no per-request log line."""
    from functools import partial
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    class Handler(SimpleHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

    ThreadingHTTPServer.daemon_threads = True
    server = ThreadingHTTPServer(("127.0.0.1", port), partial(Handler, directory=directory))
    server.serve_forever()


def wait_port(port: int, process: subprocess.Popen, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the static server exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("the static server did not start")


# -- the worker and its memory ------------------------------------------------------------------


class RssSampler(threading.Thread):
    """The process's RSS plus its children's, every `interval` seconds; peaks per phase."""

    def __init__(self, pid: int, interval: float = 0.2):
        super().__init__(daemon=True)
        self.process = psutil.Process(pid)
        self.interval = interval
        self.stopped = threading.Event()
        self.lock = threading.Lock()
        self.current = 0
        self.peak = 0  # since the last reset()
        self.samples: list[tuple[float, int]] = []

    def rss(self) -> int:
        total = self.process.memory_info().rss
        for child in self.process.children(recursive=True):
            try:
                total += child.memory_info().rss
            except psutil.NoSuchProcess:
                pass
        return total

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            try:
                value = self.rss()
            except psutil.NoSuchProcess:
                return
            with self.lock:
                self.current = value
                self.peak = max(self.peak, value)
                self.samples.append((time.time(), value))

    def reset(self) -> int:
        with self.lock:
            self.peak = self.current
            return self.current


class Worker:
    def __init__(self, env: dict[str, str], log_path: Path):
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "webapp.cli", "worker", "--log-level", "info"],
            cwd=ROOT, env={**os.environ, **env}, stdout=self._log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 60) -> Worker:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the worker exited with {self.process.returncode}:\n{self.log()}")
            if "claiming jobs" in self.log():
                return self
            time.sleep(0.1)
        raise RuntimeError(f"the worker did not start within {timeout}s:\n{self.log()}")

    def log(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")[-4000:]

    def stop(self, timeout: float = 60) -> int | None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # drains: running crawls close, leases released
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._log.close()
        return self.process.returncode


# -- jobs -----------------------------------------------------------------------------------------


def parse_time(value: str | None) -> float | None:
    return dt.datetime.fromisoformat(value).timestamp() if value else None


async def submit(client: httpx.AsyncClient, base: str, url: str, pages: int) -> str:
    response = await client.post(f"{base}/api/v3/jobs", json={
        "url": url, "maxPages": pages, "maxDepth": MAX_DEPTH, "qualityThreshold": 20})
    if response.status_code != 201:
        raise RuntimeError(f"POST /api/v3/jobs {url}: {response.status_code} {response.text}")
    return response.json()["data"]["jobId"]


TERMINAL = ("completed", "failed", "cancelled")
API_ERRORS: list[str] = []  # answers other than 200 while polling (e.g. PostgreSQL restarted under the API)


async def get_data(client: httpx.AsyncClient, url: str) -> object:
    """GET an API resource's `data`, retrying for up to 120 s on errors (recorded in API_ERRORS)."""
    deadline = time.monotonic() + 120
    while True:
        try:
            response = await client.get(url)
            if response.status_code == 200:
                return response.json()["data"]
            error = f"{response.status_code} {response.text[:200]}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        API_ERRORS.append(f"{time.strftime('%H:%M:%S')} GET {url}: {error}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"GET {url} kept failing: {error}")
        await asyncio.sleep(1)


async def single_job(base: str, database_url: str, url: str, pages: int, timeout: float,
                     sampler: RssSampler) -> dict:
    """Run one job to its end; pages/s over the job (started_at..completed_at) and over its pages
    (first to last page finished), and the worker's RSS as the pages went by."""
    rss_track: list[tuple[int, int]] = []  # (processed pages, worker RSS) every 0.2 s
    async with httpx.AsyncClient(timeout=30) as client:
        submitted = time.time()
        job_id = await submit(client, base, url, pages)
        deadline = time.monotonic() + timeout
        next_note = time.monotonic() + 30
        while True:
            data = await get_data(client, f"{base}/api/v3/jobs/{job_id}")
            rss_track.append((data["processedUrls"], sampler.current))
            if time.monotonic() >= next_note:
                next_note += 30
                print(f"        {time.time() - submitted:5.0f} s: {data['status']}, {data['processedUrls']} pages, "
                      f"worker RSS {mb(sampler.current):.0f} MB", flush=True)
            if data["status"] in TERMINAL:
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} ({url}) still {data['status']} after {timeout}s: "
                                   f"{data['processedUrls']} pages processed")
            await asyncio.sleep(0.2)
    conn = await asyncpg.connect(database_url)
    try:
        span = await conn.fetchrow(
            "SELECT min(finished_at) AS first, max(finished_at) AS last, count(*) FILTER"
            " (WHERE status = 'completed') AS completed FROM job_urls WHERE job_id = $1", uuid.UUID(job_id))
    finally:
        await conn.close()
    started, completed = parse_time(data["startedAt"]), parse_time(data["completedAt"])
    job_s = completed - started if started and completed else float("nan")
    pages_s = (span["last"] - span["first"]).total_seconds() if span["first"] else float("nan")
    processed = data["processedUrls"]
    return {
        "id": job_id, "status": data["status"], "processed": processed, "failed": data["failedUrls"],
        "skipped": data["skippedUrls"], "error": data["error"],
        "claim_delay_s": started - submitted if started else None,
        "job_s": job_s, "job_pages_per_s": processed / job_s if job_s else float("nan"),
        "crawl_s": pages_s, "crawl_pages_per_s": (processed - 1) / pages_s if pages_s else float("nan"),
        "finalize_s": completed - span["last"].timestamp() if completed and span["last"] else None,
        "last_page_at": span["last"].timestamp() if span["last"] else None, "submitted_at": submitted,
        "rss_by_pages": [max((rss for done, rss in rss_track if done <= pages * share), default=0)
                         for share in (0.1, 0.25, 0.5, 0.75, 1.0)],
    }


async def many_jobs(base: str, urls: list[str], pages: int, timeout: float) -> dict:
    """Submit every job at once; sample every job's processedUrls every 0.5 s until all have ended."""
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=len(urls))) as client:
        t0 = time.time()
        ids = await asyncio.gather(*(submit(client, base, url, pages) for url in urls))
        submit_s = time.time() - t0
        wanted = set(ids)
        samples: list[tuple[float, dict[str, int]]] = []
        final: dict[str, dict] = {}
        deadline = time.monotonic() + timeout
        while True:
            now = time.time()
            rows = await get_data(client, f"{base}/api/v3/jobs")
            by_id = {row["id"]: row for row in rows if row["id"] in wanted}
            if len(by_id) != len(wanted):
                raise RuntimeError(f"GET /api/v3/jobs listed {len(by_id)} of the {len(wanted)} jobs "
                                   "(DOCSPASTA_RECENT_JOBS too low?)")
            samples.append((now - t0, {job_id: row["processedUrls"] for job_id, row in by_id.items()}))
            if all(row["status"] in TERMINAL for row in by_id.values()):
                final = by_id
                break
            if time.monotonic() > deadline:
                final = by_id
                break
            await asyncio.sleep(max(0.0, 0.5 - (time.time() - now)))
    ends = sorted(parse_time(row["completedAt"]) - t0 for row in final.values() if row["completedAt"])
    starts = sorted(parse_time(row["startedAt"]) - t0 for row in final.values() if row["startedAt"])
    total_s = ends[-1] if ends else time.time() - t0
    window = (starts[0] if starts else 0.0, total_s)  # first job claimed .. last job completed
    spread = []
    for share in (0.25, 0.5, 0.75):
        at = window[0] + share * (window[1] - window[0])
        t, values = min(samples, key=lambda sample: abs(sample[0] - at))
        fractions = sorted(values[job_id] / pages for job_id in ids)
        spread.append({"share": share, "t": t, "min": fractions[0], "median": statistics.median(fractions),
                       "max": fractions[-1], "all": sum(fractions) / len(fractions)})
    return {
        "jobs": len(ids), "submit_s": submit_s, "total_s": total_s,
        "completed": sum(row["status"] == "completed" for row in final.values()),
        "full": sum(row["status"] == "completed" and row["processedUrls"] == pages for row in final.values()),
        "statuses": sorted({row["status"] for row in final.values()}),
        "processed": sorted(row["processedUrls"] for row in final.values()),
        "short": [{key: row[key] for key in ("id", "url", "status", "totalUrls", "processedUrls", "failedUrls",
                                             "skippedUrls")}
                  for row in final.values() if row["processedUrls"] != pages],
        "errors": sorted({row["error"] for row in final.values() if row["error"]}),
        "first_start_s": starts[0] if starts else None, "last_start_s": starts[-1] if starts else None,
        "first_end_s": ends[0] if ends else None, "last_end_s": ends[-1] if ends else None,
        "spread": spread, "samples": len(samples),
    }


# -- the run --------------------------------------------------------------------------------------


def mb(value: int) -> float:
    return value / 2**20


def report(results: dict, args: argparse.Namespace) -> list[str]:
    lines = []
    out = lines.append
    small, big, many = results.get("small"), results.get("big"), results.get("many")
    out(f"machine: {os.cpu_count()} cores, load average before {results['load_before']:.2f}, "
        f"Python {sys.version.split()[0]}; one `docspasta worker`, API-only `docspasta serve`, "
        f"static server at 127.0.0.1")
    out(f"worker RSS when idle (after start-up): {mb(results['rss_idle']):.0f} MB")
    out("")
    out("| job | pages | status | job time s | pages/s (job) | crawl s | pages/s (crawl) | finalize s "
        "| claim delay s | worker peak RSS MB: crawl / finalize |")
    out("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    after = results.get("small_after")
    for label, r in ((f"{args.small}, before", small), (f"{args.big}", big), (f"{args.small}, after", after)):
        if r is None:
            continue
        out(f"| {label} | {r['processed']} (failed {r['failed']}, skipped {r['skipped']}) "
            f"| {r['status']} | {r['job_s']:.1f} | {r['job_pages_per_s']:.1f} | {r['crawl_s']:.1f} "
            f"| {r['crawl_pages_per_s']:.1f} | {r['finalize_s'] or 0:.1f} | {r['claim_delay_s'] or 0:.1f} "
            f"| {mb(r['peak_rss_crawl']):.0f} / {mb(r['peak_rss_finalize']):.0f} |")
    if small and big:
        ratio_job = big["job_pages_per_s"] / small["job_pages_per_s"]
        ratio_crawl = big["crawl_pages_per_s"] / small["crawl_pages_per_s"]
        out("")
        out(f"{args.big}/{args.small}-page pages/s ratio: {ratio_job:.2f} over the job (started_at..completed_at), "
            f"{ratio_crawl:.2f} over the pages (first..last page finished); goal >= 0.8 -> "
            f"{'MET' if ratio_job >= 0.8 else 'NOT MET'}")
        if after:
            out(f"  control: the same {args.small}-page job again after the big one: "
                f"{after['job_pages_per_s']:.1f} pages/s (job), {after['crawl_pages_per_s']:.1f} (crawl); ratio to it "
                f"{big['job_pages_per_s'] / after['job_pages_per_s']:.2f} (job), "
                f"{big['crawl_pages_per_s'] / after['crawl_pages_per_s']:.2f} (crawl)")
        out(f"worker RSS (max so far) at 10/25/50/75/100% of the {big['wanted']}-page job's pages: "
            + " / ".join(f"{mb(v):.0f}" for v in big["rss_by_pages"]) + " MB")
        out(f"worker peak RSS during the {big['wanted']}-page job: {mb(big['peak_rss']):.0f} MB "
            f"(while crawling {mb(big['peak_rss_crawl']):.0f}, finalizing {mb(big['peak_rss_finalize']):.0f}); "
            "goal < 400 MB -> "
            f"{'MET' if big['peak_rss'] < 400 * 2**20 else 'NOT MET'}")
    if many:
        out("")
        out(f"{many['jobs']} jobs x {args.pages} pages, submitted at once ({many['submit_s']:.2f} s to POST them all):")
        out(f"  completed {many['completed']}/{many['jobs']}, with all {args.pages} pages: {many['full']}; "
            f"statuses {', '.join(many['statuses'])}")
        for row in many["short"]:
            out(f"  NOT every page: {row}")
        if many["errors"]:
            out(f"  errors: {many['errors']}")
        out(f"  time to finish all: {many['total_s']:.1f} s ({many['jobs'] * args.pages / many['total_s']:.1f} pages/s "
            f"overall); worker peak RSS {mb(many['peak_rss']):.0f} MB")
        out(f"  jobs started (claimed): first {many['first_start_s']:.1f} s, last {many['last_start_s']:.1f} s "
            f"after submission")
        out(f"  jobs completed: first {many['first_end_s']:.1f} s, last {many['last_end_s']:.1f} s")
        out("  spread of progress: processed fraction across jobs (sampled every 0.5 s), at shares of the")
        out("  crawl window (first job claimed .. last job completed); t from submission:")
        out("  | window | t s | min | median | max | all jobs' pages |")
        out("  | --- | --- | --- | --- | --- | --- |")
        for s in many["spread"]:
            out(f"  | {int(s['share'] * 100)}% | {s['t']:.1f} | {s['min']:.2f} | {s['median']:.2f} | {s['max']:.2f} "
                f"| {s['all']:.2f} |")
    out("")
    static = results.get("static_cpu")
    if static:
        out(f"static server: {static['cpu_s']:.1f} s CPU over {static['wall_s']:.1f} s "
            f"({100 * static['cpu_s'] / static['wall_s']:.0f}% of one core); worker: "
            f"{results['worker_cpu']['cpu_s']:.1f} s CPU ({100 * results['worker_cpu']['cpu_s'] / static['wall_s']:.0f}% "
            f"of one core)")
    if API_ERRORS:
        out(f"API errors while polling ({len(API_ERRORS)}; the figures around them are suspect): first "
            f"{API_ERRORS[0]}; last {API_ERRORS[-1]}")
    out(f"load average after: {results['load_after']:.2f}; total run {results['wall_s']:.0f} s")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--big", type=int, default=10_000, help="pages of the big job")
    parser.add_argument("--small", type=int, default=500, help="pages of the reference job")
    parser.add_argument("--jobs", type=int, default=50, help="concurrent jobs (0: skip that phase)")
    parser.add_argument("--pages", type=int, default=100, help="pages of each concurrent job")
    parser.add_argument("--serve-static", nargs=2, metavar=("DIR", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_static:
        serve_static(args.serve_static[0], int(args.serve_static[1]))
        return 0

    began = time.monotonic()
    name = f"docspasta_durable_{uuid.uuid4().hex[:10]}"  # not docspasta_bench_*: others clean those up
    database_url = ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    prefix = f"{name}:"
    LOGS.mkdir(parents=True, exist_ok=True)
    results: dict = {"load_before": os.getloadavg()[0]}
    ok = False

    async def admin(statement: str) -> None:
        conn = await asyncpg.connect(ADMIN_URL)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    tmp = tempfile.TemporaryDirectory(prefix="docspasta-durable-")
    static = server = worker = sampler = None
    created = False
    try:
        site_root = Path(tmp.name)
        small_path = generate_site(site_root, f"n{args.small}", args.small)
        big_path = generate_site(site_root, f"n{args.big}", args.big)
        many_paths = [generate_site(site_root, f"s{n}", args.pages) for n in range(args.jobs)]
        port = free_port()
        static = subprocess.Popen([sys.executable, __file__, "--serve-static", str(site_root), str(port)],
                                  stdout=subprocess.DEVNULL, stderr=open(LOGS / "durable_static.log", "wb"))
        wait_port(port, static)
        site = f"http://127.0.0.1:{port}"

        asyncio.run(admin(f'CREATE DATABASE "{name}"'))
        created = True
        env = {
            **server_env(database_url, REDIS_URL, prefix, f"127.0.0.1:{port}"),
            "DOCSPASTA_MAX_PAGES_LIMIT": str(max(args.big, args.small, args.pages)),
            "DOCSPASTA_RECENT_JOBS": str(max(args.jobs + 10, 20)),
            "DOCSPASTA_HOST_RATE": "0",  # off: every job crawls the one local host (see the docstring)
        }
        server = ServerProcess({**env, "DOCSPASTA_RUN_CRAWLS": "false"}, LOGS / "durable_serve.log").wait_ready()
        worker = Worker(env, LOGS / "durable_worker.log").wait_ready()
        sampler = RssSampler(worker.process.pid)
        sampler.start()
        time.sleep(1)
        results["rss_idle"] = sampler.reset()
        cpu_start = time.monotonic()
        static_cpu0 = sum(psutil.Process(static.pid).cpu_times()[:2])
        worker_cpu0 = sum(psutil.Process(worker.process.pid).cpu_times()[:2])

        failures = []
        for label, path, pages, timeout in (("small", small_path, args.small, 120),
                                            ("big", big_path, args.big, 480),
                                            ("small_after", small_path, args.small, 120)):
            sampler.reset()
            print(f"[{time.monotonic() - began:5.0f} s] {label}: a {pages}-page job", flush=True)
            r = asyncio.run(single_job(server.url, database_url, site + path, pages, timeout, sampler))
            r["peak_rss"], r["wanted"] = sampler.peak, pages
            with sampler.lock:  # the peak while pages were fetched, and after the last one (finalizing)
                during = [rss for t, rss in sampler.samples if r["submitted_at"] <= t <= (r["last_page_at"] or 0)]
                after = [rss for t, rss in sampler.samples if t > (r["last_page_at"] or float("inf"))]
            r["peak_rss_crawl"], r["peak_rss_finalize"] = max(during, default=0), max(after, default=0)
            results[label] = r
            print(f"        {r['status']}: {r['processed']} pages, {r['job_pages_per_s']:.1f} pages/s, "
                  f"peak RSS {mb(r['peak_rss']):.0f} MB", flush=True)
            if r["status"] != "completed" or r["processed"] != pages:
                failures.append(f"{label}: {r['status']}, {r['processed']}/{pages} pages, error {r['error']}")

        if args.jobs:  # --jobs 0: the single jobs only (a quicker run when measuring memory)
            sampler.reset()
            print(f"[{time.monotonic() - began:5.0f} s] {args.jobs} jobs x {args.pages} pages at once", flush=True)
            many = asyncio.run(many_jobs(server.url, [site + path for path in many_paths], args.pages, 300))
            many["peak_rss"] = sampler.peak
            results["many"] = many
            if many["full"] != args.jobs:
                failures.append(f"concurrent: {many['full']}/{args.jobs} jobs completed with every page "
                                f"(statuses {many['statuses']})")

        wall = time.monotonic() - cpu_start
        results["static_cpu"] = {"cpu_s": sum(psutil.Process(static.pid).cpu_times()[:2]) - static_cpu0,
                                 "wall_s": wall}
        results["worker_cpu"] = {"cpu_s": sum(psutil.Process(worker.process.pid).cpu_times()[:2]) - worker_cpu0}
        ok = not failures
        for failure in failures:
            print("FAILED " + failure, flush=True)
    except Exception:
        import traceback

        traceback.print_exc()
        print("FAILED: the run stopped early; the logs are in bench/results/durable_*.log", flush=True)
    finally:
        if sampler is not None:
            sampler.stopped.set()
        if worker is not None:
            code = worker.stop()
            if code not in (0, None):
                print(f"the worker exited with {code}; its log: {worker.log_path}", flush=True)
        if server is not None:
            server.stop()
        if static is not None:
            static.terminate()
            try:
                static.wait(10)
            except subprocess.TimeoutExpired:
                static.kill()
        if created:
            asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        import redis

        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(match=prefix + "*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()
        tmp.cleanup()
    results["load_after"] = os.getloadavg()[0]
    results["wall_s"] = time.monotonic() - began
    if "rss_idle" in results:
        print("\n".join(report(results, args)), flush=True)
    (LOGS / "durable.json").write_text(json.dumps(results, indent=2, default=str))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
