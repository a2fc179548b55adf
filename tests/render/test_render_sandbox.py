"""Chromium renders strangers' pages inside its sandbox, never as root, one site per renderer.

Checked while a page is rendering: when the page's own script asks the fixture
site for a file, its renderer exists, and every browser process is inspected
then (in the site's server thread, so nothing waits on time). Both Chromiums a
crawl may launch (spiders/render/chromium.py) are checked where installed.
"""
from __future__ import annotations

import os
from pathlib import Path

import psutil
import pytest
import pytest_twisted

from spiders.render.chromium import FULL_BROWSER, HEADLESS_SHELL
from spiders.render.sandbox import sandboxed
from tests.render.test_render_crawl import D, browser_processes
from tests.sitefixture import Reply, page

# Each Chromium, and the program its browser process runs (/usr/bin/chromium is Debian's script).
CHROMIUMS = [pytest.param(path, program, id=Path(path).name, marks=pytest.mark.skipif(
    not os.access(path, os.X_OK), reason=f"{path} is not installed")) for path, program in (
    (HEADLESS_SHELL, "chromium-headless-shell"), (FULL_BROWSER, "chromium"))]


def seccomp(process: psutil.Process) -> int:
    with open(f"/proc/{process.pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("Seccomp:"))


def chromium_processes() -> list[dict]:
    """Every Chromium process of this test process: its --type, user, seccomp mode, program."""
    seen = []
    for process in browser_processes():
        try:
            if "chrom" in process.name():
                kind = next((arg[7:] for arg in process.cmdline() if arg.startswith("--type=")), "browser")
                seen.append({"type": kind, "uid": process.uids().effective, "seccomp": seccomp(process),
                             "no_sandbox": "--no-sandbox" in process.cmdline(), "program": Path(process.exe()).name})
        except (psutil.NoSuchProcess, FileNotFoundError):
            pass
    return seen


RENDER_SCRIPT = Reply(body="document.getElementById('root').textContent = 'rendered ' + 'words '.repeat(60)",
                      content_type="application/javascript")


@pytest.mark.parametrize("chromium, program", CHROMIUMS)
@pytest_twisted.inlineCallbacks
def test_chromium_renders_as_an_unprivileged_user_with_renderers_sandboxed(site, crawl, chromium, program):
    seen: list[dict] = []

    def script(_request):
        seen.extend(chromium_processes())
        return RENDER_SCRIPT

    site.add(f"{D}app.js", script)
    site.add(f"{D}app.html", page("Sandboxed", body="<div id='root'></div><script src='app.js'></script>"))
    result = yield crawl(site.url(f"{D}app.html"), render="always", settings={"DOCSPASTA_CHROMIUM": chromium})
    assert result.completed and result.completed[0]["rendered"]
    assert seen and any(p["type"] == "renderer" for p in seen), seen
    assert {p["program"] for p in seen} == {program}, seen
    assert all(p["uid"] != 0 and not p["no_sandbox"] for p in seen), seen
    # seccomp-bpf (mode 2) around every renderer: Chromium's sandbox is on.
    assert all(p["seccomp"] == 2 for p in seen if p["type"] == "renderer"), seen


@pytest.mark.parametrize("chromium, program", CHROMIUMS)
@pytest_twisted.inlineCallbacks
def test_a_frame_of_another_site_renders_in_a_renderer_of_its_own(site, crawl, chromium, program):
    """127.0.0.1 and localhost are two sites: the frame's document is not in its parent's renderer
    (the headless shell shares one renderer among them unless told --site-per-process)."""
    renderers: list[int] = []

    def script(_request):  # asked for by the frame's document: both documents are in their renderers
        renderers.extend(p["type"] == "renderer" for p in chromium_processes())
        return RENDER_SCRIPT

    site.add(f"{D}frame.js", script)
    site.add(f"{D}frame.html", page("Frame", body="<div id='root'></div><script src='frame.js'></script>"))
    frame = site.url(f"{D}frame.html", host="localhost")
    site.add(f"{D}top.html", page("Top", body=f"<p>{'The page that holds a frame. ' * 10}</p>"
                                             f"<iframe src='{frame}'></iframe><script>1</script>"))
    result = yield crawl(site.url(f"{D}top.html"), render="always", settings={"DOCSPASTA_CHROMIUM": chromium})
    assert result.completed and result.completed[0]["rendered"]
    assert site.count(f"{D}frame.js") == 1
    assert sum(renderers) == 2, renderers


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
