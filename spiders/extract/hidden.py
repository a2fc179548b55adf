"""What a page hides from its readers is not content.

Three signals, all read from the page itself: the `hidden` attribute, `aria-hidden="true"`,
and `display: none` / `visibility: hidden`, whether inline or in the page's own `<style>`
rules for a class or an id. Only top-level rules count: a rule inside `@media` hides a
thing on some screens only (a mobile menu), and a selector with combinators or pseudo-classes
(`.js .menu`, `:not(.open)`) depends on state the reader changes. Tab panels are kept:
a page hides its inactive tabs, and every tab is content (`clean.expand_tabs`).
"""
from __future__ import annotations

import re

from lxml import etree

_HIDING = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
_SIMPLE_SELECTOR = re.compile(r"^([a-z][a-z0-9]*)?([.#])([A-Za-z_][\w-]*)$")
_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.S)
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


def hidden_selectors(css: str) -> list[tuple[str | None, str, str]]:
    """(tag or None, '.' or '#', name) for each simple selector the CSS hides."""
    found = []
    for selectors, declarations in top_level_rules(css):
        if not _HIDING.search(declarations):
            continue
        for selector in selectors.split(","):
            if m := _SIMPLE_SELECTOR.match(selector.strip()):
                found.append((m.group(1), m.group(2), m.group(3)))
    return found


def _xpath_for(tag: str | None, kind: str, name: str) -> str:
    test = (f"contains(concat(' ', normalize-space(@class), ' '), ' {name} ')" if kind == "."
            else f"@id='{name}'")
    return f"//{tag or '*'}[{test}]"


def _is_tab_panel(el) -> bool:
    return el.get("role") == "tabpanel"


def hidden_elements(doc, styles: list[str]) -> list:
    """The elements the page hides from its readers (outermost first is not guaranteed)."""
    found = [el for el in _MARKED(doc) if el.tag not in ("html", "body")
             and (el.get("style") is None or el.get("hidden") is not None or el.get("aria-hidden") == "true"
                  or _HIDING.search(el.get("style")))]
    for tag, kind, name in {s for css in styles for s in hidden_selectors(css)}:
        if "'" in name:
            continue
        found.extend(el for el in doc.xpath(_xpath_for(tag, kind, name)) if el.tag not in ("html", "body"))
    return [el for el in found if not _is_tab_panel(el)]
