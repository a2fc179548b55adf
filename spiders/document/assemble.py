"""The assembled document: the pages that pass, in the site's order, as one Markdown file.

`assemble_document(pages, source_url=...)` takes spider items (dicts: url, final_url, title,
depth, status, markdown, quality, quality_reasons, token_count, toc_links, ...) and
 1. drops failed/skipped pages, duplicates (same final URL or same content) and pages below
    `quality_threshold`, each with its reason;
 2. removes cross-page boilerplate: blocks (paragraphs, lists, ...) found on most pages;
 3. orders pages by the site's own sidebar/TOC order (`toc_links` merged across pages, or an
    explicit `order`), then breadth-first discovery order;
 4. fits `token_budget` by dropping the lowest-quality pages first;
 5. renders a title and source line, a table of contents, each page under its own heading
    with source URL and token count, and an appendix of dropped pages with reasons.
llms.txt and llms-full.txt are rendered from its result by `spiders.document.llms`.
"""
from __future__ import annotations

import functools
import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence
from urllib.parse import urldefrag, urlsplit

from spiders.extract.generated import NOINDEX
from spiders.extract.toc import TOC_LIST_BREAK
from spiders.extract.tokens import count_tokens, count_tokens_appended, count_tokens_edited

_FENCE = re.compile(r"^(`{3,}|~{3,})")
_HEADING = re.compile(r"^(#{1,6}) ")
MARKDOWN_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")


@dataclass
class AssembledDocument:
    markdown: str
    token_count: int
    included: list[Mapping[str, Any]] = field(default_factory=list)
    dropped: list[tuple[Mapping[str, Any], str]] = field(default_factory=list)
    bodies: list[str] = field(default_factory=list)
    """Each included page's Markdown as it appears in the document (boilerplate removed)."""


@functools.lru_cache(maxsize=1 << 16)  # every page's sidebar names the same URLs
def _norm_url(url: str) -> str:
    """The URL a page is known by: no fragment, except a hash route (`#/guide`, `#!/guide`),
    which single-page sites (docsify, ...) use as their pages' addresses."""
    url, frag = urldefrag(url or "")
    if frag.startswith(("/", "!/")):
        return f"{url}#{frag}"
    for suffix in ("/index.html", "/index.htm"):
        if url.endswith(suffix):
            return url[: -len(suffix) + 1]
    return url


def page_url(page: Mapping[str, Any]) -> str:
    return page.get("final_url") or page.get("url") or ""


def split_blocks(markdown: str) -> list[str]:
    """Markdown blocks separated by blank lines; a fenced code block stays one block."""
    blocks, cur, fence = [], [], None
    for line in markdown.split("\n"):
        m = _FENCE.match(line.lstrip("> "))
        if fence:
            cur.append(line)
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence) and not line.strip().strip(fence[0]):
                fence = None
            continue
        if m:
            fence = m.group(1)
            cur.append(line)
            continue
        if not line.strip():
            if cur:
                blocks.append("\n".join(cur))
                cur = []
            continue
        cur.append(line)
    if cur:
        blocks.append("\n".join(cur))
    return blocks


def link_texts(text: str) -> str:
    """`text` with each Markdown link or image as its text (`[a](u)` -> `a`)."""
    return MARKDOWN_LINK.sub(_link_text, text) if "](" in text else text  # a link needs "](": most blocks have none


def _link_text(match: re.Match) -> str:
    return match.group(1)


def _words(block: str) -> str:
    """A block's text as words: links as their text, whitespace runs as one space."""
    return " ".join(link_texts(block).split())


def _block_key(block: str, top: bool = False, text: str | None = None) -> str | None:
    """The normalised text of a block that may be boilerplate; None for blocks never removed.
    `top`: the block is one of the first below the page's title, where a site puts its tagline
    ("From <site>", a version line): there a short line may be the site's too. `text`: its
    `_words`, if known."""
    if block.startswith(("#", "```", "~~~", "|")):
        return None
    if text is None:
        text = _words(block)
    if text.count(" ") < 3 and not _is_link_bar(block) and not (top and text and not text.endswith(":")):
        return None  # fewer than 4 words: short labels ("Parameters:") repeat legitimately
    return text


_TOP_BLOCKS = 2
_COMPILED_WORDS = 8  # a block of at least this many words, found on another page, is that page's (drop_compilations)


def _keyed_blocks(markdown: str) -> list[tuple[str, str | None]]:
    """Each block with its boilerplate key (see `_block_key`)."""
    out, seen = [], 0
    for block in split_blocks(markdown):
        heading = block.startswith("#")
        out.append((block, _block_key(block, top=not heading and seen < _TOP_BLOCKS)))
        seen += not heading
    return out


def _block_sets(markdown: str) -> tuple[set[bytes], set[str]]:
    """A page's blocks read once for the two questions assembly asks of every block: the digests
    of its blocks of `_COMPILED_WORDS` words or more (`drop_compilations`) and its boilerplate keys
    (`boilerplate_blocks`). Each block's text is normalised once for both."""
    digests, keys, seen = set(), set(), 0
    for block in split_blocks(markdown):
        text = _words(block)
        if text.count(" ") >= _COMPILED_WORDS - 1:
            digests.add(hashlib.sha1(text.encode()).digest())
        heading = block.startswith("#")
        if key := _block_key(block, top=not heading and seen < _TOP_BLOCKS, text=text):
            keys.add(key)
        seen += not heading
    return digests, keys


def _is_link_bar(block: str) -> bool:
    """A short block of links and little else: a navigation bar ("[ << ] [Top] [Contents]")."""
    links = MARKDOWN_LINK.findall(block)
    rest = MARKDOWN_LINK.sub("", block)
    return bool(links) and len(re.findall(r"\w+", rest)) <= 1


def boilerplate_blocks(markdowns: Sequence[str], *, min_share: float = 0.6, min_pages: int = 4) -> set[str]:
    """Keys of blocks that repeat on at least `min_share` of the pages (and `min_pages` pages)."""
    counts: Counter[str] = Counter()
    for md in markdowns:
        counts.update(_block_sets(md)[1])
    return _repeated(counts, len(markdowns), min_share=min_share, min_pages=min_pages)


def _repeated(counts: Counter[str], pages: int, *, min_share: float = 0.6, min_pages: int = 4) -> set[str]:
    """`boilerplate_blocks` from each key's count of pages."""
    if pages < min_pages:
        return set()
    need = max(min_pages, min_share * pages)
    return {k for k, n in counts.items() if n >= need}


def strip_blocks(markdown: str, keys: set[str]) -> str:
    if not keys:
        return markdown
    return "\n\n".join(b for b, k in _keyed_blocks(markdown) if k not in keys)


def drop_compilations(pages: Sequence[Mapping[str, Any]], digests: Sequence[set[bytes]] | None = None, *,
                      min_blocks: int = 20, min_share: float = 0.7, min_sources: int = 3, whole: float = 0.6
                      ) -> tuple[list[Mapping[str, Any]], list[tuple[Mapping[str, Any], str]]]:
    """Pages that are the other pages put together ("print this book", "all.html"): most of
    their blocks are found on several other pages of the site, or they hold several smaller
    pages whole (`whole` of each one's blocks; this holds when only some of the pages they
    copy were fetched). The pages they copy stay. `digests`: each page's `_block_sets` digests,
    if known."""
    owners: dict[bytes, list[int]] = {}
    blocks_of: list[set[bytes]] = []
    for index, page in enumerate(pages):
        keys = digests[index] if digests is not None else _block_sets(page.get("markdown") or "")[0]
        blocks_of.append(keys)
        for key in keys:
            found = owners.setdefault(key, [])
            if len(found) < 4:
                found.append(index)
    kept, dropped = [], []
    for index, page in enumerate(pages):
        keys = blocks_of[index]
        shared = [key for key in keys if len(owners[key]) > 1]
        sources = {other for key in shared for other in owners[key] if other != index}
        # what another page says of its own, found only there and here (not text that several
        # pages share: a trait's blanket docs, the methods sibling types have in common)
        own = {other: {key for key in blocks_of[other] if len(owners[key]) <= 2} for other in sources}
        held = [other for other, its in own.items() if 3 <= len(its) < len(keys)
                and len(its & keys) >= whole * len(its)]
        if len(keys) >= min_blocks and ((len(shared) >= min_share * len(keys) and len(sources) >= min_sources
                                         and all(len(blocks_of[other]) < len(keys) for other in sources))
                                        or len(held) >= min_sources):
            dropped.append((page, f"generated page (the content of {len(sources)}+ other pages put together):"
                                  " used to find pages, not content"))
        else:
            kept.append(page)
    return kept, dropped


def _folder(url: str) -> str:
    return url[: url.rindex("/") + 1] if "/" in url else url


def _toc_lists(links: Sequence[str]) -> list[list[str]]:
    lists: list[list[str]] = [[]]
    for u in links:
        if u == TOC_LIST_BREAK:
            lists.append([])
        else:
            lists[-1].append(_norm_url(u))
    return [list(dict.fromkeys(x)) for x in lists if x]


def merge_orders(pages: Sequence[Mapping[str, Any]]) -> list[str]:
    """One site order from every page's `toc_links`, the first page's first. A page's list places
    the pages it names relative to the ones already placed: a new page goes right after the
    nearest placed page before it in the list (before the first placed page when none precedes
    it), and a list naming no placed page is the page's own table of contents, which follows the
    page. Linear time: the order is a doubly linked list while it is built."""
    nxt: dict[str, str | None] = {}
    prv: dict[str, str | None] = {}
    ends: list[str | None] = [None, None]  # head, tail

    pending: list[tuple[str, list[str]] | None] = []
    waiting: dict[str, list[int]] = {}
    ready: list[int] = []

    def link(a: str | None, u: str, b: str | None) -> None:
        ready.extend(waiting.pop(u, ()))
        prv[u], nxt[u] = a, b
        if a is None:
            ends[0] = u
        else:
            nxt[a] = u
        if b is None:
            ends[1] = u
        else:
            prv[b] = u

    def section_anchor(u: str, after: str) -> str:
        # a page the list puts after another folder's page goes with its own folder's pages when
        # its folder's page is placed (a sidebar showing one section under the site's top bar)
        d = _folder(u)
        if _folder(after) == d or d not in nxt or d == u:
            return after
        a = d
        while nxt[a] is not None and _folder(nxt[a]) == d:
            a = nxt[a]
        return a

    def place(here: str, links: list[str], *, last: bool = False) -> None:
        placed = [u for u in links if u in nxt]
        if not placed:
            if here not in nxt and not last:
                # nothing to place it by yet (a page's neighbours, read before them): wait until
                # one of its pages is placed; what never is goes at the end
                pending.append((here, links))
                for u in links:
                    waiting.setdefault(u, []).append(len(pending) - 1)
                return
            after = here if here in nxt else ends[1]  # the page's own contents follow it
            for u in links:
                link(after, u, nxt[after] if after is not None else None)
                after = u
            return
        first = placed[0]
        before: list[str] = []
        after: str | None = None
        for u in links:
            if u in nxt:
                if after is None:  # pages before the first placed one go right before it
                    for w in before:
                        link(prv[first], w, first)
                    before = []
                after = u
            elif after is None:
                before.append(u)
            else:
                after = section_anchor(u, after)
                link(after, u, nxt[after])
                after = u

    def settle() -> None:
        while ready:
            k = ready.pop()
            item, pending[k] = pending[k], None
            if item is not None:
                place(*item)

    for page in pages:
        here = _norm_url(page_url(page))
        for links in _toc_lists(page.get("toc_links") or ()):
            place(here, links)
            settle()
    for k, item in enumerate(pending):
        if item is not None:
            pending[k] = None
            place(*item, last=True)
            settle()
    order, u = [], ends[0]
    while u is not None:
        order.append(u)
        u = nxt[u]
    return order


def _breadth_first(pages: Sequence[Mapping[str, Any]]) -> list[tuple[int, Mapping[str, Any]]]:
    return sorted(enumerate(pages), key=lambda t: (t[1].get("depth") if t[1].get("depth") is not None else 1 << 30, t[0]))


def site_order(pages: Sequence[Mapping[str, Any]], source_url: str | None = None) -> list[str]:
    """The site's page order read from every fetched page's navigation, the start page's first.
    Pages kept out of the document count too: a site's full table of contents or its home page
    of links is where its order is written down."""
    fetched = [p for _, p in _breadth_first(pages) if (p.get("status") or "completed") == "completed"]
    first = [p for p in fetched if source_url and _norm_url(page_url(p)) == _norm_url(source_url)]
    return merge_orders(first + fetched)


def _folders(url: str) -> list[str]:
    """The folders a page URL is in, deepest first (`/a/b/c.html`: `/a/b/`, `/a/`, `/`)."""
    parts = urlsplit(url)
    path = parts.path
    out = []
    while "/" in path:
        path = path[: path.rindex("/")]
        out.append(f"{parts.scheme}://{parts.netloc}{path}/")
    return out


def _section_ends(rank: Mapping[str, int], start: str) -> dict[str, int]:
    """For each folder below the start page's, the position of the last listed page in it: a
    sub-page the site's navigation leaves out (a TOC shown to two levels) goes with its section."""
    top = set(_folders(start)) if start else set()
    ends: dict[str, int] = {}
    for url, r in rank.items():
        for d in _folders(url):
            if d in top:
                break
            ends[d] = max(ends.get(d, -1), r)
    return ends


def order_pages(pages: Sequence[Mapping[str, Any]], order: Sequence[str] | None = None,
                source_url: str | None = None) -> list[Mapping[str, Any]]:
    """Pages in the site's own order, then the rest in breadth-first discovery order."""
    bfs = _breadth_first(pages)
    if order is None:
        order = site_order(pages, source_url)
    bfs_pos = {t[0]: k for k, t in enumerate(bfs)}
    rank = {}
    for i, u in enumerate(order):
        rank.setdefault(_norm_url(u), i)
    # the start page leads; when it is not among the pages, none is put before the site's order
    start = _norm_url(source_url) if source_url else (_norm_url(page_url(bfs[0][1])) if bfs else "")
    big = len(rank) + 1
    section_end = _section_ends(rank, start)

    def key(t):
        i, p = t
        u1, u2 = _norm_url(page_url(p)), _norm_url(p.get("url") or "")
        if u1 == start or u2 == start:
            return (-1, 0, 0)
        r = min(rank.get(u1, big), rank.get(u2, big))
        if r == big:  # a page the navigation does not list: after the last listed page of its folder
            r = next((section_end[d] + 0.5 for d in _folders(u1) if d in section_end), big)
        return (0, r, bfs_pos[i]) if r < big else (1, 0, bfs_pos[i])

    return [p for _, p in sorted(bfs, key=key)]


def demote_headings(markdown: str, title: str, by: int | None = None) -> str:
    """The page's headings nested under its own heading in the document (`## title`): a
    leading h1 that repeats the title goes, and the rest shift down so that none is at the
    page heading's level or above (a page's second h1 becomes `###`, not a rival `##`).
    `by`: a fixed shift instead (h6 at most)."""
    lines = markdown.split("\n")
    first = next((i for i, ln in enumerate(lines) if ln.strip()), None)
    headings = _body_headings(lines)
    if headings and headings[0][0] == first and len(headings[0][1].group(1)) == 1 \
            and _plain(lines[first][2:]) == _plain(title):
        lines[first] = None  # the document's own `## title` says it
        headings = headings[1:]
    if by is None:
        top = min((len(h.group(1)) for _, h in headings), default=3)
        by = max(0, 3 - top)
    for i, h in headings:
        lines[i] = "#" * min(6, len(h.group(1)) + by) + lines[i][len(h.group(1)):]
    return "\n".join(line for line in lines if line is not None).strip("\n")


def _body_headings(lines: list[str]) -> list[tuple[int, re.Match]]:
    found, fence = [], None
    for i, line in enumerate(lines):
        m = _FENCE.match(line)
        if fence:
            if m and m.group(1)[0] == fence[0] and not line.strip().strip(fence[0]):
                fence = None
        elif m:
            fence = m.group(1)
        elif h := _HEADING.match(line):
            found.append((i, h))
    return found


def _plain(text: str) -> str:
    return " ".join(link_texts(text).replace("`", "").split()).lower()


def page_title(page: Mapping[str, Any]) -> str:
    return " ".join(str(page.get("title") or "").split()) or page_url(page)


def escape_brackets(text: str) -> str:
    return text.replace("[", "\\[").replace("]", "\\]")


def _select(pages, quality_threshold):
    included, dropped = [], []
    # "noindex" on most of a site's pages says it of the site (an old version), not of a page
    # (a print-everything page, a stub where a page moved): then it leaves no page out.
    fetched = [p for p in pages if (p.get("status") or "completed") == "completed"]
    noindex_ignored = sum(p.get("generated") == NOINDEX for p in fetched) > max(3, 0.5 * len(fetched))
    seen_urls: dict[str, str] = {}
    seen_content: dict[str, str] = {}
    for page in pages:
        url = page_url(page)
        status = page.get("status") or "completed"
        if status != "completed":
            dropped.append((page, f"{status}: {page.get('error') or page.get('http_status') or 'not fetched'}"))
            continue
        nurl = _norm_url(url)
        if nurl in seen_urls:
            dropped.append((page, f"duplicate of {seen_urls[nurl]}"))
            continue
        md = page.get("markdown") or ""
        digest = hashlib.sha1(" ".join(md.split()).encode()).hexdigest()
        if md.strip() and digest in seen_content:
            dropped.append((page, f"duplicate of {seen_content[digest]}"))
            continue
        if (kind := page.get("generated")) and not (kind == NOINDEX and noindex_ignored):
            dropped.append((page, f"generated page ({kind}): used to find pages, not content"))
            continue
        q = page.get("quality") or 0
        if q < quality_threshold:
            why = "; ".join(page.get("quality_reasons") or []) or "low quality"
            dropped.append((page, f"quality {q} below {quality_threshold}: {why}"))
            continue
        seen_urls[nurl] = url
        seen_content[digest] = url
        included.append(page)
    return included, dropped


_GENERIC_TITLES = frozenset(("home", "index", "overview", "introduction", "contents", "table of contents",
                             "welcome", "documentation", "docs", "start", "main page"))


def site_title(pages, source_url: str) -> str:
    """The site's name: what most of its pages give as the site's name (og:site_name, the
    site's part of <title>), else the start page's title, else its host."""
    names = Counter(" ".join(str(p.get("site_name") or "").split()) for p in pages)
    names.pop("", None)
    if names:
        name, count = names.most_common(1)[0]
        if count >= max(2, 0.3 * len(pages)) or len(pages) == 1:
            return name
    start = _norm_url(source_url)
    for p in pages:
        if start in (_norm_url(page_url(p)), _norm_url(p.get("url") or "")) and p.get("title") \
                and _plain(page_title(p)) not in _GENERIC_TITLES:
            return page_title(p)
    host = urlsplit(source_url).netloc or source_url
    return f"Documentation from {host}"


def retitle_repeated(pages: Sequence[Mapping[str, Any]], *, min_share: float = 0.5,
                     min_pages: int = 4) -> list[Mapping[str, Any]]:
    """A title that most pages share is the site's header, not theirs: such a page takes the
    title its <title> gives it (`head_title`), or its next heading, and loses the shared
    heading from its top."""
    counts = Counter(_plain(page_title(p)) for p in pages)
    need = max(min_pages, min_share * len(pages))
    shared = {t for t, n in counts.items() if n >= need and t}
    if not shared:
        return list(pages)
    out = []
    for p in pages:
        old = _plain(page_title(p))
        if old not in shared:
            out.append(p)
            continue
        lines = (p.get("markdown") or "").split("\n")
        headings = _body_headings(lines)
        for i, h in headings:
            if _plain(lines[i][len(h.group(1)):]) == old:
                lines[i] = None
                break
        rest = [lines[i][len(h.group(1)):].strip() for i, h in headings if lines[i] is not None]
        head = " ".join(str(p.get("head_title") or "").split())
        title = head if head and _plain(head) not in shared else next(
            (t for t in rest if _plain(t) not in shared), "")
        markdown = "\n".join(line for line in lines if line is not None).strip("\n")
        out.append({**p, "title": title, "markdown": markdown})
    return out


def _render_head(title, source_url, included: int, dropped: int, tokens: int, note: str | None = None) -> str:
    return (f"# {title}\n\nSource: {source_url}  \n"
            f"Pages: {included} included, {dropped} left out. Tokens (cl100k_base): ~{tokens}\n"
            + (f"\n**Partial document:** {note}\n" if note else ""))


def _counted_head(title, source_url, tally: _BodyTally, note=None) -> tuple[str, int]:
    """The document's header and the whole document's token count, which the header states.

    The header's number is part of what it counts, so it is found by iteration: start from
    the pages' own tokens, then state what the document measured until the two agree (the
    digits of a number are a token or two; two or three rounds settle it). Only the header is
    counted again: the body follows a blank line and starts with non-whitespace, a point no
    cl100k token spans (see tokens._chunks), so the two counts add up."""
    body_tokens = tally.total()
    stated = tally.page_tokens
    for _ in range(4):
        head = (_render_head(title, source_url, tally.pages, tally.dropped, stated, note)
                + ("\n" if tally.pages or tally.dropped else ""))
        tokens = count_tokens(head) + body_tokens
        if tokens == stated:
            break
        stated = tokens
    return head, tokens


def _contents_line(i: int | str, title: str, url: str, tokens: int) -> str:
    return f"{i}. [{escape_brackets(title)}]({url}) ({tokens} tokens)\n"


def _appendix_line(page: Mapping[str, Any], why: str) -> str:
    return f"- {page_url(page)}: {why}\n"


def _page_part(title: str, url: str, body: str, tokens: int, last: bool) -> str:
    """A page in the document: its heading, its source line, its body."""
    head = f"---\n\n## {title}\n\nSource: {url} ({tokens} tokens)\n"
    if not body:
        return head if last else head + "\n"
    return f"{head}\n{body}\n" if last else f"{head}\n{body}\n\n"


def _render_body(sections, dropped) -> str:
    """The document below its header: contents, the pages, the appendix of pages left out."""
    parts = []
    if sections:
        parts += ["## Contents\n\n", *(_contents_line(i, t, u, n) for i, (t, u, _, n) in enumerate(sections, 1)), "\n"]
    parts += [_page_part(t, u, body, n, last=k + 1 == len(sections) and not dropped)
              for k, (t, u, body, n) in enumerate(sections)]
    if dropped:
        parts += ["---\n\n## Appendix: pages left out\n\n", *(_appendix_line(p, why) for p, why in dropped)]
    return "".join(parts)


class _BodyTally:
    """The token count of `_render_body(sections, dropped)`, summed from its parts' counts and
    kept as pages leave it for a token budget (counting the whole body again for every page
    dropped made a budget cost the document's tokens times the pages dropped).

    The parts: the contents' title, each contents line, each page, the appendix's title and
    each of its lines. Each ends with a newline that non-whitespace follows, a point no cl100k
    token spans (see tokens._chunks), so their counts add up. A contents line's number is
    counted apart (digits never join the "." after them), so numbering the lines anew costs
    nothing. A page's body was counted already: only its last line is counted again, with the
    blank line after it."""

    def __init__(self, sections, dropped) -> None:
        self.sections = sections
        self.alive = [True] * len(sections)
        self.last = len(sections) - 1  # the last page still in the document
        self.pages = len(sections)
        self.dropped = len(dropped)
        self.page_tokens = sum(n for _, _, _, n in sections)
        self.lines = [count_tokens(_contents_line("", t, u, n)) for t, u, _, n in self.sections]
        self.numbers = [0]
        for i in range(1, len(sections) + 1):
            self.numbers.append(self.numbers[-1] + count_tokens(str(i)))
        self.parts = [self._page(k, last=False) for k in range(len(sections))]
        self.lines_sum, self.parts_sum = sum(self.lines), sum(self.parts)
        self.appendix = sum(count_tokens(_appendix_line(p, why)) for p, why in dropped)
        self.titles = count_tokens("## Contents\n\n"), count_tokens("---\n\n## Appendix: pages left out\n\n")

    def _page(self, k: int, last: bool) -> int:
        t, u, body, n = self.sections[k]
        if not body or body[0].isspace():  # blanks after the source line's blank line join it: count it all
            return count_tokens(_page_part(t, u, body, n, last))
        return count_tokens(_page_part(t, u, "", n, False)) + count_tokens_appended(body, n, "\n" if last else "\n\n")

    def drop(self, k: int, page: Mapping[str, Any], why: str) -> None:
        self.alive[k] = False
        self.pages -= 1
        self.dropped += 1
        self.page_tokens -= self.sections[k][3]
        self.lines_sum -= self.lines[k]
        self.parts_sum -= self.parts[k]
        self.appendix += count_tokens(_appendix_line(page, why))
        while self.last >= 0 and not self.alive[self.last]:
            self.last -= 1

    def total(self) -> int:
        tokens = self.parts_sum
        if self.pages:
            t, u, _, n = self.sections[self.last]
            # the contents end with a blank line: the last line's newline and it are one run
            tokens += (self.titles[0] + self.lines_sum + self.numbers[self.pages]
                       - self.lines[self.last] + count_tokens(_contents_line("", t, u, n) + "\n"))
            if not self.dropped:  # the last page ends the document: one newline after it, not two
                tokens += self._page(self.last, last=True) - self.parts[self.last]
        if self.dropped:
            tokens += self.titles[1] + self.appendix
        return tokens


def assemble_document(
    pages: Sequence[Mapping[str, Any]],
    *,
    source_url: str,
    quality_threshold: int = 20,
    token_budget: int | None = None,
    order: Sequence[str] | None = None,
    title: str | None = None,
    subtract_boilerplate: bool = True,
    partial: str | None = None,
) -> AssembledDocument:
    """`pages` are spider items (dicts with url, title, status, markdown, quality, ...).

    `partial`: why the crawl did not finish, stated in the header of a document that holds
    only the pages fetched before it stopped.

    `order`: page URLs in the site's order; by default merged from every fetched item's `toc_links`.
    `token_budget`: the document's maximum size in tokens; lowest-quality pages go first."""
    included, dropped = _select(pages, quality_threshold)
    # Every page's blocks read once: the digests that find compilations, and the count of pages
    # each boilerplate key is on, kept right as pages leave or change below.
    counts: Counter[str] = Counter()
    digests = []
    for p in included:
        page_digests, page_keys = _block_sets(p.get("markdown") or "")
        digests.append(page_digests)
        counts.update(page_keys)
    included, compiled = drop_compilations(included, digests)
    del digests
    dropped += compiled
    for p, _ in compiled:
        counts.subtract(_block_sets(p.get("markdown") or "")[1])
    if order is None:
        order = site_order(pages, source_url)
    # Each page's Markdown as extracted and its count: a body is counted from them, only the
    # lines the document changed counted again (retitling, boilerplate and headings change lines).
    extracted = {page_url(p): (p.get("markdown") or "", p.get("token_count")) for p in included}
    retitled = retitle_repeated(included)
    for before, after in zip(included, retitled, strict=True):
        if after.get("markdown") != before.get("markdown"):
            counts.subtract(_block_sets(before.get("markdown") or "")[1])
            counts.update(_block_sets(after.get("markdown") or "")[1])
    included = order_pages(retitled, order, source_url)
    keys = _repeated(counts, len(included)) if subtract_boilerplate else set()
    del counts
    sections = []
    for p in included:
        body = demote_headings(strip_blocks(p.get("markdown") or "", keys), page_title(p))
        markdown, tokens = extracted[page_url(p)]
        tokens = count_tokens_edited(markdown, tokens, body) if isinstance(tokens, int) else count_tokens(body)
        sections.append([page_title(p), page_url(p), body, tokens])
    title = title or site_title(included, source_url)
    tally = _BodyTally(sections, dropped)
    head, tokens = _counted_head(title, source_url, tally, partial)
    if token_budget is not None and tokens > token_budget:
        # lowest quality first; among equals, the largest page
        for victim in sorted(range(len(sections)), key=lambda i: ((included[i].get("quality") or 0),
                                                                  -sections[i][3], -i)):
            why = (f"token budget {token_budget}: dropped (quality {included[victim].get('quality') or 0},"
                   f" {sections[victim][3]} tokens)")
            dropped.append((included[victim], why))
            tally.drop(victim, included[victim], why)
            head, tokens = _counted_head(title, source_url, tally, partial)
            if tokens <= token_budget:
                break
        included = [p for p, alive in zip(included, tally.alive, strict=True) if alive]
        sections = [s for s, alive in zip(sections, tally.alive, strict=True) if alive]
    md = head + _render_body(sections, dropped)
    return AssembledDocument(md, tokens, included, dropped, [s[2] for s in sections])
