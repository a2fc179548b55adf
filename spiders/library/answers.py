"""The library's answers as text for a reader (an agent or a person), each cut to a token budget.

Shared by the JSON API (which also returns the fields) and the MCP server (which returns the text).
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from spiders.extract.tokens import count_tokens
from spiders.library.sections import Cut, cut_to_budget


def page_text(rows: Sequence[Mapping[str, Any]], max_tokens: int) -> Cut:
    """A page (its sections joined, as in the document) under its title and URL."""
    first = rows[0]
    head = f"# {first['page_title']}\n\nSource: {first['url']}\n\n"
    body = "\n\n".join(row["body"] for row in rows)
    return cut_to_budget(head + body, max_tokens, more="ask get_section for one heading, or a larger max_tokens")


def section_text(row: Mapping[str, Any], max_tokens: int) -> Cut:
    head = f"{' > '.join(row['heading_path'])}\n\nSource: {row['url']}\n\n"
    return cut_to_budget(head + row["body"], max_tokens, more="ask with a larger max_tokens")


def fit_lines(lines: Sequence[str], max_tokens: int, what: str) -> tuple[str, int]:
    """As many whole lines as fit in `max_tokens`, and a last line saying how many of `what` were left out."""
    kept: list[str] = []
    used = 0
    reserve = 40
    for n, line in enumerate(lines):
        cost = count_tokens(line) + 1
        if used + cost > max_tokens - reserve:
            left = len(lines) - n
            kept.append(f"[truncated: {left} more {what} left out; ask with a larger max_tokens]")
            return "\n".join(kept), left
        kept.append(line)
        used += cost
    return "\n".join(kept), 0


def outline_pages(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """`LibraryStore.outline`'s sections grouped by page: each page's URL, title, tokens and sections, in order."""
    pages: list[dict[str, Any]] = []
    for row in rows:
        if row["ordinal"] == 0:
            pages.append({"url": row["url"], "title": row["page_title"], "tokenCount": 0, "sections": []})
        pages[-1]["tokenCount"] += row["token_count"]
        pages[-1]["sections"].append({"headingPath": list(row["heading_path"]), "level": row["level"],
                                      "tokenCount": row["token_count"]})
    return pages


def outline_lines(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """One line per page, then its headings indented by level, each with its tokens."""
    lines: list[str] = []
    page_tokens: dict[int, int] = {}
    for row in rows:
        page_tokens[row["page_ordinal"]] = page_tokens.get(row["page_ordinal"], 0) + row["token_count"]
    for row in rows:
        if row["ordinal"] == 0:
            lines.append(f"- {row['page_title']} ({page_tokens[row['page_ordinal']]} tokens) {row['url']}")
        if row["level"] > 1:
            lines.append(f"{'  ' * (row['level'] - 1)}- {row['heading_path'][-1]} ({row['token_count']} tokens)")
    return lines


def search_lines(results: Sequence[Mapping[str, Any]]) -> list[str]:
    """One entry per result: where it is (site, page, heading path), its size, and its snippet."""
    entries = []
    for n, hit in enumerate(results, 1):
        label = hit["site_name"] + (f" {hit['site_version']}" if hit.get("site_version") else "")
        path = " > ".join(hit["heading_path"])
        snippet = " ".join((hit.get("snippet") or "").split())
        entries.append(f"{n}. {path}\n   url: {hit['url']}\n   site: {label} (job {hit['job_id']}), "
                       f"{hit['token_count']} tokens\n   {snippet}")
    return entries
