"""Meta refresh redirects, without decoding the whole page on the crawl's thread.

Scrapy's MetaRefreshMiddleware looks for `<meta http-equiv="refresh">` (and the page's
`<base href>`) in `response.text[0:4096]`: the whole body decoded to find 4,096
characters, and the decoded copy kept on the response (`_cached_ubody`) for as long
as the response lives: while it waits for the extraction pool and is read there,
which reads the bytes, not that copy. A page of Dask's docs is ~100 KB of it on the
reactor thread; a web worker running 10 crawls held ~9 MB of such copies (tracemalloc,
bench/serve.py). Here the same 4,096 characters come from decoding the body's first
16 KB (at most 4 bytes a character and a byte-order mark, as Scrapy decodes it: `html_to_unicode` with the
response's encoding), and Scrapy's own lookups find them in its caches.
"""
from __future__ import annotations

from typing import Any

from scrapy.downloadermiddlewares.redirect import MetaRefreshMiddleware
from scrapy.http import HtmlResponse
from scrapy.utils.response import _baseurl_cache, _metaref_cache
from w3lib import html
from w3lib.encoding import html_to_unicode

HEAD_CHARS = 4096  # what Scrapy reads of a page for its meta refresh and base URL


def page_head(response: HtmlResponse) -> str:
    """`response.text[0:4096]`, decoding no more of the body than those characters need."""
    encoding = response.encoding  # declared (header, BOM, <meta charset>) or else inferred from the body
    if response._cached_ubody is not None:  # already decoded (an inferred encoding decodes it all)
        return response.text[:HEAD_CHARS]
    return html_to_unicode(f"charset={encoding}", response.body[:4 * (HEAD_CHARS + 1)])[1][:HEAD_CHARS]


class HeadMetaRefreshMiddleware(MetaRefreshMiddleware):
    def process_response(self, request: Any, response: Any) -> Any:
        if isinstance(response, HtmlResponse) and response not in _metaref_cache:
            head = page_head(response)
            base = _baseurl_cache.get(response)
            if base is None:
                base = _baseurl_cache[response] = html.get_base_url(head, response.url, response.encoding)
            _metaref_cache[response] = html.get_meta_refresh(head, base, response.encoding,
                                                             ignore_tags=self._ignore_tags)
        return super().process_response(request, response)
