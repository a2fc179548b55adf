"""Crawl throughput and memory: the full DocsPasta crawl against the framework's ceiling.

Serves real documentation (Debian -doc packages, as ../shared/corpus.sh installs them)
with nginx on a free loopback port, then crawls it with the same project settings:
once with the `docs` spider (frontier, normalisation, extraction in its process pool,
items written out) and once with a bare Scrapy spider that only follows links, run
after run, interleaved. Each crawl runs in a process of its own; its memory is sampled
every 50 ms as the RSS summed over its whole process tree (the crawl process and its
extraction processes). Per run it prints pages/s, peak RSS and the ratio, with the
machine's load average.

`--site mix` serves three sites (cppreference, Dask, Celery) under one host (one nginx location each) behind a
generated index page that links to each: the 5,000-page run.

Output identity: the `docs` crawl writes its items (JSON lines); after each run the
document is assembled from them (`assemble_document`, pages in URL order, the port
replaced by `SITE`) and its SHA-256 printed, with a digest of every page's extraction
(url, status, title, markdown, quality, tokens, toc_links, links, ...; what depends
on timing left out: depth, discovered_from, fetched_at). `--code DIR` crawls with
another checkout (e.g. `git archive <commit> | tar -x -C DIR`) instead of this one:
the same digests from both mean byte-identical output. Compare complete crawls
(--max-pages above the site's size): under a page limit, which pages make it
depends on timing.

    python bench/crawl.py [--site dask] [--max-pages 500] [--runs 3] [--code DIR] [--keep FILE]
    python bench/crawl.py --site mix --max-pages 5000 --runs 3
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from spiders.document.assemble import assemble_document  # noqa: E402
from spiders.extract.tokens import count_tokens  # noqa: E402

NGINX = "/usr/sbin/nginx"
SITES = {  # name: (HTML root, entry path) as in ../shared/corpus.sh
    "celery": ("/usr/share/doc/python-celery-doc/html", "/index.html"),
    "pytest": ("/usr/share/doc/python-pytest-doc/html", "/index.html"),
    "sphinx": ("/usr/share/doc/sphinx-doc/html", "/index.html"),
    "dask": ("/usr/share/doc/python-dask-doc/html", "/index.html"),
    "groonga": ("/usr/share/doc/groonga-doc/en/html", "/index.html"),
    "doxygen": ("/usr/share/doc/doxygen/html", "/index.html"),
    "bdb": ("/usr/share/doc/db5.3-doc", "/programmer_reference/index.html"),
    "nodejs": ("/usr/share/doc/nodejs", "/api/index.html"),
    "glib": ("/usr/share/gtk-doc/html", "/glib/index.html"),
    "cppref": ("/usr/share/cppreference/doc/html", "/en/cpp.html"),
}
# The 5,000-page run: these sites under one host (about 6,000 HTML pages between them), none
# with pages that need a browser (bdb's Javadoc frames and some Doxygen pages do: a crawl of
# them renders hundreds of pages in Chromium, which the bare spider never does).
MIX = ("cppref", "dask", "celery")
ITEM_FIELDS = ("url", "final_url", "status", "error", "title", "markdown", "quality", "quality_reasons",
               "word_count", "token_count", "toc_links", "description", "site_name", "head_title", "generated",
               "links", "rendered", "render_reason")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def nginx_config(run: Path, port: int, locations: dict[str, str], index: str | None) -> str:
    """nginx for one user on loopback: no daemon, its files in `run`; `locations`: URL prefix -> directory."""
    served = "".join(f"        location {prefix} {{ alias {directory}/; }}\n"
                     for prefix, directory in locations.items() if prefix != "/")
    root = locations.get("/", str(run / "www"))
    return f"""worker_processes 1;
daemon off;
pid {run}/nginx.pid;
error_log {run}/error.log;
events {{ worker_connections 1024; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log off;
    sendfile on;
    keepalive_requests 100000;
    client_body_temp_path {run}/body;
    proxy_temp_path {run}/proxy;
    fastcgi_temp_path {run}/fastcgi;
    uwsgi_temp_path {run}/uwsgi;
    scgi_temp_path {run}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {root};
{served}    }}
}}
"""


def serve(site: str) -> tuple[subprocess.Popen, str, Path]:
    """nginx serving `site` (or the MIX behind an index page); the process, the start URL, its run dir."""
    run = Path(tempfile.mkdtemp(prefix="docspasta-bench-nginx-"))
    run.chmod(0o755)  # nginx workers may run as another user
    if site == "mix":
        (run / "www").mkdir()
        links = "".join(f'<li><a href="/{name}{SITES[name][1]}">{name}</a></li>' for name in MIX)
        (run / "www" / "index.html").write_text(
            f"<!doctype html><html><head><title>Corpus</title></head><body><main><h1>Corpus</h1>"
            f"<p>Documentation sites served together for the crawl benchmark.</p><ul>{links}</ul></main></body></html>")
        locations = {f"/{name}/": SITES[name][0] for name in MIX}
        entry = "/index.html"
    else:
        locations = {"/": SITES[site][0]}
        entry = SITES[site][1]
    return serve_locations(run, locations, entry)


def serve_locations(run: Path, locations: dict[str, str], entry: str) -> tuple[subprocess.Popen, str, Path]:
    """nginx in `run` serving `locations` (URL prefix -> directory); the process, the URL of `entry`, `run`."""
    port = free_port()
    for directory in locations.values():
        if not os.path.isdir(directory):
            raise SystemExit(f"{directory} missing: run ../shared/corpus.sh install")
    (run / "nginx.conf").write_text(nginx_config(run, port, locations, None))
    server = subprocess.Popen([NGINX, "-p", str(run), "-c", str(run / "nginx.conf")],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return server, f"http://127.0.0.1:{port}{entry}", run
        except OSError:
            if server.poll() is not None:
                break
            time.sleep(0.05)
    server.kill()
    raise SystemExit(f"nginx did not start: {(run / 'error.log').read_text(errors='replace')[-2000:]}")


def tree_rss(proc: psutil.Process, peaks: dict[int, int], cpu: dict[int, float]) -> int:
    """RSS summed over `proc` and all its descendants, in bytes; each one's peak kept in `peaks`,
    its CPU seconds so far in `cpu`."""
    total = 0
    for member in [proc, *proc.children(recursive=True)]:
        try:
            rss = member.memory_info().rss
            times = member.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += rss
        peaks[member.pid] = max(peaks.get(member.pid, 0), rss)
        cpu[member.pid] = times.user + times.system
    return total


def run(kind: str, url: str, max_pages: int, code: Path, items: Path | None) -> dict:
    """One crawl in a process of its own; its result with the peak RSS of its process tree."""
    command = [sys.executable, str(ROOT / "bench" / "crawl_run.py"), kind, url, str(max_pages)]
    if items is not None:
        command.append(str(items))
    env = {**os.environ, "DOCSPASTA_ALLOW_HOSTS": f"127.0.0.1:{urlsplit(url).port}", "BENCH_CODE": str(code)}
    load = os.getloadavg()[0]
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        child = subprocess.Popen(command, cwd=code, stdout=out, stderr=err, text=True, env=env)
        proc, peak, processes, peaks, cpu = psutil.Process(child.pid), 0, 1, {}, {}
        started = time.monotonic()
        while child.poll() is None:
            try:
                peak = max(peak, tree_rss(proc, peaks, cpu))
                processes = max(processes, 1 + len(proc.children(recursive=True)))
            except psutil.NoSuchProcess:
                pass
            if time.monotonic() - started > 1800:
                child.kill()
            time.sleep(0.05)
        out.seek(0)
        err.seek(0)
        if child.returncode:
            raise SystemExit(f"{kind} crawl failed:\n{err.read()[-3000:]}")
        result = json.loads(out.read().strip().splitlines()[-1])
    crawl, crawl_cpu = peaks.pop(child.pid, 0), cpu.pop(child.pid, 0.0)
    each = "+".join(f"{rss / 2**20:.0f}" for rss in sorted(peaks.values(), reverse=True))
    return {**result, "tree_peak_mb": peak / 2**20, "processes": processes,
            "each_mb": f"{crawl / 2**20:.0f}" + (f" ({each})" if each else ""),
            "cpu": f"{crawl_cpu:.0f}" + (f" + {sum(cpu.values()):.0f}" if cpu else ""),
            "load": (load + os.getloadavg()[0]) / 2}


def digests(items_file: Path, url: str) -> dict:
    """The document assembled from a docs crawl's items, and every page's extraction, as digests."""
    site = urlsplit(url).netloc
    pages, counted = [], []
    with open(items_file, encoding="utf-8") as lines:
        for line in lines:
            page = json.loads(line.replace(site, "SITE"))
            pages.append({name: page.get(name) for name in ITEM_FIELDS})
            # a Markdown that named the port changed: it is counted again (assembly counts a page's
            # body from its item's count; the digest of the pages keeps the crawl's)
            markdown = page.get("markdown") or ""
            counted.append({**pages[-1], "token_count": count_tokens(markdown)} if "SITE" in markdown else pages[-1])
    order = sorted(range(len(pages)), key=lambda n: (pages[n]["url"], pages[n]["status"]))
    pages, counted = [pages[n] for n in order], [counted[n] for n in order]
    document = assemble_document(counted, source_url=url.replace(site, "SITE"))
    return {"document_sha256": hashlib.sha256(document.markdown.encode()).hexdigest()[:16],
            "document_bytes": len(document.markdown.encode()),
            "pages_sha256": hashlib.sha256(json.dumps(pages, sort_keys=True).encode()).hexdigest()[:16],
            "document": document.markdown, "page_list": pages}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--site", default="dask", choices=sorted(SITES) + ["mix"])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--max-pages", type=int, default=500)
    parser.add_argument("--code", type=Path, default=ROOT, help="the checkout the docs crawl runs (default: this one)")
    parser.add_argument("--only", choices=("bare", "docs"), help="run one spider only")
    parser.add_argument("--keep", type=Path, help="write the last run's assembled document here (its pages "
                                                  "beside it, .pages.json)")
    args = parser.parse_args()
    server, url, rundir = serve(args.site)
    print(f"site: {args.site} ({url}), at most {args.max_pages} pages, {args.runs} runs, "
          f"{os.cpu_count()} CPUs, docs code: {args.code}", flush=True)
    print(f"{'run':>3} {'spider':<6} {'pages':>6} {'s':>7} {'pages/s':>8} {'peak RSS MB':>12} {'procs':>5} "
          f"{'load':>5}  output", flush=True)
    kinds = (args.only,) if args.only else ("bare", "docs")
    results: dict[str, list[dict]] = {kind: [] for kind in kinds}
    try:
        for number in range(1, args.runs + 1):
            for kind in kinds:  # interleaved, so drift hits both alike
                items = rundir / "items.jsonl" if kind == "docs" else None
                result = run(kind, url, args.max_pages, args.code.resolve(), items)
                output = ""
                if items is not None:
                    result.update(digests(items, url))
                    output = (f"document {result['document_sha256']} ({result['document_bytes']:,} bytes), "
                              f"pages {result['pages_sha256']}")
                    if args.keep:
                        args.keep.write_text(result["document"], encoding="utf-8")
                        args.keep.with_suffix(".pages.json").write_text(
                            json.dumps(result["page_list"], indent=0, ensure_ascii=False), encoding="utf-8")
                    items.unlink()
                    del result["document"], result["page_list"]
                results[kind].append(result)
                rate = result["pages"] / result["seconds"]
                print(f"{number:>3} {kind:<6} {result['pages']:>6} {result['seconds']:>7.1f} {rate:>8.1f} "
                      f"{result['tree_peak_mb']:>12.1f} {result['processes']:>5} {result['load']:>5.1f}  "
                      f"RSS MB crawl (others) {result['each_mb']}, CPU s {result['cpu']}  {output}", flush=True)
            if len(kinds) == 2:
                bare, docs = results["bare"][-1], results["docs"][-1]
                speed = docs["pages"] / docs["seconds"] / (bare["pages"] / bare["seconds"])
                print(f"{number:>3} ratio  docs/bare pages/s {speed:.2f}, "
                      f"peak RSS {docs['tree_peak_mb'] / bare['tree_peak_mb']:.2f}", flush=True)
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(rundir, ignore_errors=True)


if __name__ == "__main__":
    main()
