"""The change report of a refresh: each page new, changed, removed, unchanged or unchecked.

Made from the two crawls' pages matched by URL key (a job's rows, or an export and a
terminal crawl's items), so it is derived, never counted: a refresh resumed after a
crash reports each page once. Pure functions, no I/O.

- new: completed now, and not a completed page of the earlier crawl;
- changed / unchanged: completed in both, its Markdown's hash different / the same
  (a changed build date or footer is cut away by extraction, so it is no change);
- removed: a page of the earlier crawl that is gone: 404 or 410, no longer linked from
  the site (the refresh finished without finding it), or now a duplicate, a redirect
  out of scope, not HTML, disallowed by robots.txt;
- unchecked: a page of the earlier crawl the refresh did not get to (page limit,
  cancelled, a server error or a timeout): not known to be gone, not in the new document.
"""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

from spiders.crawl.urls import normalize_url

KINDS = ("new", "changed", "removed", "unchanged", "unchecked")
DIFF_MAX_LINES = 400  # of one page's diff; the rest is counted, not shown
GONE = (404, 410)
# Skip reasons about the crawl, not the page (spiders/jobs/store.py, lifecycle.py): the page may still be there.
NOT_REACHED = ("not fetched", "not stored", "cancelled")


@dataclass
class Change:
    kind: str
    url: str
    title: str
    reason: str | None = None
    page_id: Any = None  # the refresh's page (row id, or any key the caller uses)
    previous_id: Any = None  # the earlier crawl's page
    diff: str | None = None
    diff_lines: int = 0  # lines of the whole diff (more than shown when over DIFF_MAX_LINES)

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"url": self.url, "title": self.title}
        if self.reason is not None:
            data["reason"] = self.reason
        if self.kind == "changed":
            data["diff"] = self.diff or ""
            data["diffTruncated"] = self.diff_lines > DIFF_MAX_LINES
        return data


def classify(current: Mapping[str, Any] | None, previous: Mapping[str, Any] | None, *,
             finished: bool) -> Change | None:
    """One URL's change. `current`: the refresh's page (id, url, title, status, http_status, error,
    content_hash) or None; `previous`: the earlier crawl's completed page (id, url, title,
    content_hash) or None; `finished`: the refresh completed (so a page it never found is gone).
    None: the URL is no page of either document."""
    current_id = current.get("id") if current else None
    previous_id = previous.get("id") if previous else None
    url = (current or previous or {}).get("url") or ""
    title = (current or {}).get("title") or (previous or {}).get("title") or ""

    def change(kind: str, reason: str | None = None) -> Change:
        return Change(kind, url, title, reason, current_id, previous_id)

    if current is not None and current.get("status") == "completed":
        if previous is None:
            return change("new")
        same = current.get("content_hash") and current.get("content_hash") == previous.get("content_hash")
        return change("unchanged" if same else "changed")
    if previous is None:
        return None
    if current is None:
        return change("removed", "no longer linked") if finished else change("unchecked", "not reached yet")
    status, reason = current.get("status"), current.get("error") or ""
    if status == "failed":
        if current.get("http_status") in GONE:
            return change("removed", reason or f"HTTP {current['http_status']}")
        return change("unchecked", reason or "failed")
    if status == "skipped" and reason and not reason.startswith(NOT_REACHED):
        return change("removed", reason)
    return change("unchecked", reason or "not reached yet")


def unified_diff(old: str, new: str, url: str) -> tuple[str, int]:
    """The unified diff of a page's Markdown (at most DIFF_MAX_LINES lines) and its full length in lines."""
    lines = list(difflib.unified_diff(old.splitlines(), new.splitlines(), fromfile=f"{url} (before)",
                                      tofile=f"{url} (now)", lineterm="", n=3))
    shown = lines[:DIFF_MAX_LINES]
    if len(lines) > DIFF_MAX_LINES:
        shown.append(f"… {len(lines) - DIFF_MAX_LINES} more lines of diff not shown")
    return "\n".join(shown), len(lines)


@dataclass
class ChangeReport:
    changes: list[Change]
    finished: bool  # the refresh completed: the report is final

    @classmethod
    def of(cls, pairs: Iterable[tuple[Mapping[str, Any] | None, Mapping[str, Any] | None]], *,
           finished: bool) -> ChangeReport:
        changes = [change for current, previous in pairs
                   if (change := classify(current, previous, finished=finished)) is not None]
        return cls(changes, finished)

    def of_kind(self, kind: str) -> list[Change]:
        return [change for change in self.changes if change.kind == kind]

    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(KINDS, 0)
        for change in self.changes:
            counts[change.kind] += 1
        return counts

    def add_diffs(self, markdown: Callable[[Any], str | None]) -> None:
        """Each changed page's diff; `markdown(id)` is a page's Markdown by its id (either crawl's)."""
        for change in self.of_kind("changed"):
            change.diff, change.diff_lines = unified_diff(markdown(change.previous_id) or "",
                                                          markdown(change.page_id) or "", change.url)

    def as_dict(self) -> dict[str, Any]:
        return {"final": self.finished, "counts": self.counts(),
                **{kind: [change.as_dict() for change in self.of_kind(kind)] for kind in KINDS}}


def report_between(previous: Mapping[str, Mapping[str, Any]], current: Iterable[Mapping[str, Any]], *,
                   finished: bool = True) -> ChangeReport:
    """The report of a crawl (its items, in its order) against an earlier one's completed
    pages by URL key (`ExportedPrevious.pages`), with diffs: the terminal's `--since`."""
    now: dict[str, Mapping[str, Any]] = {}
    for item in current:
        key = normalize_url(item["url"])
        if key not in now or item.get("status") == "completed":
            now[key] = {**item, "id": ("now", key)}
    before = {key: {**page, "id": ("before", key)} for key, page in previous.items()}
    pairs = [(page, before.get(key)) for key, page in now.items()]
    pairs += [(None, page) for key, page in before.items() if key not in now]
    report = ChangeReport.of(pairs, finished=finished)
    markdown = {page["id"]: page.get("markdown") for page in [*now.values(), *before.values()]}
    report.add_diffs(markdown.get)
    return report
