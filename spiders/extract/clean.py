"""Cleaning the main content: every tab of a tab set kept under its label, and page furniture
removed (permalink signs, edit links, prev/next, breadcrumbs, copy buttons, search boxes,
cookie banners, local tables of contents, line numbers)."""
from __future__ import annotations

import functools
import re
from urllib.parse import urldefrag

from lxml import etree

from spiders.extract.main import HtmlElement, drop_element, link_target, text_of

_REMOVE_CLASSES = (
    "breadcrumb", "edit-this-page", "edit-page", "editlink", "edit-link", "prev-next",
    "prevnext", "pagination", "footer", "cookie-banner", "cookie-consent",
    "cookieconsent", "cookie-notice", "cookie-bar", "consent-banner", "gdpr", "searchbox",
    "search-box", "search-form", "sr-only", "visually-hidden", "screen-reader", "skip-link", "skip-to",
    "copy-button", "clipboard", "linenos", "line-numbers", "linenodiv", "listing_lines", "anchorjs",
    "table-of-contents", "feedback", "announcement", "version-warning",
    "navbar", "navigation", "sidebar-nav", "page-toc", "on-this-page", "onthispage",
)
# Class names one generator or theme gives its furniture, by the generators they serve.
_GENERATOR_CLASSES = {
    "headerlink": ("sphinx", "mkdocs"), "copybtn": ("sphinx",), "viewcode-link": ("sphinx",),
    "viewcode-back": ("sphinx",), "toctree-wrapper": ("sphinx",), "rst-footer-buttons": ("sphinx-rtd",),
    "hash-link": ("docusaurus",), "theme-doc-toc": ("docusaurus",), "theme-last-updated": ("docusaurus",),
    "header-anchor": ("vitepress",), "md-source-file": ("mkdocs-material",),
    "md-content__button": ("mkdocs-material",), "md-sidebar": ("mkdocs-material",),
    "bd-sidebar": ("pydata",), "bd-toc": ("pydata",), "sidebar-secondary": ("pydata",),
    "sidebar-primary": ("pydata",), "toc-drawer": ("furo",),
}
_EDIT_TEXTS = ("edit this page", "edit on github", "edit on gitlab", "view page source", "show source",
               "edit page", "improve this page", "suggest an edit", "suggest changes", "view source",
               "skip to main content", "skip to content", "copy to clipboard")
_REMOVE_TAGS = ("nav", "footer", "form", "button", "input", "select", "textarea", "iframe", "object",
                "embed", "canvas", "dialog")
_REMOVE_ROLES = frozenset(("navigation", "search", "contentinfo", "banner"))
_PERMALINK_TEXTS = frozenset(("¶", "#", "§", "🔗", "∞", ""))
_ROLE = etree.XPath(".//*[@role]")
_IN_HEADING = etree.XPath("boolean(ancestor::h1 | ancestor::h2 | ancestor::h3 | ancestor::h4 | ancestor::h5 | ancestor::h6)")
_LINKS_OUTSIDE_PRE = etree.XPath(".//a[not(ancestor::pre)]")  # line anchors in code stay: they hold newlines
_WITH_CLASS = etree.XPath(".//*[(@class or @id) and not(ancestor::pre)]")
# whole class names only (rustdoc's "srclink" must not hit "has-srclink")
_GENERATOR_CLASS_TOKENS = {"srclink": ("rustdoc",), "rightside": ("rustdoc",), "hideme": ("rustdoc",),
                           "out-of-band": ("rustdoc",), "lang": ("vitepress",)}  # "lang": code label


@functools.lru_cache(maxsize=64)
def _remove_class_rx(disabled: frozenset[str]) -> re.Pattern:
    def kept(table: dict) -> list[str]:
        return [c for c, gens in table.items() if not disabled.intersection(gens)]
    classes = [*_REMOVE_CLASSES, *kept(_GENERATOR_CLASSES)]
    tokens = kept(_GENERATOR_CLASS_TOKENS)
    rx = "|".join(re.escape(c) for c in classes)
    if tokens:
        rx += r"|(?:^|\s)(?:" + "|".join(re.escape(c) for c in tokens) + r")(?:\s|$)"
    return re.compile(rx)


_REMOVE_ID_RX = re.compile(r"breadcrumb|cookie[-_]?(?:banner|consent|notice|bar)|cookieconsent|^footer$|^toc$")
# docutils' "topic contents" (an in-page table of contents)
_CONTENTS_RX = re.compile(r"(^|\s)contents(\s|$)")

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
            drop_element(tablist)  # filter buttons over one panel (Javadoc summaries), not a tab set
            continue
        for i, tab in enumerate(tabs):
            panel = by_id.get(tab.get("aria-controls") or "")
            if panel is None and i < len(panels):
                panel = panels[i]
            label = " ".join(text_of(tab).split())
            if panel is not None and label and panel.getparent() is not None:
                panel.addprevious(_label_p(label))
        drop_element(tablist)
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
        for name, item in zip(names, items, strict=False):
            if name:
                item.addprevious(_label_p(name))
        drop_element(labels)
    # label + content siblings (sphinx-design, sphinx-inline-tabs, older pymdownx tabbed).
    for label in main.xpath(".//label[ancestor::*[contains(@class,'tab')]]"):
        text = " ".join(text_of(label).split())
        if text and label.getparent() is not None:
            p = _label_p(text)
            p.tail = label.tail
            label.getparent().replace(label, p)


def _to_remove(main: HtmlElement, disabled: frozenset[str]) -> list:
    remove_class_rx = _remove_class_rx(disabled)
    docutils = "docutils" not in disabled
    found = list(main.iter(*_REMOVE_TAGS))
    found.extend(el for el in _ROLE(main) if el.get("role") in _REMOVE_ROLES)
    for a in _LINKS_OUTSIDE_PRE(main):
        text = "".join(a.itertext()).strip()
        if len(text) > 40:
            continue
        if text in _PERMALINK_TEXTS or not re.search(r"\w", text) and _IN_HEADING(a):
            # a mark linking a heading to itself ("¶", Doxygen's "◆")
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
        if cls and (remove_class_rx.search(cls) or (
                _CONTENTS_RX.search(cls) and ((docutils and "topic" in cls) or el.tag in ("nav", "aside")))):
            found.append(el)
            continue
        ident = el.get("id")
        if ident and _REMOVE_ID_RX.search(ident) and el.tag != "section" and "section" not in (cls or ""):
            found.append(el)
    return found


# In-page tables of contents: furniture on a page of its own, but the content of a section's
# index page, whose list of sub-pages (with their one-line descriptions) is what it says.
_TOC_CLASS_RX = re.compile(r"toctree-wrapper|table-of-contents|(?:^|\s)(?:contents|page-toc|toc)(?:\s|$)")


def _is_main_content(el: HtmlElement, main_words: int) -> bool:
    return bool(_TOC_CLASS_RX.search(el.get("class") or "")) and len(text_of(el).split()) >= 0.5 * main_words


def _is_local_toc(el: HtmlElement) -> bool:
    """A list of links to this page's own sections and nothing else (POD's index, a page TOC)."""
    links = el.xpath(".//a")
    if len(links) < 3 or any(not (a.get("href") or "").startswith("#") for a in links):
        return False
    if len(text_of(el).split()) > sum(len(text_of(a).split()) for a in links) + len(links):
        return False
    # a list the prose introduces ("The following methods are available:") is what it says
    before = el.getprevious()
    return not (before is not None and before.tag == "p" and text_of(before).rstrip().endswith(":"))


# Words a navigation bar says besides its links ("Next: ..., Previous: ..., Up: ...", "[ << ]").
_NAV_WORDS = frozenset(("next", "previous", "prev", "up", "top", "contents", "index", "home", "back", "forward"))
_NAV_BLOCKS = etree.XPath(".//table | .//p | .//div | .//ul | .//ol | .//nav")
_CONTENTS_HEADINGS = frozenset(("contents", "table of contents", "on this page", "in this article", "in this section",
                                "page contents"))
_GENERATOR_CREDIT = re.compile(r"^(?:this (?:document|page|file|manual) was )?generated (?:by|on|using|with)\b", re.I)
_MORE_LINK = re.compile(r"^(?:more|read more|more\.\.\.|more…)$", re.I)


def _words_of(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def _is_navigation_bar(el: HtmlElement) -> bool:
    """A small block of links whose other words only say where they go (next, previous, up)."""
    links = el.xpath(".//a[@href]")
    if not links or any(len(text_of(a).split()) > 8 for a in links):
        return False
    words = _words_of(text_of(el))
    if len(words) > 40:
        return False
    link_words = sum(len(_words_of(text_of(a))) for a in links)
    rest = set(_words_of(text_of(el))) - {w for a in links for w in _words_of(text_of(a))}
    if not (rest <= _NAV_WORDS and link_words <= 3 * len(links) + 6):
        return False
    # and something says it is navigation: its words, its links' rel, or arrows for link texts
    return bool(rest) or any(_says_where(a) for a in links)


def _says_where(a: HtmlElement) -> bool:
    text = " ".join(text_of(a).split()).lower()
    rel = set((a.get("rel") or "").lower().split())
    return bool(rel & {"next", "prev", "previous", "up", "contents", "index", "start", "home"}) \
        or _nav_phrase(text) or (text != "" and not re.search(r"\w", text))


_NAV_FILLER = frozenset(("to", "the", "go", "page", "return"))


def _nav_phrase(text: str) -> bool:
    """A link text that only says where it goes: "next", "Up", "← Back to index", "Go to top"."""
    words = set(_words_of(text))
    return len(_words_of(text)) <= 4 and bool(words & _NAV_WORDS) and words <= _NAV_WORDS | _NAV_FILLER


def _unwrap(el: HtmlElement) -> None:
    """Replace `el` by its content (text, children, tail)."""
    parent = el.getparent()
    index = parent.index(el)
    previous = el.getprevious()
    if el.text:
        if previous is not None:
            previous.tail = (previous.tail or "") + el.text
        else:
            parent.text = (parent.text or "") + el.text
    for offset, child in enumerate(list(el)):
        parent.insert(index + offset, child)
    last = parent[index + len(el) - 1] if len(el) else (previous if previous is not None else None)
    tail = el.tail or ""
    parent.remove(el)
    if tail:
        if last is not None and last is not el:
            last.tail = (last.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail


def _drop_page_navigation(main: HtmlElement) -> None:
    """Navigation a page carries inside its content: next/previous bars, a 'Contents' box of
    links to its own sections, 'More...' jumps, the generator's credit line, heading links."""
    for el in _NAV_BLOCKS(main):
        if el.getparent() is not None and el is not main \
                and el.xpath("ancestor::pre") == [] and _is_navigation_bar(el):
            drop_element(el)
    for heading in main.xpath(".//h2 | .//h3 | .//h4 | .//h5 | .//h6"):
        following = heading.getnext()
        if " ".join(_words_of(text_of(heading))) in _CONTENTS_HEADINGS and following is not None \
                and following.tag in ("ul", "ol") and all((a.get("href") or "").startswith(("#", main.base or "#"))
                                                            for a in following.xpath(".//a")):
            drop_element(following)
            drop_element(heading)
    for a in main.xpath(".//a[@href]"):  # "More..." jumping to the same page's detail
        if _MORE_LINK.match(text_of(a).strip()) and a.getparent() is not None \
                and (link_target(main.base or "", a.get("href")) or ("",))[0] == urldefrag(main.base or "")[0]:
            drop_element(a)
    # a lone link at the very start or end of the page that only says where it goes
    edges = [el for el in main if isinstance(el.tag, str)]
    for a in {id(e): e for e in edges[:1] + edges[-1:]}.values():
        if a.tag == "a" and not (a.tail or "").strip() and _nav_phrase(text_of(a)) \
                and (a is edges[-1] or not (main.text or "").strip()):
            drop_element(a)
    for el in main.xpath(".//p | .//address | .//div[not(.//p)]"):
        if el.getparent() is not None and _GENERATOR_CREDIT.match(" ".join(text_of(el).split())) \
                and len(text_of(el).split()) < 40:
            drop_element(el)
    for heading in main.xpath(".//h1 | .//h2 | .//h3 | .//h4 | .//h5 | .//h6"):
        links = heading.xpath("./a[@href]")
        if len(links) == 1 and " ".join(text_of(links[0]).split()) == " ".join(text_of(heading).split()):
            _unwrap(links[0])


def _drop_loose_local_tocs(main: HtmlElement) -> None:
    """A jump list written without a list: three or more links to this page's own sections,
    one per line (`<a href="#NAME">NAME</a><br>`) with nothing else between them (groff's man
    pages open with one above NAME)."""
    for box in [main, *main.xpath("./div")]:
        runs: list[list[HtmlElement]] = [[]]
        for child in box:
            before = child.getprevious().tail if child.getprevious() is not None else box.text
            if (before or "").strip():  # words between: the run ends here
                runs.append([])
            if child.tag == "br" and runs[-1] or child.tag == "a" and text_of(child).strip() \
                    and (child.get("href") or "").startswith("#"):
                runs[-1].append(child)
            elif runs[-1]:
                runs.append([])
        for run in runs:
            if sum(el.tag == "a" for el in run) >= 3:
                for el in run:
                    drop_element(el)


def clean_main(main: HtmlElement, disabled: frozenset[str] = frozenset()) -> None:
    """Remove page furniture; `disabled` names generators whose furniture classes are not used."""
    _drop_page_navigation(main)
    _drop_loose_local_tocs(main)
    for lst in main.xpath("./ul | ./ol | ./*/ul | ./*/ol"):
        if lst.getparent() is not None and _is_local_toc(lst) and len(text_of(lst).split()) < 0.5 * len(text_of(main).split()):
            drop_element(lst)
    main_words = len(text_of(main).split())
    for el in _to_remove(main, disabled):
        if _is_main_content(el, main_words):
            continue
        parent = el.getparent()
        if parent is None:
            continue
        drop_element(el)
        # a paragraph or item left empty by removing its only link ("Edit this page")
        if parent is not main and parent.tag in ("p", "li", "div") and not len(parent) \
                and not (parent.text or "").strip() and parent.getparent() is not None:
            drop_element(parent)
        elif el.tag in ("ul", "ol", "nav", "div") and _TOC_CLASS_RX.search(el.get("class") or "") or el.tag == "nav":
            _drop_emptied_heading(parent, main)


_HEADING_TAGS = frozenset(("h1", "h2", "h3", "h4", "h5", "h6"))


def _drop_emptied_heading(section: HtmlElement, main: HtmlElement) -> None:
    """A section whose only content was the table of contents just removed (a toctree under
    "Contents") keeps only its heading: the heading goes too. A heading with nothing under it in the page
    itself (an API signature) is not touched: only a removal empties a section."""
    if section is main or section.getparent() is None or (section.text or "").strip():
        return
    children = [c for c in section if isinstance(c.tag, str)]
    if len(children) == 1 and children[0].tag in _HEADING_TAGS and not (children[0].tail or "").strip():
        drop_element(section)
