"""A 0-100 quality score for one extracted page, with the reasons for every point taken off.

Cross-page reasons (duplicate of another page, boilerplate) are added at assembly time.
"""
from __future__ import annotations

import re

_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_WORD = re.compile(r"\w+")
_FENCED = re.compile(r"^(`{3,}|~{3,}).*?^\1\s*$", re.S | re.M)
_ERROR_TITLE = re.compile(
    r"\b(404|403|410|500|502|503)\b|page not found|not found|no longer (exists|available)|"
    r"(does not|doesn't) exist|access denied|server error|^error\b|moved permanently", re.I)


def count_words(markdown: str) -> int:
    return len(_WORD.findall(_LINK.sub(r"\1", markdown)))


def score(markdown: str, title: str) -> tuple[int, list[str], int]:
    """(quality, reasons, word count) for one page's Markdown."""
    text = _LINK.sub(r"\1", markdown)
    words = len(_WORD.findall(text))
    link_words = sum(len(_WORD.findall(m.group(1))) for m in _LINK.finditer(markdown))
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
    head = (title or "") + "\n" + "\n".join(markdown.split("\n")[:3])
    if words < 300 and _ERROR_TITLE.search(head):
        q = min(q, 5)
        reasons.append("soft 404 or error page")
    return max(0, min(100, q)), reasons, words
