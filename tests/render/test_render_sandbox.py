"""Chromium renders strangers' pages inside its sandbox, never as root.

Checked while a page is rendering: when the page's own script asks the fixture
site for a file, its renderer exists, and every browser process is inspected
then (in the site's server thread, so nothing waits on time).
"""
from __future__ import annotations

import os

import psutil
import pytest
import pytest_twisted

from spiders.render.sandbox import sandboxed
from tests.render.test_render_crawl import D, browser_processes, needs_chromium
from tests.sitefixture import Reply, page


def seccomp(process: psutil.Process) -> int:
    with open(f"/proc/{process.pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("Seccomp:"))


@needs_chromium
@pytest_twisted.inlineCallbacks
def test_chromium_renders_as_an_unprivileged_user_with_renderers_sandboxed(site, crawl):
    seen: list[dict] = []

    def script(_request):
        for process in browser_processes():
            try:
                if "chrom" in process.name():
                    kind = next((arg[7:] for arg in process.cmdline() if arg.startswith("--type=")), "browser")
                    seen.append({"type": kind, "uid": process.uids().effective, "seccomp": seccomp(process),
                                 "no_sandbox": "--no-sandbox" in process.cmdline()})
            except (psutil.NoSuchProcess, FileNotFoundError):
                pass
        return Reply(body="document.getElementById('root').textContent = 'rendered ' + 'words '.repeat(60)",
                     content_type="application/javascript")

    site.add(f"{D}app.js", script)
    site.add(f"{D}app.html", page("Sandboxed", body="<div id='root'></div><script src='app.js'></script>"))
    result = yield crawl(site.url(f"{D}app.html"), render="always")
    assert result.completed and result.completed[0]["rendered"]
    assert seen and any(p["type"] == "renderer" for p in seen), seen
    assert all(p["uid"] != 0 and not p["no_sandbox"] for p in seen), seen
    # seccomp-bpf (mode 2) around every renderer: Chromium's sandbox is on.
    assert all(p["seccomp"] == 2 for p in seen if p["type"] == "renderer"), seen


@pytest.mark.skipif(os.geteuid() != 0, reason="only a crawl running as root needs a user to drop to")
def test_where_the_sandbox_cannot_work_chromium_runs_without_it_and_the_log_says_why(caplog):
    options = {"executable_path": "/usr/bin/chromium", "args": ["--disable-gpu", "--no-sandbox"]}
    with caplog.at_level("WARNING"):
        launch = sandboxed(options, "")
        no_such_user = sandboxed(options, "docspasta-no-such-user")
    assert launch["chromium_sandbox"] is False and launch["executable_path"] == "/usr/bin/chromium"
    assert no_such_user["chromium_sandbox"] is False
    assert "DOCSPASTA_BROWSER_USER is empty" in caplog.text
    assert "there is no user 'docspasta-no-such-user'" in caplog.text
