"""A documentation site behind a token and a session cookie, and a second origin it leads to.

`PrivateSite` serves /docs/ on one FixtureSite (the job's own host): every path, robots.txt
and the sitemap included, answers 401 unless the request carries the header and the
cookie. /docs/moved.html redirects to the other origin, which records every request it
gets (with its headers), so a test can check both that it was reached and what it saw.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tests.sitefixture import FixtureSite, Reply, page

HEADER = "X-Docs-Token"
TOKEN = "tok-5ecret-7f3a9c1e"  # values a test then looks for everywhere they must not be
COOKIE_NAME = "docs_session"
COOKIE = "ck-5ecret-42b8d06f"
PAGES = 4
BODY = ("<p>Private page {n} explains one part of the internal library in enough words to count as "
        "documentation: what it does, an example, the reasons behind the design, and what to read next.</p>")


@dataclass
class PrivateSite:
    own: FixtureSite
    other: FixtureSite
    seen: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)  # (origin, path, headers)

    @property
    def start(self) -> str:
        return self.own.url("/docs/")

    def allowed(self, handler: Any) -> bool:
        cookies = [part.strip() for part in (handler.headers.get("Cookie") or "").split(";")]
        return handler.headers.get(HEADER) == TOKEN and f"{COOKIE_NAME}={COOKIE}" in cookies

    def other_requests(self) -> list[tuple[str, dict[str, str]]]:
        return [(path, headers) for origin, path, headers in self.seen if origin == "other"]

    def leaked(self) -> list[tuple[str, dict[str, str]]]:
        """The other origin's requests that carried the header or the cookie's value."""
        return [(path, headers) for path, headers in self.other_requests()
                if any(TOKEN in value or COOKIE in value for value in headers.values())]


def private_site(own: FixtureSite, other: FixtureSite, *, scripted: bool = False) -> PrivateSite:
    """`scripted`: the start page also loads the other origin in a frame and with fetch() (for rendering)."""
    site = PrivateSite(own, other)

    def guarded(reply: Reply):
        def respond(handler: Any) -> Reply:
            site.seen.append(("own", handler.path, dict(handler.headers)))
            if not site.allowed(handler):
                return Reply(401, "<html><body><h1>Sign in to read the docs</h1></body></html>",
                             headers={"WWW-Authenticate": "Bearer"})
            return reply
        return respond

    def recorded(reply: Reply):
        def respond(handler: Any) -> Reply:
            site.seen.append(("other", handler.path, dict(handler.headers)))
            return reply
        return respond

    links = [f"p{n}.html" for n in range(PAGES)] + ["moved.html"]
    extra = ""
    if scripted:
        extra = (f"<iframe title='elsewhere' src='{other.url('/frame.html')}'></iframe>"
                 f"<script>fetch('{other.url('/api/ping')}', {{credentials: 'include'}})</script>")
    own.add("/docs/", guarded(Reply(body=page("Private docs", *links, body=BODY.format(n="home") + extra))))
    for n in range(PAGES):
        own.add(f"/docs/p{n}.html", guarded(Reply(body=page(f"Private page {n}", *links[:2], body=BODY.format(n=n)))))
    own.add("/docs/hidden.html", guarded(Reply(body=page("Only in the sitemap", body=BODY.format(n="hidden")))))
    own.add("/docs/moved.html", guarded(Reply(302, headers={"Location": other.url("/docs/landing.html")})))
    own.add("/robots.txt", guarded(Reply(body=f"Sitemap: {own.url('/docs/sitemap.xml')}\n", content_type="text/plain")))
    urls = "".join(f"<url><loc>{url}</loc></url>" for url in (own.url("/docs/hidden.html"), other.url("/docs/x.html")))
    own.add("/docs/sitemap.xml", guarded(Reply(
        body=f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>',
        content_type="application/xml")))
    own.add("/llms.txt", guarded(Reply(404, "no")))
    for path in ("/docs/landing.html", "/docs/x.html", "/frame.html", "/robots.txt", "/llms.txt"):
        other.add(path, recorded(Reply(body=page("Elsewhere", body="<p>Another origin.</p>"))))
    other.add("/api/ping", recorded(Reply(body="pong", content_type="text/plain",
                                          headers={"Access-Control-Allow-Origin": own.url("/")[:-1],
                                                   "Access-Control-Allow-Credentials": "true"})))
    return site
