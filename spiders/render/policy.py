"""The render policy: which pages of a job go through the browser, and why.

A job's `render` option is `auto` (the default), `always` or `never`. In `auto`
every page is first fetched plainly; `needs_rendering` reads what came back and
names the reason a browser is needed (an empty single-page-app root, a
near-empty page that runs scripts, a `<noscript>` asking for JavaScript). The
spider then fetches the same page again through Chromium, in the same page slot,
and the reason is recorded on the page's item.

Once rendering has paid off on a host (the browser found real text that the plain
fetch did not) on the start page, or on two pages, later pages of that job on that
host go straight to the browser. A rendering that found nothing more teaches
nothing, and one client-rendered page deep in a static site (an API explorer) does
not send the rest of the site through the browser.
"""
from __future__ import annotations

import asyncio
import time
from typing import Any
from urllib.parse import urlsplit

from scrapy.http import Response, TextResponse
from scrapy.settings import BaseSettings

from spiders.crawl.urls import normalize_url
from spiders.jobs.options import RENDER_MODES
from spiders.render import signs
from spiders.render.signs import NOSCRIPT_WORDS, THIN_WORDS

RENDER_META = "docspasta_render"  # why the request goes through the browser
PLAIN_WORDS_META = "docspasta_plain_words"  # words the plain fetch of the page had
NETWORK_META = "docspasta_network"  # the page's NetworkQuiet (the handler settles a route with it)

# Rendering paid off when it found at least this many more words than the plain fetch.
GAIN_WORDS = THIN_WORDS
# A host is learned when rendering paid off on its start page, or on this many of its pages.
LEARN_AFTER = 2


def _root(response: Response) -> Any:
    return response.selector.root


def visible_words(response: TextResponse, limit: int = NOSCRIPT_WORDS) -> int:
    """`signs.visible_words` of a response (the crawl reads it in the extraction process)."""
    return signs.visible_words(_root(response), limit)


def needs_rendering(response: Response) -> str | None:
    """`signs.rendering_reason` of a response: why it needs a browser, or None."""
    return signs.rendering_reason(_root(response)) if isinstance(response, TextResponse) else None


def host_of(url: str) -> str:
    return urlsplit(normalize_url(url)).netloc


def render_fields(meta: dict[str, Any]) -> dict[str, Any]:
    """The item fields that record how a page was fetched."""
    return {"rendered": bool(meta.get("playwright")), "render_reason": meta.get(RENDER_META)}


class NetworkQuiet:
    """Counts one page's requests in flight, from before its navigation on.

    Playwright's own `networkidle` waits for 500 ms without traffic; a docs page is
    done well before that, and the wait is paid on every page. This one waits for
    `quiet` seconds without a request in flight.
    """

    def __init__(self) -> None:
        self.in_flight = 0
        self.last_change = time.monotonic()

    async def watch(self, page: Any, _request: Any = None) -> None:
        """playwright_page_init_callback: runs before the page navigates (quiet counts from here)."""
        self.last_change = time.monotonic()
        page.on("request", self._started)
        page.on("requestfinished", self._ended)
        page.on("requestfailed", self._ended)

    def unwatch(self, page: Any) -> None:
        """The listeners off again: the tab goes on to other pages (spiders/render/handler.py)."""
        page.remove_listener("request", self._started)
        page.remove_listener("requestfinished", self._ended)
        page.remove_listener("requestfailed", self._ended)

    def _started(self, _request: Any) -> None:
        self.in_flight += 1
        self.last_change = time.monotonic()

    def _ended(self, _request: Any) -> None:
        self.in_flight = max(0, self.in_flight - 1)
        self.last_change = time.monotonic()

    def settled(self, quiet: float) -> bool:
        return self.in_flight == 0 and time.monotonic() - self.last_change >= quiet


async def settle(page: Any, network: NetworkQuiet, timeout: float, quiet: float, selector: str | None = None) -> None:
    """Wait for the page's content to settle: the content selector if one is set, then
    `quiet` seconds without network traffic. The whole wait is capped at `timeout`
    seconds; at the cap the DOM is taken as it is (pages that poll never go quiet)."""
    try:
        await _settle(page, network, timeout, quiet, selector)
    finally:
        network.unwatch(page)


async def _settle(page: Any, network: NetworkQuiet, timeout: float, quiet: float, selector: str | None) -> None:
    from playwright.async_api import TimeoutError as PlaywrightTimeout

    deadline = time.monotonic() + timeout
    if selector:
        try:
            await page.wait_for_selector(selector, state="attached", timeout=timeout * 1000)
        except PlaywrightTimeout:
            pass  # the selector may simply not be on this page
    # A page that went quiet still showing next to no text is a script that has not asked for
    # its content yet (a busy machine starves the renderer between loading the script and its
    # first fetch): it gets a little longer (SHELL_GRACE) to go on.
    shell_deadline = min(deadline, time.monotonic() + SHELL_GRACE)
    while time.monotonic() < deadline:
        if network.settled(quiet) and (time.monotonic() >= shell_deadline or await _text_length(page) >= SHELL_TEXT):
            break
        await asyncio.sleep(min(0.05, quiet))


SHELL_TEXT = 200  # characters of visible text below which a rendered page still looks like its shell
SHELL_GRACE = 2.0  # seconds more that such a page is given


async def _text_length(page: Any) -> int:
    return await page.evaluate("document.body ? document.body.innerText.length : 0")


class RenderPolicy:
    """One job's render decisions: which requests carry `playwright` meta, and which
    hosts have been learned to need the browser.

    Settings read (`from_settings`): DOCSPASTA_RENDER_SETTLE_TIMEOUT (seconds, the cap on
    waiting for content to settle), DOCSPASTA_RENDER_NETWORK_QUIET (seconds without
    network traffic that count as settled) and DOCSPASTA_RENDER_WAIT_SELECTOR (a CSS
    selector that marks rendered content, optional).
    """

    def __init__(self, mode: str = "auto", settle_timeout: float = 10.0, wait_selector: str | None = None,
                 network_quiet: float = 0.25):
        if mode not in RENDER_MODES:
            raise ValueError(f"render mode must be one of {', '.join(RENDER_MODES)}, got {mode!r}")
        self.mode = mode
        self.settle_timeout = settle_timeout
        self.wait_selector = wait_selector or None
        self.network_quiet = network_quiet
        self.hosts: dict[str, str] = {}  # host -> the page that showed it needs rendering
        self._paid: dict[str, int] = {}  # host -> pages on which rendering paid off

    @classmethod
    def from_settings(cls, settings: BaseSettings, mode: str) -> RenderPolicy:
        return cls(
            mode,
            settle_timeout=settings.getfloat("DOCSPASTA_RENDER_SETTLE_TIMEOUT", 10.0),
            wait_selector=settings.get("DOCSPASTA_RENDER_WAIT_SELECTOR"),
            network_quiet=settings.getfloat("DOCSPASTA_RENDER_NETWORK_QUIET", 0.25),
        )

    def browser_meta(self, reason: str, plain_words: int | None = None) -> dict[str, Any]:
        from scrapy_playwright.page import PageMethod

        network = NetworkQuiet()
        meta: dict[str, Any] = {
            "playwright": True,
            "playwright_page_init_callback": network.watch,
            "playwright_page_methods": [
                PageMethod(settle, network, self.settle_timeout, self.network_quiet, self.wait_selector),
            ],
            RENDER_META: reason,
            NETWORK_META: network,
        }
        if plain_words is not None:
            meta[PLAIN_WORDS_META] = plain_words
        return meta

    def request_meta(self, url: str) -> dict[str, Any]:
        """Meta for a first request of `url`: the browser when the job or host calls for it."""
        if self.mode == "always":
            return self.browser_meta("render=always")
        if self.mode == "auto" and (learned_from := self.hosts.get(host_of(url))):
            return self.browser_meta(f"host needs rendering (learned from {learned_from})")
        return {}

    def checks(self, meta: dict[str, Any]) -> bool:
        """Whether a plainly fetched page (its request's `meta`) is looked at for signs it needs a browser."""
        return self.mode == "auto" and not meta.get("playwright")

    def rerender_meta(self, response: Response) -> dict[str, Any] | None:
        """Meta to fetch this plainly fetched page again through the browser, or None."""
        if not self.checks(response.meta):
            return None
        return self.rerender_for(needs_rendering(response), visible_words(response))

    def rerender_for(self, reason: str | None, plain_words: int) -> dict[str, Any] | None:
        """Meta to fetch a page again through the browser for `reason` (None: not needed)."""
        return None if reason is None else self.browser_meta(reason, plain_words=plain_words)

    @staticmethod
    def words_wanted(meta: dict[str, Any]) -> int | None:
        """After a re-render (its request's `meta`): the visible words `learn_words` asks
        about, counted up to this; None: the page teaches nothing."""
        plain = meta.get(PLAIN_WORDS_META)
        return None if plain is None else plain + GAIN_WORDS

    def learn(self, response: Response, start: bool = False) -> None:
        """`learn_words` for a response."""
        limit = self.words_wanted(response.meta)
        if limit is not None and isinstance(response, TextResponse):
            self.learn_words(response.url, response.meta, visible_words(response, limit=limit), start)

    def learn_words(self, url: str, meta: dict[str, Any], words: int, start: bool = False) -> None:
        """After a re-render: count it for the host if the browser found real text (`words`
        visible words, counted up to `words_wanted`) the plain fetch lacked, and learn the
        host on its start page or its LEARN_AFTER-th page."""
        limit = self.words_wanted(meta)
        if limit is None or words < limit:
            return
        host = host_of(url)
        self._paid[host] = self._paid.get(host, 0) + 1
        if start or self._paid[host] >= LEARN_AFTER:
            self.hosts.setdefault(host, url)
