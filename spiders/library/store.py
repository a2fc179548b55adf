"""LibraryStore: the one repository for `library_sections` and the jobs' site labels.

The crawl side indexes a job when it completes (`index_job`); the web app and the MCP
server read (`search`, `outline`, `page`, `section`, `sites`). Every read names the
columns it needs: the sections' text is read only for the rows an answer shows.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any
from urllib.parse import urldefrag
from uuid import UUID

from spiders.library.errors import NotIndexed, NotInLibrary
from spiders.library.sections import document_pages, site_name, split_sections

logger = logging.getLogger(__name__)

COLUMNS = ["job_id", "page_ordinal", "ordinal", "url", "page_title", "heading_path", "heading", "headings", "level",
           "body", "token_count"]
# Matches are marked «like this»: marks that docs rarely contain, unlike Markdown's ** (the web page turns them into <mark>).
HEADLINE = "MaxFragments=2, MinWords=8, MaxWords=30, FragmentDelimiter=\" … \", StartSel=«, StopSel=»"
SNIPPET_SOURCE_CHARS = 4000  # a snippet comes from the section's start: ts_headline's cost grows with the text
# The jobs a search reads by default: the newest completed, indexed job of each site.
NEWEST_PER_SITE = (
    "SELECT DISTINCT ON (site_name) id, site_name, site_version FROM crawl_jobs"
    " WHERE status = 'completed' AND library_indexed_at IS NOT NULL AND ($1::text IS NULL OR site_name = $1)"
    " ORDER BY site_name, completed_at DESC")


TERMS_OF_JOB = (
    "INSERT INTO library_terms (word, sections)"
    " SELECT word, ndoc FROM ts_stat(format('SELECT search FROM library_sections WHERE job_id = %L', $1::uuid))"
    " ON CONFLICT (word) DO UPDATE SET sections = library_terms.sections + excluded.sections")


def section_records(job_id: UUID, markdown: str) -> list[tuple]:
    """The rows of `library_sections` for a job's document (CPU only: run it off the event loop)."""
    records = []
    for page_ordinal, page in enumerate(document_pages(markdown)):
        for ordinal, section in enumerate(split_sections(page.title, page.body)):
            path = section.heading_path
            records.append((job_id, page_ordinal, ordinal, page.url, page.title, list(path), path[-1],
                            " ".join(path[:-1]), section.level, section.text, section.token_count))
    return records


def url_variants(url: str) -> list[str]:
    """The forms a page's URL may be asked in: without its fragment, with or without `/` or `index.html`."""
    base, fragment = urldefrag(url.strip())
    if fragment.startswith(("/", "!/")):  # a hash route is the page's address (single-page sites)
        return [url.strip()]
    variants = [base]
    if base.endswith("/index.html"):
        variants.append(base[: -len("index.html")])
    elif base.endswith("/"):
        variants += [base + "index.html", base.rstrip("/")]
    else:
        variants.append(base + "/")
    return variants


class LibraryStore:
    # a long section (an API reference page) holds many words by sheer size: its rank is divided by its length
    rank = "ts_rank(s.search, q.query, 0) / sqrt(10 + s.token_count)"

    def __init__(self, pool: Any):
        self.pool = pool

    async def index_job(self, job_id: UUID) -> int:
        """Store the sections of a completed job's document and label its site; returns the sections stored.

        Idempotent: a job indexed twice has its sections replaced.
        """
        job = await self.pool.fetchrow(
            "SELECT initial_url, final_markdown FROM crawl_jobs WHERE id = $1 AND status = 'completed'", job_id)
        if job is None or job["final_markdown"] is None:
            return 0
        records = await asyncio.to_thread(section_records, job_id, job["final_markdown"])
        del job  # the document (tens of MB for a big site) is not needed past here
        async with self.pool.acquire() as conn, conn.transaction():
            url = await conn.fetchval("SELECT initial_url FROM crawl_jobs WHERE id = $1 FOR UPDATE", job_id)
            await conn.execute("DELETE FROM library_sections WHERE job_id = $1", job_id)
            if records:
                await conn.copy_records_to_table("library_sections", records=records, columns=COLUMNS)
            await conn.execute(
                "UPDATE crawl_jobs SET site_name = coalesce(site_name, $2), library_indexed_at = now() WHERE id = $1",
                job_id, site_name(url))
            await conn.execute(TERMS_OF_JOB, job_id)
        return len(records)

    async def backfill(self) -> int:
        """Index the completed jobs that have no sections yet (completed before the library existed)."""
        ids = await self.pool.fetch(
            "SELECT id FROM crawl_jobs WHERE status = 'completed' AND library_indexed_at IS NULL"
            " AND final_markdown IS NOT NULL ORDER BY completed_at")
        for row in ids:
            await self.index_job(row["id"])
        return len(ids)

    async def label(self, job_id: UUID, name: str, version: str | None) -> Any:
        return await self.pool.fetchrow(
            "UPDATE crawl_jobs SET site_name = $2, site_version = $3 WHERE id = $1"
            " RETURNING id, site_name, site_version", job_id, name, version)

    async def sites(self) -> list[dict[str, Any]]:
        """Every site in the library, its newest completed job, and that job's size."""
        rows = await self.pool.fetch(
            f"WITH newest AS ({NEWEST_PER_SITE})"
            " SELECT n.id, n.site_name, n.site_version, j.initial_url, j.completed_at,"
            "  (SELECT count(*) FROM crawl_jobs o WHERE o.site_name = n.site_name AND o.status = 'completed'"
            "   AND o.library_indexed_at IS NOT NULL) AS jobs,"
            "  s.pages, s.sections, s.tokens"
            " FROM newest n JOIN crawl_jobs j ON j.id = n.id,"
            " LATERAL (SELECT count(DISTINCT page_ordinal) AS pages, count(*) AS sections,"
            "          coalesce(sum(token_count), 0) AS tokens FROM library_sections WHERE job_id = n.id) s"
            " ORDER BY n.site_name", None)
        return [dict(row) for row in rows]

    async def resolve(self, *, site: str | None = None, job: UUID | None = None) -> Any:
        """The job a request reads: `job` if given (it must be a completed, indexed job), else `site`'s newest."""
        if job is not None:
            row = await self.job_state(job)
            if row is None:
                raise NotInLibrary(f"job: no job has the id {job}", field="job")
            if row["library_indexed_at"] is None:
                raise NotIndexed(f"job: the job is {row['status']}; completed jobs are in the library (once indexed)",
                                 field="job")
            return row
        if site is None:
            raise NotInLibrary("site or job: name the site (see list_sites) or the job", field="site")
        row = await self.pool.fetchrow(NEWEST_PER_SITE, site)
        if row is None:
            raise NotInLibrary(f"site: no completed job of the site {site!r} (see list_sites)", field="site")
        return row

    async def job_state(self, job_id: UUID) -> Any:
        """A job's status fields (never its document); None for an unknown id."""
        return await self.pool.fetchrow(
            "SELECT id, status, current_step, initial_url, processed_urls, failed_urls, total_urls, max_pages,"
            " error_details, final_token_count, site_name, site_version, library_indexed_at, created_at, completed_at"
            " FROM crawl_jobs WHERE id = $1", job_id)

    async def job_with_page(self, url: str) -> UUID:
        """The newest completed job of any site whose document has a page at `url`."""
        newest = [row["id"] for row in await self.pool.fetch(NEWEST_PER_SITE, None)]
        job_id = await self.pool.fetchval(
            "SELECT s.job_id FROM library_sections s JOIN crawl_jobs j ON j.id = s.job_id"
            " WHERE s.job_id = ANY($1::uuid[]) AND s.url = ANY($2::text[]) ORDER BY j.completed_at DESC LIMIT 1",
            newest, url_variants(url))
        if job_id is None:
            raise NotInLibrary(f"url: no site in the library has a page at {url} (see search_docs)", field="url")
        return job_id

    async def search(self, query: str, *, site: str | None = None, job: UUID | None = None,
                     limit: int = 10) -> list[dict[str, Any]]:
        """Sections ranked by relevance: every word first (websearch syntax), then, while that finds too
        few, every word but the commonest ones (a question rarely has all its words in one section)."""
        if job is not None or site is not None:
            jobs = [await self.resolve(site=site, job=job)]
        else:
            jobs = await self.pool.fetch(NEWEST_PER_SITE, None)
        labels = {row["id"]: row for row in jobs}
        ids = list(labels)
        if not ids:
            return []
        rows = list(await self._ranked(ids, "websearch_to_tsquery('english', $2)", query, limit))
        if len(rows) < limit:
            words = [row["word"] for row in await self.pool.fetch(
                # words the library lacks go first, then the commonest
                "SELECT t.word FROM unnest(tsvector_to_array(to_tsvector('english', $1))) AS t(word)"
                " LEFT JOIN library_terms l ON l.word = t.word"
                " ORDER BY coalesce(l.sections, 0) = 0 DESC, l.sections DESC", query)]
            seen = {(r["job_id"], r["page_ordinal"], r["ordinal"]) for r in rows}
            for dropped in range(1, len(words)):
                kept = words[dropped:]
                more = await self._ranked(ids, "(SELECT string_agg(quote_literal(w), ' & ') FROM unnest($2::text[]) w)"
                                               "::tsquery", kept, limit, rank_words=words)
                rows += [r for r in more if (r["job_id"], r["page_ordinal"], r["ordinal"]) not in seen]
                seen.update((r["job_id"], r["page_ordinal"], r["ordinal"]) for r in more)
                if len(rows) >= limit:
                    break
        return [{**dict(row), "site_name": labels[row["job_id"]]["site_name"],
                 "site_version": labels[row["job_id"]]["site_version"]} for row in rows[:limit]]

    async def _ranked(self, job_ids: list[UUID], tsquery: str, terms: Any, limit: int,
                      rank_words: list[str] | None = None) -> list[Any]:
        # Ranked against every word of the question (so a section with more of them comes first),
        # matched with `tsquery`; snippets are made for the few rows shown (ts_headline re-parses text).
        rank_query = ("(SELECT string_agg(quote_literal(w), ' | ') FROM unnest($5::text[]) w)::tsquery"
                      if rank_words else "q.query")
        return await self.pool.fetch(
            f"WITH q AS (SELECT {tsquery} AS query),"
            f" hits AS (SELECT s.job_id, s.page_ordinal, s.ordinal, {self.rank.replace('q.query', rank_query)} AS rank"
            "          FROM library_sections s, q WHERE s.job_id = ANY($1::uuid[]) AND s.search @@ q.query"
            "          ORDER BY rank DESC, s.job_id, s.page_ordinal, s.ordinal LIMIT $3)"
            " SELECT h.job_id, h.page_ordinal, h.ordinal, h.rank, s.url, s.page_title, s.heading_path,"
            f"  s.token_count, ts_headline('english', left(s.body, {SNIPPET_SOURCE_CHARS}), q.query, $4) AS snippet"
            " FROM hits h JOIN library_sections s USING (job_id, page_ordinal, ordinal), q"
            " ORDER BY h.rank DESC, h.job_id, h.page_ordinal, h.ordinal",
            job_ids, terms, limit, HEADLINE, *([rank_words] if rank_words else []))

    async def outline(self, job_id: UUID, pages: int | None = None) -> list[Any]:
        """The job's sections in document order; `pages`: those of its first N pages only (the job page's)."""
        return await self.pool.fetch(
            "SELECT page_ordinal, ordinal, url, page_title, heading_path, level, token_count"
            " FROM library_sections WHERE job_id = $1 AND ($2::int IS NULL OR page_ordinal < $2)"
            " ORDER BY page_ordinal, ordinal", job_id, pages)

    async def page(self, job_id: UUID, url: str) -> list[Any]:
        """The page's sections in order; NotInLibrary if the job's document has no page at `url`."""
        rows = await self.pool.fetch(
            "SELECT url, page_title, heading_path, level, body, token_count FROM library_sections"
            " WHERE job_id = $1 AND page_ordinal = (SELECT min(page_ordinal) FROM library_sections"
            "   WHERE job_id = $1 AND url = ANY($2::text[]))"
            " ORDER BY ordinal", job_id, url_variants(url))
        if not rows:
            raise NotInLibrary(f"url: the job's document has no page at {url}", field="url")
        return rows

    async def section(self, job_id: UUID, url: str, heading: str) -> Any:
        """The section of the page at `url` whose heading (or heading path, `A > B`) is `heading`."""
        rows = await self.page(job_id, url)
        wanted = [part.strip().lower() for part in heading.split(">") if part.strip()]
        if not wanted:
            raise NotInLibrary("heading: name a heading of the page", field="heading")

        def matches(row: Any) -> bool:
            path = [part.lower() for part in row["heading_path"]]
            return path[-len(wanted):] == wanted

        found = next((row for row in rows if matches(row)), None)
        if found is None:
            headings = "; ".join(" > ".join(row["heading_path"][1:]) or row["heading_path"][0] for row in rows)
            raise NotInLibrary(f"heading: the page has no section {heading!r}; its headings: {headings[:800]}",
                               field="heading")
        return found
