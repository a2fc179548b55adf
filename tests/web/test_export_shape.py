"""`docspasta crawl --json FILE` writes export.json's shape: the API's download and the terminal's
file of the same site have the same keys, at every level."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest_twisted

from tests.web.conftest import call, docs_site
from tests.web.server import ROOT
from tests.web.test_jobs import start, wait_ended


def shape(export: dict) -> dict:
    pages = export["pages"]
    return {"top": sorted(export), "job": sorted(export["job"]),
            "statuses": sorted({page["status"] for page in pages}),
            **{f"page:{status}": sorted(set().union(*(page for page in pages if page["status"] == status)))
               for status in ("completed",)},
            "dropped": sorted(set().union(*export["dropped"])) if export["dropped"] else []}


@pytest_twisted.inlineCallbacks
def test_the_terminals_json_has_the_apis_export_shape(web, job_runner, site, tmp_path):
    url = docs_site(site, pages=4)  # four pages, and a thin one left out of the document
    job_id = yield start(web, url, maxPages=10, maxDepth=1)
    yield wait_ended(web, job_runner, job_id)
    api = (yield call(web.get, f"/api/v3/jobs/{job_id}/export.json")).json()
    proc = yield call(subprocess.run, [sys.executable, "-m", "webapp.cli", "crawl", url, "-q", "--max-pages", "10",
                                       "--max-depth", "1", "-o", str(tmp_path / "docs.md"),
                                       "--json", str(tmp_path / "docs.json")],
                      cwd=ROOT, capture_output=True, text=True, timeout=120,
                      env={"PATH": "/usr/bin:/bin", "DOCSPASTA_ALLOW_HOSTS": f"127.0.0.1:{site.port}"})
    assert proc.returncode == 0, proc.stderr
    terminal = json.loads((tmp_path / "docs.json").read_text())
    assert shape(terminal) == shape(api)
    assert api["dropped"] and terminal["dropped"] and {d["url"] for d in terminal["dropped"]} == {
        d["url"] for d in api["dropped"]}
    assert terminal["job"]["processedUrls"] == api["job"]["processedUrls"] == 6
    assert terminal["job"]["id"] is None and terminal["job"]["status"] == "completed"
