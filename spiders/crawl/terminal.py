"""One crawl from the terminal: Scrapy's CrawlerProcess, a progress bar, and the outputs as files.

No servers: pages go to a temporary file as they are scraped (`ItemSpool`), then are
assembled in the site's order and written as Markdown, JSON (the API's export.json shape,
`spiders.jobs.export`) and llms.txt.
"""
from __future__ import annotations

import json
import pickle
import sys
import tempfile
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from scrapy import signals
from scrapy.crawler import CrawlerProcess
from scrapy.settings import Settings
from tqdm import tqdm

from spiders.crawl.signals import pages_queued
from spiders.docs import DocsSpider
from spiders.document.assemble import AssembledDocument, assemble_document
from spiders.document.llms import render_llms_full_txt, render_llms_txt
from spiders.jobs.export import judged, verdicts, write_export
from spiders.jobs.options import CrawlOptions
from spiders.jobs.status import job_data
from spiders.refresh.changes import report_between
from spiders.refresh.previous import ExportedPrevious

SHOWN_CHANGES = 40  # lines of the change report printed; the whole of it is in --changes
# What assembling the document never reads: a page's in-scope links are most of an item
# (~14 KB of a cppreference page's ~20 KB), needed only by the JSON export.
NOT_ASSEMBLED = frozenset({"links"})


class SpooledItem(NamedTuple):
    offset: int
    url: str
    depth: int
    status: str


class ItemSpool:
    """A crawl's items in a temporary file, written as they are scraped and read back in
    whatever order is asked: held in memory, a 5,000-page crawl's items grew the crawl
    process by ~100 MB before its document was even assembled. The file is ours (pickle)."""

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile()
        self.entries: list[SpooledItem] = []

    def add(self, item: dict[str, Any]) -> None:
        offset = self._file.seek(0, 2)
        pickle.dump(item, self._file, protocol=pickle.HIGHEST_PROTOCOL)
        self.entries.append(SpooledItem(offset, item["url"], item["depth"], item["status"]))

    def items(self, entries: list[SpooledItem] | None = None, *, leave_out: frozenset[str] = frozenset()
              ) -> Iterator[dict[str, Any]]:
        """The items of `entries` (all, as scraped, by default), read one at a time."""
        self._file.flush()
        for entry in self.entries if entries is None else entries:
            self._file.seek(entry.offset)
            item = pickle.load(self._file)
            yield {name: value for name, value in item.items() if name not in leave_out} if leave_out else item

    def close(self) -> None:
        self._file.close()


def crawl_to_files(options: CrawlOptions, args: Any, previous: ExportedPrevious | None = None) -> int:
    """Crawl `options.url` and write the files `args` names; the exit status. `previous`: the
    earlier crawl to refresh against (`--since`): its unchanged pages are asked for conditionally,
    and the change report is written to `args.changes`."""
    # The project's settings by module, not through scrapy.cfg: `docspasta crawl` runs from any
    # directory, and without them Scrapy's defaults apply (no address guard, robots.txt ignored,
    # a 1 GB size cap).
    settings = Settings()
    settings.setmodule("spiders.settings", priority="project")
    settings.set("LOG_LEVEL", "INFO" if args.verbose else "WARNING", priority="cmdline")
    started = datetime.now(UTC)
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(DocsSpider)
    spool = ItemSpool()
    bar = tqdm(total=options.max_pages, unit="page", desc="crawling", file=sys.stderr, disable=args.quiet)

    def on_item(item, response=None, spider=None):
        page = dict(item)
        spool.add(page)
        if page["status"] == "completed":
            bar.update(1)
        bar.set_postfix_str(f"{page['status']}: {page['url'][-60:]}", refresh=True)

    # Discovery order (the start URL, then links in the order they were found), so the
    # document reads in the site's order rather than the order pages happened to finish.
    discovered: dict[str, int] = {}

    def on_queued(refs, spider=None):
        for ref in refs:
            discovered.setdefault(ref.url, len(discovered))

    crawler.signals.connect(on_item, signal=signals.item_scraped, weak=False)
    crawler.signals.connect(on_queued, signal=pages_queued, weak=False)
    process.crawl(crawler, **options.as_dict(), previous=previous)
    process.start()
    bar.close()
    try:
        return _write_outputs(options, args, previous, spool, discovered, started)
    finally:
        spool.close()


def _write_outputs(options: CrawlOptions, args: Any, previous: ExportedPrevious | None, spool: ItemSpool,
                   discovered: dict[str, int], started: datetime) -> int:
    statuses = Counter(entry.status for entry in spool.entries)
    if not statuses["completed"]:
        reason = next((page["error"] for page in spool.items() if page.get("error")), "nothing was fetched")
        print(f"docspasta: error: no page could be crawled from {options.url}: {reason}", file=sys.stderr)
        return 1
    ordered = sorted(spool.entries, key=lambda entry: (entry.depth, discovered.get(entry.url, -1)))
    document = assemble_document(list(spool.items(ordered, leave_out=NOT_ASSEMBLED)), source_url=options.url,
                                 quality_threshold=options.quality_threshold, token_budget=options.token_budget)
    if args.output == "-":
        sys.stdout.write(document.markdown)
    else:
        Path(args.output).write_text(document.markdown, encoding="utf-8")
    written = [] if args.output == "-" else [args.output]
    if args.llms:
        Path(args.llms).write_text(render_llms_txt(document, source_url=options.url), encoding="utf-8")
        written.append(args.llms)
    if args.llms_full:
        Path(args.llms_full).write_text(render_llms_full_txt(document, source_url=options.url), encoding="utf-8")
        written.append(args.llms_full)
    if args.json:
        pages = judged(spool.items(ordered), verdicts(document.included, document.dropped))
        urls = set(discovered) | {entry.url for entry in spool.entries}
        job = job_data(_job_row(options, statuses, len(urls), document, started))
        with open(args.json, "w", encoding="utf-8") as out:
            write_export(out, job, pages)
    if previous is not None:
        written += report_changes(previous, list(spool.items(ordered)), args)
    failed = statuses["failed"]
    print(
        f"docspasta: {len(document.included)} pages in the document ({document.token_count} tokens), "
        f"{len(document.dropped)} left out, {failed} failed"
        + (f"; wrote {', '.join(written + ([args.json] if args.json else []))}" if written or args.json else ""),
        file=sys.stderr,
    )
    return 0


def _job_row(options: CrawlOptions, counts: Counter, discovered: int, document: AssembledDocument,
             started: datetime) -> dict[str, Any]:
    """The crawl as a job row would hold it (for the export's `job`): it completed, and is stored nowhere."""
    finished = datetime.now(UTC)
    settings = options.settings()
    return {
        "id": None, "status": "completed", "current_step": "done", "initial_url": options.url,
        "total_urls": counts.total(), "processed_urls": counts["completed"], "failed_urls": counts["failed"],
        "skipped_urls": counts["skipped"], "discovered_urls": discovered, "progress": 100, "error_details": None,
        "created_at": started, "updated_at": finished, "started_at": started, "completed_at": finished,
        **{name: settings[name] for name in ("max_pages", "max_depth", "quality_threshold", "scope", "render",
                                             "token_budget")},
        "include_patterns": settings["include"], "exclude_patterns": settings["exclude"],
        "private_headers": len(options.headers), "private_cookies": len(options.cookies),
        "final_token_count": document.token_count, "refresh_of": None,
    }


def report_changes(previous: ExportedPrevious, items: list[dict], args: Any) -> list[str]:
    """Say what changed since the earlier crawl (stderr) and write the report; the files written."""
    report = report_between(previous.pages, items)
    counts = report.counts()
    reused = sum(bool(page.get("not_modified")) for page in items)
    print(f"docspasta: since {args.since}: " + ", ".join(f"{counts[kind]} {kind}" for kind in counts)
          + f" ({reused} pages not downloaded: 304 Not Modified)", file=sys.stderr)
    listed = [change for change in report.changes if change.kind not in ("unchanged",)]
    for change in listed[:SHOWN_CHANGES]:
        print(f"  {change.kind:<9} {change.url}" + (f" ({change.reason})" if change.reason else ""), file=sys.stderr)
    if len(listed) > SHOWN_CHANGES:
        print(f"  … {len(listed) - SHOWN_CHANGES} more" + (f" in {args.changes}" if args.changes else ""),
              file=sys.stderr)
    if not args.changes:
        return []
    Path(args.changes).write_text(json.dumps({"since": str(args.since), **report.as_dict()}, indent=1,
                                             ensure_ascii=False), encoding="utf-8")
    return [args.changes]
