"""Main content of a documentation page, as Markdown, with a quality score.

`extract_page(html, url)` is the one entry point: the spider, the web app and the
benchmarks all call it. It is a pure function: no I/O, no Scrapy.

Steps: parse (lxml) -> find the main content (generator-specific containers, then
`main`/`article`/`[role=main]`, then text density; see `main`) -> read the site's
sidebar/TOC order -> expand tab sets -> remove page furniture (permalinks, edit links,
prev/next, breadcrumbs, copy buttons, search, cookie banners) -> Markdown (`markdown`) ->
quality score (`quality`) and cl100k_base token count (`tokens`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from spiders.extract import main as em
from spiders.extract.clean import clean_main, expand_tabs
from spiders.extract.generated import NOINDEX, asks_not_to_be_indexed, generated_kind
from spiders.extract.listings import NO_RUNS, FullTreeNeeded, Runs, read_page_tree
from spiders.extract.markdown import MarkdownConverter
from spiders.extract.quality import score
from spiders.extract.rules import NONE, checked
from spiders.extract.titles import read_title, title_from_url
from spiders.extract.toc import toc_links
from spiders.extract.tokens import count_tokens


@dataclass
class ExtractedPage:
    title: str
    markdown: str
    quality: int
    quality_reasons: list[str] = field(default_factory=list)
    word_count: int = 0
    token_count: int = 0
    toc_links: list[str] = field(default_factory=list)
    """The site's sidebar/TOC order as this page shows it: absolute URLs, no fragments."""
    description: str = ""
    """The page's first paragraph, shortened (used for llms.txt notes)."""
    site_name: str = ""
    """The site's name as this page gives it (og:site_name, or the site's part of <title>)."""
    head_title: str = ""
    """The page's own part of <title>: a second opinion on the title, for assembly."""
    generated: str | None = None
    """The kind of generated page ("general index", "search page", ...), or None."""


def _description(markdown: str) -> str:
    in_code = False
    for block in markdown.split("\n\n"):
        if block.startswith(("```", "~~~")):
            in_code = not block.rstrip().endswith(("```", "~~~")) or block.count("\n") == 0
            continue
        if in_code or block.startswith(("#", "|", ">", "- ", "`", "!", "**")) or re.match(r"\d+\. ", block):
            continue
        text = " ".join(re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", block).split())
        if len(text.split()) >= 5:
            return text if len(text) <= 200 else text[:197].rsplit(" ", 1)[0] + "..."
    return ""


def extract_page(html: str | bytes, url: str, *, disabled=NONE) -> ExtractedPage:
    """Extract one page: its title, main content as Markdown, quality 0-100 with reasons,
    word and token counts, the site's TOC order (`toc_links`) and a one-line description.

    `disabled` names generators (see `rules.GENERATORS`) whose specific rules are switched
    off, so that a benchmark can measure the generic path alone on their sites."""
    try:
        content = _read_page_content(html, url, disabled)
    except FullTreeNeeded:  # a collapsed listing's spans matter here (spiders/extract/listings.py)
        content = read_content(em.read_tree(html, url), url, disabled=disabled)
    return page_from(content, url)


def _read_page_content(html: str | bytes, url: str, disabled) -> PageContent:
    doc, runs = read_page_tree(html, url)  # both go on return: the tree before the Markdown is scored
    return read_content(doc, url, disabled=disabled, runs=runs)


@dataclass
class PageContent:
    """What extraction reads from a page's tree. Nothing in it refers to the tree: a caller
    that drops the tree before `page_from` keeps one of the two at a time. (A 1.1 MB source
    listing's tree is ~22 MB; scoring and counting its Markdown made ~9 MB of Python on top.)"""
    title: str
    markdown: str
    toc_links: list[str]
    site_name: str
    head_title: str
    noindex: bool


def read_content(doc: em.HtmlElement, url: str, *, disabled=NONE, runs: Runs = NO_RUNS) -> PageContent:
    """The part of `extract_page` that reads the page's tree, as `em.read_tree` parsed it or
    `listings.read_page_tree` with `runs` (and nothing else changed: the crawl reads the page's
    links from the same tree first). The tree is changed in place. Raises `FullTreeNeeded`
    where a collapsed listing would read otherwise than its spans."""
    disabled = checked(disabled) if disabled else NONE
    doc = em.prepare(doc)
    main = em.find_main(doc, disabled)
    runs.check_main(main)
    toc = toc_links(doc, main, url)
    h1 = em.outside_h1(doc, main)
    expand_tabs(main)
    clean_main(main, disabled)
    conv = MarkdownConverter(url, disabled, runs)
    markdown = conv.convert(main)
    if h1 is not None:
        heading = conv.inline_text(h1)
        if heading and not markdown.startswith("# "):
            markdown = f"# {heading}\n\n{markdown}".rstrip()
    titled = read_title(doc, markdown, runs)
    return PageContent(titled.title, titled.markdown, toc, titled.site_name, titled.head_title,
                       asks_not_to_be_indexed(doc))


def page_from(content: PageContent, url: str) -> ExtractedPage:
    """The rest of `extract_page`, from what `read_content` read: no tree needed."""
    title, markdown = content.title, content.markdown
    if not title and (title := title_from_url(url)) and markdown.strip():
        markdown = f"# {title}\n\n{markdown}".rstrip()
    quality, reasons, words = score(markdown, title)
    generated = generated_kind(markdown, title, url) or (NOINDEX if content.noindex else None)
    return ExtractedPage(title, markdown, quality, reasons, words, count_tokens(markdown),
                         content.toc_links, _description(markdown), content.site_name, content.head_title, generated)
