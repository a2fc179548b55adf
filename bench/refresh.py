"""Refresh benchmark: a 500-page corpus site crawled, refreshed unchanged, then refreshed with 5% changed.

Acceptance (issue 17): a refresh of the unchanged site takes <= 20% of the first crawl's
time and downloads <= 5% of its bytes (the site served with ETags); with 5% of its pages
changed, exactly those are reported changed.

Processes, against a fresh database (dropped at the end) and the shared Redis (this run's
keys under a unique prefix, deleted at the end):
  - a copy of a corpus site (default: dask's Sphinx docs from Debian's python-dask-doc, 1,129
    pages) in a temporary directory, served by nginx on 127.0.0.1 (ETag and Last-Modified from
    the file, 304 for a matching If-None-Match / If-Modified-Since; its access log counts the
    bytes sent), or, without nginx, by a small threaded server of this script that does the same;
  - `docspasta serve` (uvicorn, the crawl side in the same process), DOCSPASTA_HOST_RATE=0 (the
    service's 20 requests/s per host would pace both crawls and measure the cap), crawl settings
    as tests/web/server.py's (AutoThrottle off), DOCSPASTA_MAX_PAGES_LIMIT raised to the job's size.

Phases: (1) the first crawl (maxPages 500, maxDepth 4); (2) POST /refresh of it, the site
untouched; (3) 5% of the pages the first crawl completed are rewritten in the copy (a new
paragraph after their <h1>, so their Markdown changes; the file's mtime and size change, so
does its ETag) and the refresh is refreshed. Each phase: wall time from the POST to the
job's `completed`, requests and bytes nginx sent (status line, headers and body), and the
bytes the job's rows hold (markdown + extra, as stored: pg_column_size). Exits 1 if a goal
is missed. Writes bench/refresh_results.txt (date, load, the command, the figures).

    python bench/refresh.py [--site /usr/share/doc/python-dask-doc/html] [--entry /index.html]
                            [--pages 500] [--depth 4] [--changed 0.05]
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import email.utils
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import asyncpg
import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.web.server import ServerProcess, free_port, server_env  # noqa: E402

ADMIN_URL = os.environ.get("DOCSPASTA_BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
RESULTS = ROOT / "bench" / "refresh_results.txt"
TIMELINE: list[tuple[float, int, str]] = []  # (time, pages stored, step) as the last job was polled

NGINX_CONF = """
worker_processes 1;
daemon off;
pid {run}/nginx.pid;
error_log {run}/error.log warn;
events {{ worker_connections 512; }}
http {{
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  log_format bench '$status $bytes_sent $request_uri';
  access_log {run}/access.log bench;
  client_body_temp_path {run}/body; proxy_temp_path {run}/proxy; fastcgi_temp_path {run}/fastcgi;
  uwsgi_temp_path {run}/uwsgi; scgi_temp_path {run}/scgi;
  sendfile on; keepalive_requests 100000;
  server {{ listen 127.0.0.1:{port}; root {root}; etag on; }}
}}
"""


# -- the site and its server ----------------------------------------------------------------


class StaticServer:
    """nginx when installed, else a threaded server of ours with the same validators and 304s.
    Either way `log()` is every answer as (status, bytes sent, path)."""

    def __init__(self, root: Path, run: Path):
        self.root, self.run, self.port = root, run, free_port()
        self.kind = "nginx" if shutil.which("nginx") else "python"
        self._process: subprocess.Popen | None = None
        self._server: ThreadingHTTPServer | None = None
        self._log: list[tuple[int, int, str]] = []

    def start(self) -> StaticServer:
        if self.kind == "nginx":
            conf = self.run / "nginx.conf"
            conf.write_text(NGINX_CONF.format(run=self.run, port=self.port, root=self.root))
            self._process = subprocess.Popen([shutil.which("nginx"), "-c", str(conf), "-p", str(self.run)],
                                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        else:
            self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
            threading.Thread(target=self._server.serve_forever, daemon=True).start()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{self.port}/", timeout=1)
                return self
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError(f"the {self.kind} server did not start")

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(10)
        if self._server is not None:
            self._server.shutdown()

    def log(self) -> list[tuple[int, int, str]]:
        if self.kind == "python":
            return list(self._log)
        lines = (self.run / "access.log").read_text().splitlines() if (self.run / "access.log").exists() else []
        return [(int(status), int(sent), path) for status, sent, path in (line.split(" ", 2) for line in lines)]

    def _handler(self) -> type[SimpleHTTPRequestHandler]:
        server = self

        class Handler(SimpleHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def __init__(self, *args, **kwargs):
                super().__init__(*args, directory=str(server.root), **kwargs)

            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                path = Path(self.translate_path(self.path))
                if path.is_dir():
                    path = path / "index.html"
                if not path.is_file():
                    self._answer(404, b"not found", {})
                    return
                stat = path.stat()
                etag = f'"{int(stat.st_mtime):x}-{stat.st_size:x}"'
                modified = email.utils.formatdate(int(stat.st_mtime), usegmt=True)
                headers = {"ETag": etag, "Last-Modified": modified, "Content-Type": self.guess_type(str(path))}
                match = self.headers.get("If-None-Match")
                since = self.headers.get("If-Modified-Since")
                if (match is not None and etag in match) or (match is None and since == modified):
                    self._answer(304, b"", headers)
                    return
                self._answer(200, path.read_bytes(), headers)

            def _answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                head = [f"HTTP/1.1 {status} {self.responses[status][0]}", *(f"{k}: {v}" for k, v in headers.items())]
                if status != 304:
                    head.append(f"Content-Length: {len(body)}")
                raw = ("\r\n".join(head) + "\r\n\r\n").encode() + body
                self.wfile.write(raw)
                server._log.append((status, len(raw), self.path))

        return Handler


def change_pages(root: Path, urls: list[str], share: float, seed: int = 17) -> list[str]:
    """Rewrite `share` of these pages (a new paragraph after the page's <h1>); the URLs rewritten."""
    candidates = []
    for url in urls:
        path = root / unquote(urlsplit(url).path).lstrip("/")
        if path.is_dir() or url.endswith("/"):
            path = path / "index.html"
        if path.is_file() and path.read_text(errors="replace").count("</h1>") == 1:
            candidates.append((url, path))
    chosen = random.Random(seed).sample(candidates, round(len(urls) * share))
    later = time.time() + 5  # a new mtime for certain: nginx's ETag is the mtime and the size
    for n, (_url, path) in enumerate(chosen):
        html = path.read_text(errors="replace")
        html = html.replace("</h1>", f"</h1>\n<p>Refresh benchmark: this paragraph is new in the second version"
                                     f" of the page ({n}).</p>", 1)
        path.write_text(html)
        os.utime(path, (later, later))
    return sorted(url for url, _ in chosen)


# -- the jobs ---------------------------------------------------------------------------------


def wait_completed(base: str, job_id: str, timeout: float = 1800) -> tuple[dict, float | None]:
    """The ended job, and when (time.monotonic()) it was first seen finalizing."""
    deadline = time.monotonic() + timeout
    finalizing = None
    TIMELINE.clear()
    while time.monotonic() < deadline:
        data = httpx.get(f"{base}/api/v3/jobs/{job_id}", timeout=10).json()["data"]
        TIMELINE.append((time.monotonic(), data["processedUrls"], data["currentStep"]))
        if data["currentStep"] == "finalizing" and finalizing is None:
            finalizing = time.monotonic()
        if data["status"] in ("completed", "failed", "cancelled"):
            return data, finalizing
        time.sleep(0.1)
    raise RuntimeError(f"job {job_id} did not end within {timeout}s")


def cpu_seconds(pid: int) -> float:
    """CPU time of a process and of its children, live (the extraction pool) or ended (finalizing)."""
    process = psutil.Process(pid)
    times = process.cpu_times()
    total = times.user + times.system + times.children_user + times.children_system
    for child in process.children(recursive=True):
        try:
            child_times = child.cpu_times()
            total += child_times.user + child_times.system
        except psutil.NoSuchProcess:
            pass
    return total


def run_phase(base: str, server: StaticServer, post: tuple[str, dict | None], pid: int) -> dict:
    path, body = post
    before = len(server.log())
    cpu_before = cpu_seconds(pid)
    started = time.monotonic()
    response = httpx.post(f"{base}{path}", json=body, timeout=30) if body else httpx.post(f"{base}{path}", timeout=30)
    assert response.status_code == 201, response.text
    job_id = response.json()["data"]["jobId"]
    job, finalizing = wait_completed(base, job_id)
    seconds = time.monotonic() - started
    first_page = next((at for at, pages, _ in TIMELINE if pages > 0), started) - started
    last_page = next((at for at, pages, _ in TIMELINE if pages >= job["processedUrls"]), started) - started
    served = server.log()[before:]
    cpu = cpu_seconds(pid) - cpu_before
    return {"job": job_id, "status": job["status"], "pages": job["processedUrls"], "seconds": seconds,
            "crawl": (finalizing or time.monotonic()) - started, "finalize": time.monotonic() - (finalizing or started),
            "first_page": first_page, "last_page": last_page, "cpu": cpu,
            "requests": len(served), "bytes": sum(sent for _, sent, _ in served),
            "not_modified": sum(status == 304 for status, _, _ in served),
            "ok": sum(status == 200 for status, _, _ in served)}


async def stored_bytes(database_url: str, job_id: str) -> dict[str, int]:
    """What a job stores, as stored (pg_column_size: compressed, TOAST included): its URLs' rows, of
    which their Markdown and extraction fields; its document and llms.txt; its library sections
    (read after the last phase: a refresh's sections replace those of the job it refreshed)."""
    conn = await asyncpg.connect(database_url)
    try:
        deadline = time.monotonic() + 120  # indexed a moment after its status reads completed (or replaced)
        while not await conn.fetchval(
                "SELECT library_indexed_at IS NOT NULL OR EXISTS (SELECT 1 FROM crawl_jobs r WHERE r.refresh_of = j.id"
                " AND r.library_indexed_at IS NOT NULL) FROM crawl_jobs j WHERE id = $1",
                uuid.UUID(job_id)) and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        return dict(await conn.fetchrow(
            "SELECT (SELECT coalesce(sum(pg_column_size(u.*)), 0) FROM job_urls u WHERE job_id = $1) AS rows,"
            " (SELECT coalesce(sum(pg_column_size(markdown) + pg_column_size(extra)), 0) FROM job_urls"
            "  WHERE job_id = $1) AS content,"
            " (SELECT coalesce(pg_column_size(final_markdown), 0) + coalesce(pg_column_size(llms_txt), 0)"
            "  FROM crawl_jobs WHERE id = $1) AS document,"
            " (SELECT coalesce(sum(pg_column_size(s.*)), 0) FROM library_sections s WHERE job_id = $1) AS library",
            uuid.UUID(job_id)))
    finally:
        await conn.close()


async def admin(statement: str) -> None:
    conn = await asyncpg.connect(ADMIN_URL)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--site", default="/usr/share/doc/python-dask-doc/html")
    parser.add_argument("--entry", default="/index.html")
    parser.add_argument("--pages", type=int, default=500)
    parser.add_argument("--depth", type=int, default=4)
    parser.add_argument("--changed", type=float, default=0.05)
    args = parser.parse_args()
    load = os.getloadavg()
    command = "python bench/refresh.py " + " ".join(sys.argv[1:])
    work = Path(tempfile.mkdtemp(prefix="docspasta-refresh-bench-"))
    name = f"docspasta_bench_{uuid.uuid4().hex[:10]}"
    database_url = ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    prefix = f"docspasta_bench_{uuid.uuid4().hex[:8]}:"
    site_root, run = work / "site", work / "run"
    shutil.copytree(args.site, site_root, symlinks=False)  # copy2: the files keep their mtimes
    run.mkdir()
    os.chmod(work, 0o755)
    static = StaticServer(site_root, run).start()
    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    server = None
    try:
        env = {**server_env(database_url, REDIS_URL, prefix, f"127.0.0.1:{static.port}"),
               "DOCSPASTA_MAX_PAGES_LIMIT": str(max(args.pages, 200)), **json.loads(os.environ.get("BENCH_EXTRA_ENV", "{}"))}
        server = ServerProcess(env, work / "serve.log").wait_ready()
        pid = server.process.pid
        url = f"http://127.0.0.1:{static.port}{args.entry}"
        first = run_phase(server.url, static, ("/api/v3/jobs", {"url": url, "maxPages": args.pages,
                                                                "maxDepth": args.depth}), pid)
        unchanged = run_phase(server.url, static, (f"/api/v3/jobs/{first['job']}/refresh", None), pid)
        report1 = httpx.get(f"{server.url}/api/v3/jobs/{unchanged['job']}/changes", timeout=60).json()["data"]
        export = httpx.get(f"{server.url}/api/v3/jobs/{first['job']}/export.json", timeout=60).json()
        completed = [page["url"] for page in export["pages"] if page["status"] == "completed"]
        rewritten = change_pages(site_root, completed, args.changed)
        changed = run_phase(server.url, static, (f"/api/v3/jobs/{unchanged['job']}/refresh", None), pid)
        report2 = httpx.get(f"{server.url}/api/v3/jobs/{changed['job']}/changes", timeout=60).json()["data"]
        for phase in (first, unchanged, changed):
            phase["stored"] = asyncio.run(stored_bytes(database_url, phase["job"]))
    finally:
        if server is not None:
            server.stop()
        static.stop()
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        import redis

        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(match=prefix + "*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()
        shutil.rmtree(work, ignore_errors=True)

    reported = sorted(entry["url"] for entry in report2["changed"])
    time_ratio = unchanged["seconds"] / first["seconds"]
    bytes_ratio = unchanged["bytes"] / first["bytes"]
    goals = {
        "unchanged refresh time <= 20% of the first crawl's": time_ratio <= 0.20,
        "unchanged refresh bytes <= 5% of the first crawl's": bytes_ratio <= 0.05,
        "unchanged refresh reports no change": report1["counts"]["changed"] == report1["counts"]["new"]
        == report1["counts"]["removed"] == 0,
        f"the {len(rewritten)} rewritten pages, exactly, are reported changed": reported == rewritten
        and report2["counts"]["new"] == report2["counts"]["removed"] == 0,
    }
    lines = [
        f"bench/refresh.py -- run of {dt.datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"command: {command}",
        f"machine: {os.cpu_count()} cores, load average before the run {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}",
        f"site: a copy of {args.site} ({args.entry}), served by {static.kind} with ETag and Last-Modified;"
        f" maxPages {args.pages}, maxDepth {args.depth}",
        "",
        "| phase | pages | wall s (POST to completed) | first page stored / last / finalizing from (s) |"
        " CPU s (docspasta) | requests | 200 | 304 | bytes sent | stored: URL rows (of which Markdown + extraction"
        " fields) / document + llms.txt / library sections at the end |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for label, phase in (("first crawl", first), ("refresh, unchanged site", unchanged),
                         (f"refresh, {len(rewritten)} pages rewritten", changed)):
        lines.append(f"| {label} | {phase['pages']} | {phase['seconds']:.1f} | {phase['first_page']:.1f} /"
                     f" {phase['last_page']:.1f} / {phase['crawl']:.1f} | {phase['cpu']:.1f} | {phase['requests']} |"
                     f" {phase['ok']} | {phase['not_modified']} | {phase['bytes']:,} | {phase['stored']['rows']:,}"
                     f" ({phase['stored']['content']:,}) / {phase['stored']['document']:,} /"
                     f" {phase['stored']['library']:,} |")
    lines += [
        "",
        f"unchanged refresh / first crawl: time {time_ratio:.1%}, CPU {unchanged['cpu'] / first['cpu']:.1%},"
        f" bytes {bytes_ratio:.2%},"
        f" URL rows stored {unchanged['stored']['rows'] / max(first['stored']['rows'], 1):.2%}",
        f"report of the unchanged refresh: {report1['counts']}",
        f"report after rewriting {len(rewritten)} pages: {report2['counts']}; changed pages reported ="
        f" rewritten pages: {reported == rewritten}",
        "",
        *[f"{'met ' if ok else 'MISSED'} {goal}" for goal, ok in goals.items()],
    ]
    text = "\n".join(lines) + "\n"
    print(text)
    RESULTS.write_text(text)
    return 0 if all(goals.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
