"""Main content of a documentation page, as Markdown, with a quality score.

`extract_page(html, url)` is the one entry point: the spider, the web app and the
benchmarks all call it. It is a pure function: no I/O, no Scrapy.

This is the interim converter that keeps the interface stable until the real
extractor (issue "Content extraction") replaces its insides.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import html2text
import lxml.html


@dataclass
class ExtractedPage:
    title: str
    markdown: str
    quality: int
    quality_reasons: list[str] = field(default_factory=list)
    word_count: int = 0
    token_count: int = 0


_DROP = "//script|//style|//nav|//header|//footer|//aside|//noscript|//form"
_MAIN = ("//main", "//article", "//*[@role='main']", "//body")


def extract_page(html: str, url: str) -> ExtractedPage:
    doc = lxml.html.document_fromstring(html or "<html></html>", base_url=url)
    doc.make_links_absolute(url, resolve_base_href=True)
    title = (doc.findtext(".//title") or "").strip()
    for el in doc.xpath(_DROP):
        el.drop_tree()
    main = next((found[0] for xp in _MAIN if (found := doc.xpath(xp))), doc)
    converter = html2text.HTML2Text(baseurl=url, bodywidth=0)
    markdown = converter.handle(lxml.html.tostring(main, encoding="unicode")).strip()
    words = len(re.findall(r"\w+", markdown))
    reasons = ["thin content"] if words < 50 else []
    quality = 100 if words >= 50 else 2 * words
    return ExtractedPage(title, markdown, quality, reasons, words, round(words * 1.3))
