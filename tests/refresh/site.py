"""A fixture site whose pages a test rewrites between crawls, served with validators.

Each page is served with an ETag (a hash of its body) and/or a Last-Modified (the time
it was last rewritten), as the site's `validators` say, and answers a matching
`If-None-Match` / `If-Modified-Since` with a 304, unless it `ignores_conditional`
(then every request gets the whole page, validators and all). Every answer is logged
as (path, status), so a test sees which pages were downloaded and which were not.
"""
from __future__ import annotations

import hashlib
import threading
from email.utils import formatdate, parsedate_to_datetime

from tests.sitefixture import FixtureSite, Reply, page


class VersionedSite:
    def __init__(self, site: FixtureSite, validators: tuple[str, ...] = ("etag", "last_modified"),
                 ignores_conditional: bool = False, delay: float = 0.0):
        self.site = site
        self.delay = delay  # seconds before every answer, 304s too
        self.validators = validators
        self.ignores_conditional = ignores_conditional
        self.bodies: dict[str, str] = {}
        self.modified: dict[str, float] = {}
        self.served: list[tuple[str, int]] = []
        self._clock = 1_700_000_000.0  # Last-Modified has whole seconds: each rewrite is a second later
        self._lock = threading.Lock()

    def put(self, path: str, body: str) -> None:
        """Serve `body` at `path` from now on (a new page, or a rewrite with a new ETag and date)."""
        with self._lock:
            self._clock += 1
            self.bodies[path] = body
            self.modified[path] = self._clock
        self.site.add(path, lambda request, path=path: self._answer(path, request))

    def put_page(self, path: str, title: str, *links: str, body: str = "", footer: str = "Copyright fixture") -> None:
        html = page(title, *links, body=body)
        self.put(path, html.replace("Copyright fixture", footer))

    def remove(self, path: str) -> None:
        self.site.routes.pop(path, None)
        self.bodies.pop(path, None)

    def statuses(self, path: str) -> list[int]:
        return [status for served, status in self.served if served == path]

    def downloaded(self) -> list[str]:
        """Paths answered with a body (200) since the log was last cleared."""
        return [path for path, status in self.served if status == 200]

    def not_modified(self) -> list[str]:
        return [path for path, status in self.served if status == 304]

    def clear_log(self) -> None:
        self.served.clear()

    def _answer(self, path: str, request) -> Reply:
        with self._lock:
            body = self.bodies[path]
            modified = self.modified[path]
        etag = '"' + hashlib.sha1(body.encode()).hexdigest()[:16] + '"'
        last_modified = formatdate(modified, usegmt=True)
        headers = {}
        if "etag" in self.validators:
            headers["ETag"] = etag
        if "last_modified" in self.validators:
            headers["Last-Modified"] = last_modified
        if not self.ignores_conditional and self._fresh(request.headers, etag, modified):
            self.served.append((path, 304))
            return Reply(status=304, body=b"", headers=headers, delay=self.delay)
        self.served.append((path, 200))
        return Reply(body=body, headers=headers, delay=self.delay)

    def _fresh(self, headers, etag: str, modified: float) -> bool:
        # RFC 9110 13.2.2: If-None-Match decides when sent; If-Modified-Since only without it.
        if_none_match = headers.get("If-None-Match")
        if if_none_match is not None:
            return "etag" in self.validators and etag in [tag.strip() for tag in if_none_match.split(",")]
        if_modified_since = headers.get("If-Modified-Since")
        if if_modified_since is not None and "last_modified" in self.validators:
            try:
                return modified <= parsedate_to_datetime(if_modified_since).timestamp()
            except (TypeError, ValueError):
                return False
        return False
