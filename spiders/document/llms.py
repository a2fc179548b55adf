"""llms.txt (the llms.txt proposal: H1, summary blockquote, sections of `[title](url): note`)
and llms-full.txt (the same header, then every included page in full)."""
from __future__ import annotations

from typing import Any, Mapping
from urllib.parse import urlsplit

from spiders.document.assemble import (
    AssembledDocument,
    demote_headings,
    escape_brackets,
    link_texts,
    page_title,
    page_url,
    site_title,
    split_blocks,
)


def _note(page: Mapping[str, Any]) -> str:
    note = page.get("description") or ""
    if not note:
        for block in split_blocks(page.get("markdown") or ""):
            if block[:1].isalpha() or block.startswith(("*", "`", "[")) and not block.startswith("**"):
                note = " ".join(link_texts(block).split())
                if len(note.split()) >= 5:
                    break
                note = ""
    if len(note) > 160:
        note = note[:157].rsplit(" ", 1)[0] + "..."
    return note


def _section_name(url: str, source_url: str) -> str:
    base = urlsplit(source_url).path.rsplit("/", 1)[0] + "/"
    path = urlsplit(url).path
    rel = path[len(base):] if path.startswith(base) else path.lstrip("/")
    if "/" not in rel:
        return "Docs"
    first = rel.split("/", 1)[0]
    return first.replace("-", " ").replace("_", " ").strip().capitalize() or "Docs"


def render_llms_txt(doc: AssembledDocument, *, source_url: str, title: str | None = None,
                    summary: str | None = None) -> str:
    """llms.txt: an H1, a summary blockquote, then sections of `- [title](url): note`."""
    title = title or site_title(doc.included, source_url)
    summary = summary or (f"Documentation crawled from {source_url}: {len(doc.included)} pages, "
                          f"~{doc.token_count} tokens in llms-full.txt.")
    sections: dict[str, list[str]] = {}
    for p in doc.included:
        url = page_url(p)
        note = _note(p)
        sections.setdefault(_section_name(url, source_url), []).append(
            f"- [{escape_brackets(page_title(p))}]({url})" + (f": {note}" if note else ""))
    parts = [f"# {title}", "", f"> {summary}", ""]
    for name, items in sections.items():
        parts += [f"## {name}", "", *items, ""]
    return "\n".join(parts)


def render_llms_full_txt(doc: AssembledDocument, *, source_url: str, title: str | None = None,
                         summary: str | None = None) -> str:
    """llms-full.txt: the same header as llms.txt, then every included page in full."""
    title = title or site_title(doc.included, source_url)
    summary = summary or f"Documentation crawled from {source_url}: {len(doc.included)} pages."
    parts = [f"# {title}", "", f"> {summary}", ""]
    bodies = doc.bodies or [demote_headings(p.get("markdown") or "", page_title(p)) for p in doc.included]
    for p, body in zip(doc.included, bodies, strict=True):
        parts += [f"## {page_title(p)}", "", f"Source: {page_url(p)}", "", body, ""]
    return "\n".join(parts)
