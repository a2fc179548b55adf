"""A refresh job's change report, from its rows and the rows of the job it refreshes."""
from __future__ import annotations

import asyncio
from typing import Any

from spiders.refresh.changes import ChangeReport


async def stored_report(store: Any, job: Any, *, diffs: int | None = None) -> ChangeReport | None:
    """The report of a refresh job (a JOB_COLUMNS row) through `spiders.jobs.store.JobStore`; None for
    a job that refreshes none. `diffs`: make the diffs of at most that many changed pages (all: None)."""
    if job["refresh_of"] is None:
        return None
    rows = await store.change_rows(job["id"], job["refresh_of"])
    pairs = []
    for row in rows:
        current = None if row["id"] is None else {
            "id": row["id"], "url": row["url"], "title": row["title"], "status": row["status"],
            "http_status": row["http_status"], "error": row["error_message"], "content_hash": row["content_hash"]}
        previous = None if row["previous_id"] is None else {
            "id": row["previous_id"], "url": row["url"], "title": row["title"], "content_hash": row["previous_hash"]}
        pairs.append((current, previous))
    report = ChangeReport.of(pairs, finished=job["status"] == "completed")
    changed = report.of_kind("changed")[:diffs] if diffs is not None else report.of_kind("changed")
    ids = [page_id for change in changed for page_id in (change.page_id, change.previous_id)]
    markdowns = await store.markdowns(ids)
    if changed:
        shown = ChangeReport(changed, report.finished)
        await asyncio.to_thread(shown.add_diffs, markdowns.get)  # difflib is CPU: off the event loop
    return report
