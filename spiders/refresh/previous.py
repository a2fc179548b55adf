"""What an earlier crawl of the site left, as a refresh needs it.

A refresh asks two things of the earlier crawl: before a request, the validators the
page was served with (`validators(key)`: its ETag and Last-Modified, for a conditional
request), and after a 304, the page as it was extracted then (`reuse(key)`: the item's
fields, its links included, so the crawl goes on through the page without downloading
or extracting it). Pages are told apart by `normalize_url` keys, as in the frontier.

`StoredPrevious` reads a job's rows (a web refresh; the validators once, each reused
page when its 304 arrives); `ExportedPrevious` reads an export.json (`docspasta crawl
--since`). Only a page that can be reused whole has validators: fetched plainly (a
rendered page's HTML says nothing of what its scripts load) and stored with its links.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Protocol
from uuid import UUID

from spiders.crawl.urls import normalize_url

# A stored page's fields that are about one fetch, not about the page: never reused.
FETCH_FIELDS = ("status", "http_status", "error", "fetched_at", "included", "reason", "not_modified", "depth",
                "discovered_from", "url")


def content_hash(markdown: str | None) -> str:
    """What decides whether a page changed: a hash of its extracted Markdown, not of its HTML,
    so a new build date or footer (cut away by extraction) changes nothing."""
    return hashlib.sha256((markdown or "").encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Validators:
    """What the page was served with last time."""

    etag: str | None
    last_modified: str | None


class PreviousCrawl(Protocol):
    def earlier(self, key: str) -> bool:
        """Whether the page is one the earlier crawl completed."""

    def validators(self, key: str) -> Validators | None: ...

    async def reuse(self, key: str) -> dict[str, Any] | None: ...


def reusable(page: Mapping[str, Any]) -> bool:
    """Whether a stored page can stand for a 304: completed, fetched plainly, stored with its links."""
    return (page.get("status") == "completed" and not page.get("rendered")
            and isinstance(page.get("links"), list) and bool(page.get("etag") or page.get("last_modified")))


class ExportedPrevious:
    """The earlier crawl as an export.json holds it: `{job, pages, dropped}` (the API's and
    `docspasta crawl --json`'s) or a plain list of pages (`scrapy crawl docs -O`)."""

    def __init__(self, pages: list[Mapping[str, Any]], job: Mapping[str, Any] | None = None):
        self.job = dict(job or {})
        self.pages: dict[str, dict[str, Any]] = {}
        for page in pages:
            if page.get("status") == "completed" and isinstance(page.get("url"), str):
                page = dict(page)
                page.setdefault("content_hash", content_hash(page.get("markdown")))
                self.pages[normalize_url(page["url"])] = page

    @classmethod
    def read(cls, path: str | Path) -> ExportedPrevious:
        """ValueError naming what is wrong with the file."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ValueError(f"{path} is not JSON: {exc}") from None
        job = None
        if isinstance(data, dict):
            job, data = data.get("job"), data.get("pages")
        if not isinstance(data, list) or not all(isinstance(page, dict) for page in data):
            raise ValueError(f"{path} is not an export: expected {{\"job\", \"pages\"}} or a list of pages")
        return cls(data, job if isinstance(job, dict) else None)

    def earlier(self, key: str) -> bool:
        return key in self.pages

    def validators(self, key: str) -> Validators | None:
        page = self.pages.get(key)
        if page is None or not reusable(page):
            return None
        return Validators(page.get("etag"), page.get("last_modified"))

    async def reuse(self, key: str) -> dict[str, Any] | None:
        page = self.pages.get(key)
        return {k: v for k, v in page.items() if k not in FETCH_FIELDS} if page is not None else None


class StoredPrevious:
    """The earlier crawl as a job's rows hold it, through `spiders.jobs.store.JobStore`
    (the crawl side's, on the reactor's loop). The pages asked for while a read is under
    way are read together, in one query."""

    def __init__(self, store: Any, job_id: UUID, validators: dict[str, Validators], keys: set[str]):
        self.store = store
        self.job_id = job_id
        self._validators = validators
        self._keys = keys
        self._wanted: dict[str, list[asyncio.Future]] = {}
        self._reading: asyncio.Future | None = None

    @classmethod
    async def load(cls, store: Any, job_id: UUID) -> StoredPrevious:
        rows = await store.validators(job_id)
        return cls(store, job_id, {row["normalized_url"]: Validators(row["etag"], row["last_modified"])
                                   for row in rows if row["etag"] or row["last_modified"]},
                   {row["normalized_url"] for row in rows})

    def __len__(self) -> int:
        return len(self._validators)

    def earlier(self, key: str) -> bool:
        return key in self._keys

    def validators(self, key: str) -> Validators | None:
        return self._validators.get(key)

    async def reuse(self, key: str) -> dict[str, Any] | None:
        page = asyncio.get_running_loop().create_future()
        self._wanted.setdefault(key, []).append(page)
        if self._reading is None or self._reading.done():
            self._reading = asyncio.ensure_future(self._read())
        found = await page
        return {k: v for k, v in found.items() if k not in FETCH_FIELDS} if found is not None else None

    async def _read(self) -> None:
        while self._wanted:
            wanted, self._wanted = self._wanted, {}
            try:
                pages = await self.store.stored_pages(self.job_id, list(wanted))
            except Exception as exc:  # each caller's callback fails with it (the page is recorded failed)
                for futures in wanted.values():
                    for future in futures:
                        if not future.done():  # (a caller cancelled meanwhile: the crawl is closing)
                            future.set_exception(exc)
                continue
            for key, futures in wanted.items():
                for future in futures:
                    if not future.done():
                        future.set_result(pages.get(key))
