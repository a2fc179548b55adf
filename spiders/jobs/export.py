"""export.json: a job, every URL it judged, and the pages its document leaves out.

One shape for the API's download (`GET /api/v3/jobs/{id}/export.json`, pages from
PostgreSQL) and `docspasta crawl --json FILE` (pages from the crawl's items, no
database): `{"job": {...}, "pages": [...], "dropped": [{"url", "reason"}]}`, where `job`
is the API's job shape (`spiders.jobs.status.job_data`) and each page is the spider's
item with `included` and, when left out, `reason`.
"""
from __future__ import annotations

import json
from typing import IO, Any, Iterable, Iterator, Mapping, Sequence

from spiders.crawl.urls import normalize_url


def export_document(job: Mapping[str, Any], pages: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    dropped = [{"url": page["url"], "reason": page["reason"]} for page in pages if page["included"] is False]
    return {"job": dict(job), "pages": list(pages), "dropped": dropped}


def write_export(out: IO[str], job: Mapping[str, Any], pages: Iterable[Mapping[str, Any]]) -> None:
    """`export_document(job, pages)` written to `out` as `json.dump(..., indent=1)` writes it, a
    page at a time: the pages are never all in memory (`docspasta crawl --json`)."""
    def nested(value: Any, level: int) -> str:
        # JSON strings hold no raw line breaks: every one is the layout's, indented one level deeper.
        return json.dumps(value, ensure_ascii=False, indent=1, default=str).replace("\n", "\n" + " " * level)

    dropped = []
    out.write('{\n "job": ' + nested(dict(job), 1) + ',\n "pages": [')
    empty = True
    for page in pages:
        out.write(("\n  " if empty else ",\n  ") + nested(page, 2))
        empty = False
        if page["included"] is False:
            dropped.append({"url": page["url"], "reason": page["reason"]})
    out.write(("]" if empty else "\n ]") + ',\n "dropped": ' + nested(dropped, 1) + "\n}")


def verdicts(included: Iterable[Mapping[str, Any]],
             dropped: Iterable[tuple[Mapping[str, Any], str]]) -> list[tuple[str, bool, str | None]]:
    """(normalised URL, in the document, why not) for every page an assembly was given."""
    rows = [(normalize_url(page["url"]), True, None) for page in included]
    rows += [(normalize_url(page["url"]), False, reason or "left out") for page, reason in dropped]
    return rows


def judged(items: Iterable[Mapping[str, Any]],
           verdict_rows: Iterable[tuple[str, bool, str | None]]) -> Iterator[dict[str, Any]]:
    """Spider items as a job stores them once its document is assembled: each with `included` and
    `reason`, one at a time as `items` gives them."""
    by_key = {key: (included, reason) for key, included, reason in verdict_rows}
    for item in items:
        included, reason = by_key.get(normalize_url(item["url"]), (None, None))
        yield {**item, "included": included, "reason": reason}
