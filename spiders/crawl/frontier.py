"""What the spider's frontier is made of, and the stored form a crawl resumes from.

A terminal crawl keeps its frontier in memory only. A job's frontier is also in
PostgreSQL (job_urls), which is the truth: when a worker restarts a job, it reads
a `FrontierSnapshot` from the database and hands it to the spider, which goes on
from there: completed pages are not fetched again, retry attempts already made
still count, and the scope is where the start URL landed.
"""
from __future__ import annotations

from dataclasses import dataclass, field

# The request meta key carrying a page's PageRef (read by the spider, pipelines and the web runner).
PAGE_META = "docspasta_page"


@dataclass(frozen=True)
class PageRef:
    url: str
    key: str  # normalize_url(url): the page's identity
    depth: int
    discovered_from: str | None


@dataclass
class FrontierSnapshot:
    site_url: str | None  # where the start URL landed, once it was fetched
    completed: int  # pages already stored as completed
    done_keys: set[str] = field(default_factory=set)  # keys of completed pages
    seen_keys: set[str] = field(default_factory=set)  # keys of every stored URL, whatever its status
    pending: list[PageRef] = field(default_factory=list)  # still to fetch, shallowest first
    attempts: dict[str, int] = field(default_factory=dict)  # key -> retries already made
