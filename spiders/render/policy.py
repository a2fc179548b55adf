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
import re
import time
from typing import Any
from urllib.parse import urlsplit

from scrapy.http import Response, TextResponse
from scrapy.settings import BaseSettings

from spiders.crawl.urls import normalize_url
from spiders.jobs.options import RENDER_MODES

RENDER_META = "docspasta_render"  # why the request goes through the browser
PLAIN_WORDS_META = "docspasta_plain_words"  # words the plain fetch of the page had

# Fewer words of visible text than this, and the page is an empty shell.
THIN_WORDS = 30
# A page whose <noscript> asks for JavaScript is rendered when it has fewer words than this.
NOSCRIPT_WORDS = 100
# Rendering paid off when it found at least this many more words than the plain fetch.
GAIN_WORDS = THIN_WORDS
# A host is learned when rendering paid off on its start page, or on this many of its pages.
LEARN_AFTER = 2

# Elements single-page apps mount into, always directly in <body>; empty until JavaScript
# runs. Deeper down, `id="app"` is just an anchor (Sphinx gives an API entry `app` that id).
_SPA_ROOTS = (
    "/html/body/*[@id='app' or @id='root' or @id='__next' or @id='__nuxt' or @id='___gatsby' "
    "or @id='q-app' or @id='svelte' or @id='docsify' or @data-reactroot or @ng-version]"
    " | /html/body/app-root"
)
_INVISIBLE = frozenset({"script", "style", "noscript", "template"})
_ASKS_FOR_JS = re.compile(
    r"(enable|turn on|activate|allow|requires?|need|needs|must)\W+(\w+\W+){0,4}javascript"
    r"|javascript\W+(\w+\W+){0,4}(required|disabled|enabled|needed|must|is off)",
    re.IGNORECASE,
)


def _words(element: Any, limit: int) -> int:
    """Words of visible text in an lxml element, counted up to `limit` and no further:
    the decision only asks "fewer than N?", and big pages must stay cheap."""
    count = 0

    def walk(node: Any) -> None:
        nonlocal count
        if not isinstance(node.tag, str) or node.tag.lower() in _INVISIBLE:
            return  # comments, scripts, styles: their text is not seen (their tail is, below)
        if node.text:
            count += len(node.text.split())
        for child in node:
            if count >= limit:
                return
            walk(child)
            if child.tail:
                count += len(child.tail.split())

    walk(element)
    return min(count, limit)


def visible_words(response: TextResponse, limit: int = NOSCRIPT_WORDS) -> int:
    """Words of text a reader would see in the body (scripts, styles and <noscript> left
    out), counted up to `limit`."""
    body = response.xpath("//body")
    return _words(body[0].root, limit) if body else 0


def _describe(element: Any) -> str:
    tag = element.xpath("name()").get() or "element"
    ident = element.attrib.get("id")
    return f"<{tag} id={ident}>" if ident else f"<{tag}>"


def needs_rendering(response: Response) -> str | None:
    """Why this plain response needs a browser, or None when it does not.

    A page without a single script is never rendered: a browser would show the
    same text. The checks go from the most to the least specific sign.
    """
    if not isinstance(response, TextResponse) or not response.xpath("(//script)[1]"):
        return None
    words = visible_words(response)
    for root in response.xpath(_SPA_ROOTS):
        if (inside := _words(root.root, THIN_WORDS)) < THIN_WORDS:
            return f"single-page app: {_describe(root)} holds {inside} words until JavaScript runs"
    if words < THIN_WORDS:
        return f"near-empty page: {words} words of text, content comes from scripts"
    if words >= NOSCRIPT_WORDS:
        return None
    main = response.xpath("(//main | //*[@role='main'])[1]")
    if main and _words(main[0].root, 5) < 5:
        return "empty <main>: content comes from scripts"
    for note in response.xpath("//noscript"):
        text = " ".join(note.xpath(".//text()").getall())
        # Sphinx's search page asks for JavaScript to search, not to show content.
        if _ASKS_FOR_JS.search(text) and "search" not in text.lower():
            return f"<noscript> asks for JavaScript and the page has {words} words"
    return None


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
        """playwright_page_init_callback: runs before the page navigates."""
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

    def rerender_meta(self, response: Response) -> dict[str, Any] | None:
        """Meta to fetch this plainly fetched page again through the browser, or None."""
        if self.mode != "auto" or response.meta.get("playwright"):
            return None
        reason = needs_rendering(response)
        if reason is None:
            return None
        return self.browser_meta(reason, plain_words=visible_words(response))  # type: ignore[arg-type]

    def learn(self, response: Response, start: bool = False) -> None:
        """After a re-render: count it for the host if the browser found real text the
        plain fetch lacked, and learn the host on its start page or its LEARN_AFTER-th page."""
        plain = response.meta.get(PLAIN_WORDS_META)
        if plain is None or not isinstance(response, TextResponse):
            return
        if visible_words(response, limit=plain + GAIN_WORDS) < plain + GAIN_WORDS:
            return
        host = host_of(response.url)
        self._paid[host] = self._paid.get(host, 0) + 1
        if start or self._paid[host] >= LEARN_AFTER:
            self.hosts.setdefault(host, response.url)
