"""Parsing a documentation page and finding its main content.

Main content: generator-specific containers first (Sphinx themes, MkDocs/Material,
Docusaurus, VitePress, mdBook, DocBook, rustdoc, Javadoc, GitBook/Mintlify-style pages),
then `main`, `[role=main]`, `article`, `#content`, then a text-density fallback. No rule
is keyed on a host name.
"""
from __future__ import annotations

import functools
import re
from urllib.parse import urldefrag, urljoin, urlsplit, urlunsplit

from lxml import etree

from spiders.extract.hidden import hidden_elements

HtmlElement = etree._Element
PARSER_OPTIONS = {"remove_comments": True, "remove_pis": True, "default_doctype": False}
_PARSER = etree.HTMLParser(**PARSER_OPTIONS)


def join_url(base: str, href: str) -> str:
    """`urljoin(base, href)`, remembered: a page names most of its links more than once (its
    links, its sidebar's order, its body's Markdown), and every page of a folder names its
    sidebar's links alike, so a link is joined once per folder, not once per page: an href with
    a path (not "", "?q", "#f" nor "scheme:" alone) joins the same against the base's folder as
    against the base (urljoin keeps only the folder of the base's path; its query and fragment
    go). Joining was a fifth of reading a page (Dask, 500 pages: 102,628 joins, 52,486 different)."""
    head = href.split("?", 1)[0].split("#", 1)[0]
    if head and not head.endswith(":"):
        return _join(_folder(base), href)
    return _join(base, href)


@functools.lru_cache(maxsize=2048)
def _join(base: str, href: str) -> str:
    return urljoin(base, href)


@functools.lru_cache(maxsize=64)
def _folder(base: str) -> str:
    """`base` up to its path's last "/" (`http://h/a/b.html?x#y` -> `http://h/a/`); `base` itself
    when it has no such path."""
    try:
        parts = urlsplit(base)
    except ValueError:
        return base
    if not parts.scheme or not parts.netloc or "/" not in parts.path:
        return base
    return urlunsplit((parts.scheme, parts.netloc, parts.path[: parts.path.rfind("/") + 1], "", ""))


def link_target(base: str, href: str) -> tuple[str, str] | None:
    """The page a link on `base` goes to and its fragment (`urldefrag(join_url(base, href))`); None
    for an href no URL parser accepts, such as a placeholder the docs show as a link
    (`http://HOST_NAME_OR_IP_ADDRESS[:PORT_NUMBER]/`, Groonga's): it goes nowhere."""
    try:
        page, fragment = urldefrag(join_url(base, href))
    except ValueError:
        return None
    return page, fragment


def text_of(el) -> str:
    return etree.tostring(el, method="text", encoding="unicode", with_tail=False)


def has_class(name: str) -> str:
    return f"contains(concat(' ',normalize-space(@class),' '),' {name} ')"


_DOCBOOK = " or ".join(has_class(c) for c in (
    "refentry", "chapter", "sect1", "book", "part", "article", "preface", "appendix", "reference",
    "glossary", "index", "section", "set", "colophon", "refsect1", "bibliography"))

# (xpath, trusted, a token the page must contain for the xpath to match, generators served):
# a trusted, generator-specific match is taken as soon as it holds text; a generic one must
# also hold a fair share of the page's text. The token lets one pass over the page skip most
# xpaths; the generators let a benchmark switch a generator's containers off.
MAIN_XPATHS: list[tuple[etree.XPath, bool, str | None, frozenset[str]]] = [
    (etree.XPath(x), t, k, frozenset(g)) for x, t, k, g in [
    (f"//*[{has_class('theme-doc-markdown')}]", True, "theme-doc-markdown", ("docusaurus",)),
    (f"//*[{has_class('vp-doc')}]", True, "vp-doc", ("vitepress",)),
    ("//article[contains(@class,'md-content__inner')]", True, "md-content__inner", ("mkdocs-material",)),
    ("//*[@itemprop='articleBody']", True, "articleBody", ("sphinx-rtd",)),
    ("//article[@id='furo-main-content']", True, "furo-main-content", ("furo",)),
    ("//article[contains(@class,'bd-article')]", True, "bd-article", ("pydata",)),   # pydata, book
    (f"//div[{has_class('body')}][@role='main']", True, "body", ("sphinx",)),      # classic, alabaster
    (f"//div[{has_class('body')}][parent::div[contains(@class,'bodywrapper') or "
     "contains(@class,'documentwrapper')]]", True, "body", ("sphinx",)),
    ("//section[@id='main-content']", True, "main-content", ("rustdoc",)),
    ("//*[@id='apicontent']", True, "apicontent", ("nodejs",)),
    (f"//div[@id='content'][div[{has_class('innertube')}]]", True, "innertube", ("erlang",)),
    ("//div[@id='content']/main", True, "content", ("mdbook",)),
    ("//*[@id='content-area']", True, "content-area", ("mintlify",)),
    (f"//*[{has_class('markdown-section')}]", True, "markdown-section", ("gitbook", "docsify")),
    (f"//*[{has_class('page-inner')}]//section[{has_class('normal')}]", True, "page-inner", ("gitbook",)),
    (f"//*[{has_class('markdown-body')}]", True, "markdown-body", ("github-markdown",)),
    ("//main[@role='main']", True, "main", ("javadoc",)),                          # Javadoc 11+
    (f"//div[{has_class('contentContainer')}]", True, "contentContainer", ("javadoc",)),  # Javadoc <= 8
    (f"/html/body/div[{_DOCBOOK}]", True, None, ("docbook",)),                      # gtk-doc, ...
    ("//main", False, None, ()),
    ("//*[@role='main']", False, "main", ()),
    ("//article", False, None, ()),
    ("//*[@id='main-content' or @id='maincontent' or @id='content' or @id='main']", False, None, ()),
    (f"//*[{has_class('content') } or {has_class('main-content')} or {has_class('document')}]", False, None, ()),
]]
# One pass over the attributes: the union "//@class|//@id|//@role|//@itemprop" selects the
# same values, but libxml2 sorts the merged node-sets, ~100 ms on a large page.
_TOKENS = etree.XPath("//@*[name()='class' or name()='id' or name()='role' or name()='itemprop']",
                      smart_strings=False)

# <link rel="next"/"prev"> stays: it tells where a page stands in the site's order (toc.py);
# <meta> stays: the title, the site's name and robots "noindex" are read from it
_PRECLEAN = etree.XPath("//script|//style|//noscript|//template|//svg|//comment()|"
                        "//link[not(contains(@rel, 'next') or contains(@rel, 'prev'))]")

def parse(html: str | bytes, url: str) -> HtmlElement:
    return prepare(read_tree(html, url))


def read_tree(html: str | bytes, url: str) -> HtmlElement:
    """The page's tree as parsed, before anything is taken out: what the crawl reads links,
    the canonical link and rendering signs from (in the same pass as `prepare` and extraction)."""
    if isinstance(html, str) and html.lstrip().startswith("<?xml"):
        html = html.encode("utf-8", "replace")
    doc = None
    if html:
        try:
            doc = etree.fromstring(html, _PARSER, base_url=url)
        except (etree.ParserError, etree.XMLSyntaxError, ValueError):
            doc = None
    if doc is None:
        doc = etree.fromstring("<html><body></body></html>", _PARSER)
    return ensure_body(doc)


def ensure_body(doc: HtmlElement) -> HtmlElement:
    """A parsed page always has a <body>, if an empty one."""
    if doc.find("body") is None:
        etree.SubElement(doc, "body")
    return doc


def prepare(doc: HtmlElement) -> HtmlElement:
    """Take out what is never content (scripts, styles, comments, hidden elements), in place."""
    styles = [el.text for el in doc.iter("style") if el.text]
    for el in _PRECLEAN(doc):
        if isinstance(el, etree._Comment) or el.getparent() is not None:
            drop_element(el)
    _drop_hidden(doc, styles)
    if _PRIVATE_USE.search(text_of(doc)):
        _strip_private_use(doc)
    return doc


def _drop_hidden(doc: HtmlElement, styles: list[str]) -> None:
    hidden = hidden_elements(doc, styles)
    if not hidden:
        return
    body = doc.find("body")
    total = len(text_of(body).split()) if body is not None else 0
    for el in hidden:
        # A page that hides most of its text until a script shows it is still that text; a
        # hidden listing of code (a "View Source" toggle's whole module) is not that.
        if el.getparent() is None:
            continue
        words = len(text_of(el).split())
        if total < 50 or words < 0.5 * total or _mostly_code(el, words):
            drop_element(el)


def _mostly_code(el: HtmlElement, words: int) -> bool:
    return sum(len(text_of(pre).split()) for pre in el.iter("pre")) >= 0.9 * words


# Icon fonts (Font Awesome, Material Icons, Nerd Fonts) draw their glyphs from the Private Use
# Area: in text they are noise (a tab label read as "\uf120 Shell").
_PRIVATE_USE = re.compile("[\ue000-\uf8ff\U000f0000-\U0010ffff]")


def _strip_private_use(doc: HtmlElement) -> None:
    for el in doc.iter():
        if el.text and _PRIVATE_USE.search(el.text):
            el.text = _PRIVATE_USE.sub("", el.text)
        if el.tail and _PRIVATE_USE.search(el.tail):
            el.tail = _PRIVATE_USE.sub("", el.tail)


def drop_element(el) -> None:
    parent = el.getparent()
    if parent is None:
        return
    tail = el.tail
    if tail:
        prev = el.getprevious()
        if prev is not None:
            prev.tail = (prev.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
    parent.remove(el)


def _words(el) -> int:
    return len(text_of(el).split())


def find_main(doc: HtmlElement, disabled: frozenset[str] = frozenset()) -> HtmlElement:
    """The main content; `disabled` names generators whose containers are not looked for."""
    body = doc.find("body")
    if body is None:
        body = doc
    body_words = None
    present = set(" ".join(_TOKENS(doc)).split())
    for xpath, trusted, token, generators in MAIN_XPATHS:
        if (token is not None and token not in present) or (disabled and generators & disabled):
            continue
        found = xpath(doc)
        if not found:
            continue
        scored = [(_words(el), el) for el in found]
        words, best = max(scored, key=lambda t: t[0])
        if trusted and words > 0:
            return best
        if body_words is None:
            body_words = _words(body)
        if words > 0 and (words >= 0.25 * body_words or _rest_is_links(body, best, body_words - words)):
            return best
    return _densest(body)


_LINKS = etree.XPath(".//a")


def _rest_is_links(body: HtmlElement, main: HtmlElement, rest_words: int) -> bool:
    """A short page in a long sidebar: what lies outside the candidate is mostly link text (a
    site's table of contents), so the candidate is the page however little it says."""
    outside = sum(_words(a) for a in _LINKS(body)) - sum(_words(a) for a in _LINKS(main))
    return outside >= 0.7 * rest_words


_ROLE = etree.XPath(".//*[@role]")
_WITH_CLASS = etree.XPath(".//*[(@class or @id) and not(ancestor::pre)]")
_BOILER_TAGS = ("nav", "header", "footer", "aside", "form", "button", "input", "select", "textarea")
_BOILER_ROLES = frozenset(("navigation", "banner", "contentinfo", "search", "complementary"))
_BOILER_RX = re.compile(r"sidebar|menu|breadcrumb|footer|navbar|navigation|(?:^|[\s_-])toc(?:$|[\s_-])|"
                        r"cookie[-_]?(?:banner|consent|notice|bar)|cookieconsent|masthead|topbar", re.I)


def _densest(body: HtmlElement) -> HtmlElement:
    """Text-density fallback: strip obvious page furniture, then descend while one child holds most text."""
    found = list(body.iter(*_BOILER_TAGS))
    for el in _WITH_CLASS(body):
        if el.tag == "section":
            continue
        if el.get("role") in _BOILER_ROLES or _BOILER_RX.search(el.get("class") or "") \
                or _BOILER_RX.search(el.get("id") or ""):
            found.append(el)
    found.extend(el for el in _ROLE(body) if el.get("role") in _BOILER_ROLES)
    for el in found:
        if el.getparent() is not None:
            drop_element(el)
    node = body
    while True:
        total = len(text_of(node))
        best, best_len = None, 0
        for child in node:
            if not isinstance(child.tag, str):
                continue
            n = len(text_of(child))
            if n > best_len:
                best, best_len = child, n
        if best is None or total == 0 or best_len < 0.6 * total or best.tag in ("p", "pre", "ul", "ol", "dl", "table"):
            return node
        node = best


def outside_h1(doc: HtmlElement, main: HtmlElement) -> HtmlElement | None:
    """The page's h1 when the main content has none (Node.js, old Javadoc put it outside)."""
    if main.find(".//h1") is not None or main.find(".//h2") is not None:
        return None
    for h1 in doc.iter("h1"):
        if any(a.tag in ("nav", "aside", "footer", "header") for a in h1.iterancestors()):
            continue
        if text_of(h1).strip():
            return h1
    return None
