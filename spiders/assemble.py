"""The assembled document: the pages that pass, in order, as one Markdown file.

Interim version until the issue "Content extraction" replaces it; the signature stays.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence


@dataclass
class AssembledDocument:
    markdown: str
    token_count: int
    included: list[Mapping[str, Any]] = field(default_factory=list)
    dropped: list[tuple[Mapping[str, Any], str]] = field(default_factory=list)


def assemble_document(
    pages: Sequence[Mapping[str, Any]],
    *,
    source_url: str,
    quality_threshold: int = 20,
    token_budget: int | None = None,
) -> AssembledDocument:
    """`pages` are spider items (dicts with url, title, status, markdown, quality, ...)."""
    included, dropped = [], []
    for page in pages:
        if page.get("status") != "completed":
            dropped.append((page, page.get("error") or page.get("status", "")))
        elif (page.get("quality") or 0) < quality_threshold:
            dropped.append((page, f"quality {page.get('quality')} below {quality_threshold}"))
        else:
            included.append(page)
    parts = [f"# Documentation from {source_url}\n"]
    for page in included:
        parts.append(f"## {page.get('title') or page['url']}\n\nSource: {page['url']}\n\n{page['markdown']}\n")
    tokens = sum(p.get("token_count") or 0 for p in included)
    return AssembledDocument("\n".join(parts), tokens, included, dropped)
