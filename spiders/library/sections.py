"""A job's document as a library: pages split at their headings into sections, and answers cut to a budget.

Pure functions, no I/O. The document is the one `spiders.document.assemble` renders:
each page under `## Title`, its `Source: URL (N tokens)` line, its body (headings
demoted one level, boilerplate removed). Splitting that document, rather than the raw
pages, gives the library exactly the text and order the document has.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from spiders.document.assemble import link_texts, split_blocks
from spiders.extract.tokens import count_tokens, count_tokens_many

_PAGE_HEAD = re.compile(r"^---\n\n## (?P<title>[^\n]*)\n\nSource: (?P<url>\S+) \(\d+ tokens\)\n", re.MULTILINE)
_APPENDIX = re.compile(r"^---\n\n## Appendix: pages left out\n", re.MULTILINE)
_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


@dataclass(frozen=True)
class DocumentPage:
    title: str
    url: str
    body: str


@dataclass(frozen=True)
class Section:
    heading_path: tuple[str, ...]
    """The page's title, then every heading above this section and its own (the lead has the title only)."""
    level: int
    """1 for the page's lead (the text before its first heading), else the heading's level in the document."""
    text: str
    """The section's Markdown, its heading line first: a page's sections joined with blank lines are the page."""
    token_count: int

    @property
    def heading(self) -> str:
        return self.heading_path[-1]


def document_pages(markdown: str) -> list[DocumentPage]:
    """The pages of an assembled document, in the document's order."""
    heads = list(_PAGE_HEAD.finditer(markdown or ""))
    appendix = _APPENDIX.search(markdown or "", heads[-1].end() if heads else 0)
    pages = []
    for n, head in enumerate(heads):
        end = heads[n + 1].start() if n + 1 < len(heads) else (appendix.start() if appendix else len(markdown))
        pages.append(DocumentPage(head.group("title").strip(), head.group("url"), markdown[head.end():end].strip("\n")))
    return pages


def heading_text(raw: str) -> str:
    """A heading as a reader sees it: links reduced to their text, code marks and blanks tidied."""
    return " ".join(link_texts(raw).replace("`", "").replace("¶", "").split())


def split_sections(title: str, body: str) -> list[Section]:
    """The page's sections: the lead, then one per heading (outside code fences), with heading paths."""
    parts = _section_parts(title, body)
    return [Section(path, level, text, n)
            for (path, level, text), n in zip(parts, count_tokens_many([text for _, _, text in parts]), strict=True)]


def document_sections(markdown: str) -> list[tuple[DocumentPage, list[Section]]]:
    """Every page of an assembled document with its sections (`split_sections`), their tokens
    counted together: on two threads for a big document (`count_tokens_many`)."""
    pages = [(page, _section_parts(page.title, page.body)) for page in document_pages(markdown)]
    counts = iter(count_tokens_many([text for _, parts in pages for _, _, text in parts]))
    return [(page, [Section(path, level, text, next(counts)) for path, level, text in parts]) for page, parts in pages]


def _section_parts(title: str, body: str) -> list[tuple[tuple[str, ...], int, str]]:
    """(heading path, level, text) of each section of the page, uncounted."""
    found: list[tuple[tuple[str, ...], int, list[str]]] = [((title,), 1, [])]
    stack: list[tuple[int, str]] = []
    fence: str | None = None
    for line in body.split("\n"):
        mark = _FENCE.match(line)
        if fence:
            if mark and mark.group(1)[0] == fence[0] and len(mark.group(1)) >= len(fence):
                fence = None
        elif mark:
            fence = mark.group(1)
        elif heading := _HEADING.match(line):
            level, text = len(heading.group(1)), heading_text(heading.group(2))
            if text:
                while stack and stack[-1][0] >= level:
                    stack.pop()
                stack.append((level, text))
                found.append(((title, *(t for _, t in stack)), level, []))
        found[-1][2].append(line)
    parts = []
    for path, level, lines in found:
        text = "\n".join(lines).strip("\n")
        if text.strip():
            parts.append((path, level, text))
    return parts


@dataclass(frozen=True)
class Cut:
    """Text cut to a token budget; `note` says what was left out (empty when nothing was)."""

    text: str
    token_count: int
    total_tokens: int
    blocks_left_out: int
    note: str

    @property
    def truncated(self) -> bool:
        return bool(self.note)


NOTE_RESERVE = 60  # tokens kept free for the note that says what was left out


def cut_to_budget(text: str, max_tokens: int, *, more: str = "") -> Cut:
    """`text` whole if it fits in `max_tokens`, else its first Markdown blocks that fit with a note.

    The cut falls between blocks (a code block is never split); a first block larger
    than the budget is cut between its lines, its code fence closed. `more` ends the
    note: how to ask for the rest.
    """
    total = count_tokens(text)
    if total <= max_tokens:
        return Cut(text, total, total, 0, "")
    budget = max(1, max_tokens - NOTE_RESERVE)
    blocks = split_blocks(text)
    kept: list[str] = []
    used = 0
    for block in blocks:
        cost = count_tokens(block) + 1  # the blank line between blocks
        if used + cost > budget:
            break
        kept.append(block)
        used += cost
    partial = not kept and bool(blocks)
    if partial:
        kept = [_cut_lines(blocks[0], budget)]
    shown = "\n\n".join(kept)
    left = len(blocks) - len(kept)
    note = (f"[truncated: {count_tokens(shown)} of {total} tokens shown; {left} more block(s) left out"
            f"{', the one shown cut short' if partial else ''}{'; ' + more if more else ''}]")
    body = f"{shown}\n\n{note}" if shown else note
    return Cut(body, count_tokens(body), total, left, note)


def _cut_lines(block: str, budget: int) -> str:
    lines = block.split("\n")
    fence = _FENCE.match(lines[0])
    kept: list[str] = []
    used = count_tokens(fence.group(1)) + 1 if fence else 0
    for line in lines:
        cost = count_tokens(line) + 1
        if used + cost > budget:
            break
        kept.append(line)
        used += cost
    if fence and len(kept) < len(lines):
        kept.append(fence.group(1))
    return "\n".join(kept)


def site_name(url: str) -> str:
    """The name a site is known by in the library when nobody labels it: host (and port) plus the
    start URL's directory, e.g. `docs.python.org/3` for https://docs.python.org/3/index.html."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().removeprefix("www.")
    if parts.port:
        host = f"{host}:{parts.port}"
    path = parts.path
    if not path.endswith("/"):
        path = path.rsplit("/", 1)[0] + "/"
    return (host + path).rstrip("/")
