"""The crawl frontier: what to fetch next, what was seen, and the exact page budget.

`Frontier` is the one place the crawl's page budget is enforced. A page holds one
slot of `max_pages` from the moment its request is handed out until it is either
completed or given back (failed, skipped, a duplicate): a request is only handed
out while `completed + in_flight + extracting < max_pages`, so requests in flight
never overshoot, and a page that fails gives its slot to the next one. Depth is the
shortest link distance from the start URL: a URL found again by a shorter path
moves up the queue, and nothing deeper than `max_depth` is queued. Pages are told
apart by `normalize_url` keys.

A terminal crawl keeps its frontier in memory only. A job's frontier is also in
PostgreSQL (job_urls), which is the truth: when a worker restarts a job, it reads
a `FrontierSnapshot` from the database and the frontier goes on from there:
completed pages are not fetched again, retry attempts already made still count,
and the scope is where the start URL landed.

No Scrapy here (the web runner imports PAGE_META without loading Scrapy); the
spider turns what the frontier hands out into requests and items.
"""
from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

from spiders.crawl.paths import PathPatterns
from spiders.crawl.traps import TrapLimits
from spiders.crawl.urls import Scope, is_non_html_url, normalize_url, url_extension

# The request meta key carrying a page's PageRef (read by the spider, pipelines and the web runner).
PAGE_META = "docspasta_page"


@dataclass(frozen=True)
class PageRef:
    url: str
    key: str  # normalize_url(url): the page's identity
    depth: int
    discovered_from: str | None


@dataclass
class FrontierSnapshot:
    site_url: str | None  # where the start URL landed, once it was fetched
    completed: int  # pages already stored as completed
    done_keys: set[str] = field(default_factory=set)  # keys of completed pages
    seen_keys: set[str] = field(default_factory=set)  # keys of every stored URL, whatever its status
    pending: list[PageRef] = field(default_factory=list)  # still to fetch, shallowest first
    attempts: dict[str, int] = field(default_factory=dict)  # key -> retries already made


class Skipped(NamedTuple):
    """A URL recorded without a request, and why."""

    ref: PageRef
    reason: str


class Frontier:
    def __init__(self, *, max_pages: int, max_depth: int, scope: Scope,
                 traps: TrapLimits | None = None, window: int = 32, paths: PathPatterns | None = None) -> None:
        self.max_pages = max_pages
        self.max_depth = max_depth
        self.scope = scope
        self.traps = traps or TrapLimits()
        self.paths = paths or PathPatterns()
        # Pages handed out and not done yet (fetching or in extraction); the rest wait
        # here as small PageRefs, so a 10,000-page job does not keep 9,000 Request
        # objects in Scrapy's scheduler, nor fetch faster than its pages are extracted.
        self.window = window
        self.completed = 0
        self.in_flight = 0  # requests handed out and not answered yet
        self.extracting = 0  # pages fetched and being extracted: still within the budget
        self._heap: list[tuple[int, int, int, str]] = []
        # A refresh's pages of the earlier crawl (their keys): within a depth they go first, so
        # under a page budget the refresh checks the pages its document had before new ones.
        self.earlier: Callable[[str], bool] | None = None
        self._queued: dict[str, PageRef] = {}
        self._seen: set[str] = set()  # keys queued, requested or recorded
        self._done: set[str] = set()  # keys of completed pages
        self._seq = itertools.count()
        self._new: list[PageRef] = []
        self._attempts: dict[str, int] = {}

    # -- filling the queue --------------------------------------------------

    def start(self, url: str) -> PageRef:
        """The start page, its slot taken: the first request of a new crawl."""
        ref = PageRef(url, normalize_url(url), 0, None)
        self._seen.add(ref.key)
        self.in_flight += 1
        return ref

    def resume(self, snapshot: FrontierSnapshot) -> None:
        """Go on from a stored frontier: nothing stored is handed out again."""
        if snapshot.site_url:
            self.land(snapshot.site_url)
        self.completed = snapshot.completed
        self._done |= snapshot.done_keys
        self._seen |= snapshot.seen_keys | snapshot.done_keys
        self._attempts = dict(snapshot.attempts)
        for ref in snapshot.pending:
            self._seen.add(ref.key)
            self._push(ref)

    def land(self, site_url: str) -> None:
        """The site's real address is where the start URL landed (http -> https, bare
        host -> www, /docs -> /docs/): the scope moves with it."""
        self.scope = Scope.from_url(site_url, self.scope.mode)

    def add(self, url: str, depth: int, discovered_from: str | None) -> Skipped | None:
        """Queue a discovered URL; a URL that is no page is returned as Skipped, to record.

        Out of scope, too deep or seen before: nothing happens (a shorter path to a
        queued URL moves it up the queue)."""
        if depth > self.max_depth or not self.scope.contains(url):
            return None
        key = normalize_url(url)
        queued = self._queued.get(key)
        if queued is not None and depth < queued.depth:
            self._push(PageRef(queued.url, key, depth, discovered_from))
        if key in self._seen:
            return None
        self._seen.add(key)
        ref = PageRef(url, key, depth, discovered_from)
        if trap := self.traps.reason(url):
            return Skipped(ref, trap)
        if refusal := self.paths.refusal(url):
            return Skipped(ref, refusal)
        if is_non_html_url(url):
            return Skipped(ref, f"not HTML (.{url_extension(url)} file), not downloaded")
        self._push(ref)
        self._new.append(ref)
        return None

    def _push(self, ref: PageRef) -> None:
        self._queued[ref.key] = ref
        later = 0 if self.earlier is None or self.earlier(ref.key) else 1
        heapq.heappush(self._heap, (ref.depth, later, next(self._seq), ref.key))

    def take_new(self) -> list[PageRef]:
        """Pages queued since the last call, in the order they were found."""
        new, self._new = self._new, []
        return new

    # -- the budget ---------------------------------------------------------

    def next_pages(self) -> Iterator[PageRef]:
        """Shallowest first, as many queued pages as the budget and the window have room
        for; each takes its slot as it is handed out."""
        while (self._heap and self.completed + self.in_flight + self.extracting < self.max_pages
               and self.in_flight + self.extracting < self.window):
            depth, _, _, key = heapq.heappop(self._heap)
            ref = self._queued.get(key)
            if ref is None or ref.depth != depth:
                continue  # stale entry: already handed out, or re-queued shallower
            del self._queued[key]
            if key in self._done:
                continue  # claimed meanwhile through a redirect or canonical link
            self.in_flight += 1
            yield ref

    def retries_made(self, key: str) -> int:
        """Retries of this page made before a restart (they still count), once."""
        return self._attempts.pop(key, 0)

    def release(self) -> None:
        """A request ended without a page (failed, skipped, a duplicate): its slot goes back."""
        self.in_flight -= 1

    def release_lost(self) -> int:
        """Give back the slots of requests that vanished without an answer; how many."""
        lost, self.in_flight = self.in_flight, 0
        return lost

    def extract(self) -> None:
        """A fetched page goes to extraction, keeping its slot."""
        self.in_flight -= 1
        self.extracting += 1

    def extraction_failed(self) -> None:
        """A page in extraction ended without a page (it failed, or was a duplicate): its slot goes back."""
        self.extracting -= 1

    def refetch(self) -> None:
        """A page in extraction is fetched again (through the browser), keeping its slot."""
        self.extracting -= 1
        self.in_flight += 1

    def complete(self, keys: Iterable[str]) -> str | None:
        """Count an extracted page as completed under all its `keys` (requested, final,
        canonical); if another page holds one of them already, the page is a duplicate:
        its slot goes back and that key is returned."""
        keys = set(keys)
        self.extracting -= 1
        if duplicate := self.duplicate_of(keys):
            return duplicate
        self.completed += 1
        self._done |= keys
        self._seen |= keys
        return None

    # -- identity -----------------------------------------------------------

    def see(self, key: str) -> None:
        """A key reached without being queued (a redirect's target): never queue it."""
        self._seen.add(key)

    def duplicate_of(self, keys: Iterable[str]) -> str | None:
        """The first of `keys` (in sorted order) a completed page already holds."""
        return min(self._done.intersection(keys), default=None)
