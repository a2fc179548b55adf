"""A web job renders too: the crawl runs on the asyncio reactor in crochet's thread
(spiders.jobs.launcher.setup_reactor), so Playwright's driver and Chromium are started from
a loop that is not the main thread's. In a subprocess: crochet owns that reactor."""
from __future__ import annotations

import json
import subprocess
import sys

from tests.crawl.test_terminal import ENV, ROOT
from tests.render.test_render_crawl import D, needs_chromium, serve_docsify

JOB = """
import json, sys
import psutil
from spiders.jobs.launcher import setup_reactor
setup_reactor()
import crochet
from scrapy import signals
from scrapy.crawler import CrawlerRunner
from scrapy.utils.project import get_project_settings
from spiders.docs import DocsSpider

url, allow = sys.argv[1:3]
settings = get_project_settings()
# Extraction inline: the extraction pool's worker lives as long as the process, by design,
# and would hide a leftover browser process among the children counted below.
settings.setdict({"LOG_LEVEL": "ERROR", "DOCSPASTA_ALLOW_HOSTS": allow, "DOCSPASTA_EXTRACT_WORKERS": 0},
                 priority="cmdline")
items = []

@crochet.wait_for(timeout=90)
def job():
    runner = CrawlerRunner(settings)
    crawler = runner.create_crawler(DocsSpider)
    crawler.signals.connect(lambda item: items.append(dict(item)), signal=signals.item_scraped, weak=False)
    return runner.crawl(crawler, url=url, max_pages=10, render="auto")

job()
_, alive = psutil.wait_procs(psutil.Process().children(recursive=True), timeout=10)
left = [p.name() for p in alive]
print(json.dumps({"items": items, "left": left}))
"""


@needs_chromium
def test_a_web_job_renders_in_the_reactor_thread_and_leaves_no_browser(site):
    serve_docsify(site)
    proc = subprocess.run([sys.executable, "-c", JOB, site.url(D), f"127.0.0.1:{site.port}"], cwd=ROOT, env=ENV,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    completed = [item for item in result["items"] if item["status"] == "completed"]
    assert len(completed) == 5 and all(item["rendered"] for item in completed)
    assert any("Jinja templates" in item["markdown"] for item in completed)
    assert result["left"] == [], "the job's browser outlived it"
