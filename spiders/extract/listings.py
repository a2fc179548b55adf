"""Big highlighted code listings, parsed without an element per highlighting span.

A Pygments listing is a `<pre>` of `<span class="n">`, `<span class="p">`, ... around every
token: the Dask docs' 1.1 MB `_modules/dask/dataframe/core.html` is 35,668 of them, a
~22 MB libxml2 tree while the page is read, for text extraction reads as a whole.

`read_page_tree` parses a big page through a parser target that builds the same tree as
`main.read_tree` except inside `<pre>`: there each run of *token spans* (a `span` with no
attribute, or only a `class` of Pygments token names, holding text and no element;
consecutive ones with only text between them) becomes one `span` without attributes
holding the run's text, and the last span's tail is its tail. The text, in document order,
is unchanged, and so is every other element and attribute, and what stands next to a run:
its parent's text, the tail before it, a `span` as the next sibling, a parent that is not
empty. What differs is what only the spans themselves show: their number, their class,
their text piece by piece. Extraction reads those in a few places only, and each asks
`Runs` first, raising `FullTreeNeeded` when it would meet a run; the caller then reads the
page again from its full tree (`reading.read_page`, `page.extract_page`):
  - the Markdown converter, iterating an element's children (`blocks`, `inline_text`: the
    inline path through a `<pre>` inside a link, heading, dt or admonition title), or
    looking at the tails of a `<pre>`'s children (`block`'s side-by-side variants);
  - the main content found inside a `<pre>` holding runs (`Runs.check_main`);
  - rendering signs joining a `<noscript>`'s text nodes (`spiders.render.signs`; they count
    words text node by text node, and `Runs.text_words` gives a run's as the spans had them);
  - the title's "shown alone" test, which reads every leaf element's text (`titles`).
Everything else reads a listing by its text (`text_of`, `itertext`, `normalize-space`),
selects elements by tag, id, role or by class names no token span carries (the names
below are 1-3 characters, none of them a class extraction looks for), or edits text a
character at a time. One reader is decided here, at the end of the parse: a `<style>`
rule hiding something with a selector that could match a token span (one naming `span`
or a token class, or using `+`/`~`, which count siblings) sends the page to the full parse.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from spiders.extract.hidden import hiding_selectors
from spiders.extract.main import PARSER_OPTIONS, HtmlElement, ensure_body, read_tree

SLIM_FROM = 200_000
"""Pages of at least this many characters are parsed with their listings' runs collapsed
(the parser target costs Python calls per element: below this, the tree is small anyway)."""

# Pygments' short token class names (pygments.token.STANDARD_TYPES, without "").
TOKEN_CLASSES = frozenset(
    "w esc err x k kc kd kn kp kr kt n na nb bp nc no nd ni ne nf fm py nl nn nx nt nv vc vg vi vm "
    "l ld s sa sb sc dl sd s2 se sh si sx sr s1 ss m mb mf mh mi il mo o ow p pm c ch cm cp cpf c1 cs "
    "g gd ge ges gr gh gi go gp gs gu gt".split())
_CLASS_VALUE = re.compile(r"[a-z0-9]+(?: [a-z0-9]+)*\Z")
_SELECTOR_CLASS = re.compile(r"\.([\w-]+)")
_SPAN_WORD = re.compile(r"(?<![\w-])span(?![\w-])", re.I)
_PRE = {str: re.compile("<pre", re.I), bytes: re.compile(b"<pre", re.I)}  # a page without is parsed as it is
# HTML's boolean attributes: written without a value, libxml2's tree gives them their name as
# value ("defer"), a parser target an empty one, as for `defer=""`: such a page is parsed in full.
_BOOLEAN_ATTRIBUTES = frozenset(
    "checked compact declare defer disabled ismap multiple nohref noresize noshade nowrap readonly selected".split())
_JOIN_EVERY = 1024  # text pieces of a run joined by so many: fewer, bigger strings while parsing


class FullTreeNeeded(Exception):
    """A reader met a collapsed run of token spans where the spans themselves matter."""


@dataclass(frozen=True)
class Runs:
    """Where `read_page_tree` collapsed runs: the elements holding one, the `<pre>`s around
    those, and each run's words as the full tree has them (each span's text and the tails
    between them split on their own). Empty for a tree parsed in full."""
    holders: frozenset = frozenset()
    pres: frozenset = frozenset()
    words: Mapping[Any, int] = field(default_factory=dict)

    def text_words(self, el: HtmlElement) -> int:
        """`len(el.text.split())` as the full tree gives it: for a run, its spans' and tails' own."""
        words = self.words.get(el) if self.words else None
        if words is None:
            return len(el.text.split()) if el.text else 0
        return words

    def __bool__(self) -> bool:
        return bool(self.holders)

    def check(self, el: HtmlElement) -> None:
        """Raise `FullTreeNeeded` if `el` holds a run: a reader of its children or their tails."""
        if el in self.holders:
            raise FullTreeNeeded(f"<{el.tag}> holds a collapsed listing")

    def check_within(self, el: HtmlElement) -> None:
        """Raise `FullTreeNeeded` if `el` or anything in it holds a run."""
        if self.holders and any(d in self.holders for d in el.iter()):
            raise FullTreeNeeded(f"<{el.tag}> holds a collapsed listing")

    def check_main(self, main: HtmlElement) -> None:
        """Raise `FullTreeNeeded` if the main content is inside (or is) a `<pre>` holding runs:
        the Markdown converter would read that listing element by element."""
        if self.pres and any(el in self.pres for el in main.iterancestors("pre")) or main in self.pres:
            raise FullTreeNeeded("main content inside a collapsed listing")


NO_RUNS = Runs()


def _is_token_span(tag: str, attrib: dict) -> bool:
    if tag != "span":
        return False
    if not attrib:
        return True
    if len(attrib) != 1 or "class" not in attrib:
        return False
    value = attrib["class"]
    return bool(_CLASS_VALUE.match(value)) and all(c in TOKEN_CLASSES for c in value.split(" "))


class _RunsTarget:
    """A parser target building the tree through lxml's TreeBuilder, runs of token spans
    inside `<pre>` collapsed (module docstring)."""

    def __init__(self) -> None:
        self.builder = etree.TreeBuilder(parser=etree.HTMLParser(**PARSER_OPTIONS))
        self.open: list[Any] = []  # elements started and not ended
        self.open_pres: list[Any] = []
        self.run: list[str] | None = None  # the open run's text: joined chunks, then pieces
        self.run_pieces: list[str] = []
        self.run_words = 0  # words of the run's text nodes, each split on its own
        self.pending: list[str] = []  # text after the run's last span: its tail, or inside the run
        self.candidate: list[str] | None = None  # text of a token span still open
        self.candidate_attrib: dict = {}
        self.holders: set[Any] = set()
        self.pres: set[Any] = set()
        self.words: dict[Any, int] = {}  # run -> its words
        self.ambiguous = False  # a boolean attribute with an empty value: with or without one?

    # -- events ------------------------------------------------------------------------
    def start(self, tag: str, attrib: dict) -> None:
        if self.candidate is not None:  # an element inside: that span is no token span
            self._flush_run()
            self._push(self.builder.start("span", self.candidate_attrib))
            if self.candidate:
                self.builder.data("".join(self.candidate))
            self.candidate = None
        if self.open_pres and _is_token_span(tag, attrib):
            self.candidate, self.candidate_attrib = [], attrib
            return
        if attrib and not _BOOLEAN_ATTRIBUTES.isdisjoint(attrib):
            self.ambiguous |= any(attrib.get(name) == "" for name in _BOOLEAN_ATTRIBUTES)
        self._flush_run()
        self._push(self.builder.start(tag, attrib))

    def data(self, text: str) -> None:
        if self.candidate is not None:
            self.candidate.append(text)
        elif self.run is not None:
            self.pending.append(text)
        else:
            self.builder.data(text)

    def end(self, tag: str) -> None:
        if self.candidate is not None:  # the token span ends: its text joins the run
            if tag != "span":
                raise ValueError(f"</{tag}> closes a <span>")  # never from libxml2: full parse then
            if self.run is None:
                self.run = []
            self._add(self.pending)  # the tail of the span before, one text node of the full tree
            self._add(self.candidate)  # the span's text, another
            self.pending, self.candidate = [], None
            return
        self._flush_run()
        el = self.builder.end(tag)
        self.open.pop()
        if el.tag == "pre":
            self.open_pres.pop()

    def close(self) -> HtmlElement:
        self._flush_run()
        return self.builder.close()

    # -- helpers -----------------------------------------------------------------------
    def _push(self, el: Any) -> None:
        self.open.append(el)
        if el.tag == "pre":
            self.open_pres.append(el)

    def _add(self, pieces: list[str]) -> None:
        if pieces:
            self.run_words += len("".join(pieces).split()) if len(pieces) > 1 else len(pieces[0].split())
        self.run_pieces.extend(pieces)
        if len(self.run_pieces) >= _JOIN_EVERY:
            self.run.append("".join(self.run_pieces))
            self.run_pieces = []

    def _flush_run(self) -> None:
        if self.run is None:
            return
        text = "".join([*self.run, *self.run_pieces])
        self.run, self.run_pieces = None, []
        self.builder.start("span", {})
        if text:
            self.builder.data(text)
        self.words[self.builder.end("span")] = self.run_words
        self.run_words = 0
        self.holders.add(self.open[-1])
        self.pres.update(self.open_pres)
        if self.pending:
            self.builder.data("".join(self.pending))  # the last span's tail
            self.pending = []


def _styles_may_hide_token_spans(doc: HtmlElement) -> bool:
    """Whether a hiding rule of the page's own styles could select a token span (prepare reads them)."""
    styles = [el.text for el in doc.iter("style") if el.text]
    return any("+" in s or "~" in s or _SPAN_WORD.search(s) or TOKEN_CLASSES.intersection(_SELECTOR_CLASS.findall(s))
               for s in hiding_selectors(styles))


def read_slim_tree(html: str | bytes, url: str) -> tuple[HtmlElement, Runs]:
    """`main.read_tree`'s tree with the runs of token spans inside `<pre>` collapsed, and
    where they were; the full tree (and `NO_RUNS`) where a collapsed run could be seen."""
    if not html or isinstance(html, str) and html.lstrip().startswith("<?xml") or not _PRE[type(html)].search(html):
        return read_tree(html, url), NO_RUNS
    target = _RunsTarget()
    try:
        doc = etree.fromstring(html, etree.HTMLParser(target=target, **PARSER_OPTIONS))
    except (etree.LxmlError, ValueError):  # a name lxml's API refuses ("<a @click=...>"), ...
        doc = None
    if doc is None or not target.holders or target.ambiguous:
        return read_tree(html, url), NO_RUNS
    doc.getroottree().docinfo.URL = url
    ensure_body(doc)
    if _styles_may_hide_token_spans(doc):
        return read_tree(html, url), NO_RUNS
    return doc, Runs(frozenset(target.holders), frozenset(target.pres), target.words)


def read_page_tree(html: str | bytes, url: str) -> tuple[HtmlElement, Runs]:
    """The tree extraction reads: `read_slim_tree`'s for a big page, `main.read_tree`'s otherwise."""
    if len(html) >= SLIM_FROM:
        return read_slim_tree(html, url)
    return read_tree(html, url), NO_RUNS
