"""Crawl throughput: the full DocsPasta crawl against the framework's ceiling.

Serves a real documentation site (a Debian -doc package) on 127.0.0.1, then crawls
it twice with the same project settings: once with the `docs` spider (frontier,
normalisation, extraction, items) and once with a bare Scrapy spider that only
follows links. Prints pages/s for both, their ratio and each run's peak RSS.

    python bench/crawl.py [--site celery] [--runs 3]
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
SITES = {  # name: (HTML root, entry path) as in ../shared/corpus.sh
    "celery": ("/usr/share/doc/python-celery-doc/html", "/index.html"),
    "pytest": ("/usr/share/doc/python-pytest-doc/html", "/index.html"),
    "sphinx": ("/usr/share/doc/sphinx-doc/html", "/index.html"),
    "nodejs": ("/usr/share/doc/nodejs", "/api/index.html"),
    "glib": ("/usr/share/gtk-doc/html", "/glib/index.html"),
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve(directory: str) -> tuple[subprocess.Popen, int]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", directory],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return server, port
        except OSError:
            time.sleep(0.05)
    server.kill()
    raise SystemExit(f"static server for {directory} did not start")


def run(kind: str, url: str, max_pages: int) -> dict:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "crawl_run.py"), kind, url, str(max_pages)],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
        env={**os.environ, "DOCSPASTA_ALLOW_HOSTS": f"127.0.0.1:{urlsplit(url).port}"},
    )
    if proc.returncode:
        raise SystemExit(f"{kind} crawl failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--site", default="celery", choices=sorted(SITES))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--max-pages", type=int, default=10_000)
    args = parser.parse_args()
    directory, entry = SITES[args.site]
    if not os.path.isdir(directory):
        raise SystemExit(f"{directory} missing: run ../shared/corpus.sh install")
    server, port = serve(directory)
    url = f"http://127.0.0.1:{port}{entry}"
    try:
        results = {"bare": [], "docs": []}
        for _ in range(args.runs):
            for kind in ("bare", "docs"):  # interleaved, so drift hits both alike
                results[kind].append(run(kind, url, args.max_pages))
    finally:
        server.terminate()
        server.wait()
    print(f"site: {args.site} ({url}), {args.runs} runs each, median")
    print(f"{'spider':<8} {'pages':>6} {'seconds':>8} {'pages/s':>8} {'peak RSS MB':>12}")
    rates = {}
    for kind, runs in results.items():
        runs.sort(key=lambda r: r["pages"] / r["seconds"])
        mid = runs[len(runs) // 2]
        rates[kind] = mid["pages"] / mid["seconds"]
        peak = max(r["peak_rss_mb"] for r in runs)
        print(f"{kind:<8} {mid['pages']:>6} {mid['seconds']:>8.2f} {rates[kind]:>8.1f} {peak:>12.1f}")
    print(f"ratio docs/bare: {rates['docs'] / rates['bare']:.2f} (goal >= 0.70)")


if __name__ == "__main__":
    main()
