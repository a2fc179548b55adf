"""The change report's rules, page by page: what a refresh calls new, changed, removed,
unchanged or unchecked, and the diff it shows."""
from __future__ import annotations

import pytest

from spiders.refresh.changes import DIFF_MAX_LINES, ChangeReport, classify, report_between, unified_diff

URL = "https://docs.example.org/guide.html"


def now(status="completed", content_hash="h1", http_status=200, error=None):
    return {"id": 2, "url": URL, "title": "Guide", "status": status, "http_status": http_status, "error": error,
            "content_hash": content_hash}


BEFORE = {"id": 1, "url": URL, "title": "Guide", "content_hash": "h1"}


@pytest.mark.parametrize(("current", "previous", "finished", "kind", "reason"), [
    (now(), None, True, "new", None),
    (now(), BEFORE, True, "unchanged", None),
    (now(http_status=304), BEFORE, True, "unchanged", None),
    (now(content_hash="h2"), BEFORE, True, "changed", None),
    (now("failed", None, 404, "HTTP 404"), BEFORE, True, "removed", "HTTP 404"),
    (now("failed", None, 410, "HTTP 410"), BEFORE, True, "removed", "HTTP 410"),
    (None, BEFORE, True, "removed", "no longer linked"),
    (now("skipped", None, 200, "duplicate of https://docs.example.org/"), BEFORE, True, "removed",
     "duplicate of https://docs.example.org/"),
    (now("skipped", None, None, "disallowed by robots.txt"), BEFORE, True, "removed", "disallowed by robots.txt"),
    # the crawl's own reasons: the page may well be there still
    (now("failed", None, 503, "HTTP 503"), BEFORE, True, "unchecked", "HTTP 503"),
    (now("failed", None, None, "timed out"), BEFORE, True, "unchecked", "timed out"),
    (now("skipped", None, None, "not fetched: page limit reached"), BEFORE, True, "unchecked",
     "not fetched: page limit reached"),
    (now("skipped", None, None, "cancelled"), BEFORE, False, "unchecked", "cancelled"),
    (None, BEFORE, False, "unchecked", "not reached yet"),  # a refresh still running (or ended early)
])
def test_each_page_gets_one_kind_and_a_reason_when_it_is_gone(current, previous, finished, kind, reason):
    change = classify(current, previous, finished=finished)
    assert (change.kind, change.reason) == (kind, reason)


def test_a_url_that_is_a_page_of_neither_crawl_is_not_reported():
    assert classify(now("failed", None, 404, "HTTP 404"), None, finished=True) is None
    assert classify(now("skipped", None, None, "not HTML (.pdf file), not downloaded"), None, finished=True) is None


def test_the_diff_is_unified_and_cut_past_its_limit():
    diff, lines = unified_diff("# Guide\n\nimport lib\nlib.run()\n", "# Guide\n\nimport lib\nlib.run(fast=True)\n", URL)
    assert diff.splitlines()[:2] == [f"--- {URL} (before)", f"+++ {URL} (now)"]
    assert "-lib.run()" in diff and "+lib.run(fast=True)" in diff and lines == len(diff.splitlines())
    old = "\n".join(f"line {n}" for n in range(DIFF_MAX_LINES))
    new = "\n".join(f"row {n}" for n in range(DIFF_MAX_LINES))
    cut, total = unified_diff(old, new, URL)
    assert total > DIFF_MAX_LINES and len(cut.splitlines()) == DIFF_MAX_LINES + 1
    assert cut.splitlines()[-1] == f"… {total - DIFF_MAX_LINES} more lines of diff not shown"


def test_a_report_between_an_export_and_new_items_counts_each_url_once():
    base = "https://docs.example.org/"
    previous = {f"{base}{name}": {"url": f"{base}{name}", "title": name, "markdown": f"text of {name}",
                                  "content_hash": f"h-{name}"}
                for name in ("a.html", "b.html", "gone.html")}
    items = [
        {"url": f"{base}a.html", "title": "a", "status": "completed", "markdown": "text of a", "content_hash": "h-a.html"},
        {"url": f"{base}b.html", "title": "b", "status": "completed", "markdown": "new text of b", "content_hash": "h-b2"},
        {"url": f"{base}new.html", "title": "n", "status": "completed", "markdown": "n", "content_hash": "h-n"},
        {"url": f"{base}manual.pdf", "title": "", "status": "skipped", "error": "not HTML"},
    ]
    report = report_between(previous, items)
    assert report.counts() == {"new": 1, "changed": 1, "removed": 1, "unchanged": 1, "unchecked": 0}
    (changed,) = report.of_kind("changed")
    assert "-text of b" in changed.diff and "+new text of b" in changed.diff
    data = report.as_dict()
    assert data["removed"] == [{"url": f"{base}gone.html", "title": "gone.html", "reason": "no longer linked"}]
    assert data["changed"][0]["diffTruncated"] is False and data["final"] is True
    assert ChangeReport.of([], finished=True).counts() == dict.fromkeys(("new", "changed", "removed", "unchanged",
                                                                         "unchecked"), 0)
