"""Which Chromium a crawl launches (DOCSPASTA_CHROMIUM).

Debian builds two programs from one Chromium source, at one version: `chromium`, the
full browser, and `chromium-headless-shell`, the content layer and the DevTools protocol
without the browser's UI, profile services, extensions or WebUI (what Playwright itself
runs for headless Chromium since 1.49). A crawl never shows a window: with the shell,
bench/render.py's browser process holds ~50 MB PSS instead of ~134 (all processes ~505 MB
instead of ~620), and its 50 pages give the same items (bench/render_results.txt).

The shell is taken where it is installed, else Debian's `chromium`. The shell is run
directly, not through /usr/bin/chromium-headless-shell: that script starts it as a child
of a shell that stays (`sh -e`, no `exec`), one more process between Playwright and the
browser it stops.

Where the two differ in what keeps a page contained: the full browser puts every site in a
renderer of its own by default, the shell does not, so PLAYWRIGHT_LAUNCH_OPTIONS asks both for
it (`--site-per-process`; tests/render/test_render_sandbox.py). The renderers' sandbox is the
same. The shell runs the storage service (localStorage, IndexedDB, Cache Storage) inside its
browser process, where the full browser runs it apart in a sandboxed process
(--enable-features=StorageServiceOutOfProcess does not change that). A crawl's context keeps
its storage in memory and drops it when the crawl ends.
"""
from __future__ import annotations

import os

HEADLESS_SHELL = "/usr/lib/chromium/chromium-headless-shell"  # Debian's chromium-headless-shell
FULL_BROWSER = "/usr/bin/chromium"  # Debian's chromium


def chromium_path(configured: str | None = None) -> str:
    """The Chromium to launch: `configured` (DOCSPASTA_CHROMIUM) when set, else the headless shell
    where it is installed, else the full browser (a path that does not run fails the launch, and
    Playwright names it)."""
    if configured:
        return configured
    return HEADLESS_SHELL if os.access(HEADLESS_SHELL, os.X_OK) else FULL_BROWSER
