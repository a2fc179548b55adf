"""Playwright's Node.js driver starts with PLAYWRIGHT_DRIVER_NODE_FLAGS, and nothing else does."""
from __future__ import annotations

import asyncio
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor

import psutil
import pytest

from spiders import settings
from spiders.render import driver


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
