"""A 0-100 quality score for one extracted page, with the reasons for every point taken off.

Cross-page reasons (duplicate of another page, boilerplate) are added at assembly time;
generated pages (indexes, listings) are told apart in `generated`.
"""
from __future__ import annotations

import re

# A text may hold [brackets]. The loop over the text is possessive (`*+`): giving back any of it
# can never lead to `](`, and without the backtracking points a long text (a listing's Markdown,
# 290 KB) is scanned in constant memory (it held 5.4 MB) and ~4x faster.
LINK = re.compile(r"!?\[((?:[^\[\]]+|\[[^\[\]]*\])*+)\]\([^)]*\)")
WORD = re.compile(r"\w+")
_FENCED = re.compile(r"^(`{3,}|~{3,}).*?^\1\s*$", re.S | re.M)
# What an error page says of itself. A chapter may be *about* errors ("Error handling",
# "Not found responses"), so the phrases are the ones only an error page uses, and only a
# short page (SOFT_404_WORDS) is taken for one.
_ERROR_TITLE = re.compile(
    r"\b(404|403|410|500|502|503)\b|page not found|^not found$|(page|file) (no longer|does not|doesn't) exist|"
    r"no longer (exists|available)|access denied|internal server error|^error$|moved permanently", re.I | re.M)
SOFT_404_WORDS = 120


def count_words(markdown: str) -> int:
    return len(WORD.findall(LINK.sub(r"\1", markdown)))


def score(markdown: str, title: str) -> tuple[int, list[str], int]:
    """(quality, reasons, word count) for one page's Markdown."""
    text = LINK.sub(r"\1", markdown)
    words = len(WORD.findall(text))
    in_links = link_words(markdown)
    code_words = sum(len(WORD.findall(m.group(0))) for m in _FENCED.finditer(markdown))
    reasons: list[str] = []
    q = 100
    prose = words - code_words
    if words < 20:
        q = min(q, words)
        reasons.append(f"thin content ({words} words)")
    elif words < 80:
        q -= 80 - words
        reasons.append(f"thin content ({words} words)")
    ratio = in_links / prose if prose > 0 else 0.0
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


def link_words(markdown: str) -> int:
    """Words inside link texts."""
    return sum(len(WORD.findall(m.group(1))) for m in LINK.finditer(markdown))
