"""The document's shape on the job page: its pages in order with their tokens, and the total
against the job's token budget, while the job runs and after.

A completed job's document is in the library, and its outline is the library's: the rows
`GET /api/v3/jobs/{id}/outline` answers with (`LibraryStore.outline`, grouped by
`answers.outline_pages`), in the document's order, each page's tokens as the document has
them. Before that (running, finalizing) and for a partial document (kept out of the
library), it is the pages stored so far that the document holds (until assembly leaves
some out), in the order they were found, with their extracted tokens: an estimate, and
the page says so. At most `limit` pages are listed; the totals count them all.
"""
from __future__ import annotations

from typing import Any, Mapping
from uuid import UUID

from spiders.library import answers


async def outline_context(state: Any, job: Mapping[str, Any], limit: int) -> dict[str, Any]:
    """What `_outline.html` shows for `job` (the API's job shape)."""
    job_id = UUID(job["id"])
    totals = await state.store.included_totals(job_id)
    outline: dict[str, Any] = {"pages": totals["pages"], "tokens": totals["tokens"], "budget": job["tokenBudget"],
                               "final": False, "entries": []}
    if job["status"] == "completed":
        rows = await state.library.outline(job_id, pages=limit)
        if rows:
            outline.update(final=True, tokens=job["tokenCount"], entries=[
                {"title": page["title"], "url": page["url"], "tokens": page["tokenCount"],
                 "sections": len(page["sections"]), "library": True} for page in answers.outline_pages(rows)])
            return {"outline": outline}
    for row in await state.store.included_pages(job_id, limit):
        outline["entries"].append({"title": row["title"], "url": row["url"], "tokens": row["token_count"] or 0,
                                   "page_id": row["id"]})
    if job["tokenCount"] is not None:  # a partial document, assembled: its size is known exactly
        outline["tokens"] = job["tokenCount"]
    return {"outline": outline}
