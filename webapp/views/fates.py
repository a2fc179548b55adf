"""The job page's list of URLs by fate (fetched, included, left out, failed, skipped) and one
page's detail.

The filter is the query string (`fate`, `q`, `page`), so a filtered list has a URL of its own,
and the list is a fragment (`_pages.html`) that the job page, its htmx swaps and its live
updates all render from `pages_context`.
"""
from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any, Mapping
from urllib.parse import urlencode
from uuid import UUID

from spiders.jobs.store import FATES

MAX_SEARCH = 200  # characters of the text filter kept
MAX_PAGE = 10_000  # of the list's pages: an offset beyond every job's size
LABELS = {"fetched": "All fetched", "included": "Included", "left_out": "Left out", "failed": "Failed",
          "skipped": "Skipped"}
DEFAULT_FATE = "fetched"


@dataclass(frozen=True)
class PageFilter:
    fate: str = DEFAULT_FATE
    q: str = ""
    page: int = 1

    @classmethod
    def from_query(cls, params: Mapping[str, str]) -> PageFilter:
        """Whatever a query string says, a valid filter (unknown values fall back to the defaults)."""
        fate = params.get("fate", DEFAULT_FATE)
        try:
            page = min(max(int(params.get("page", "1")), 1), MAX_PAGE)
        except ValueError:
            page = 1
        return cls(fate if fate in FATES else DEFAULT_FATE, " ".join(params.get("q", "").split())[:MAX_SEARCH], page)

    def query(self, **changes: Any) -> str:
        """The query string of this filter with `changes`, defaults left out ("" for none)."""
        values = {"fate": self.fate, "q": self.q, "page": self.page, **changes}
        defaults = {"fate": DEFAULT_FATE, "q": "", "page": 1}
        pairs = {name: value for name, value in values.items() if value != defaults[name]}
        return "?" + urlencode(pairs) if pairs else ""


async def pages_context(store: Any, job_id: UUID, filt: PageFilter, page_size: int,
                        kept: Mapping[str, int] | None = None) -> dict[str, Any]:
    """What `_pages.html` shows: each fate's count, and the chosen fate's rows (or groups), `page_size` a page.

    `kept`: an ended job's counts from its row (`kept_counts`), used when no text filter narrows them."""
    async def listing(page: int) -> tuple[list[Any], list[Any]]:
        if filt.fate == "skipped":
            return [], await store.skipped_groups(job_id, filt.q or None)
        return await store.fate_rows(job_id, filt.fate, filt.q or None, page_size, (page - 1) * page_size), []

    listed = None
    if kept is not None and not filt.q:
        counts = dict(kept)
    else:  # counted now: each read scans the job's rows, so both go at once (a wait of the longer one)
        counts, listed = await asyncio.gather(store.fate_counts(job_id, filt.q or None), listing(filt.page))
    total = counts[filt.fate]
    last_page = max((total + page_size - 1) // page_size, 1)
    page = min(filt.page, last_page)
    if listed is None or page != filt.page:  # not read yet, or read for a page past the last
        listed = await listing(page)
    rows, groups = listed
    return {"filter": filt, "counts": counts, "labels": LABELS, "rows": [row_view(row) for row in rows],
            "groups": groups, "page": page, "last_page": last_page, "first_row": (page - 1) * page_size + 1,
            "total": total}


def row_view(row: Mapping[str, Any]) -> dict[str, Any]:
    """A stored row as the templates read it: quality reasons as a list."""
    view = dict(row)
    reasons = view.get("quality_reasons")
    view["quality_reasons"] = json.loads(reasons) if isinstance(reasons, str) else list(reasons or [])
    return view
