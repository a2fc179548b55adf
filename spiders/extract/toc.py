"""The site's own page order, as a page's sidebar or table of contents shows it."""
from __future__ import annotations

import posixpath
from urllib.parse import urlsplit

from lxml import etree

from spiders.extract.main import HtmlElement, has_class, link_target

# separates a page's lists in `toc_links`; spiders/document/assemble.py reads it
TOC_LIST_BREAK = ""

# Navigation lists outside the main content, where the site's own page order can be read.
_NAV_LISTS = etree.XPath(
    "//ul[not(ancestor-or-self::*[contains(@class,'related') or contains(@class,'breadcrumb') or "
    "contains(@class,'pagination') or contains(@class,'footer') or contains(@class,'prev') or "
    "self::footer or self::header])] | //ol[ancestor::nav] | //dl[contains(@class,'toc')] | "
    "//nav[not(ancestor::header) and not(contains(@class,'pagination') or contains(@class,'breadcrumb') "
    "or contains(@class,'prev') or contains(@class,'related'))] | //aside")
_COUNT_LINKS = etree.XPath("count(.//a[@href])")
_REL_LINKS = etree.XPath("//link[@rel and @href] | //a[@rel and @href]")
_MAIN_TOCS = etree.XPath(f".//*[contains(@class,'toctree-wrapper') or {has_class('toc')}]")
_ASSET_EXT = frozenset(
    ".png .jpg .jpeg .gif .svg .webp .ico .pdf .zip .gz .tgz .bz2 .xz .tar .txt .css .js .json .xml "
    ".woff .woff2 .ttf .eot .mp4 .webm .mp3 .epub .rst .md".split())


def _page_link(href: str, base: str, origin: tuple[str, str]) -> str | None:
    href = (href or "").strip()
    if not href or href.startswith(("javascript:", "mailto:", "tel:", "data:")):
        return None
    if (found := link_target(base, href)) is None:
        return None
    url, frag = found
    parts = urlsplit(url)
    if frag.startswith(("/", "!/")):  # a hash route (docsify, ...) is a page of its own
        url = f"{url}#{frag}"
    if (parts.scheme, parts.netloc) != origin:
        return None
    ext = posixpath.splitext(parts.path)[1].lower()
    if ext in _ASSET_EXT or "/_sources/" in parts.path:
        return None
    return url


def _links(container, base: str, origin) -> list[str]:
    out, seen = [], set()
    for a in container.iter("a"):
        u = _page_link(a.get("href"), base, origin)
        if u and u not in seen:
            seen.add(u)
            out.append(u)
    return out


def toc_links(doc: HtmlElement, main: HtmlElement, url: str) -> list[str]:
    """The site's sidebar/TOC order as seen from this page: absolute page URLs, fragments removed."""
    parts = urlsplit(url)
    origin = (parts.scheme, parts.netloc)
    main_and_up = set(main.iterancestors())
    main_and_up.add(main)
    best: list[str] = []
    best_el, best_n = None, 0
    parent = main.getparent()
    placeholder = etree.Element("div")
    if parent is not None:  # scan the page without its main content
        tail = main.tail
        parent.replace(main, placeholder)
    try:
        for lst in _NAV_LISTS(doc):
            n = int(_COUNT_LINKS(lst))
            if n <= best_n or lst in main_and_up:
                continue
            best_el, best_n = lst, n
    finally:
        if parent is not None:
            parent.replace(placeholder, main)
            main.tail = tail
    if best_el is not None:
        best = _links(best_el, url, origin)
    if len(best) < 3:
        best = []
    seen = set(best)
    here = _page_link(url, url, origin)
    # The TOC in the page's content lists its sub-pages, nested under the entries the sidebar may
    # name too: each new one goes after the entry before it (the page itself to begin with).
    at = best.index(here) + 1 if here in seen else len(best)
    for toc in _MAIN_TOCS(main):
        for u in _links(toc, url, origin):
            if u in seen:
                at = best.index(u) + 1
            else:
                seen.add(u)
                best.insert(at, u)
                at += 1
    if here and here not in seen:
        # a page its navigation does not list (a hidden toctree's child, a partial sidebar) still
        # says where it stands: between the pages its rel="prev" and rel="next" links name
        prev, nxt = _neighbour(doc, ("prev", "previous"), url, origin), _neighbour(doc, ("next",), url, origin)
        if prev or nxt:  # a list of its own: a page's neighbours are not its sidebar's next entries
            best += [TOC_LIST_BREAK, *(u for u in (prev, here, nxt) if u and u not in seen)]
    return best


def _neighbour(doc: HtmlElement, rels: tuple[str, ...], base: str, origin) -> str | None:
    for el in _REL_LINKS(doc):
        if set((el.get("rel") or "").lower().split()) & set(rels):
            u = _page_link(el.get("href"), base, origin)
            if u:
                return u
    return None
