"""Rendering throughput and the browser's footprint.

Generates a docsify site of N Markdown pages (docsify vendored under
tests/fixtures/docsify), serves it on 127.0.0.1, and in one process, as the web
app runs jobs:
1. crawls it with render=auto: rendered pages/s, and the peak RSS of this process
   plus every child (the Playwright driver and all Chromium processes), sampled
   every 50 ms;
2. runs 20 small jobs one after another, counting Chromium processes before, after
   each job and after all: the count must come back to its baseline.

    python bench/render.py [--pages 50] [--jobs 20] [-s NAME=VALUE ...]

RSS of Chromium's processes is summed as the kernel reports it; pages shared
between them are counted more than once, so that figure is an upper bound. PSS
divides shared pages among the processes sharing them: the truer total (read every 250 ms:
reading it costs the machine more CPU than the crawl's own processes at 50 ms).
"""
from __future__ import annotations

import argparse
import functools
import resource
import shutil
import sys
import tempfile
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DOCSIFY = ROOT / "tests" / "fixtures" / "docsify"
TOPICS = ("install", "configure", "deploy", "themes", "plugins", "search", "routing", "markdown", "embeds", "cli")


def generate(out: Path, pages: int) -> None:
    shutil.copytree(DOCSIFY / "lib", out / "lib")
    shutil.copy(DOCSIFY / "index.html", out / "index.html")
    sidebar = ["- [Home](/)"] + [f"- [Topic {n}](topic{n:02d}.md)" for n in range(1, pages)]
    (out / "_sidebar.md").write_text("\n".join(sidebar) + "\n")
    (out / "README.md").write_text("# Benchmark docs\n\n" + "This site has many pages about one tool. " * 20 + "\n")
    for n in range(1, pages):
        topic = TOPICS[n % len(TOPICS)]
        body = " ".join(f"Section {n} explains how to {topic} the tool, step {i}, with the reasons behind it."
                        for i in range(12))
        (out / f"topic{n:02d}.md").write_text(
            f"# Topic {n}: {topic}\n\n{body}\n\n## Example\n\n```sh\ntool {topic} --step {n}\n```\n\n{body}\n")


def serve(directory: Path) -> ThreadingHTTPServer:
    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(directory)))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def chromium_processes(prefix: str = "chrom") -> list[psutil.Process]:
    """This process's descendants whose name starts with `prefix` ("node": Playwright's driver)."""
    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            if child.name().startswith(prefix):
                found.append(child)
        except psutil.NoSuchProcess:
            pass
    return found


def cpu_seconds() -> float:
    """CPU time of this process, its reaped children (the Playwright driver and, through it, every
    Chromium process once closed) and its live children (the extraction workers)."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    for child in psutil.Process().children(recursive=True):
        try:
            times = child.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def own_rss_mb() -> float:
    return psutil.Process().memory_info().rss / 2**20


def process_kind(proc: psutil.Process, me: psutil.Process) -> str:
    """What a process is, for the PSS breakdown: crawl, extraction worker, Playwright driver, or
    Chromium's browser process and each --type of its children (renderer, gpu-process, utility
    with its sub-type, zygote)."""
    if proc.pid == me.pid:
        return "crawl"
    name = proc.name()
    if name.startswith("node"):
        return "driver"
    if not name.startswith("chrom"):
        if not name.startswith("python"):
            return name
        # a pool worker (spiders/crawl/pool.py); with multiprocessing's spawn, also its resource tracker
        return "resource tracker" if "resource_tracker" in " ".join(proc.cmdline()) else "extraction worker"
    args = proc.cmdline()
    kind = next((arg.split("=", 1)[1] for arg in args if arg.startswith("--type=")), "browser")
    if kind == "utility":
        kind += ":" + next((arg.split("=", 1)[1].rsplit(".", 1)[-1] for arg in args
                            if arg.startswith("--utility-sub-type=")), "?")
    if kind == "renderer" and any(arg in ("--top-chrome-webui", "--extension-process") for arg in args):
        kind = "renderer (webui/extension)"
    return f"chromium {kind}"


PSS_EVERY = 5  # rounds of 50 ms: PSS every 250 ms, RSS every 50 ms


class PeakRSS:
    """Samples RSS (and PSS, which shares shared pages out fairly) of this process
    and all its children until stopped."""

    def __init__(self) -> None:
        self.peak = 0
        self.peak_pss = 0
        self.peak_chromium = 0  # Chromium processes at once
        self.breakdown: dict[str, float] = {}  # PSS by kind of process, at the peak
        self.counts: dict[str, int] = {}  # processes of each kind, at the peak
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = psutil.Process()
        rounds = 0
        while not self._stop.is_set():
            # PSS walks every mapping of every process (~4 ms of CPU per Chromium process): read
            # every PSS_EVERY-th round only, or the sampler takes half of a 2-core machine.
            with_pss = rounds % PSS_EVERY == 0
            rounds += 1
            total = pss = 0
            kinds: dict[str, float] = {}
            counts: dict[str, int] = {}
            children = me.children(recursive=True)
            self.peak_chromium = max(self.peak_chromium, len(chromium_processes()))
            for proc in [me, *children]:
                try:
                    info = proc.memory_full_info() if with_pss else proc.memory_info()
                    kind = process_kind(proc, me) if with_pss else ""
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    continue
                total += info.rss
                pss += getattr(info, "pss", 0)
                if with_pss:
                    kinds[kind] = kinds.get(kind, 0) + info.pss
                    counts[kind] = counts.get(kind, 0) + 1
            self.peak = max(self.peak, total)
            if with_pss and pss > self.peak_pss:
                self.peak_pss = pss
                self.breakdown = kinds
                self.counts = counts
            self._stop.wait(0.05)

    def __enter__(self) -> PeakRSS:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=50)
    parser.add_argument("--jobs", type=int, default=20)
    parser.add_argument("--dump", type=Path, metavar="PATH",
                        help="write the big job's items (by URL, without discovered_from, which follows the "
                             "scheduling order) as JSON, to compare the output of two runs")
    parser.add_argument("-s", dest="settings", action="append", default=[], metavar="NAME=VALUE",
                        help="a crawl setting for every job, as with scrapy -s")
    args = parser.parse_args()

    from scrapy.utils.reactor import install_reactor

    install_reactor("twisted.internet.asyncioreactor.AsyncioSelectorReactor")
    from scrapy import signals
    from scrapy.crawler import CrawlerRunner
    from scrapy.utils.defer import maybe_deferred_to_future
    from scrapy.utils.project import get_project_settings
    from twisted.internet import defer, reactor

    from spiders.docs import DocsSpider

    site_dir = Path(tempfile.mkdtemp(prefix="docspasta-render-bench-"))
    generate(site_dir, args.pages)
    server = serve(site_dir)
    port = server.server_address[1]
    url = f"http://127.0.0.1:{port}/"
    settings = get_project_settings()
    settings.setdict({"LOG_LEVEL": "ERROR", "DOCSPASTA_ALLOW_HOSTS": f"127.0.0.1:{port}",
                      "AUTOTHROTTLE_ENABLED": False}, priority="cmdline")
    settings.setdict(dict(pair.split("=", 1) for pair in args.settings), priority="cmdline")
    runner = CrawlerRunner(settings)

    async def crawl(max_pages: int, stats: dict | None = None) -> list[dict]:
        crawler = runner.create_crawler(DocsSpider)
        items: list[dict] = []
        crawler.signals.connect(lambda item: items.append(dict(item)), signal=signals.item_scraped, weak=False)
        await maybe_deferred_to_future(runner.crawl(crawler, url=url, max_pages=max_pages, max_depth=2))
        if stats is not None:
            stats.update(crawler.stats.get_stats())
        return items

    report: dict = {}

    async def run() -> None:
        report["baseline"] = len(chromium_processes())
        with PeakRSS() as rss:
            started, cpu = time.monotonic(), cpu_seconds()
            items = await crawl(args.pages, stats := {})
            report["seconds"] = time.monotonic() - started
        report["cpu"] = cpu_seconds() - cpu  # the browser has closed and been reaped by now
        report["peak_rss"], report["peak_pss"] = rss.peak, rss.peak_pss
        report["peak_chromium"] = rss.peak_chromium
        report["breakdown"] = rss.breakdown
        report["counts"] = rss.counts
        report["stats"] = {key.split("/", 1)[1]: value for key, value in sorted(stats.items())
                           if key.startswith(("docspasta/render/", "playwright/page_count"))}
        report["completed"] = sum(item["status"] == "completed" for item in items)
        report["rendered"] = sum(item["status"] == "completed" and item["rendered"] for item in items)
        if args.dump:
            import json

            rows = sorted(({k: v for k, v in item.items() if k != "discovered_from"} for item in items),
                          key=lambda row: row["url"])
            args.dump.write_text(json.dumps(rows, indent=1, sort_keys=True, default=str))
        report["after_big_job"] = len(chromium_processes())
        report["rss_after_big_job"] = own_rss_mb()
        counts = []
        for _ in range(args.jobs):
            await crawl(3)
            counts.append(len(chromium_processes()))
        report["after_each_job"] = counts
        report["after_all"] = len(chromium_processes())
        report["drivers_after_all"] = len(chromium_processes("node"))
        report["rss_after_all"] = own_rss_mb()

    def done(result: object) -> object:
        reactor.stop()
        return result

    reactor.callWhenRunning(lambda: defer.Deferred.fromFuture(__import__("asyncio").ensure_future(run()))
                            .addBoth(done))
    reactor.run()
    server.shutdown()
    shutil.rmtree(site_dir, ignore_errors=True)
    if "after_all" not in report:
        raise SystemExit(f"benchmark did not finish: {report}")

    print(f"docsify site: {args.pages} pages at {url}, render=auto")
    print(f"completed {report['completed']}, rendered {report['rendered']} in {report['seconds']:.2f} s: "
          f"{report['rendered'] / report['seconds']:.2f} rendered pages/s")
    print(f"CPU: {report['cpu']:.1f} s in all processes, {report['cpu'] / max(1, report['rendered']):.3f} s per rendered "
          f"page (a busy machine stretches the seconds above, not this)")
    print(f"peak memory, crawl process + Playwright driver + Chromium: RSS summed {report['peak_rss'] / 2**20:.0f} MB, "
          f"PSS {report['peak_pss'] / 2**20:.0f} MB; at most {report['peak_chromium']} Chromium processes at once")
    print("browser: " + ", ".join(f"{key} {value}" for key, value in report["stats"].items()))
    print("PSS at the peak by process: " + ", ".join(
        f"{kind} {pss / 2**20:.0f}" + (f" (x{report['counts'][kind]})" if report["counts"][kind] > 1 else "")
        for kind, pss in sorted(report["breakdown"].items(), key=lambda kv: -kv[1])) + " (MB)")
    print(f"chromium processes: baseline {report['baseline']}, after the {args.pages}-page job "
          f"{report['after_big_job']}, after each of {args.jobs} small jobs {report['after_each_job']}, "
          f"after all {report['after_all']}; Playwright drivers after all {report['drivers_after_all']}")
    print(f"crawl process RSS: {report['rss_after_big_job']:.0f} MB after the {args.pages}-page job, "
          f"{report['rss_after_all']:.0f} MB after {args.jobs} more jobs")
    if report["after_all"] != report["baseline"] or report["drivers_after_all"]:
        raise SystemExit("browser processes leaked")


if __name__ == "__main__":
    main()
