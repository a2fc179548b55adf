"""Markers set by module, in one place: `slow`, `browser`, `netns` (registered in pyproject.toml).

The fast loop leaves them out: `python -m pytest -m "not slow and not browser and not netns"`
(README, "Tests"). A module belongs here when its tests start real servers, workers or crawl
processes, drive Chromium, or need a network namespace; everything else runs in the fast loop.
"""
from __future__ import annotations

import pytest

MODULE_MARKS = {
    # real processes: servers, workers, `docspasta crawl`, kill -9 and restarts, a wheel install
    "tests/crawl/test_hostrate.py": ("slow",),
    "tests/crawl/test_terminal.py": ("slow",),
    "tests/web/test_durable.py": ("slow",),
    "tests/web/test_embedded.py": ("slow",),
    "tests/web/test_fuzz_api.py": ("slow",),  # hypothesis: hundreds of requests per case
    "tests/web/test_install.py": ("slow",),
    "tests/web/test_server.py": ("slow",),
    # Debian's Chromium
    "tests/render/test_render_crawl.py": ("browser",),
    "tests/render/test_render_ssrf.py": ("browser",),
    "tests/render/test_render_terminal.py": ("browser",),
    "tests/render/test_render_web.py": ("browser",),
    "tests/web/test_browser.py": ("browser",),
    "tests/web/test_browser_xss.py": ("browser",),
    # unshare --net
    "tests/safety/test_netns.py": ("netns",),
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    stale = [path for path in MODULE_MARKS if not (config.rootpath / path).is_file()]
    if stale:  # a moved module would otherwise silently join the fast loop
        raise pytest.UsageError(f"tests/marks.py names modules that do not exist: {stale}")
    for item in items:
        for name in MODULE_MARKS.get(item.path.relative_to(config.rootpath).as_posix(), ()):
            item.add_marker(name)
