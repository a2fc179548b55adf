"""The finalizing step's outputs, built in one place from the job's stored pages.

Calls the extraction helper's assembly (`spiders.document.assemble`): the document, its
llms.txt, and for every page whether it is in the document and why not.

`finalize_stored` is the whole step as one call that needs only the database: it
reads the job's pages, assembles them and writes the document. It runs in a process
of its own (`spiders.jobs.finalizer`): assembly is seconds of pure-Python CPU for a
large job, which on the crawl's thread would stall every other crawl and the lease
renewals. Reading the pages itself, the process is sent a job id, not tens of MB
of pickled pages, and it sends back only the job's status.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence
from uuid import UUID

from spiders.document.assemble import assemble_document
from spiders.document.llms import render_llms_full_txt, render_llms_txt
from spiders.jobs.export import verdicts
from spiders.jobs.status import job_status
from spiders.jobs.store import JobStore, create_pool
from spiders.library.store import LibraryStore

logger = logging.getLogger(__name__)

@dataclass
class Outputs:
    markdown: str
    token_count: int
    llms_txt: str
    included: list[Mapping[str, Any]] = field(default_factory=list)
    dropped: list[tuple[Mapping[str, Any], str]] = field(default_factory=list)

    @property
    def verdicts(self) -> list[tuple[str, bool, str | None]]:
        """(normalised URL, included, reason) for every page, as job_urls stores them."""
        return verdicts(self.included, self.dropped)


def build_outputs(pages: Sequence[Mapping[str, Any]], *, source_url: str, quality_threshold: int,
                  token_budget: int | None = None, partial: str | None = None) -> Outputs:
    """`partial`: why the job ended before finishing (a cancelled or failed job), stated in the header."""
    doc = assemble_document(pages, source_url=source_url, quality_threshold=quality_threshold,
                            token_budget=token_budget, partial=partial)
    llms_txt = render_llms_txt(doc, source_url=source_url)
    return Outputs(doc.markdown, doc.token_count, llms_txt, list(doc.included), list(doc.dropped))


def build_llms_full(pages: Sequence[Mapping[str, Any]], *, source_url: str, quality_threshold: int,
                    token_budget: int | None = None, partial: str | None = None) -> str:
    """llms-full.txt: the document's pages, in its order, each in full under its title and source.

    Built on request from the stored pages (not stored: it would double every job's size
    for a download few ask for); assembly is deterministic, so it holds the document's pages."""
    doc = assemble_document(pages, source_url=source_url, quality_threshold=quality_threshold,
                            token_budget=token_budget, partial=partial)
    return render_llms_full_txt(doc, source_url=source_url)


def partial_note(status: str, pages: Sequence[Mapping[str, Any]]) -> str:
    """The header line of an ended job's document: what it holds and why not more."""
    done = sum(page["status"] == "completed" for page in pages)
    unfetched = sum(page["status"] == "skipped" and not page.get("fetched_at") for page in pages)
    how = "was cancelled" if status == "cancelled" else "failed"
    return (f"the job {how} before it finished; this document holds the {done} pages it had stored"
            f" ({unfetched} URLs found were never fetched).")


@dataclass
class Finalized:
    """What finalizing did, small enough to send between processes."""

    job: dict[str, Any] | None = None  # the job's status fields once completed; None if it had ended or moved on
    token_count: int = 0
    included: int = 0
    dropped: int = 0
    nothing_fetched: str | None = None  # no page was stored: why (the job then fails)


def finalize_stored(database_url: str, job_id: UUID, owner: str | None, source_url: str,
                    quality_threshold: int, token_budget: int | None = None) -> Finalized:
    """Read the job's pages, assemble them and store the document (fenced by `owner`'s lease)."""
    return asyncio.run(_finalize(database_url, job_id, owner, source_url, quality_threshold, token_budget))


async def _add_to_library(pool: Any, job_id: UUID) -> None:
    try:
        stored = await LibraryStore(pool).index_job(job_id)
        logger.info("job %s: %d sections added to the library", job_id, stored)
    except Exception:  # the document is stored; start-up's backfill indexes the job later
        logger.exception("job %s: could not add the document to the library", job_id)


async def _complete_as(pool: Any, writer: JobStore, job_id: UUID, other_id: UUID) -> Finalized:
    row = await writer.complete_as(job_id, other_id)
    if row is None:
        return Finalized()
    await _add_to_library(pool, job_id)
    counts = await writer.verdict_counts(job_id)
    logger.info("job %s: the same pages as job %s; its document reused", job_id, other_id)
    return Finalized(job_status(row), row["final_token_count"], counts["included"], counts["dropped"])


async def _finalize(database_url: str, job_id: UUID, owner: str | None, source_url: str,
                    quality_threshold: int, token_budget: int | None) -> Finalized:
    pool = await create_pool(database_url, 1)
    try:
        writer = JobStore(pool, owner=owner)
        job = await writer.get(job_id)
        if job is not None and job["refresh_of"] is not None and await writer.same_pages(job_id, job["refresh_of"]):
            # A refresh that found every page as it was: its document is the one it refreshes.
            return await _complete_as(pool, writer, job_id, job["refresh_of"])
        pages = await writer.pages(job_id, links=False)
        if not any(page["status"] == "completed" for page in pages):
            return Finalized(nothing_fetched=next((page["error"] for page in pages if page.get("error")),
                                                  "nothing was fetched"))
        outputs = build_outputs(pages, source_url=source_url, quality_threshold=quality_threshold,
                                token_budget=token_budget)
        verdicts, included, dropped = outputs.verdicts, len(outputs.included), len(outputs.dropped)
        markdown, token_count, llms_txt = outputs.markdown, outputs.token_count, outputs.llms_txt
        # The pages (~45 MB for 10,000) go before the write, which encodes the document
        # (~40 MB more for 10,000 pages): the two never add up.
        del pages, outputs
        row = await writer.complete(job_id, markdown, token_count, llms_txt, verdicts)
        del markdown, llms_txt
        if row is not None:
            # Here too, not on the reactor: splitting a large document into sections is seconds of
            # CPU. Before job_completed goes out, so a client told it completed finds it in the library.
            await _add_to_library(pool, job_id)
        return Finalized(job_status(row) if row is not None else None, token_count, included, dropped)
    finally:
        await pool.close()
