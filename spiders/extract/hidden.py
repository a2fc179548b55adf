"""What a page hides from its readers is not content.

Three signals, all read from the page itself: the `hidden` attribute, `aria-hidden="true"`,
and `display: none` / `visibility: hidden`, whether inline or in the page's own `<style>`
rules. Only top-level rules count: a rule inside `@media` hides a thing on some screens only
(a mobile menu). A selector is read as the page stands when it arrives: classes, ids, tags
and the combinators between them (pdoc's `.view-source-toggle-state ~ .pdoc-code`, the source
listing a "View Source" checkbox reveals); one with a pseudo-class or an attribute test
(`:checked`, `:not(.open)`, `[aria-expanded]`) depends on state the reader changes and is not
read, nor is one naming `html` or `body` classes that scripts set (`.js .menu` is evaluated
as written, so it hides nothing where the page says `no-js`). Tab panels are kept: a page
hides its inactive tabs, and every tab is content (`clean.expand_tabs`).
"""
from __future__ import annotations

import functools
import re

from cssselect import ExpressionError, GenericTranslator, SelectorError
from lxml import etree

_HIDING = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.S)
# classes, ids and tags joined by combinators, no pseudo-class, attribute test or html/body
# (each step past the first consumes a combinator or a space: no backtracking over a long selector)
_COMPOUND = re.compile(r"^(?!.*\b(?:html|body)\b)[\w.#-]+(?:(?:\s*[>~+]\s*|\s+)[\w.#-]+)*$")
_CSS = GenericTranslator()
_MARKED = etree.XPath("//*[@hidden or @aria-hidden='true' or @style]")


def top_level_rules(css: str) -> list[tuple[str, str]]:
    """(selector list, declarations) of the rules outside any @-block."""
    css = _CSS_COMMENT.sub("", css)
    rules, depth, start, selector = [], 0, 0, ""
    for i, ch in enumerate(css):
        if ch == "{":
            if depth == 0:
                selector, start = css[start:i].strip(), i + 1
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                if not selector.startswith("@"):
                    rules.append((selector, css[start:i]))
                start = i + 1
            depth = max(depth, 0)
        elif ch == ";" and depth == 0:  # @import ...; @charset ...;
            start = i + 1
    return rules


def _hiding_selectors(css: str) -> list[str]:
    return [selector.strip() for selectors, declarations in top_level_rules(css) if _HIDING.search(declarations)
            for selector in selectors.split(",") if selector.strip()]


@functools.lru_cache(maxsize=4096)  # a site's pages share their styles
def _compound_xpath(selector: str) -> str | None:
    """XPath for a selector of classes, ids, tags and combinators; None for anything else."""
    if not _COMPOUND.match(selector):
        return None
    try:
        return _CSS.css_to_xpath(selector)
    except (SelectorError, ExpressionError):
        return None


def _is_tab_panel(el) -> bool:
    return el.get("role") == "tabpanel"


def hiding_selectors(styles: list[str]) -> set[str]:
    """The selectors of the top-level rules in `styles` (CSS texts) that hide what they select."""
    return {s for css in styles for s in _hiding_selectors(css)}


def hidden_elements(doc, styles: list[str]) -> list:
    """The elements the page hides from its readers (outermost first is not guaranteed)."""
    found = [el for el in _MARKED(doc) if el.tag not in ("html", "body")
             and (el.get("style") is None or el.get("hidden") is not None or el.get("aria-hidden") == "true"
                  or _HIDING.search(el.get("style")))]
    for selector in hiding_selectors(styles):
        if xpath := _compound_xpath(selector):
            found.extend(el for el in doc.xpath(xpath) if el.tag not in ("html", "body"))
    return [el for el in found if not _is_tab_panel(el)]
