"""The job page of a finished 10,000-page job: its load, and a filter switch (goals: < 300 ms, < 100 ms).

In a fresh database (dropped at the end) it makes a finished job the way a crawl leaves one:
--pages completed pages (--left-out of them below the quality threshold), failed and skipped
URLs, written with SQL, then finalized by the real code (`build_outputs`, `JobStore.complete`,
`LibraryStore.index_job`: the document, each page's verdict, the library's sections that
the outline reads). Then `docspasta serve` (crawls off) in a subprocess, and:
 1. the full page, `GET /jobs/{id}`: latency from one keep-alive client and the server's CPU
    time per request (which the machine's load does not inflate);
 2. a filter switch, the fragment htmx asks for on an ended job (`GET /jobs/{id}?fate=...`,
    HX-Target pages-section), over every fate and a list page: the same two measures; and the
    text filter apart (`?q=...`: counted over the job's URLs each time, 12,300 of them here);
 3. in Debian's Chromium: navigation to DOMContentLoaded of the job page (htmx set up: the deferred
    scripts run before it) and to its first contentful paint; a click on a fate tab until htmx has
    swapped and settled the list, and on until the next frame is painted (the new rows' style,
    layout and paint: what a person waits for; the goal is checked on it), and the same for a
    text filter submitted; beside them,
    DOMContentLoaded of the nearly empty search page, the floor the machine's load sets for any page.
p50/p95 over --runs runs of each; the goals are checked on p95.

    python bench/job_page.py [--pages 10000] [--runs 200] [--browser-runs 40] [--server-root DIR] [--write]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.status_reads import PAGE_SQL, Server, cpu_seconds, load, percentile, throwaway_database  # noqa: E402
from spiders.jobs.finalize import build_outputs  # noqa: E402
from spiders.jobs.store import JobStore, create_pool  # noqa: E402
from spiders.library.store import LibraryStore  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
GOALS_MS = {"page": 300, "filter": 100}
# A filter switch on an ended job: the pages' section alone (HX-Target pages-section), as the page asks.
FATES = ["?fate=included", "?fate=left_out", "?fate=failed", "?fate=skipped", "", "?fate=included&page=3"]
SEARCHES = ["?q=page+42", "?fate=included&q=p1", "?q=failed%2F7", "?q=nothing+like+this"]
RESULTS = ROOT / "bench" / "job_page_results.txt"
OTHER_SQL = """
INSERT INTO job_urls (job_id, url, normalized_url, status, depth, error_message, http_status, finished_at, fetched_at)
SELECT $1, u, u, $3, 2, $4, $5, now() - n * interval '1 millisecond', CASE WHEN $3 = 'failed' THEN 'x' END
FROM generate_series(1, $2) AS n, LATERAL (SELECT 'https://docs.example.org/docs/' || $3 || '/' || n || '.html' AS u) AS url
"""


async def make_job(database_url: str, pages: int, left_out: int, failed: int, skipped: int) -> dict:
    """A finished job as a crawl and its finalizing leave it; returns what it holds."""
    pool = await create_pool(database_url, 2)
    try:
        job_id = uuid.uuid4()
        await pool.execute(
            "INSERT INTO crawl_jobs (id, status, current_step, initial_url, max_pages, max_depth, quality_threshold,"
            " started_at, total_urls, processed_urls, failed_urls, skipped_urls, discovered_urls, token_budget)"
            " VALUES ($1, 'running', 'finalizing', 'https://docs.example.org/docs/', $2, 3, 20, now(), $3, $2, $4, $5,"
            " $6, NULL)", job_id, pages, pages + failed, failed, skipped, pages + failed + skipped)
        await pool.execute(PAGE_SQL, job_id, pages, 3000)
        await pool.execute("UPDATE job_urls SET included = NULL, quality = 5, quality_reasons = '[\"thin\"]'"
                           " WHERE job_id = $1 AND id IN (SELECT id FROM job_urls WHERE job_id = $1 ORDER BY id"
                           " LIMIT $2)", job_id, left_out)
        await pool.execute("UPDATE job_urls SET included = NULL WHERE job_id = $1", job_id)
        await pool.execute(OTHER_SQL, job_id, failed, "failed", "HTTP 404", 404)
        await pool.execute(OTHER_SQL, job_id, skipped, "skipped", "not fetched: page limit reached", None)
        store = JobStore(pool)
        stored = await store.pages(job_id)
        started = time.monotonic()
        outputs = await asyncio.to_thread(build_outputs, stored, source_url="https://docs.example.org/docs/",
                                          quality_threshold=20)
        row = await store.complete(job_id, outputs.markdown, outputs.token_count, outputs.llms_txt, outputs.verdicts)
        assert row is not None and row["status"] == "completed"
        sections = await LibraryStore(pool).index_job(job_id)
        return {"id": str(job_id), "pages": pages, "left_out": len(outputs.dropped) - failed - skipped,
                "failed": failed, "skipped": skipped, "document_bytes": len(outputs.markdown.encode()),
                "library_sections": sections, "finalized_in_s": round(time.monotonic() - started, 1)}
    finally:
        await pool.close()


def summary(times: list[float], goal: float | None = None, cpu_ms: float | None = None) -> dict:
    result = {"n": len(times), "p50_ms": round(statistics.median(times), 1), "p95_ms": round(percentile(times, 95), 1),
              "max_ms": round(max(times), 1)}
    if cpu_ms is not None:
        result["server_cpu_ms_per_request"] = round(cpu_ms, 1)
    if goal is not None:
        result["goal_ms"] = goal
        result["meets_goal"] = result["p95_ms"] < goal
    return result


def http_latency(server: Server, job_id: str, paths: list[str], runs: int, headers: dict[str, str], goal: float) -> dict:
    with httpx.Client(base_url=server.url, timeout=60, headers=headers) as client:
        for path in paths * 3:  # warm: connections, prepared statements, plans
            client.get(f"/jobs/{job_id}{path}").raise_for_status()
        process = psutil.Process(server.process.pid)
        cpu = cpu_seconds(process)
        times = []
        for n in range(runs):
            start = time.perf_counter()
            response = client.get(f"/jobs/{job_id}{paths[n % len(paths)]}")
            times.append((time.perf_counter() - start) * 1000)
            response.raise_for_status()
        return summary(times, goal, (cpu_seconds(process) - cpu) * 1000 / runs)


# In the page: from a click on a fate tab to the list swapped and settled (htmx's own event), and on
# to the next frame painted (a task queued from requestAnimationFrame runs once that frame's style,
# layout and paint are done): what a person waits for, the new rows' rendering included.
CLICK_TO_PAINTED = """(id) => new Promise((resolve) => {
    document.body.addEventListener('htmx:afterSettle', () => {
        const settled = performance.now() - t0;
        requestAnimationFrame(() => setTimeout(() => resolve([settled, performance.now() - t0])));
    }, {once: true});
    const t0 = performance.now();
    document.getElementById(id).click();
})"""


# The text filter: a query submitted (Enter; typing waits 300 ms for the typist first) until painted.
SEARCH_TO_PAINTED = """(q) => new Promise((resolve) => {
    document.body.addEventListener('htmx:afterSettle', () => {
        requestAnimationFrame(() => setTimeout(() => resolve(performance.now() - t0)));
    }, {once: true});
    const t0 = performance.now();
    document.getElementById('page-search').value = q;
    document.getElementById('page-filter').requestSubmit();
})"""
BROWSER_SEARCHES = ["page 42", "p1", "failed/7", "nothing like this"]


# From the navigation's start to the first contentful paint (it may come after DOMContentLoaded).
FIRST_PAINT = """() => new Promise((resolve) => new PerformanceObserver((list, observer) => {
    const entry = list.getEntries().find((e) => e.name === 'first-contentful-paint');
    if (entry) { observer.disconnect(); resolve(entry.startTime); }
}).observe({type: 'paint', buffered: true}))"""


def browser_timings(server: Server, job_id: str, runs: int) -> dict:
    from playwright.sync_api import sync_playwright

    loads, painted, settled, switches_painted, searches, baseline = [], [], [], [], [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            tab = browser.new_page(viewport={"width": 1280, "height": 900})
            for n in range(runs + 3):
                tab.goto(f"{server.url}/jobs/{job_id}", wait_until="domcontentloaded")
                dcl = tab.evaluate("() => performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd")
                # the first frame with the page in it (DOMContentLoaded can come before anything is painted)
                paint = tab.evaluate(FIRST_PAINT)
                tab.wait_for_function("() => window.htmx !== undefined")
                fate = ("fate-failed", "fate-left_out", "fate-skipped", "fate-included")[n % 4]
                switch = tab.evaluate(CLICK_TO_PAINTED, fate)
                search = tab.evaluate(SEARCH_TO_PAINTED, BROWSER_SEARCHES[n % len(BROWSER_SEARCHES)])
                tab.goto(f"{server.url}/search", wait_until="domcontentloaded")
                small = tab.evaluate("() => performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd")
                if n >= 3:  # the first few warm the browser's cache
                    loads.append(dcl)
                    painted.append(paint)
                    settled.append(switch[0])
                    switches_painted.append(switch[1])
                    searches.append(search)
                    baseline.append(small)
        finally:
            browser.close()
    # The machine's own floor: the same navigation to a page with next to nothing on it (the search page).
    return {"dom_content_loaded": summary(loads, GOALS_MS["page"]), "first_paint": summary(painted, GOALS_MS["page"]),
            "click_to_settled": summary(settled), "click_to_painted": summary(switches_painted, GOALS_MS["filter"]),
            "search_to_painted": summary(searches, GOALS_MS["filter"]),
            "search_page_dom_content_loaded": summary(baseline)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=10_000)
    parser.add_argument("--left-out", type=int, default=500)
    parser.add_argument("--failed", type=int, default=300)
    parser.add_argument("--skipped", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--browser-runs", type=int, default=40)
    parser.add_argument("--server-root", type=Path, default=ROOT,
                        help="the checkout whose server (templates, static files) is measured: a before/after on one machine")
    parser.add_argument("--write", action="store_true", help=f"append the results to {RESULTS.relative_to(ROOT)}")
    args = parser.parse_args()

    prefix = f"docspasta_bench_{uuid.uuid4().hex[:12]}:"
    logs = ROOT / "bench" / "results"
    logs.mkdir(exist_ok=True)
    report: dict = {"date": datetime.now().astimezone().isoformat(timespec="minutes"), "load_before": load()}
    with throwaway_database() as database_url:
        report["job"] = asyncio.run(make_job(database_url, args.pages, args.left_out, args.failed, args.skipped))
        job_id = report["job"]["id"]
        server = Server(args.server_root, database_url, prefix, logs / "job_page_server.log")
        try:
            report["page_http"] = http_latency(server, job_id, [""], args.runs, {}, GOALS_MS["page"])
            fragment = {"HX-Request": "true", "HX-Target": "pages-section"}
            report["filter_http"] = http_latency(server, job_id, FATES, args.runs, fragment, GOALS_MS["filter"])
            report["search_http"] = http_latency(server, job_id, SEARCHES, args.runs // 2, fragment,
                                                 GOALS_MS["filter"])
            report["browser"] = browser_timings(server, job_id, args.browser_runs)
        finally:
            server.stop()
        report["load_after"] = load()
    print(json.dumps(report, indent=2))
    if args.write:
        with RESULTS.open("a") as out:
            root = "" if args.server_root == ROOT else f" --server-root {args.server_root}"
            out.write(f"\n## {report['date']}, load {report['load_before']} -> {report['load_after']}\n"
                      f"python bench/job_page.py --pages {args.pages} --runs {args.runs}"
                      f" --browser-runs {args.browser_runs}{root}\n")
            for key in ("job", "page_http", "filter_http", "search_http"):
                out.write(f"{key} {json.dumps(report[key])}\n")
            for key, value in report["browser"].items():
                out.write(f"browser_{key} {json.dumps(value)}\n")


if __name__ == "__main__":
    main()
