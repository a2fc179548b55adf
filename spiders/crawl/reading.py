"""One fetched page, read once, in an extraction process (spiders/crawl/offload.py).

The crawl's thread (the reactor) only fetches and keeps the books. Everything a page
is read for happens here, from one parse: its in-scope links, its canonical link,
the signs that it needs a browser, and its extraction (`read_content`: main
content and Markdown; then, the tree dropped, `page_from`: quality, tokens). What
comes back (`PageRead`) is small: no tree, no body. No Scrapy here, so an
extraction process never imports it.
"""
from __future__ import annotations

from dataclasses import dataclass

from lxml import etree
from w3lib.encoding import html_to_unicode

from spiders.crawl.urls import Scope, clean_url, is_http_url, normalize_url
from spiders.extract.listings import NO_RUNS, FullTreeNeeded, read_page_tree
from spiders.extract.main import join_url, read_tree
from spiders.extract.page import ExtractedPage, page_from, read_content
from spiders.refresh.previous import content_hash
from spiders.render.signs import rendering_reason, visible_words

# Plain strings: lxml's "smart" ones each keep the whole tree alive (read_page drops it early).
_HREFS = etree.XPath("//a/@href", smart_strings=False)
_CANONICAL = etree.XPath("//head/link[contains(concat(' ', normalize-space(@rel), ' '), ' canonical ')]/@href",
                         smart_strings=False)


@dataclass
class PageRead:
    canonical_key: str | None
    """normalize_url of the page's in-scope <link rel=canonical>, or None."""
    links: list[str]
    """The page's in-scope links, in page order, once each (empty when it needs a browser)."""
    render_reason: str | None = None
    """Why the page needs a browser (asked with `check_render`); it is then not extracted."""
    plain_words: int = 0
    """Its visible words, counted up to NOSCRIPT_WORDS, when it needs a browser."""
    words: int | None = None
    """Its visible words counted up to `words_limit`, when one was given."""
    page: ExtractedPage | None = None
    content_hash: str | None = None
    """`content_hash` of the extracted Markdown."""


def read_page(body: bytes, encoding: str, url: str, scope: Scope, *, check_render: bool = False,
              words_limit: int | None = None) -> PageRead:
    """Read the page `url` served as `body` (in `encoding`, Scrapy's `TextResponse.encoding`,
    so the text is the one `response.text` gives). `check_render`: look for signs it needs a
    browser first; `words_limit`: count its visible words up to that (a re-rendered page)."""
    try:
        return _read(body, encoding, url, scope, check_render, words_limit, slim=True)
    except FullTreeNeeded:
        pass  # a collapsed listing's spans matter to this page (spiders/extract/listings.py)
    return _read(body, encoding, url, scope, check_render, words_limit, slim=False)


def _link(url: str, href: str) -> str | None:
    """The http(s) URL an href on `url` names, cleaned; None for any other, and for an href no URL
    parser accepts (a placeholder the docs show as a link, `http://HOST[:PORT]/`): one bad link
    never costs the page."""
    try:
        link = clean_url(join_url(url, href.strip()))
    except ValueError:
        return None
    return link if is_http_url(link) else None


def _read(body: bytes, encoding: str, url: str, scope: Scope, check_render: bool, words_limit: int | None, *,
          slim: bool) -> PageRead:
    """`read_page`, from a big page's slim tree (`slim`: `listings.read_page_tree`) or its full tree."""
    html = html_to_unicode(f"charset={encoding}", body)[1]
    root, runs = read_page_tree(html, url) if slim else (read_tree(html, url), NO_RUNS)
    del html  # the text goes once parsed
    canonical_key = None
    if (canonical := _CANONICAL(root)) and (canonical_url := _link(url, canonical[0])) \
            and scope.contains(canonical_url):
        canonical_key = normalize_url(canonical_url)
    if check_render and (reason := rendering_reason(root, runs)) is not None:
        return PageRead(canonical_key, [], reason, visible_words(root, runs=runs))
    words = None if words_limit is None else visible_words(root, words_limit, runs)
    links = []
    for href in dict.fromkeys(_HREFS(root)):
        if href.startswith("#") and not href.startswith(("#/", "#!/")):
            continue  # an anchor on this same page
        if (link := _link(url, href)) and scope.contains(link):
            links.append(link)
    content = read_content(root, url, runs=runs)
    del root, runs  # the tree goes (runs holds some of its elements) before the Markdown is scored and
    # counted: one of them at a time
    page = page_from(content, url)
    return PageRead(canonical_key, list(dict.fromkeys(links)), words=words, page=page,
                    content_hash=content_hash(page.markdown))
