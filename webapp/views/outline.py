"""The document's shape on the job page: its pages in order with their tokens, and the total
against the job's token budget, while the job runs and after.

A completed job's document is in the library, and its outline is the library's: the rows
`GET /api/v3/jobs/{id}/outline` answers with (`LibraryStore.outline`, grouped by
`answers.outline_pages`), in the document's order, each page's tokens as the document has
them. Before that (running, finalizing) and for a partial document (kept out of the
library), it is the pages stored so far that the document holds (until assembly leaves
some out), in the order they were found, with their extracted tokens: an estimate, and
the page says so. At most `limit` (PAGES) pages are listed; the totals count them all.
"""
from __future__ import annotations

from typing import Any, Mapping
from uuid import UUID

from spiders.library import answers

PAGES = 50  # listed; the totals count every page, and the JSON outline has them all


async def outline_context(state: Any, job: Mapping[str, Any], kept: Mapping[str, int] | None = None,
                          limit: int = PAGES) -> dict[str, Any]:
    """What `_outline.html` shows for `job` (the API's job shape).

    `kind`: "document" (completed: the document's own size), "partial" (an ended job's partial
    document), or "so far" (still crawling: the stored pages' extracted tokens, an estimate).
    `kept`: the ended job's fate counts from its row, if it has them."""
    job_id = UUID(job["id"])
    kind = "document" if job["status"] == "completed" else "partial" if job["tokenCount"] is not None else "so far"
    if job["tokenCount"] is None:  # no document yet: the pages stored so far
        totals = await state.store.included_totals(job_id)
        pages, tokens = totals["pages"], totals["tokens"]
    else:  # an ended job's document: its size, and its pages as counted when it ended
        counts = kept if kept is not None else await state.store.fate_counts(job_id, None)
        pages, tokens = counts["included"], job["tokenCount"]
    outline: dict[str, Any] = {"kind": kind, "pages": pages, "tokens": tokens, "budget": job["tokenBudget"],
                               "entries": [], "ordered": False}
    if kind == "document":
        rows = await state.library.outline(job_id, pages=limit)
        if rows:
            outline.update(ordered=True, entries=[
                {"title": page["title"], "url": page["url"], "tokens": page["tokenCount"], "library": True}
                for page in answers.outline_pages(rows)])
            return {"outline": outline}
    for row in await state.store.included_pages(job_id, limit):
        outline["entries"].append({"title": row["title"], "url": row["url"], "tokens": row["token_count"] or 0,
                                   "page_id": row["id"]})
    return {"outline": outline}
