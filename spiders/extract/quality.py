"""A 0-100 quality score for one extracted page, with the reasons for every point taken off.

Cross-page reasons (duplicate of another page, boilerplate) are added at assembly time.
"""
from __future__ import annotations

import re

_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_WORD = re.compile(r"\w+")
_FENCED = re.compile(r"^(`{3,}|~{3,}).*?^\1\s*$", re.S | re.M)
# What an error page says of itself. A chapter may be *about* errors ("Error handling",
# "Not found responses"), so the phrases are the ones only an error page uses, and only a
# short page (SOFT_404_WORDS) is taken for one.
_ERROR_TITLE = re.compile(
    r"\b(404|403|410|500|502|503)\b|page not found|^not found$|(page|file) (no longer|does not|doesn't) exist|"
    r"no longer (exists|available)|access denied|internal server error|^error$|moved permanently", re.I | re.M)
SOFT_404_WORDS = 120


def count_words(markdown: str) -> int:
    return len(_WORD.findall(_LINK.sub(r"\1", markdown)))


def score(markdown: str, title: str) -> tuple[int, list[str], int]:
    """(quality, reasons, word count) for one page's Markdown."""
    text = _LINK.sub(r"\1", markdown)
    words = len(_WORD.findall(text))
    link_words = _link_words(markdown)
    code_words = sum(len(_WORD.findall(m.group(0))) for m in _FENCED.finditer(markdown))
    reasons: list[str] = []
    q = 100
    prose = words - code_words
    if words < 20:
        q = min(q, words)
        reasons.append(f"thin content ({words} words)")
    elif words < 80:
        q -= 80 - words
        reasons.append(f"thin content ({words} words)")
    ratio = link_words / prose if prose > 0 else 0.0
    if words >= 20 and ratio > 0.85:
        q = min(q, 10)
        reasons.append(f"navigation only ({ratio:.0%} of the words are links)")
    elif words >= 20 and ratio > 0.5:
        q -= int((ratio - 0.5) * 120)
        reasons.append(f"mostly links ({ratio:.0%} of the words are links)")
    head = (title or "").strip() + "\n" + "\n".join(line.lstrip("# ").strip() for line in markdown.split("\n")[:3])
    if words < SOFT_404_WORDS and _ERROR_TITLE.search(head):
        q = min(q, 5)
        reasons.append("soft 404 or error page")
    return max(0, min(100, q)), reasons, words


# Pages a generator makes from the others: an index of names, a search page, the whole
# table of contents, a tag or archive listing. They are how a site is navigated (the crawl
# still follows their links), and in a document they are pages of links that repeat the rest.
_LETTER = re.compile(r"^([A-Za-z_]|Symbols|Numbers|Non-alphabetical)$")
_INDEX_TITLE = re.compile(r"^(?:general )?index$|\b(?:module|class|file|function|symbol|name|package)s? index\b|"
                          r"^index of\b|^(?:alphabetical|api) index\b", re.I)
_FORMATTING = re.compile(r"[#*|`\s]+")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+\.) +(.*)$")
_SEARCH_TITLE = re.compile(r"^(?:search|search results|search the documentation)$", re.I)
_LISTING_TITLE = re.compile(r"^(?:tags?|archives?|categories|category|posts tagged|tagged)\b", re.I)


def generated_kind(markdown: str, title: str) -> str | None:
    """What kind of generated page this is ("general index", ...), or None for a page of content."""
    lines = [line for line in markdown.split("\n") if line.strip()]
    links = len(_LINK.findall(markdown))
    words = count_words(markdown)
    heading = next((line.lstrip("#").strip() for line in lines if line.startswith("#")), "")
    if (_SEARCH_TITLE.match((title or "").strip()) or _SEARCH_TITLE.match(heading)) and words < 150:
        return "search page"
    if links >= 10 and (_LISTING_TITLE.match((title or "").strip()) or _LISTING_TITLE.match(heading)):
        return "tag or archive listing"
    # An alphabetical index groups its entries under letters: A, B, C ... as headings,
    # bold lines or table rows.
    # (A jump bar of letter links needs more letters: a class's members x, y and z are not one.)
    markers = {m.group(1).lower() for line in lines if (m := _LETTER.match(_FORMATTING.sub("", line)))}
    jump_bar = {text.lower() for m in _LINK.finditer(markdown)
                if _LETTER.match(text := _FORMATTING.sub("", m.group(1)))}
    named_index = _INDEX_TITLE.search((title or "").strip()) or _INDEX_TITLE.search(heading)
    if (links >= 30 and (len(markers) >= 3 or len(jump_bar) >= 5)) \
            or (links >= 20 and named_index and _link_words(markdown) >= 0.5 * words):
        return "module index" if "module" in (title or "").lower() else "general index"
    # A table of contents: nested lists of links and nothing said about them. A
    # section's index page lists its sub-pages too, but with a line on each.
    items = [m.group(1) for line in lines if (m := _LIST_ITEM.match(line))]
    if links >= 40 and len(items) >= 0.8 * len(lines):
        described = sum(len(_WORD.findall(_LINK.sub("", item))) >= 6 for item in items)
        if described < 0.1 * len(items) and words and _link_words(markdown) >= 0.8 * words:
            return "table of contents"
    return None


def _link_words(markdown: str) -> int:
    return sum(len(_WORD.findall(m.group(1))) for m in _LINK.finditer(markdown))
