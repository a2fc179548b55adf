"""Markers set by module (or by test), in one place: `slow`, `browser`, `netns` (pyproject.toml).

The fast loop leaves them out: `python -m pytest -m "not slow and not browser and not netns"`
(README, "Tests"). A module belongs here when its tests start real servers, workers or crawl
processes, drive Chromium, or need a network namespace; everything else runs in the fast loop.
"""
from __future__ import annotations

import pytest

MARKS = {
    # real processes: servers, workers, `docspasta crawl`, kill -9 and restarts, a wheel install
    "tests/crawl/test_hostrate.py": ("slow",),
    "tests/crawl/test_terminal.py": ("slow",),
    "tests/refresh/test_since.py": ("slow",),
    "tests/web/test_refresh_durable.py": ("slow",),
    "tests/test_shared_services.py": ("slow",),  # a pytest session of its own against private servers
    "tests/web/test_cancel.py::test_one_cancel_writes_one_line_to_the_servers_log": ("slow",),
    # long on their own: a 10,000-page finalize; a crawl cancelled mid-flight and drained
    "tests/web/test_finalize.py::test_the_reactor_keeps_running_while_a_large_job_is_finalized": ("slow",),
    "tests/web/test_cancel.py::test_a_cancelled_job_leaves_nothing_in_flight_and_says_why_each_url_was_not_fetched": ("slow",),
    "tests/web/test_durable.py": ("slow",),
    "tests/web/test_embedded.py": ("slow",),
    "tests/web/test_export_shape.py": ("slow",),  # a `docspasta crawl` process beside a web job
    "tests/web/test_fuzz_api.py": ("slow",),  # hypothesis: hundreds of requests per case
    "tests/web/test_install.py": ("slow",),
    "tests/web/test_mcp.py": ("slow",),
    "tests/web/test_outage.py": ("slow",),
    "tests/web/test_server.py": ("slow",),
    # Debian's Chromium
    "tests/render/test_render_crawl.py": ("browser",),
    "tests/render/test_render_private.py": ("browser",),
    "tests/render/test_render_sandbox.py": ("browser",),
    "tests/render/test_render_ssrf.py": ("browser",),
    "tests/render/test_render_terminal.py": ("browser",),
    "tests/render/test_render_web.py": ("browser",),
    "tests/web/test_browser.py": ("browser",),
    "tests/web/test_browser_jobpage.py": ("browser",),
    "tests/web/test_browser_controls.py": ("browser",),
    "tests/web/test_browser_refresh.py": ("browser",),
    "tests/web/test_browser_xss.py": ("browser",),
    # unshare --net
    "tests/safety/test_netns.py": ("netns",),
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    stale = [key for key in MARKS if not (config.rootpath / key.split("::")[0]).is_file()]
    if stale:  # a moved module would otherwise silently join the fast loop
        raise pytest.UsageError(f"tests/marks.py names modules that do not exist: {stale}")
    for item in items:
        test = item.nodeid.split("[")[0]  # a parametrized test's cases share its marks
        for key, names in MARKS.items():
            if test == key or test.startswith(key + "::"):
                for name in names:
                    item.add_marker(name)
