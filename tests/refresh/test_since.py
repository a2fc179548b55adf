"""`docspasta crawl URL --since export.json`: a refresh from the terminal, against a fixture site
whose pages the test rewrites between the two runs."""
from __future__ import annotations

import json
import sys

from tests.crawl.test_terminal import run
from tests.refresh.site import VersionedSite

D = "/docs/"


def code_page(versioned: VersionedSite, name: str, call: str, footer: str = "Built on 2025-01-01") -> None:
    versioned.put_page(f"{D}{name}.html", f"Page {name.upper()}",
                       body=f"<p>Page {name.upper()} explains one part of the library in enough words to count as"
                            " documentation.</p>"
                            f"<pre><code class='language-python'>import lib\nlib.{call}</code></pre>",
                       footer=footer)


def test_a_terminal_refresh_downloads_what_changed_and_writes_the_report(site, tmp_path):
    versioned = VersionedSite(site)
    versioned.put_page(D, "Start", "a.html", "b.html", "c.html")
    for name in "abc":
        code_page(versioned, name, f"{name}()")
    allow = f"127.0.0.1:{site.port}"
    first = tmp_path / "first"
    first.mkdir()
    proc = run(sys.executable, "-m", "webapp.cli", "crawl", site.url(D), "-o", str(first / "docs.md"), "-q",
               "--max-depth", "1", allow=allow)
    assert proc.returncode == 0, proc.stderr

    code_page(versioned, "b", "b()", footer="Built on 2025-07-01")  # only the build date: no change
    code_page(versioned, "c", "c(retries=3)")
    versioned.clear_log()
    again = tmp_path / "again"
    again.mkdir()
    proc = run(sys.executable, "-m", "webapp.cli", "crawl", site.url(D), "-o", str(again / "docs.md"), "-q",
               "--since", str(first / "docs.json"), allow=allow)
    assert proc.returncode == 0, proc.stderr
    assert sorted(versioned.downloaded()) == [f"{D}b.html", f"{D}c.html"]
    assert sorted(versioned.not_modified()) == [D, f"{D}a.html"]
    assert "1 changed" in proc.stderr and "3 unchanged" in proc.stderr and f"changed   {site.url(D)}c.html" in proc.stderr

    report = json.loads((again / "changes.json").read_text())
    assert report["counts"] == {"new": 0, "changed": 1, "removed": 0, "unchanged": 3, "unchecked": 0}
    assert "+lib.c(retries=3)" in report["changed"][0]["diff"]
    document = (again / "docs.md").read_text()
    assert "lib.a()" in document and "lib.c(retries=3)" in document, "the refreshed document is complete"
    pages = {page["url"]: page for page in json.loads((again / "docs.json").read_text())["pages"]}
    assert pages[site.url(f"{D}a.html")]["not_modified"] is True and "lib.a()" in pages[site.url(f"{D}a.html")]["markdown"]


def test_since_a_file_that_is_no_export_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"pages": 3}')
    proc = run(sys.executable, "-m", "webapp.cli", "crawl", "http://127.0.0.1:9/", "--since", str(bad))
    assert proc.returncode == 2 and "--since" in proc.stderr and "not an export" in proc.stderr
    proc = run(sys.executable, "-m", "webapp.cli", "crawl", "http://127.0.0.1:9/", "--since", str(tmp_path / "none"))
    assert proc.returncode == 2 and "cannot read" in proc.stderr
