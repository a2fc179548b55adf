"""The terminal ways in: `scrapy crawl docs` with feed exports, and `docspasta crawl`."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.sitefixture import Reply, page

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def run(*argv, cwd=ROOT, timeout=60, allow=""):
    env = {**ENV, "DOCSPASTA_ALLOW_HOSTS": allow}
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def docs_site(site):
    site.add_page("/docs/", "Start", "a.html", "b.html", "manual.pdf")
    site.add_page("/docs/a.html", "Alpha", "b.html")
    site.add_page("/docs/b.html", "Beta")
    return site


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_scrapy_crawl_exports_one_item_per_page(docs_site, tmp_path, fmt):
    out = tmp_path / f"pages.{fmt}"
    proc = run(sys.executable, "-m", "scrapy", "crawl", "docs", "-a", f"url={docs_site.url('/docs/')}",
               "-O", str(out), "-s", "LOG_LEVEL=WARNING", allow=f"127.0.0.1:{docs_site.port}")
    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    items = json.loads(text) if fmt == "json" else [json.loads(line) for line in text.splitlines()]
    assert sorted(item["url"].rsplit("/", 1)[-1] for item in items) == ["", "a.html", "b.html", "manual.pdf"]
    by_url = {item["url"].rsplit("/", 1)[-1]: item for item in items}
    assert by_url["a.html"]["status"] == "completed" and by_url["a.html"]["title"] == "Alpha"
    assert by_url["manual.pdf"]["status"] == "skipped"


@pytest.mark.parametrize(("args", "field"), [
    ([], "url"),
    (["-a", "url=ftp://example.org/"], "url"),
    (["-a", "url=not a url"], "url"),
    (["-a", "url=javascript:alert(1)"], "url"),
    (["-a", "url=http://127.0.0.1:9/", "-a", "max_pages=abc"], "max_pages"),
    (["-a", "url=http://127.0.0.1:9/", "-a", "max_pages=0"], "max_pages"),
    (["-a", "url=http://127.0.0.1:9/", "-a", "max_depth=-1"], "max_depth"),
    (["-a", "url=http://127.0.0.1:9/", "-a", "quality_threshold=101"], "quality_threshold"),
    (["-a", "url=http://127.0.0.1:9/", "-a", "scope=everything"], "scope"),
    (["-a", "url=http://127.0.0.1:9/", "-a", "render=sometimes"], "render"),  # every option, by the one check
    (["-a", "url=http://127.0.0.1:9/", "-a", "token_budget=0"], "token_budget"),
    (["-a", "url=http://127.0.0.1:9/", "-a", "include=api/*"], "include"),
    (["-a", "url=http://127.0.0.1:9/", "-a", 'headers={"Host": "evil.example"}'], "headers"),
    (["-a", "url=http://127.0.0.1:9/", "-a", "cookies=session"], "cookies"),
])
def test_scrapy_crawl_rejects_bad_arguments_with_one_line(args, field):
    proc = run(sys.executable, "-m", "scrapy", "crawl", "docs", *args)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {field}:"), proc.stderr
    assert "Traceback" not in proc.stderr


def test_docspasta_crawl_writes_the_document_the_json_and_llms_txt(docs_site, tmp_path):
    docs_site.add("/docs/a.html", Reply(body=page("Alpha", "b.html"), delay=0.4))  # finishes after Beta
    proc = run("docspasta", "crawl", docs_site.url("/docs/"), "-o", "docs.md", "--json", "pages.json",
               "--llms", "llms.txt", "--llms-full", "llms-full.txt", "--max-pages", "3", cwd=tmp_path,
               allow=f"127.0.0.1:{docs_site.port}")
    assert proc.returncode == 0, proc.stderr
    document = (tmp_path / "docs.md").read_text()
    assert "Alpha" in document and "Beta" in document
    # discovery order, whatever order the pages finished in
    assert document.index(docs_site.url("/docs/a.html")) < document.index(docs_site.url("/docs/b.html"))
    llms = (tmp_path / "llms.txt").read_text()
    assert llms.startswith("# ") and f"]({docs_site.url('/docs/a.html')})" in llms
    assert "Beta" in (tmp_path / "llms-full.txt").read_text()
    pages = json.loads((tmp_path / "pages.json").read_text())["pages"]
    assert len([p for p in pages if p["status"] == "completed"]) == 3
    assert "3/3" in proc.stderr  # the progress bar reached the page budget


def test_docspasta_crawl_writes_markdown_json_and_llms_txt_by_default(docs_site, tmp_path):
    (tmp_path / "out").mkdir()
    proc = run("docspasta", "crawl", docs_site.url("/docs/"), "-o", "out/site.md", cwd=tmp_path,
               allow=f"127.0.0.1:{docs_site.port}")
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["llms.txt", "site.json", "site.md"]
    assert len(json.loads((tmp_path / "out" / "site.json").read_text())["pages"]) == 4
    proc = run("docspasta", "crawl", docs_site.url("/docs/"), "-o", "only.md", "--markdown-only", cwd=tmp_path,
               allow=f"127.0.0.1:{docs_site.port}")
    assert proc.returncode == 0 and not (tmp_path / "only.json").exists()


def test_docspasta_crawl_fits_a_token_budget(docs_site, tmp_path):
    proc = run("docspasta", "crawl", docs_site.url("/docs/"), "-o", "docs.md", "--token-budget", "120",
               cwd=tmp_path, allow=f"127.0.0.1:{docs_site.port}")
    assert proc.returncode == 0, proc.stderr
    document = (tmp_path / "docs.md").read_text()
    assert "token budget" in document.lower()
    assert "pages in the document" in proc.stderr


@pytest.mark.parametrize(("args", "field"), [
    (["http://127.0.0.1:9/", "--header", "Transfer-Encoding: chunked"], "headers"),
    (["http://127.0.0.1:9/", "--header", "X-Token: a\r\nHost: evil.example"], "headers"),
    (["http://127.0.0.1:9/", "--cookie", "session"], "cookies"),
    (["http://127.0.0.1:9/", "--exclude", "api/*"], "exclude"),
    (["http://127.0.0.1:9/", "--max-depth", "x"], "max_depth"),
    (["file:///etc/passwd"], "url"),
    (["http://127.0.0.1:9/", "--quality-threshold", "500"], "quality_threshold"),
])
def test_docspasta_crawl_rejects_bad_arguments(args, field, tmp_path):
    proc = run("docspasta", "crawl", *args, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()]
    assert proc.stderr.startswith(f"docspasta: error: {field}:")


def test_docspasta_crawl_says_why_when_nothing_could_be_crawled(site, tmp_path):
    proc = run("docspasta", "crawl", site.url("/nowhere/"), cwd=tmp_path, allow=f"127.0.0.1:{site.port}")
    assert proc.returncode == 1
    assert "HTTP 404" in proc.stderr and not (tmp_path / "docs.md").exists()


def test_internal_start_urls_are_refused_unless_allow_listed(site, tmp_path):
    site.add_page("/docs/", "Start")
    proc = run("docspasta", "crawl", site.url("/docs/"), cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "docspasta: error: url: blocked: 127.0.0.1 is a loopback address "
        f"(to crawl it anyway, set DOCSPASTA_ALLOW_HOSTS=127.0.0.1:{site.port})"
    )
    assert site.hits == []
    proc = run(sys.executable, "-m", "scrapy", "crawl", "docs", "-a", f"url={site.url('/docs/')}")
    assert proc.returncode == 2 and "blocked: 127.0.0.1 is a loopback address" in proc.stderr
    assert site.hits == []


def test_docspasta_crawl_outside_the_repository_runs_with_the_projects_settings(docs_site, tmp_path):
    # no scrapy.cfg in tmp_path: the crawl must still obey robots.txt, cap sizes, guard addresses
    docs_site.add("/robots.txt", Reply(body="User-agent: *\nDisallow: /docs/b.html\n", content_type="text/plain"))
    proc = run("docspasta", "crawl", docs_site.url("/docs/"), "-o", "docs.md", cwd=tmp_path,
               allow=f"127.0.0.1:{docs_site.port}")
    assert proc.returncode == 0, proc.stderr
    assert docs_site.count("/docs/a.html") == 1 and docs_site.count("/docs/b.html") == 0
    pages = {page["url"].rsplit("/", 1)[-1]: page for page in json.loads((tmp_path / "docs.json").read_text())["pages"]}
    assert pages["b.html"]["error"] == "disallowed by robots.txt"


def test_docspasta_crawl_of_private_docs_with_patterns(site, tmp_path):
    from tests.privatesite import COOKIE, COOKIE_NAME, HEADER, TOKEN, private_site
    from tests.sitefixture import FixtureSite

    other = FixtureSite().start()
    try:
        private = private_site(site, other)
        proc = run("docspasta", "crawl", private.start, "-o", "docs.md", "--json", "docs.json", "--max-depth", "1",
                   "--header", f"{HEADER}: {TOKEN}", "--cookie", f"{COOKIE_NAME}={COOKIE}",
                   "--include", "/docs/*", "--exclude", "/docs/p1.html", "--exclude", "/docs/p2.*", "-v",
                   cwd=tmp_path, allow=f"127.0.0.1:{site.port},127.0.0.1:{other.port}")
    finally:
        other.stop()
    assert proc.returncode == 0, proc.stderr
    export = json.loads((tmp_path / "docs.json").read_text())
    pages = {page["url"].removeprefix(site.url("")): page for page in export["pages"]}
    assert {url for url, page in pages.items() if page["status"] == "completed"} == {
        "/docs/", "/docs/p0.html", "/docs/p3.html", "/docs/hidden.html"}, pages
    assert pages["/docs/p1.html"]["error"] == "excluded: the path matches /docs/p1.html"
    assert pages["/docs/p2.html"]["error"] == "excluded: the path matches /docs/p2.*"
    assert export["job"]["include"] == ["/docs/*"] and export["job"]["exclude"] == ["/docs/p1.html", "/docs/p2.*"]
    assert (export["job"]["privateHeaders"], export["job"]["privateCookies"]) == (1, 1)
    assert private.leaked() == [] and "/docs/landing.html" in [path for path, _ in private.other_requests()]
    everything = proc.stdout + proc.stderr + (tmp_path / "docs.json").read_text() + (tmp_path / "docs.md").read_text()
    assert "[scrapy.core.engine] INFO" in proc.stderr  # -v: Scrapy's log was on
    assert TOKEN not in everything and COOKIE not in everything
