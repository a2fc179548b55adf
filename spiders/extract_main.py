"""Finding a documentation page's main content, cleaning it, and reading the site's TOC order.

Main content: generator-specific containers first (Sphinx themes, MkDocs/Material,
Docusaurus, VitePress, mdBook, DocBook, rustdoc, Javadoc, GitBook/Mintlify-style pages),
then `main`, `[role=main]`, `article`, `#content`, then a text-density fallback. No rule
is keyed on a host name.
"""
from __future__ import annotations

import posixpath
import re
from urllib.parse import urldefrag, urljoin, urlsplit

from lxml import etree

HtmlElement = etree._Element
_PARSER = etree.HTMLParser(remove_comments=True, remove_pis=True, default_doctype=False)


def text_of(el) -> str:
    return etree.tostring(el, method="text", encoding="unicode", with_tail=False)


def _cls(name: str) -> str:
    return f"contains(concat(' ',normalize-space(@class),' '),' {name} ')"


_DOCBOOK = " or ".join(_cls(c) for c in (
    "refentry", "chapter", "sect1", "book", "part", "article", "preface", "appendix", "reference",
    "glossary", "index", "section", "set", "colophon", "refsect1", "bibliography"))

# (xpath, trusted): a trusted, generator-specific match is taken as soon as it holds text;
# a generic one must also hold a fair share of the page's text.
# (xpath, trusted, a token the page must contain for the xpath to match): a trusted,
# generator-specific match is taken as soon as it holds text; a generic one must also hold a
# fair share of the page's text. The token lets one pass over the page skip most xpaths.
MAIN_XPATHS: list[tuple[etree.XPath, bool, str | None]] = [(etree.XPath(x), t, k) for x, t, k in [
    (f"//*[{_cls('theme-doc-markdown')}]", True, "theme-doc-markdown"),           # Docusaurus
    (f"//*[{_cls('vp-doc')}]", True, "vp-doc"),                                   # VitePress
    ("//article[contains(@class,'md-content__inner')]", True, "md-content__inner"),  # MkDocs Material
    ("//*[@itemprop='articleBody']", True, "articleBody"),                        # Sphinx Read the Docs theme
    ("//article[@id='furo-main-content']", True, "furo-main-content"),           # Sphinx furo
    ("//article[contains(@class,'bd-article')]", True, "bd-article"),            # Sphinx pydata / book
    (f"//div[{_cls('body')}][@role='main']", True, "body"),                       # Sphinx classic, alabaster
    (f"//div[{_cls('body')}][parent::div[contains(@class,'bodywrapper') or "
     "contains(@class,'documentwrapper')]]", True, "body"),
    ("//section[@id='main-content']", True, "main-content"),                     # rustdoc
    ("//*[@id='apicontent']", True, "apicontent"),                               # Node.js doc tool
    (f"//div[@id='content'][div[{_cls('innertube')}]]", True, "innertube"),      # Erlang erl_docgen
    ("//div[@id='content']/main", True, "content"),                              # mdBook
    ("//*[@id='content-area']", True, "content-area"),                           # Mintlify
    (f"//*[{_cls('markdown-section')}]", True, "markdown-section"),              # GitBook (legacy), docsify
    (f"//*[{_cls('page-inner')}]//section[{_cls('normal')}]", True, "page-inner"),  # GitBook (legacy)
    (f"//*[{_cls('markdown-body')}]", True, "markdown-body"),
    ("//main[@role='main']", True, "main"),                                       # Javadoc 11+
    (f"//div[{_cls('contentContainer')}]", True, "contentContainer"),            # Javadoc <= 8
    (f"/html/body/div[{_DOCBOOK}]", True, None),                                 # DocBook (gtk-doc, ...)
    ("//main", False, None),
    ("//*[@role='main']", False, "main"),
    ("//article", False, None),
    ("//*[@id='main-content' or @id='maincontent' or @id='content' or @id='main']", False, None),
    (f"//*[{_cls('content') } or {_cls('main-content')} or {_cls('document')}]", False, None),
]]
_TOKENS = etree.XPath("//@class|//@id|//@role|//@itemprop", smart_strings=False)

_PRECLEAN = etree.XPath("//script|//style|//noscript|//template|//link|//meta|//svg|//comment()")

_REMOVE_CLASSES = (
    "headerlink", "breadcrumb", "edit-this-page", "edit-page", "editlink", "edit-link", "prev-next",
    "prevnext", "pagination", "rst-footer-buttons", "footer", "cookie-banner", "cookie-consent",
    "cookieconsent", "cookie-notice", "cookie-bar", "consent-banner", "gdpr", "searchbox",
    "search-box", "search-form", "sr-only", "visually-hidden", "screen-reader", "skip-link", "skip-to",
    "copybtn", "copy-button", "clipboard", "viewcode-link", "viewcode-back", "toctree-wrapper",
    "linenos", "line-numbers", "linenodiv", "listing_lines", "hash-link", "header-anchor", "anchorjs", "theme-doc-toc", "table-of-contents", "md-source-file",
    "md-content__button", "feedback", "announcement", "version-warning", "theme-last-updated",
    "navbar", "navigation", "sidebar-nav", "bd-sidebar", "bd-toc", "toc-drawer", "md-sidebar",
    "sidebar-secondary", "sidebar-primary", "page-toc", "on-this-page", "onthispage",
)
_EDIT_TEXTS = ("edit this page", "edit on github", "edit on gitlab", "view page source", "show source",
               "edit page", "improve this page", "suggest an edit", "suggest changes", "view source",
               "skip to main content", "skip to content", "copy to clipboard")
_REMOVE_TAGS = ("nav", "footer", "form", "button", "input", "select", "textarea", "iframe", "object",
                "embed", "canvas", "dialog")
_REMOVE_ROLES = frozenset(("navigation", "search", "contentinfo", "banner"))
_PERMALINK_TEXTS = frozenset(("¶", "#", "§", "🔗", "∞", ""))
_ROLE = etree.XPath(".//*[@role]")
_LINKS_OUTSIDE_PRE = etree.XPath(".//a[not(ancestor::pre)]")  # line anchors in code stay: they hold newlines
_WITH_CLASS = etree.XPath(".//*[(@class or @id) and not(ancestor::pre)]")
# whole class names only (rustdoc's "srclink" must not hit "has-srclink")
_REMOVE_CLASS_TOKENS = ("srclink", "rightside", "hideme", "out-of-band", "lang")  # "lang": VitePress code label
_REMOVE_CLASS_RX = re.compile("|".join(re.escape(c) for c in _REMOVE_CLASSES) + r"|(?:^|\s)(?:"
                              + "|".join(re.escape(c) for c in _REMOVE_CLASS_TOKENS) + r")(?:\s|$)")
_REMOVE_ID_RX = re.compile(r"breadcrumb|cookie[-_]?(?:banner|consent|notice|bar)|cookieconsent|^footer$|^toc$")
_CONTENTS_RX = re.compile(r"(^|\s)contents(\s|$)")

# Navigation lists outside the main content, where the site's own page order can be read.
_NAV_LISTS = etree.XPath(
    "//ul[not(ancestor-or-self::*[contains(@class,'related') or contains(@class,'breadcrumb') or "
    "contains(@class,'pagination') or contains(@class,'footer') or contains(@class,'prev') or "
    "self::footer or self::header])] | //ol[ancestor::nav] | //dl[contains(@class,'toc')] | "
    "//nav[not(ancestor::header) and not(contains(@class,'pagination') or contains(@class,'breadcrumb') "
    "or contains(@class,'prev') or contains(@class,'related'))] | //aside")
_COUNT_LINKS = etree.XPath("count(.//a[@href])")
_MAIN_TOCS = etree.XPath(f".//*[contains(@class,'toctree-wrapper') or {_cls('toc')}]")
_ASSET_EXT = frozenset(
    ".png .jpg .jpeg .gif .svg .webp .ico .pdf .zip .gz .tgz .bz2 .xz .tar .txt .css .js .json .xml "
    ".woff .woff2 .ttf .eot .mp4 .webm .mp3 .epub .rst .md".split())


def parse(html: str | bytes, url: str) -> HtmlElement:
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
    if doc.find("body") is None:
        etree.SubElement(doc, "body")
    for el in _PRECLEAN(doc):
        if isinstance(el, etree._Comment) or el.getparent() is not None:
            _drop(el)
    return doc


def _drop(el) -> None:
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


def find_main(doc: HtmlElement) -> HtmlElement:
    body = doc.find("body")
    if body is None:
        body = doc
    body_words = None
    present = set(" ".join(_TOKENS(doc)).split())
    for xpath, trusted, token in MAIN_XPATHS:
        if token is not None and token not in present:
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
        if words > 0 and words >= 0.25 * body_words:
            return best
    return _densest(body)


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
            _drop(el)
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
        if best is None or total == 0 or best_len < 0.6 * total or best.tag in ("p", "pre", "ul", "ol", "table"):
            return node
        node = best


def _label_p(text: str) -> HtmlElement:
    p = etree.Element("p")
    strong = etree.SubElement(p, "strong")
    strong.text = text
    return p


def expand_tabs(main: HtmlElement) -> None:
    """Keep every tab of a tab set: each panel is preceded by its label as a bold line."""
    # ARIA tabs (Docusaurus, sphinx-tabs, ...): a tablist of [role=tab] and [role=tabpanel] panels.
    for tablist in main.xpath(".//*[@role='tablist']"):
        tabs = tablist.xpath(".//*[@role='tab']")
        scope = tablist.getparent()
        if scope is None:
            continue
        panels = [p for p in scope.xpath(".//*[@role='tabpanel']")]
        if not panels and scope.getparent() is not None:
            panels = scope.getparent().xpath(".//*[@role='tabpanel']")
        by_id = {p.get("id"): p for p in panels if p.get("id")}
        targets = [tab.get("aria-controls") for tab in tabs]
        if len(tabs) > 1 and len(set(targets)) == 1 and targets[0]:
            _drop(tablist)  # filter buttons over one panel (Javadoc summaries), not a tab set
            continue
        for i, tab in enumerate(tabs):
            panel = by_id.get(tab.get("aria-controls") or "")
            if panel is None and i < len(panels):
                panel = panels[i]
            label = " ".join(text_of(tab).split())
            if panel is not None and label and panel.getparent() is not None:
                panel.addprevious(_label_p(label))
        _drop(tablist)
    # A container of labels beside a container of blocks (Material tabbed-labels, VitePress code groups).
    for labels in main.xpath(".//*[contains(@class,'tabbed-labels') or "
                             "(contains(@class,'tabs') and parent::*[contains(@class,'code-group')])]"):
        names = [" ".join(text_of(lb).split()) for lb in labels.iter("label")]
        blocks = labels.getnext()
        while blocks is not None and not isinstance(blocks.tag, str):
            blocks = blocks.getnext()
        if blocks is None:
            continue
        items = [c for c in blocks if isinstance(c.tag, str)]
        for name, item in zip(names, items):
            if name:
                item.addprevious(_label_p(name))
        _drop(labels)
    # label + content siblings (sphinx-design, sphinx-inline-tabs, older pymdownx tabbed).
    for label in main.xpath(".//label[ancestor::*[contains(@class,'tab')]]"):
        text = " ".join(text_of(label).split())
        if text and label.getparent() is not None:
            p = _label_p(text)
            p.tail = label.tail
            label.getparent().replace(label, p)


def _to_remove(main: HtmlElement) -> list:
    found = list(main.iter(*_REMOVE_TAGS))
    found.extend(el for el in _ROLE(main) if el.get("role") in _REMOVE_ROLES)
    for a in _LINKS_OUTSIDE_PRE(main):
        text = "".join(a.itertext()).strip()
        if len(text) > 40:
            continue
        if text in _PERMALINK_TEXTS:
            href = a.get("href")
            if (href is None or href.startswith("#")) and (text or a.find(".//img") is None):
                found.append(a)
        elif text.lower().startswith(_EDIT_TEXTS):
            found.append(a)
    for el in _WITH_CLASS(main):
        if el.tag == "aside":
            cls = el.get("class") or ""
            if "toc" in cls or "nav" in cls or "menu" in cls:
                found.append(el)
                continue
        cls = el.get("class")
        if cls and (_REMOVE_CLASS_RX.search(cls) or (
                _CONTENTS_RX.search(cls) and ("topic" in cls or el.tag in ("nav", "aside")))):
            found.append(el)
            continue
        ident = el.get("id")
        if ident and _REMOVE_ID_RX.search(ident) and el.tag != "section" and "section" not in (cls or ""):
            found.append(el)
    return found


def clean_main(main: HtmlElement) -> None:
    for el in _to_remove(main):
        parent = el.getparent()
        if parent is None:
            continue
        _drop(el)
        # a paragraph or item left empty by removing its only link ("Edit this page")
        if parent is not main and parent.tag in ("p", "li", "div") and not len(parent) \
                and not (parent.text or "").strip() and parent.getparent() is not None:
            _drop(parent)


def _page_link(href: str, base: str, origin: tuple[str, str]) -> str | None:
    href = (href or "").strip()
    if not href or href.startswith(("javascript:", "mailto:", "tel:", "data:")):
        return None
    try:
        url, frag = urldefrag(urljoin(base, href))
        parts = urlsplit(url)
        if frag.startswith(("/", "!/")):  # a hash route (docsify, ...) is a page of its own
            url = f"{url}#{frag}"
    except ValueError:
        return None
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
    for toc in _MAIN_TOCS(main):
        for u in _links(toc, url, origin):
            if u not in seen:
                seen.add(u)
                best.append(u)
    return best


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
