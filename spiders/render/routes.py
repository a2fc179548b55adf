"""Hash routes survive the plain fetch, as they do in a browser.

Scrapy's HTTP handler gives a response the request's URL without its fragment, and
a redirect target has none either. For a hash-routed single-page app the fragment
(`#/guide`) is the page's address (see `clean_url`): without it, the plain fetch of
`/docs/#/guide` would look like a redirect to `/docs/`, be taken for a duplicate of
the home page, and be rendered as the home page. A browser keeps the fragment
across redirects whose target has none (RFC 9110, 10.2.2); this middleware does the
same for the response URL.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from scrapy.http import Request, Response


def _fragment(request: Request) -> str:
    for url in (request.url, *reversed(request.meta.get("redirect_urls", ()))):
        if fragment := urlsplit(url).fragment:
            return fragment
    return ""


class RouteFragmentMiddleware:
    """Puts the requested URL's fragment back on the response URL when it has none."""

    def process_response(self, request: Request, response: Response) -> Response:
        if "#" in response.url:
            return response
        fragment = _fragment(request)
        return response.replace(url=f"{response.url}#{fragment}") if fragment else response
