"""A service imports what its crawls are built from when it starts, not during its first job."""
from __future__ import annotations

import json
import subprocess
import sys

from tests.web.server import ROOT

# In a fresh interpreter: the modules that building a real crawler (every extension, middleware and
# pipeline the settings name, each imported even when it turns itself off) adds after the preload.
PROBE = """
import json, sys
from scrapy.utils.reactor import install_reactor
install_reactor("twisted.internet.asyncioreactor.AsyncioSelectorReactor")
from scrapy.crawler import CrawlerRunner
from scrapy.utils.misc import load_object
from spiders.docs import DocsSpider
from spiders.jobs.runner import crawl_components, crawl_settings
from webapp.settings import Settings

settings = crawl_settings(Settings.from_env({}))
for path in crawl_components(settings):
    load_object(path)
before = set(sys.modules)
crawler = CrawlerRunner(settings).create_crawler(DocsSpider)
crawler._apply_settings()  # the extensions, as Crawler.crawl builds them before its engine
crawler.engine = crawler._create_engine()  # the middlewares, pipelines and download handlers
print(json.dumps(sorted(name for name in set(sys.modules) - before if "." in name)))
"""


def test_a_crawl_built_after_the_preload_imports_none_of_its_components():
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    late = [name for name in json.loads(result.stdout.splitlines()[-1])
            if name.startswith(("scrapy.extensions", "scrapy.downloadermiddlewares", "scrapy.spidermiddlewares",
                                "scrapy.pipelines", "scrapy.core.downloader.handlers", "spiders."))]
    assert late == [], f"imported only when the first crawl starts: {late}"
