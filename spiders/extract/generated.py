"""Pages a generator makes from the other pages, recognised from what they are.

Kinds: a search page, a tag or archive listing, an index of names (one page, or a page per
letter), a module index, a list of all of something (classes, packages, files, members,
items), a class hierarchy, a list of what is deprecated, a whole table of contents, and a
page that asks search engines to leave it out. The signals are the page's own: what it
calls itself (its title, its heading, the line introducing its list), and its shape (entries
pointing to other pages with next to no prose; names in alphabetical order pointing into
pages). No file name or URL pattern is used.
"""
from __future__ import annotations

import re
from itertools import pairwise
from urllib.parse import urldefrag

from spiders.extract.main import link_target
from spiders.extract.quality import LINK, WORD, count_words, link_words

# Such pages are how a site is navigated (the crawl still follows their links); in a
# document they are pages of links that repeat the rest.
_LETTER = re.compile(r"^([A-Za-z_]|Symbols|Numbers|Non-alphabetical)$")
_LETTER_HEADING = re.compile(r"^#+\s*[-–]?\s*([A-Za-z_])\s*[-–]?\s*$")  # Doxygen's "- a -"
_INDEX_TITLE = re.compile(r"^(?:general )?index(?:\s*[-–—:]\s*\S{1,12})?$|"
                          r"\b(?:module|class|file|function|symbol|name|package|variable|option|concept|program|"
                          r"macro|command|keyword|type|method|topic|subject)s? index\b|"
                          r"^index of\b|^(?:alphabetical|api) index\b", re.I)
_FORMATTING = re.compile(r"[#*|`\s]+")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+\.) +(.*)$")
_SEARCH_TITLE = re.compile(r"^(?:search|search results|search the documentation)$", re.I)
_LISTING_TITLE = re.compile(r"^(?:tags?|archives?|categories|category|posts tagged|tagged)\b", re.I)
# What a generated listing says it is, in its title, its heading or the line that introduces
# it ("Here is a list of all files with brief descriptions:").
_ALL_OF = re.compile(r"\ball (?!known\b|implemented\b)(?:the )?(?:documented )?(?:\w+ )?"
                     r"(?:classes|interfaces|packages|modules|items|files|members|functions|methods|types|"
                     r"symbols|namespaces|globals|macros|structs|traits|enums|variables|constants|"
                     r"declarations|definitions|typedefs|entries)\b", re.I)
_HIERARCHY = re.compile(r"\bhierarch(?:y|ies)\b|\binheritance (?:list|tree|graph)\b", re.I)
_DEPRECATED = re.compile(r"^deprecated(?: (?:api|list|classes|interfaces|methods|members|elements))?$", re.I)
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}")
_LINK_URL = re.compile(r"!?\[(?:[^\[\]]+|\[[^\[\]]*\])*+\]\(([^)\s]*)[^)]*\)")  # possessive: see quality.LINK
_SORT_KEY = re.compile(r"[\W_]+")
_TOC_PROSE = 60  # words of its own a page of contents may say


def generated_kind(markdown: str, title: str, url: str = "") -> str | None:
    """What kind of generated page this is ("general index", ...), or None for a page of content.
    `url`, the page's own address, tells a link to another page from one within this page."""
    lines = [line for line in markdown.split("\n") if line.strip()]
    links = len(LINK.findall(markdown))
    words = count_words(markdown)
    heading = next((line.lstrip("#").strip() for line in lines if line.startswith("#")), "")
    title = (title or "").strip()
    if (_SEARCH_TITLE.match(title) or _SEARCH_TITLE.match(heading)) and words < 150:
        return "search page"
    if links >= 10 and (_LISTING_TITLE.match(title) or _LISTING_TITLE.match(heading)):
        return "tag or archive listing"
    listing = _Listing(lines, url)
    # An alphabetical index groups its entries under letters: A, B, C ... as headings,
    # bold lines or table rows, or one letter to a page with a bar of letter links above.
    # (A jump bar of letter links needs more letters: a class's members x, y and z are not one.)
    markers = {m.group(1).lower() for line in lines if (m := _LETTER.match(_FORMATTING.sub("", line))
                                                         or _LETTER_HEADING.match(line))}
    jump_bar = {text.lower() for m in LINK.finditer(markdown)
                if _LETTER.match(text := _FORMATTING.sub("", m.group(1))) and _jumps_within(m.group(0), url)}
    named = _named(title, heading, lines)
    named_index = _INDEX_TITLE.search(title) or _INDEX_TITLE.search(heading) or "index" in named
    if (links >= 30 and (len(markers) >= 3 or len(jump_bar) >= 5)) \
            or (links >= 20 and named_index and link_words(markdown) >= 0.5 * words) \
            or (len(jump_bar) >= 5 and listing.is_listing()):
        return "module index" if "module" in title.lower() else "general index"
    if "hierarchy" in named and len(listing.entries) >= 3 and listing.is_listing(pointing=0.1):
        return "class hierarchy"  # (its roots are often classes from elsewhere, not linked)
    if listing.is_listing():
        if named_index and listing.pointers:
            return "general index"
        if "all" in named:
            return "list of all items"
        if "deprecated" in named:
            return "list of deprecated items"
        if listing.is_name_index():
            return "general index"
    # A table of contents: nested lists of links and nothing said about them. A
    # section's index page lists its sub-pages too, but with a line on each; a home page
    # may put its whole contents under an introduction, which is content (mypy's, 280 words).
    items = [m.group(1) for line in lines if (m := _LIST_ITEM.match(line))]
    if links >= 40 and len(items) >= 0.8 * len(lines) and listing.prose < _TOC_PROSE:
        described = sum(len(WORD.findall(LINK.sub("", item))) >= 6 for item in items)
        said = _unnumbered_words(LINK.sub(r"\1", markdown))  # "1.", "2.3": numbers, not words said
        linked = sum(_unnumbered_words(m.group(1)) for m in LINK.finditer(markdown))
        if described < 0.1 * len(items) and said and linked >= 0.8 * said:
            return "table of contents"
    return None


NOINDEX = "marked noindex for search engines"  # the generated kind of a page that asks so


def asks_not_to_be_indexed(doc) -> bool:
    """The page asks search engines to leave it out (`<meta name="robots" content="noindex">`):
    a generator says so of its print-everything page and of stubs left where pages moved. (A
    site that says it of most pages says it of the site: assembly then keeps them.)"""
    return any({"noindex", "none"} & set(re.split(r"[\s,]+", (meta.get("content") or "").lower()))
               for meta in doc.iter("meta") if (meta.get("name") or "").lower() == "robots")


def _jumps_within(link: str, url: str) -> bool:
    """A link of a letter bar: to a place in this page, or to another page (the next letter's);
    not to a place inside another page (a contents page listing an index's letters)."""
    target = (_LINK_URL.match(link) or [None, ""])[1]
    if not url or not target or target.startswith("#"):
        return True
    if (found := link_target(url, target)) is None:
        return False  # a link that goes nowhere jumps nowhere
    page, fragment = found
    return not fragment or page == urldefrag(url)[0]


def _unnumbered_words(text: str) -> int:
    return sum(not word.isdigit() for word in WORD.findall(text))


def _named(title: str, heading: str, lines: list[str]) -> set[str]:
    """What the page calls itself: "all" (a list of all of something), "index", "hierarchy",
    "deprecated"; read from its title, its first heading and its short opening lines."""
    texts = [title, heading]
    for line in lines[:6]:
        text = " ".join(LINK.sub(lambda m: "" if m.group(0).startswith("!") else m.group(1), line)
                        .lstrip("#").replace("*", "").split())  # (an image's alt text names no page)
        if len(text.split()) <= 25 and not _LIST_ITEM.match(line) and not line.lstrip().startswith("|"):
            texts.append(text)
    found = set()
    for text in filter(None, texts):
        if _ALL_OF.search(text):
            found.add("all")
        if _INDEX_TITLE.search(text):
            found.add("index")
        if _HIERARCHY.search(text):
            found.add("hierarchy")
        if _DEPRECATED.match(text.strip(" :")):
            found.add("deprecated")
    return found


class _Listing:
    """A page read as a listing: its entries (list items, table rows, lines that start with a
    link) against the prose around them, and where the entries' links point."""

    def __init__(self, lines: list[str], url: str) -> None:
        own = urldefrag(url)[0]
        self.entries: list[str] = []
        self.prose = 0
        self.pointers = 0  # entries with a link to another page
        self.anchors = 0  # top-level entries with a link to a place inside another page
        self.described = 0  # entries saying more than a name and where it is
        keys: list[str] = []
        in_code = False
        for i, line in enumerate(lines):
            stripped = line.strip()
            if stripped.startswith(("```", "~~~")):
                in_code = not in_code
                continue
            if in_code:
                self.prose += len(WORD.findall(line))
                continue
            if stripped.startswith("#") or _TABLE_RULE.match(stripped):
                continue
            row = stripped.startswith("|")
            if row and i + 1 < len(lines) and _TABLE_RULE.match(lines[i + 1].strip()) and not LINK.search(stripped):
                continue  # a table's header row (one with a link is a first entry: HTML tables have no header)
            item = _LIST_ITEM.match(line)
            if not (row or item or LINK.match(stripped.lstrip("*_ "))):
                self.prose += len(WORD.findall(LINK.sub(r"\1", line)))
                continue
            text = item.group(1) if item else stripped
            self.entries.append(text)
            targets = [t for t in _LINK_URL.findall(text) if t and not t.startswith("#")
                       and (not own or (link_target(url, t) or ("",))[0] != own)]
            self.pointers += bool(targets)
            self.described += len(WORD.findall(LINK.sub("", text))) >= 6
            if not line.startswith((" ", "\t")):  # the top level: names, sorted, if an index
                self.anchors += any("#" in t for t in targets)
                first = text.strip("| ").split("|")[0]
                keys.append(_SORT_KEY.sub(" ", LINK.sub(r"\1", first)).strip().lower())
        keys = [k for k in keys if k]
        self.sorted = sum(a <= b for a, b in pairwise(keys)) / (len(keys) - 1) if len(keys) > 1 else 0.0
        self.sorted_count = len(keys)

    def is_listing(self, pointing: float = 0.5) -> bool:
        """Entries, most (`pointing`) with a link to another page, and next to no prose around them."""
        entry_words = sum(len(WORD.findall(LINK.sub(r"\1", e))) for e in self.entries)
        return bool(self.entries) and self.pointers >= max(1.0, pointing * len(self.entries)) \
            and self.prose <= max(40, 0.15 * (self.prose + entry_words))

    def is_name_index(self) -> bool:
        """An index nobody named: many bare names in alphabetical order, each pointing into
        another page (a list of sub-pages points to pages, and says what each one is)."""
        n = len(self.entries)
        return n >= 10 and self.sorted_count >= 10 and self.sorted >= 0.85 \
            and self.anchors >= 0.5 * self.sorted_count and self.described < 0.1 * n
