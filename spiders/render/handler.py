"""The download handler behind http and https: Scrapy's own for plain requests,
scrapy-playwright's Chromium for requests marked `playwright`.

scrapy-playwright starts its Playwright driver (a Node.js process) when the engine
starts, in every crawl, and Chromium on the first browser request. This handler
defers both to the first browser request, so a static site's crawl starts no
extra process at all. Scrapy builds one handler per scheme; the first one built
for a crawl owns its browser and the other hands browser requests to it, so a site
with both http and https links still gets one Chromium. The browser is bounded by
PLAYWRIGHT_MAX_CONTEXTS and PLAYWRIGHT_MAX_PAGES_PER_CONTEXT, and closed, with the
driver, when the crawl's downloader closes. Across the crawls of one process (the
web app runs several jobs at once) at most DOCSPASTA_RENDER_MAX_BROWSERS browsers
run; a crawl that needs one waits for a free one up to DOCSPASTA_RENDER_BROWSER_WAIT
seconds, then its page fails with the reason.

Chromium never connects anywhere by itself. The owner starts a guarded forward
proxy (spiders/safety/browser_proxy.py) on the crawl's event loop with the browser, and
launches Chromium with it as its only way out: Playwright's `proxy` option with
the `<-loopback>` bypass rule, so loopback and link-local targets are proxied too
(Chromium sends them direct by default). For every connection the browser asks
for, the page, its scripts, XHR, redirects, iframes, service workers, WebSockets
and beacons alike, the proxy resolves the name itself, checks every answer and
connects to the checked address, so a name that changes its answer between two
lookups (DNS rebinding) cannot slip an internal address past the check. Chromium
cannot resolve names at all (`--host-resolver-rules`), and WebRTC may not send UDP
outside the proxy. A refused connection is logged and counted like an aborted
request. A page refused there fails as "blocked: ..." over http (the proxy's 403
names the reason); over https the tunnel's refusal reaches Chromium only as
net::ERR_TUNNEL_CONNECTION_FAILED, and the log says why.

Every request Playwright's routing sees (not redirect hops, WebSockets or service
workers' fetches: only the proxy sees those) passes `_abort` first: the same check
(DOCSPASTA_ALLOW_HOSTS allowing), once per host and port, so a refusal has its
reason early and the request never leaves the browser; and what never carries text is not
fetched at all: the resource types in DOCSPASTA_RENDER_SKIP_RESOURCES (images, media, fonts,
stylesheets, manifests, text tracks) and requests to analytics hosts (ANALYTICS_HOSTS). They
cost time and memory, and analytics keep a page from going quiet. Names are resolved by the reactor's
resolver under the SSRF guard (tests put an attacker's DNS there), with this
crawl's own allow-list.

The tabs are kept for the crawl (`_render`). A tab goes back to the pool on a blank document,
except one whose document routes on its fragment (it listens for hashchange or popstate): that
document stays, still routed, and the next URL that differs from it only in the fragment is shown
in it by a same-document navigation (`_render_in_document`), not loaded again with its scripts.

A private job's headers and cookies (spiders/safety/secrets.py) go only to its own site,
per request the browser makes: such a request is fetched by Playwright with them added
and without following redirects (`route.fetch`, through the same proxy), and the browser
is handed the response, so a redirect elsewhere is a new request, routed again, that
gets none. `route.continue_` would not do: Chromium carries its header overrides across
redirects to any host, and Scrapy's headers go to every navigation, frames included.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from time import time
from typing import Any, ClassVar
from urllib.parse import urlsplit, urlunsplit
from weakref import WeakKeyDictionary

from playwright.async_api import CDPSession, Page
from playwright.async_api import Error as PlaywrightError
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request, Response
from scrapy_playwright.handler import ScrapyPlaywrightDownloadHandler

from spiders.render.chromium import chromium_path
from spiders.render.driver import use_driver_flags
from spiders.render.policy import NETWORK_META, settle
from spiders.render.sandbox import sandboxed
from spiders.safety.addresses import AllowList, answers_refusal, blocked_reason, install_guarded_resolver, ip_literal, resolve
from spiders.safety.browser_proxy import BLOCKED_HEADER, GuardedProxy, Refused
from spiders.safety.middleware import BlockedRequest
from spiders.safety.secrets import RequestSecrets

logger = logging.getLogger(__name__)

# Analytics, tag managers and session recorders: never text, often many requests that keep a
# page from going quiet. Requests to these hosts (and their subdomains) are not made.
ANALYTICS_HOSTS = (
    "google-analytics.com", "googletagmanager.com", "analytics.google.com", "doubleclick.net",
    "googlesyndication.com", "segment.com", "segment.io", "hotjar.com", "plausible.io",
    "mixpanel.com", "amplitude.com", "heapanalytics.com", "fullstory.com", "clarity.ms",
    "newrelic.com", "nr-data.net", "sentry.io", "intercom.io", "intercomcdn.com", "matomo.cloud",
    "statcounter.com", "quantserve.com", "scorecardresearch.com", "facebook.net", "hs-scripts.com",
    "hs-analytics.net", "cloudflareinsights.com", "posthog.com", "usefathom.com", "stats.wp.com",
)
_NO_NETWORK = ("data", "blob", "about")
# With the proxy: what else could reach the network without it. Chromium may not
# resolve any name itself (the proxy's own address is a literal), and WebRTC may
# use no UDP that does not go through the proxy (that is: none). The WebRTC switch has
# two names: the full browser (156) reads only --webrtc-ip-handling-policy, the headless
# shell only --force-webrtc-ip-handling-policy; each ignores the other's
# (tests/render/test_render_ssrf.py checks both Chromiums send no UDP).
LOCKDOWN_ARGS = (
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    "--webrtc-ip-handling-policy=disable_non_proxied_udp",
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
)

# A tab renders at most this many pages before it is closed and a new one opened (a page's
# leaks end with its document; the renderer's own heap is bounded this way).
PAGE_USES = 100
RESET_TIMEOUT_MS = 5_000  # loading about:blank into a used tab
# Events a document listens to when it routes on its fragment (a hash router: `#/guide`). Navigating to
# a URL that differs only in its fragment never reloads a document, in any browser: it fires these.
ROUTE_EVENTS = frozenset({"hashchange", "popstate"})
# Navigates the document to a route and resolves once its router has shown it: the DOM changed and then
# stayed unchanged for `quiet` ms (a route that changes nothing: `grace` ms without a change; and never
# past `cap` ms). The observer is on before the navigation, so no change is missed.
NAVIGATE_IN_DOCUMENT = """async ([url, quiet, grace, cap]) => {
    let last = performance.now(), changed = false;
    const start = last;
    const observer = new MutationObserver(() => { last = performance.now(); changed = true; });
    observer.observe(document, {subtree: true, childList: true, characterData: true});
    location.href = url;
    await new Promise(resolve => {
        const tick = () => {
            const now = performance.now();
            if ((changed && now - last >= quiet) || (!changed && now - start >= grace) || now - start >= cap) resolve();
            else setTimeout(tick, Math.min(quiet, 25));
        };
        setTimeout(tick, Math.min(quiet, 25));
    });
    observer.disconnect();
    return changed;
}"""

_BROWSER_SLOTS: dict[int, asyncio.Semaphore] = {}


def browser_slots(limit: int) -> asyncio.Semaphore:
    """The process-wide browser slots: crawls with the same limit share them."""
    return _BROWSER_SLOTS.setdefault(limit, asyncio.Semaphore(limit))


class NoBrowserFree(Exception):
    """Every browser this process may run is busy with other crawls."""


class BrowserError(Exception):
    """The browser could not load or render the page (the first line of Playwright's error)."""


# Signal sent when a crawl starts waiting for a free browser: `browser_wait(limit)`.
browser_wait = object()


class BrowserDownloadHandler(ScrapyPlaywrightDownloadHandler):
    _owners: ClassVar[WeakKeyDictionary[Crawler, BrowserDownloadHandler]] = WeakKeyDictionary()

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        # The handler that owns this crawl's browser: this one, or the one built before it.
        self.owner: BrowserDownloadHandler = self._owners.setdefault(crawler, self)
        self.allow = AllowList.parse(crawler.settings.get("DOCSPASTA_ALLOW_HOSTS"))
        from twisted.internet import reactor

        self.guard = install_guarded_resolver(reactor, self.allow)
        self.abort_request = self._abort
        self._verdicts: dict[tuple[str, int], str | None] = {}  # (host, port) -> why refused
        self.proxy: GuardedProxy | None = None  # the owner's, from launch to close
        # As configured, without the proxy; the Chromium is DOCSPASTA_CHROMIUM's unless these name one.
        self._launch_options = {**self.config.launch_options, "executable_path": chromium_path(
            self.config.launch_options.get("executable_path") or crawler.settings.get("DOCSPASTA_CHROMIUM"))}
        self.browser_user = crawler.settings.get("DOCSPASTA_BROWSER_USER", "nobody")
        self.driver_flags = crawler.settings.getlist("PLAYWRIGHT_DRIVER_NODE_FLAGS")
        self._launch_lock = asyncio.Lock()
        self.launched = False
        self.max_browsers = max(1, crawler.settings.getint("DOCSPASTA_RENDER_MAX_BROWSERS", 2))
        self.browser_wait = crawler.settings.getfloat("DOCSPASTA_RENDER_BROWSER_WAIT", 300.0)
        self._slot: asyncio.Semaphore | None = None  # held from launch to close
        self.max_size = crawler.settings.getint("DOWNLOAD_MAXSIZE")
        self.skipped_resources = frozenset(crawler.settings.getlist(
            "DOCSPASTA_RENDER_SKIP_RESOURCES", ["image", "media", "font", "stylesheet", "manifest", "texttrack"]))
        # Open tabs kept between rendered pages (see `_render`): at most max_pages_per_context,
        # busy or idle; a request takes a slot, then an idle tab or a new one.
        self._page_slots = asyncio.Semaphore(self.config.max_pages_per_context)
        self._idle_pages: list[Page] = []
        self._page_uses: WeakKeyDictionary[Page, int] = WeakKeyDictionary()
        # Idle tabs still showing a hash-routed document, and that document's response (no body):
        # the next route of it renders in the same document (`_render_in_document`).
        self._documents: WeakKeyDictionary[Page, Response] = WeakKeyDictionary()
        self._cdp: WeakKeyDictionary[Page, CDPSession] = WeakKeyDictionary()
        self.dom_quiet = crawler.settings.getfloat("DOCSPASTA_RENDER_DOM_QUIET", 0.1)
        self.route_grace = crawler.settings.getfloat("DOCSPASTA_RENDER_ROUTE_GRACE", 2.0)
        self.settle_timeout = crawler.settings.getfloat("DOCSPASTA_RENDER_SETTLE_TIMEOUT", 10.0)

    def _make_request_handler(self, **kwargs: Any) -> Any:
        """scrapy-playwright's route handler, or for a private job's crawl, one that adds its secrets
        to the requests for its own site (and to no other)."""
        handler = super()._make_request_handler(**kwargs)
        secrets: RequestSecrets | None = getattr(self._crawler.spider, "secrets", None)
        if not secrets:
            return handler

        async def route_with_secrets(route: Any, request: Any) -> None:
            if not secrets.applies_to(request.url) or await self._abort(request):
                await handler(route, request)  # aborted, or sent as any other request (with no secret)
                return
            headers = await request.all_headers()
            if self.process_request_headers is not None:  # as the plain route sends it: Scrapy's User-Agent
                headers = await self.process_request_headers(
                    browser_type_name=self.config.browser_type_name, playwright_request=request,
                    scrapy_request_data={key: kwargs[key] for key in ("method", "url", "headers", "body", "encoding")})
            headers = {name: value for name, value in headers.items() if name.lower() not in secrets.header_names}
            headers.update(secrets.headers)
            cookies = headers.pop("cookie", None) or headers.pop("Cookie", None)
            if secrets.cookies:
                headers["Cookie"] = secrets.cookie_header(cookies)
            elif cookies:
                headers["Cookie"] = cookies
            try:
                response = await route.fetch(headers=headers, max_redirects=0)
            except PlaywrightError as exc:
                logger.debug("browser request to %s failed: %s", request.url, type(exc).__name__)
                await route.abort("failed")
                return
            await route.fulfill(response=response)

        return route_with_secrets

    async def _maybe_launch_in_thread(self) -> None:
        """Not at engine start: `_download_request` launches on the first browser request."""

    def _engine_started(self) -> None:  # the same, for Scrapy < 2.14
        return None

    async def _download_request(self, request: Request, spider: Any = None) -> Response:
        if self.owner is not self:
            return await self.owner._download_request(request, spider)
        if reason := await self.refusal(request.url):
            raise BlockedRequest(f"blocked: {reason}")
        if not self.launched:
            async with self._launch_lock:
                if not self.launched:
                    await self._start_browser()
        try:
            response = await self._render(request, spider)
        except PlaywrightError as exc:
            # Playwright's messages carry a multi-line call log: the first line is the reason.
            lines = (exc.message or str(exc)).strip().splitlines()
            raise BrowserError(lines[0] if lines else type(exc).__name__) from exc
        if response.status == 403 and (reason := response.headers.get(BLOCKED_HEADER)):
            # The proxy refused the page itself (a page can only ever fail its own load this way).
            raise BlockedRequest(f"blocked: {reason.decode('latin-1')}")
        if self.max_size and len(response.body) > self.max_size:
            # No byte counter runs inside the browser: a page can build any DOM it likes.
            raise IgnoreRequest(f"rendered page over DOWNLOAD_MAXSIZE ({len(response.body)} bytes)")
        return response

    async def _render(self, request: Request, spider: Any) -> Response:
        """scrapy-playwright's download in a tab of this crawl's pool: an idle tab when there is one
        (no new renderer process to start, no new tab to set up), back to the pool after a page
        that loaded, closed after one that failed or after PAGE_USES pages. A tab that still shows
        the request's document, hash-routed, renders it there (`_render_in_document`)."""
        async with self._page_slots:
            page = self._idle_tab(request.url)
            document = self._documents.pop(page, None) if page is not None else None
            # Only a URL with a fragment is a same-document navigation (without one: a reload).
            if page is not None and document is not None and request.method == "GET" and "#" in request.url \
                    and _document_url(document.url) == _document_url(request.url):
                response = await self._render_in_document(request, spider, page, document)
                if response is not None:
                    return response
                page = self._idle_tab(request.url)  # loaded afresh: in that tab, now blank, or another
            if page is not None:
                request.meta["playwright_page"] = page
            request.meta["playwright_include_page"] = True  # scrapy-playwright leaves the tab open
            response = None
            try:
                response = await super()._download_request(request, spider)
                return response
            finally:
                request.meta.pop("playwright_include_page", None)
                page = request.meta.pop("playwright_page", None)
                if page is not None:
                    await self._give_back(page, response)

    def _idle_tab(self, url: str) -> Page | None:
        """An idle tab for `url`: one showing its document, else a blank one, else any."""
        if not self._idle_pages:
            return None
        wanted = _document_url(url)
        ranked = sorted(range(len(self._idle_pages)), key=lambda i: (
            0 if (doc := self._documents.get(self._idle_pages[i])) is not None and _document_url(doc.url) == wanted
            else 1 if doc is None else 2))
        return self._idle_pages.pop(ranked[0])

    async def _render_in_document(self, request: Request, spider: Any, page: Page,
                                  document: Response) -> Response | None:
        """Render `request` in the hash-routed document the tab shows: its URL differs only in the
        fragment, so the navigation is the same-document one a browser makes (no reload; the
        document's router shows the route), and the response is the document's (status, headers)
        with the DOM it now has. Routing stays as the document's load set it (the SSRF check).

        None when the route did not change the DOM (the router may not have seen it: a fresh
        load is the only sure rendering) or led to another document; the tab goes back blank."""
        started = time()
        response = None
        healthy = False
        try:
            await _maybe_await(request.meta.get("playwright_page_init_callback"), page, request)
            try:
                # The navigation a link to the route makes: the fragment changes, the document stays.
                changed = await page.evaluate(NAVIGATE_IN_DOCUMENT, [
                    request.url, self.dom_quiet * 1000, self.route_grace * 1000, self.settle_timeout * 1000])
                if (network := request.meta.get(NETWORK_META)) is not None:
                    # The DOM has settled: requests the route started (none in flight, none for as long).
                    await settle(page, network, self.settle_timeout, self.dom_quiet)
                else:
                    await self._apply_page_methods(page, request, spider)
                text = await page.content()
            except PlaywrightError as exc:  # e.g. the router replaced the document: its page is loaded afresh
                self.stats.inc_value("docspasta/render/same_document_fallback")
                logger.debug("%s in its document failed (%s), loaded afresh", request.url,
                             (exc.message or str(exc)).strip()[:200])
                # The tab is navigating: closing it or navigating it now can hang for ever (Chromium
                # drops a close that meets a navigation's commit), so that navigation ends first.
                if _document_url(page.url) == _document_url(document.url):
                    with contextlib.suppress(PlaywrightError):
                        await page.wait_for_event("framenavigated", timeout=RESET_TIMEOUT_MS)
                with contextlib.suppress(PlaywrightError):
                    await page.wait_for_load_state("load", timeout=RESET_TIMEOUT_MS)
                healthy = not page.is_closed()
                return None
            healthy = True
            if not changed or _document_url(page.url) != _document_url(document.url):
                self.stats.inc_value("docspasta/render/same_document_fallback")
                logger.debug("%s: %s in the document, loaded afresh", request.url,
                             "nothing changed" if not changed else f"the router went on to {page.url}")
                return None
            request.meta["download_latency"] = time() - started
            self.stats.inc_value("docspasta/render/same_document")
            encoding = getattr(document, "encoding", "utf-8")
            try:
                body = text.encode(encoding)
            except (UnicodeEncodeError, LookupError):
                body, encoding = text.encode("utf-8"), "utf-8"
            kwargs = {"encoding": encoding} if hasattr(document, "encoding") else {}
            response = document.replace(url=page.url, body=body, request=request, **kwargs)
            return response
        finally:
            # Rendered: the document stays for its next route (it still routes: it just did).
            await self._give_back(page, document if healthy else None, keep=response is not None)

    async def _create_page(self, request: Request, spider: Any) -> Page:
        page = await super()._create_page(request, spider)
        request.meta["playwright_page"] = page  # so that `_render` has it back, whatever fails next
        return page

    async def _give_back(self, page: Page, response: Response | None, keep: bool | None = None) -> None:
        """The tab to the pool after a page that loaded (`response`), or closed. A document that
        routes on its fragment (`keep`; None: ask the browser) stays, with its routing, for its
        next route; any other tab goes back on a blank document (the next page loads into a fresh
        one, its scripts, timers and DOM gone)."""
        uses = self._page_uses[page] = self._page_uses.get(page, 0) + 1
        if response is not None and uses < PAGE_USES and not page.is_closed():
            try:
                if keep is None:
                    keep = response.status == 200 and await self._routes_on_fragment(page)
                if keep:
                    self._documents[page] = response.replace(body=b"", request=None)
                    self._idle_pages.append(page)
                    return
                # Routed still (the SSRF check): nothing the old document asks for goes unchecked.
                await page.goto("about:blank", timeout=RESET_TIMEOUT_MS)
                await page.unroute_all(behavior="ignoreErrors")  # a handler still running ends quietly
                self._idle_pages.append(page)
                return
            except PlaywrightError as exc:
                logger.debug("tab not reused: %s", exc)
        await _close(page)

    async def _routes_on_fragment(self, page: Page) -> bool:
        """Whether the tab's document listens for its fragment changing (hashchange or popstate on
        window): asked of the browser (DevTools protocol), nothing runs in the page."""
        session = self._cdp.get(page)
        if session is None:
            session = self._cdp[page] = await page.context.new_cdp_session(page)
        found = await session.send("Runtime.evaluate", {"expression": "window", "objectGroup": "docspasta"})
        try:
            listeners = await session.send("DOMDebugger.getEventListeners", {"objectId": found["result"]["objectId"]})
        finally:
            await session.send("Runtime.releaseObjectGroup", {"objectGroup": "docspasta"})
        return any(listener["type"] in ROUTE_EVENTS for listener in listeners["listeners"])

    async def _start_browser(self) -> None:
        slots = browser_slots(self.max_browsers)
        await self._take_slot(slots)
        self._slot = slots
        try:
            self.proxy = await GuardedProxy(self._route, self._refused).start()
            options = sandboxed(self._launch_options, self.browser_user)
            self.config.launch_options = {
                **options,
                "proxy": {"server": self.proxy.url, "bypass": "<-loopback>"},
                "args": [*options.get("args", ()), *LOCKDOWN_ARGS],
            }
            use_driver_flags(self.driver_flags)
            await self._launch()
        except BaseException:
            await self._close_proxy()
            self._slot = None
            slots.release()
            raise
        self.launched = True

    async def _take_slot(self, slots: asyncio.Semaphore) -> None:
        """Wait for a browser slot, up to `browser_wait` seconds, and not past the crawl's
        closing: Scrapy closes a crawl only once its requests are done, so a cancelled
        job must not sit here."""
        if not slots.locked():
            await slots.acquire()  # free: returns at once
            return
        self._crawler.signals.send_catch_log(browser_wait, limit=self.max_browsers)
        acquire = asyncio.ensure_future(slots.acquire())
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.browser_wait
        try:
            while not acquire.done():
                await asyncio.wait({acquire}, timeout=max(0.0, min(0.25, deadline - loop.time())))
                if acquire.done():
                    break
                if self._crawl_closing():
                    raise NoBrowserFree("the crawl closed while it waited for a free browser")
                if loop.time() >= deadline:
                    raise NoBrowserFree(f"no browser free after {self.browser_wait:g} s: DOCSPASTA_RENDER_MAX_BROWSERS="
                                        f"{self.max_browsers} in use by other crawls")
        except BaseException:
            if acquire.done() and not acquire.cancelled():
                slots.release()  # acquired just as the wait gave up
            acquire.cancel()
            raise

    def _crawl_closing(self) -> bool:
        # Scrapy has no signal for "closing started"; the engine slot's `closing` is it.
        slot = getattr(self._crawler.engine, "_slot", None)
        return getattr(slot, "closing", None) is not None

    async def _close(self) -> None:
        self._idle_pages.clear()  # closed with their context
        self._documents.clear()
        self._cdp.clear()
        try:
            await super()._close()
        finally:
            await self._close_proxy()  # after the browser: nothing uses it any more
            if self._slot is not None:
                self._slot.release()
                self._slot = None

    async def _close_proxy(self) -> None:
        proxy, self.proxy = self.proxy, None
        if proxy is not None:
            await proxy.close()

    async def refusal(self, url: str) -> str | None:
        """Why the browser may not fetch `url`, or None (`_abort`'s check: one verdict
        per host and port; the proxy checks again at each connection)."""
        parts = urlsplit(url)
        if parts.scheme in _NO_NETWORK:
            return None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return f"{parts.scheme or 'no'} scheme; only http and https are fetched"
        host, port = _host_port(url)
        if self.allow.allows(host, port):
            return None
        if (host, port) not in self._verdicts:
            self._verdicts[host, port] = (await self.check(host, port))[1]
        return self._verdicts[host, port]

    async def check(self, host: str, port: int) -> tuple[list[str], str | None]:
        """The addresses `host` has now, and why they are refused (None: they may be used).

        Every answer is checked. The resolver is the one under the reactor's SSRF guard,
        asked directly: this crawl's own allow-list decides, not every crawl's together.
        """
        if (literal := ip_literal(host)) is not None:
            addresses = [str(literal)]
            reason = blocked_reason(literal)
        else:
            addresses = await resolve(self.guard.wrapped, host, port)
            reason = answers_refusal(host, addresses)
        return addresses, (None if self.allow.allows(host, port) else reason)

    async def _route(self, host: str, port: int) -> list[str]:
        """For the proxy: where to connect for host:port, checked now (raises Refused)."""
        addresses, reason = await self.check(host, port)
        if reason:
            raise Refused(reason)
        return addresses

    def _refused(self, target: str, reason: str) -> None:
        logger.warning("browser connection to %s blocked: %s", target, reason)
        self.stats.inc_value("docspasta/render/blocked")
        self.stats.inc_value("docspasta/render/blocked_at_connect")

    async def _abort(self, request: Any) -> bool:
        """PLAYWRIGHT_ABORT_REQUEST for every request the browser makes."""
        if request.resource_type in self.skipped_resources or _analytics(request.url):
            self.stats.inc_value("docspasta/render/skipped")
            return True
        if reason := await self.refusal(request.url):
            logger.warning("browser request to %s blocked: %s", request.url, reason)
            self.stats.inc_value("docspasta/render/blocked")
            return True
        return False


CLOSE_ATTEMPTS = 3


async def _close(page: Page) -> None:
    """Close a tab, asking again when a close is not done in RESET_TIMEOUT_MS: Chromium acknowledges
    a close that meets a navigation's commit and then drops it (Playwright's page.close() would wait
    for ever; a close asked again of a closing tab changes nothing)."""
    for _ in range(CLOSE_ATTEMPTS):
        if page.is_closed():
            return
        try:
            await asyncio.wait_for(page.close(), RESET_TIMEOUT_MS / 1000)
        except asyncio.TimeoutError:
            logger.debug("closing a tab took over %d ms: asked again", RESET_TIMEOUT_MS)
        except PlaywrightError:
            return
    if not page.is_closed():
        logger.warning("a browser tab did not close after %d attempts", CLOSE_ATTEMPTS)


async def _maybe_await(callback: Any, *args: Any) -> None:
    if callback is not None and asyncio.iscoroutine(result := callback(*args)):
        await result


def _document_url(url: str) -> str:
    """`url` without its fragment: the document a browser loads for it."""
    return urlunsplit(urlsplit(url)._replace(fragment=""))


def _analytics(url: str) -> bool:
    host = (urlsplit(url).hostname or "").rstrip(".")
    return any(host == name or host.endswith("." + name) for name in ANALYTICS_HOSTS)


def _host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)
