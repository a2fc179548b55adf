"""A page's title and its site's name, read from the page itself.

The title is the main content's first heading, checked against `<title>`: `<title>` usually
reads "Page — Site", and a heading that is the site's part ("Project 1.0 documentation" in a
theme's header) is the site's, not the page's. The page's Markdown then starts with its title
as `# `, whatever level the HTML gave it (some generators give the page's title as an h2).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from lxml import etree

from spiders.extract.listings import NO_RUNS, FullTreeNeeded, Runs

_TITLE_SEP = re.compile(r"\s+(?:[—–|·»]|-{1,2}|::)\s+")
_PAREN_SITE = re.compile(r"^(.+?)\s+\(([^()]{3,})\)$")
_COLON_SEP = re.compile(r"(?<=\w):\s+")
_HEADING = re.compile(r"^(#{1,6}) +(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(`{3,}|~{3,})")
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_WORDS = re.compile(r"\w+")
_HEAD_LINES = 60  # a title further down than this is not the page's title


@dataclass(frozen=True)
class PageTitle:
    title: str
    markdown: str  # starting with `# title` where the page has a title
    site_name: str  # "" when the page does not say
    head_title: str  # the page's own part of <title>, "" when there is none


def plain(text: str) -> str:
    """Heading or title text compared loosely: no links, code marks or case."""
    return " ".join(_LINK.sub(r"\1", text).replace("`", "").replace("*", "").split()).casefold()


def _headings(lines: list[str], limit: int = _HEAD_LINES) -> list[tuple[int, int, str]]:
    """(line index, level, text) of the Markdown headings near the top, outside code."""
    found, fence = [], None
    for i, line in enumerate(lines[:limit]):
        if m := _FENCE.match(line):
            mark = m.group(1)
            if fence is None:
                fence = mark
            elif mark[0] == fence[0] and len(mark) >= len(fence):
                fence = None
            continue
        if fence is None and (h := _HEADING.match(line)) and plain(h.group(2)):
            found.append((i, len(h.group(1)), h.group(2)))
    return found


def _meta(doc: etree._Element, prop: str) -> str:
    values = doc.xpath(f"//meta[@property='{prop}' or @name='{prop}']/@content")
    return " ".join(values[0].split()) if values else ""


def _same(a: str, b: str) -> bool:
    """The same title, or one a little longer than the other ("Tasks" is not "Periodic Tasks")."""
    short, long = sorted((plain(a), plain(b)), key=len)
    if not short:
        return False
    if short == long or (short in long and len(short) >= 0.6 * len(long)):
        return True
    # the same words, numbered or labelled otherwise ("8. Regular expressions" and
    # "Chapter 8 - Regular expressions")
    few, many = sorted((set(_WORDS.findall(short)), set(_WORDS.findall(long))), key=len)
    return len(few) >= 2 and few <= many and len(few) >= 0.6 * len(many)


def _kind_and_name(heading: str, name: str) -> bool:
    """A heading that is the name with a word for what it names ("Class Trim" for "Trim")."""
    words, named = plain(heading).split(), plain(name).split()
    return len(words) == len(named) + 1 and words[1:] == named


def _names_a_heading(segments: list[str], headings: list[tuple[int, int, str]]) -> bool:
    return any(_same(s, text) for s in segments for _, _, text in headings)


def read_title(doc: etree._Element, markdown: str, runs: Runs = NO_RUNS) -> PageTitle:
    head = " ".join((doc.findtext(".//title") or "").split()).strip(" :|-–—") or _meta(doc, "og:title")
    segments = _segments(head)
    if len(segments) == 1 and (m := _PAREN_SITE.match(segments[0])):
        segments = [m.group(1), m.group(2)]  # "Trim (Super CSV Core 2.4.0 API)"
    lines = markdown.split("\n")
    headings = _headings(lines)
    shown: list[str] = []
    if not _names_a_heading(segments, headings):
        # "Hash Tables: GLib Reference Manual": a colon separates the parts when a heading says so
        parts = list(dict.fromkeys(s.strip() for s in _COLON_SEP.split(head) if s.strip()))
        if len(parts) == 1 and len(_COLON_SEP.split(head)) > 1:
            segments = parts  # "Opus: Opus", a project's home page: one name said twice
        elif len(parts) > 1 and _names_a_heading(parts, headings):
            segments = parts
        elif len(parts) > 1 and len(shown := [p for p in parts if _shown_alone(doc, p, runs)]) == 1:
            # no heading of the content, but one part is what an element of the page shows on
            # its own (Doxygen's title <div> above the content): that part is the page's
            segments = parts
    site = _meta(doc, "og:site_name")
    if not site and len(segments) > 1:
        # The site's part of <title> is the one no heading of the page repeats (the last
        # one when none or both do: "Page — Site" is the common order). A short line at the
        # top says it as well as a heading ("Index - B" under "pkg (Index - B)").
        named = [text for _, _, text in headings] + _top_lines(lines) + shown
        unmatched = [s for s in segments if not any(_same(s, text) for text in named)]
        site = unmatched[-1] if unmatched and len(unmatched) < len(segments) else segments[-1]
    own = [s for s in segments if not _same(s, site)] if site else segments
    head_title = own[0] if own else ""

    chosen = next((h for h in headings if not _same(h[2], site)
                   and any(_same(h[2], s) or _kind_and_name(h[2], s) for s in own)), None)
    if chosen is None:
        chosen = next((h for h in headings if not (site and plain(h[2]) == plain(site))), None)
        if chosen is not None and head_title and chosen[1] > 1 and not any(h[1] == 1 for h in headings):
            chosen = None  # an h2 that <title> does not name is a section, not the page
        elif chosen is not None and chosen[1] > 2:
            chosen = None
    if chosen is not None and plain(chosen[2]) == "name" and (named := _name_line(lines, chosen[0])):
        # A manual page (man, POD): its NAME section's one line ("rt-crontool - a tool to act
        # on tickets") is the page's title.
        line_index, name = named
        # the other sections, NAME's siblings (DESCRIPTION, OPTIONS), nest under the title
        for i, other, _ in _headings(lines, len(lines)):
            if i > chosen[0]:
                lines[i] = "#" * min(6, other - chosen[1] + 2) + lines[i][other:]
        lines[chosen[0]], lines[line_index] = "# " + name, None
        markdown = re.sub(r"\n{3,}", "\n\n", "\n".join(line for line in lines if line is not None)).strip("\n")
        return PageTitle(plain_text(name), markdown, site, head_title)
    if chosen is not None:
        index, level, text = chosen
        title = " ".join(plain_text(text).split())
        before = [h for h in headings if h[0] < index]
        if all(site and plain(h[2]) == plain(site) for h in before):
            # the site's own heading above the page's (a theme's header) goes; the title leads
            for h in before:
                lines[h[0]] = ""
            if level != 1:
                # the title was an h{level}: it leads as `#`, and the headings under it move up
                # with it, so none skips a level (h2 title, h3 sections -> #, ##)
                lines[index] = "# " + text
                for i, other, _ in _headings(lines, len(lines)):
                    if i > index:
                        lines[i] = "#" * max(2, other - level + 1) + lines[i][other:]
            if 0 < sum(1 for line in lines[:index] if line.strip()) <= 3:
                # a label or two above the title ("Package org.x", a breadcrumb) go under it
                lines = [lines[index], "", *lines[:index], *lines[index + 1:]]
            markdown = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")
        return PageTitle(title, markdown, site, head_title)
    title = head_title or (segments[0] if segments else "")
    if title and not any(h[1] == 1 for h in headings):
        markdown = f"# {title}\n\n{markdown}".rstrip() if markdown.strip() else f"# {title}"
    return PageTitle(title, markdown, site, head_title)


_LEAVES = etree.XPath("//body//*[not(*)][normalize-space()]")


def _shown_alone(doc: etree._Element, text: str, runs: Runs) -> bool:
    """Whether an element of the page (without children) shows exactly `text`."""
    if runs:  # each token span of a listing is such an element
        raise FullTreeNeeded("leaf elements read")
    return any(_same(" ".join((leaf.text or "").split()), text) for leaf in _LEAVES(doc)
               if len(leaf.text or "") <= 4 * len(text) + 20)


def _segments(head: str) -> list[str]:
    """<title> cut at its separators, but not inside brackets: "Trim (Oracle - Java API)" has
    two parts, "Index - B" in "pkg: Parser combinators (Index - B)" is one."""
    parts, start, depth = [], 0, 0
    cuts = {m.start(): m.end() for m in _TITLE_SEP.finditer(head)}
    i = 0
    while i < len(head):
        if head[i] in "([":
            depth += 1
        elif head[i] in ")]":
            depth = max(0, depth - 1)
        elif depth == 0 and i in cuts:
            parts.append(head[start:i])
            start = i = cuts[i]
            continue
        i += 1
    parts.append(head[start:])
    return [part.strip() for part in parts if part.strip()]


def _top_lines(lines: list[str]) -> list[str]:
    """Short paragraph lines among the first of the page (a caption standing for a heading)."""
    found = [line for line in lines[:_HEAD_LINES] if line.strip() and len(line.split()) <= 8
             and not line.lstrip().startswith(("#", "|", "- ", "* ", ">", "`", "!", "["))]
    return found[:8]


def _name_line(lines: list[str], heading: int) -> tuple[int, str] | None:
    """The paragraph line right under a NAME heading, if it is one line: "name - purpose", or
    the name alone where the purpose runs long."""
    for i in range(heading + 1, min(len(lines), heading + 6)):
        line = lines[i].strip()
        if not line:
            continue
        if line.startswith(("#", "```", "~~~", "|", "- ", "* ", ">")) or (i + 1 < len(lines) and lines[i + 1].strip()):
            return None
        if len(line) > 160:
            name = line.split(" - ", 1)[0].strip()
            return (i, name) if name != line and len(name) <= 100 else None
        return i, line
    return None


def plain_text(text: str) -> str:
    """A heading's text as a title: its link texts, without code marks."""
    return _LINK.sub(r"\1", text).replace("`", "").strip()


def title_from_url(url: str) -> str:
    """A page that names itself nowhere is known by its file name ("README.MariaDB")."""
    path = urlsplit(url).path.rstrip("/")
    name = unquote(path.rsplit("/", 1)[-1])
    for suffix in (".html", ".htm", ".xhtml", ".php", ".aspx"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    if name.lower() in ("", "index"):
        name = unquote(path.rsplit("/", 2)[-2]) if path.count("/") >= 2 else ""
    return " ".join(name.replace("_", " ").split())
