"""The finalizing step's outputs, built in one place from the job's stored pages.

Calls the extraction helper's assembly (`spiders.document.assemble`): the document, its
llms.txt, and for every page whether it is in the document and why not.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from spiders.crawl.urls import normalize_url
from spiders.document.assemble import assemble_document
from spiders.document.llms import render_llms_txt


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
        rows = [(normalize_url(page["url"]), True, None) for page in self.included]
        rows += [(normalize_url(page["url"]), False, reason or "left out") for page, reason in self.dropped]
        return rows


def build_outputs(pages: Sequence[Mapping[str, Any]], *, source_url: str, quality_threshold: int,
                  partial: str | None = None) -> Outputs:
    """`partial`: why the job ended before finishing (a cancelled or failed job), stated in the header."""
    doc = assemble_document(pages, source_url=source_url, quality_threshold=quality_threshold, partial=partial)
    llms_txt = render_llms_txt(doc, source_url=source_url)
    return Outputs(doc.markdown, doc.token_count, llms_txt, list(doc.included), list(doc.dropped))


def partial_note(status: str, pages: Sequence[Mapping[str, Any]]) -> str:
    """The header line of an ended job's document: what it holds and why not more."""
    done = sum(page["status"] == "completed" for page in pages)
    unfetched = sum(page["status"] == "skipped" and not page.get("fetched_at") for page in pages)
    how = "was cancelled" if status == "cancelled" else "failed"
    return (f"the job {how} before it finished; this document holds the {done} pages it had stored"
            f" ({unfetched} URLs found were never fetched).")
