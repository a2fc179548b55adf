"""A job as the API shows it: one camelCase shape for GET /api/v3/jobs/{id}, the
SSE snapshots and the events published from the crawl side.

It reads only the status and settings columns (`spiders.jobs.store.JOB_COLUMNS`),
never the document.
"""
from __future__ import annotations

from typing import Any, Mapping

PARTIAL = ("cancelled", "failed")  # ended jobs whose finished pages still make a document


def job_status(row: Mapping[str, Any]) -> dict[str, Any]:
    """The job's status fields in the API's camelCase form (events and GET /jobs/{id})."""
    finished = row["processed_urls"] + row["failed_urls"] + row["skipped_urls"]
    return {
        "id": None if row["id"] is None else str(row["id"]),  # None: a terminal crawl's, stored nowhere
        "status": row["status"],
        "currentStep": row["current_step"],
        "url": row["initial_url"],
        "totalUrls": row["total_urls"],
        "processedUrls": row["processed_urls"],
        "failedUrls": row["failed_urls"],
        "skippedUrls": row["skipped_urls"],
        "discoveredUrls": row["discovered_urls"],
        "queuedUrls": max(row["discovered_urls"] - finished, 0),
        # kept monotone by the writes (store._BUMP); 100 is reached by completing, nothing else
        "progress": 100 if row["status"] == "completed" else min(row["progress"], 99),
        # an ended job that stored pages offers the document of those pages (README, "JSON API")
        "partial": row["status"] in PARTIAL and row["processed_urls"] > 0,
        "error": row["error_details"],
        "createdAt": row["created_at"].isoformat(),
        "updatedAt": row["updated_at"].isoformat(),
        "startedAt": row["started_at"].isoformat() if row["started_at"] else None,
        "completedAt": row["completed_at"].isoformat() if row["completed_at"] else None,
    }


def job_data(row: Mapping[str, Any]) -> dict[str, Any]:
    """The job's status fields plus its settings (and document size once assembled).

    Of a private job's request headers and cookies, only how many: never a name or a value."""
    return {
        **job_status(row),
        "maxPages": row["max_pages"], "maxDepth": row["max_depth"],
        "qualityThreshold": row["quality_threshold"], "scope": row["scope"], "render": row["render"],
        "tokenBudget": row["token_budget"], "include": list(row["include_patterns"]),
        "exclude": list(row["exclude_patterns"]),
        "privateHeaders": row["private_headers"], "privateCookies": row["private_cookies"],
        "tokenCount": row["final_token_count"],
        "refreshOf": str(row["refresh_of"]) if row["refresh_of"] else None,  # the job this one refreshes
    }
