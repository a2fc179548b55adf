"""Signs in a plainly fetched page's tree that it needs a browser: pure lxml, no Scrapy.

They are read in the extraction process (spiders/crawl/reading.py), from the tree the
page's links and main content come from; `spiders.render.policy` decides what to do
about them.
"""
from __future__ import annotations

import re
from typing import Any

from spiders.extract.listings import NO_RUNS, Runs

# Fewer words of visible text than this, and the page is an empty shell.
THIN_WORDS = 30
# A page whose <noscript> asks for JavaScript is rendered when it has fewer words than this.
NOSCRIPT_WORDS = 100

# Elements single-page apps mount into, always directly in <body>; empty until JavaScript
# runs. Deeper down, `id="app"` is just an anchor (Sphinx gives an API entry `app` that id).
_SPA_ROOTS = (
    "/html/body/*[@id='app' or @id='root' or @id='__next' or @id='__nuxt' or @id='___gatsby' "
    "or @id='q-app' or @id='svelte' or @id='docsify' or @data-reactroot or @ng-version]"
    " | /html/body/app-root"
)
_INVISIBLE = frozenset({"script", "style", "noscript", "template"})
_ASKS_FOR_JS = re.compile(
    r"(enable|turn on|activate|allow|requires?|need|needs|must)\W+(\w+\W+){0,4}javascript"
    r"|javascript\W+(\w+\W+){0,4}(required|disabled|enabled|needed|must|is off)",
    re.IGNORECASE,
)


def _words(element: Any, limit: int, runs: Runs = NO_RUNS) -> int:
    """Words of visible text in an lxml element, counted up to `limit` and no further:
    the decision only asks "fewer than N?", and big pages must stay cheap. Each text node is
    counted on its own, a collapsed listing's as its spans had them (`runs`, spiders/extract/listings.py)."""
    count = 0

    def walk(node: Any) -> None:
        nonlocal count
        if not isinstance(node.tag, str) or node.tag.lower() in _INVISIBLE:
            return  # comments, scripts, styles: their text is not seen (their tail is, below)
        count += runs.text_words(node)
        for child in node:
            if count >= limit:
                return
            walk(child)
            if child.tail:
                count += len(child.tail.split())

    walk(element)
    return min(count, limit)


def visible_words(root: Any, limit: int = NOSCRIPT_WORDS, runs: Runs = NO_RUNS) -> int:
    """Words of text a reader would see in the body of the tree `root` (scripts, styles
    and <noscript> left out), counted up to `limit`. `runs`: where `root`'s listings were
    collapsed (it raises `FullTreeNeeded` if the count would read one)."""
    body = root.xpath("//body")
    return _words(body[0], limit, runs) if body else 0


def _describe(element: Any) -> str:
    tag = element.xpath("name()") or "element"
    ident = element.attrib.get("id")
    return f"<{tag} id={ident}>" if ident else f"<{tag}>"


def rendering_reason(root: Any, runs: Runs = NO_RUNS) -> str | None:
    """Why the page whose tree is `root` needs a browser, or None when it does not.

    A page without a single script is never rendered: a browser would show the
    same text. The checks go from the most to the least specific sign.
    """
    if not root.xpath("(//script)[1]"):
        return None
    words = visible_words(root, runs=runs)
    for element in root.xpath(_SPA_ROOTS):
        if (inside := _words(element, THIN_WORDS, runs)) < THIN_WORDS:
            return f"single-page app: {_describe(element)} holds {inside} words until JavaScript runs"
    if words < THIN_WORDS:
        return f"near-empty page: {words} words of text, content comes from scripts"
    if words >= NOSCRIPT_WORDS:
        return None
    main = root.xpath("(//main | //*[@role='main'])[1]")
    if main and _words(main[0], 5, runs) < 5:
        return "empty <main>: content comes from scripts"
    for note in root.xpath("//noscript"):
        runs.check_within(note)  # its text nodes are joined with spaces
        text = " ".join(note.xpath(".//text()"))
        # Sphinx's search page asks for JavaScript to search, not to show content.
        if _ASKS_FOR_JS.search(text) and "search" not in text.lower():
            return f"<noscript> asks for JavaScript and the page has {words} words"
    return None
