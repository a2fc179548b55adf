"""Playwright's Node.js driver starts with PLAYWRIGHT_DRIVER_NODE_FLAGS, and nothing else does."""
from __future__ import annotations

import asyncio
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor

import psutil
import pytest
import pytest_twisted

from spiders import settings
from spiders.render import driver
from tests.render.test_render_crawl import D, browser_processes, needs_chromium
from tests.sitefixture import Reply, page


@pytest.fixture(autouse=True)
def restore_environment():
    saved = {name: os.environ.get(name) for name in (driver.NODEJS_PATH, driver.NODE, driver.FLAGS)}
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def driver_command_line() -> list[str]:
    """The command line of the Playwright driver this process starts, while it runs."""
    from playwright.async_api import async_playwright

    async def start_and_look() -> list[str]:
        playwright = await async_playwright().start()
        try:
            nodes = [child for child in psutil.Process().children(recursive=True) if child.name().startswith("node")]
            assert len(nodes) == 1, nodes
            return nodes[0].cmdline()
        finally:
            await playwright.stop()

    # A loop of its own, in a thread: the tests' reactor runs one in this thread.
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, start_and_look()).result()


@pytest.mark.skipif(not driver.bundled_node().is_file(), reason="this Playwright ships no Node.js")
def test_the_driver_runs_with_the_flags_and_other_processes_see_no_node_options():
    os.environ.pop(driver.NODEJS_PATH, None)
    driver.use_driver_flags(settings.PLAYWRIGHT_DRIVER_NODE_FLAGS)
    assert settings.PLAYWRIGHT_DRIVER_NODE_FLAGS
    command = driver_command_line()
    assert command[0] == str(driver.bundled_node())  # the wrapper exec'd the real Node.js: no shell left
    assert command[1:1 + len(settings.PLAYWRIGHT_DRIVER_NODE_FLAGS)] == settings.PLAYWRIGHT_DRIVER_NODE_FLAGS
    assert command[-1] == "run-driver"
    assert "NODE_OPTIONS" not in os.environ
    # Another Node.js started from this process gets no flags (node is Playwright's own here).
    other = subprocess.run([str(driver.bundled_node()), "-p", "process.execArgv.concat(process.env.NODE_OPTIONS || [])"],
                           capture_output=True, text=True, check=True)
    assert not any(flag in other.stdout for flag in settings.PLAYWRIGHT_DRIVER_NODE_FLAGS), other.stdout


@pytest.mark.skipif(not driver.bundled_node().is_file(), reason="this Playwright ships no Node.js")
def test_without_flags_playwright_starts_its_driver_as_before():
    os.environ.pop(driver.NODEJS_PATH, None)
    driver.use_driver_flags(["--max-semi-space-size=1"])
    driver.use_driver_flags([])
    assert driver.NODEJS_PATH not in os.environ and driver.FLAGS not in os.environ
    command = driver_command_line()
    assert command[0] == str(driver.bundled_node()) and command[1].endswith("cli.js")


def test_a_node_named_by_playwright_nodejs_path_is_the_one_the_wrapper_runs(tmp_path):
    node = tmp_path / "node"
    node.write_text("#!/bin/sh\necho \"$@\"\n")
    node.chmod(0o755)
    os.environ[driver.NODEJS_PATH] = str(node)
    driver.use_driver_flags(["--max-semi-space-size=1", "--lite-mode"])
    assert os.environ[driver.NODEJS_PATH] == str(driver.WRAPPER)
    ran = subprocess.run([os.environ[driver.NODEJS_PATH], "cli.js", "run-driver"],
                         capture_output=True, text=True, check=True)
    assert ran.stdout.split() == ["--max-semi-space-size=1", "--lite-mode", "cli.js", "run-driver"]
    driver.use_driver_flags(["--max-semi-space-size=2"])  # a later launch: still that Node.js
    assert os.environ[driver.NODE] == str(node)
    driver.use_driver_flags([])
    assert os.environ[driver.NODEJS_PATH] == str(node)


@needs_chromium
@pytest_twisted.inlineCallbacks
def test_a_rendered_crawl_runs_a_browser_without_spare_renderer_and_a_driver_with_the_flags(site, crawl):
    """The launch bench/render.py measured, seen on a crawl that renders: Chromium's browser process
    told to keep no spare renderer, and the driver started with PLAYWRIGHT_DRIVER_NODE_FLAGS."""
    seen: list[dict] = []

    def script(_request):
        for process in browser_processes():
            try:
                command = process.cmdline()
                if "chrom" in process.name() and not any(arg.startswith("--type=") for arg in command):
                    seen.append({"browser": command})
                elif process.name().startswith("node"):
                    seen.append({"driver": command})
            except (psutil.NoSuchProcess, FileNotFoundError):
                pass
        return Reply(body="document.getElementById('root').textContent = 'rendered ' + 'words '.repeat(60)",
                     content_type="application/javascript")

    site.add(f"{D}app.js", script)
    links = "".join(f"<a href='p{n}.html'>page {n}</a>" for n in range(1, 4))
    site.add(f"{D}index.html", page("Start", body=f"<div id='root'></div><script src='app.js'></script>{links}"))
    for n in range(1, 4):
        site.add(f"{D}p{n}.html", page(f"Page {n}", body="<div id='root'></div><script src='app.js'></script>"))
    result = yield crawl(site.url(f"{D}index.html"), render="always", max_pages=4)
    assert len(result.completed) == 4 and all(item["rendered"] for item in result.completed)
    assert all("rendered words" in item["markdown"] for item in result.completed)
    drivers = [sample["driver"] for sample in seen if "driver" in sample]
    browsers = [sample["browser"] for sample in seen if "browser" in sample]
    assert drivers and browsers, seen
    flags = settings.PLAYWRIGHT_DRIVER_NODE_FLAGS
    assert all(command[1:1 + len(flags)] == flags for command in drivers), drivers
    disabled = {feature for command in browsers for arg in command if arg.startswith("--disable-features=")
                for feature in arg.split("=", 1)[1].split(",")}
    assert "SpareRendererForSitePerProcess" in disabled, browsers
