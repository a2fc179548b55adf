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

from spiders.library import ranking
from spiders.library.errors import NotIndexed, NotInLibrary
from spiders.library.sections import document_sections, site_name

logger = logging.getLogger(__name__)

COLUMNS = ["job_id", "page_ordinal", "ordinal", "url", "page_title", "heading_path", "heading", "headings", "level",
           "body", "token_count"]
# Matches are marked «like this»: marks that docs rarely contain, unlike Markdown's ** (the web page turns them into <mark>).
HEADLINE = "MaxFragments=2, MinWords=8, MaxWords=30, FragmentDelimiter=\" … \", StartSel=«, StopSel=»"
SNIPPET_SOURCE_CHARS = 1200  # a snippet comes from the section's start: ts_headline's cost grows with the text
# The jobs a search reads by default: the newest completed, indexed job of each site.
NEWEST_PER_SITE = (
    "SELECT DISTINCT ON (site_name) id, site_name, site_version FROM crawl_jobs"
    " WHERE status = 'completed' AND library_indexed_at IS NOT NULL AND ($1::text IS NULL OR site_name = $1)"
    " ORDER BY site_name, completed_at DESC")


# How many sections hold each word (the empty word: how many sections there are), for the words'
# weights: of the sections searched, not their repeats (migration 010). Counted as a job's sections
# come and go; approximate (concurrent indexing may race), as only the words' rarity is read from it.
TERMS_OF_JOB = (
    "INSERT INTO library_terms (word, sections)"
    " SELECT word, ndoc FROM ts_stat(format('SELECT search FROM library_sections WHERE job_id = %L AND NOT repeated',"
    "  $1::uuid)) WHERE word NOT LIKE '@job:%'"
    " UNION ALL SELECT '', count(*) FROM library_sections WHERE job_id = $1 AND NOT repeated"
    " ON CONFLICT (word) DO UPDATE SET sections = library_terms.sections + excluded.sections")
TERMS_GONE = (
    "UPDATE library_terms l SET sections = greatest(0, l.sections - gone.sections) FROM ("
    "  SELECT word, ndoc AS sections FROM ts_stat(format("
    "   'SELECT search FROM library_sections WHERE job_id = %L AND NOT repeated', $1::uuid)) WHERE word NOT LIKE '@job:%'"
    "  UNION ALL SELECT '', count(*) FROM library_sections WHERE job_id = $1 AND NOT repeated) AS gone WHERE l.word = gone.word")
# A search's start: the jobs it reads (the newest of each site, or of the site $2, none when $3)
# and the question's words (lexemes) with how many sections hold each, and how many sections there are.
SEARCH_START = (
    "WITH newest AS (SELECT DISTINCT ON (site_name) id, site_name, site_version FROM crawl_jobs"
    "  WHERE status = 'completed' AND library_indexed_at IS NOT NULL AND ($2::text IS NULL OR site_name = $2)"
    "  AND NOT $3 ORDER BY site_name, completed_at DESC),"
    " words AS (SELECT t.word, coalesce(l.sections, 0) AS sections"
    "  FROM unnest(tsvector_to_array(to_tsvector('docspasta', $1))) AS t(word) LEFT JOIN library_terms l USING (word))"
    " SELECT ARRAY(SELECT id FROM newest ORDER BY site_name) AS ids,"
    "  ARRAY(SELECT site_name FROM newest ORDER BY site_name) AS names,"
    "  ARRAY(SELECT site_version FROM newest ORDER BY site_name) AS versions,"
    "  ARRAY(SELECT word FROM words ORDER BY word) AS words, ARRAY(SELECT sections FROM words ORDER BY word) AS sections,"
    "  coalesce((SELECT sections FROM library_terms WHERE word = ''), 0) AS total")
CANDIDATES_WANTED = 30  # a tier of candidates with fewer sections than this (or 2 x the limit) is loosened
MAX_CANDIDATES = 200  # at most this many sections are ranked (see LibraryStore.search)


def section_records(job_id: UUID, markdown: str) -> list[tuple]:
    """The rows of `library_sections` for a job's document (CPU only: run it off the event loop)."""
    records = []
    for page_ordinal, (page, sections) in enumerate(document_sections(markdown)):
        for ordinal, section in enumerate(sections):
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


def search_sql(constrained: bool) -> str:
    """The one statement that answers a search (the parameters are LibraryStore.search's); one text
    for every question, so each connection prepares it once and the server can keep its plan.

    The candidate tiers (strictest first, each finding a superset of the one before; tier n the AND
    queries $2[$12[n]:$13[n]], a section found by any being found; a question with fewer tiers
    than ranking.TIERS has empty ones first) are tried in turn, each only if the ones before found
    fewer than `wanted` ($9) sections: a CASE evaluates a scalar subquery only when it reaches it,
    and each tier is a CTE, read once however often it is named. The first tier that finds
    `wanted` is ranked, unless it finds more than MAX_CANDIDATES: then the tier before it, whose
    sections hold more of the question's rarest words (a first tier that finds too many at once
    gives the first MAX_CANDIDATES the index finds). The newest jobs of every site are filtered
    after the index scan (nearly every match is theirs; OFFSET 0 keeps the planner from moving the
    filter into the scan, where it would read the job index's entries for the whole library);
    within one job the tiers hold the job's word (`@job:<id>`, migration 009). Repeated sections
    are not in the index (migration 010). Each candidate's vector is decompressed once (`search ||
    ''` in a subquery that is not flattened) and read by every word's features. Snippets are made
    for the rows shown only.
    """
    cap = MAX_CANDIDATES
    queries = "(($2::text[])[($12::int[])[{n}]:($13::int[])[{n}]])"
    tier_queries = (f"ARRAY(SELECT q::tsquery && websearch_to_tsquery('docspasta', $3) FROM unnest({queries}) q)"
                    if constrained else f"{queries}::tsquery[]")
    found = [f"t{n} AS MATERIALIZED (SELECT coalesce(array_agg(ctid), '{{}}') AS found FROM ("
             f"  SELECT ctid FROM (SELECT ctid, job_id FROM library_sections"
             f"   WHERE search @@ ANY({tier_queries.format(n=n)}) AND NOT repeated OFFSET 0) m"
             f"  WHERE job_id = ANY($1::uuid[]) LIMIT {cap + 1}) x)" for n in range(1, ranking.TIERS + 1)]
    tiers = ranking.TIERS

    def tier(n: int) -> str:
        return f"(SELECT found FROM t{n})"

    def count(n: int) -> str:
        return f"cardinality({tier(n)})"

    def taken(n: int) -> str:
        if n == 1:
            return tier(1)
        return f"CASE WHEN {count(n)} > {cap} AND {count(n - 1)} > 0 THEN {tier(n - 1)} ELSE {tier(n)} END"

    choice = " ".join(f"WHEN {count(n)} >= $9 THEN {taken(n)}" for n in range(1, tiers))
    score = ranking.score_sql("v", "token_count", "heading_lexemes", "q")
    return (
        "WITH q AS MATERIALIZED (SELECT"
        "   ARRAY(SELECT w::tsquery FROM unnest($4::text[]) WITH ORDINALITY AS t(w, n) ORDER BY n) AS words,"
        "   ARRAY(SELECT w::tsquery FROM unnest($5::text[]) WITH ORDINALITY AS t(w, n) ORDER BY n) AS heading_words,"
        "   ARRAY(SELECT w::tsquery FROM unnest($14::text[]) WITH ORDINALITY AS t(w, n) ORDER BY n) AS title_words,"
        "   ARRAY(SELECT w::tsquery FROM unnest($15::text[]) WITH ORDINALITY AS t(w, n) ORDER BY n) AS every_heading_word,"
        # (the constraint and `wanted` are named here too: a statement that does not read them must still type them)
        "   $6::float8[] AS idfs, $7::float8 AS total, $3::text AS must, $9::int AS wanted),"
        f" {', '.join(found)},"
        f" chosen AS MATERIALIZED (SELECT CASE {choice} ELSE {taken(tiers)} END AS found),"
        " candidate AS (SELECT job_id, page_ordinal, ordinal, token_count, heading_lexemes, search || ''::tsvector AS v"
        f"   FROM library_sections WHERE ctid = ANY((SELECT found[1:{cap}] FROM chosen)::tid[]) OFFSET 0),"
        f" top AS (SELECT job_id, page_ordinal, ordinal, {score} AS rank FROM candidate, q"
        "   ORDER BY rank DESC, job_id, page_ordinal, ordinal LIMIT $8)"
        " SELECT s.job_id, s.page_ordinal, s.ordinal, s.url, s.page_title, s.heading_path, s.token_count, top.rank,"
        f"  ts_headline('docspasta', left(s.body, {SNIPPET_SOURCE_CHARS}), $10::tsquery, $11) AS snippet"
        " FROM top JOIN library_sections s USING (job_id, page_ordinal, ordinal)"
        " ORDER BY top.rank DESC, s.job_id, s.page_ordinal, s.ordinal")


class LibraryStore:
    def __init__(self, pool: Any):
        self.pool = pool

    async def index_job(self, job_id: UUID) -> int:
        """Store the sections of a completed job's document and label its site; returns the sections stored.

        Idempotent: a job indexed twice has its sections replaced. A refresh takes the place of the
        job it refreshed: that job's sections go (the library holds a site's pages once, not once
        per refresh; its document and pages stay, and the library says which job replaced it).
        """
        job = await self.pool.fetchrow(
            "SELECT initial_url, final_markdown FROM crawl_jobs WHERE id = $1 AND status = 'completed'", job_id)
        if job is None or job["final_markdown"] is None:
            return 0
        records = await asyncio.to_thread(section_records, job_id, job["final_markdown"])
        del job  # the document (tens of MB for a big site) is not needed past here
        async with self.pool.acquire() as conn, conn.transaction():
            url = await conn.fetchval("SELECT initial_url FROM crawl_jobs WHERE id = $1 FOR UPDATE", job_id)
            await conn.execute(TERMS_GONE, job_id)
            await conn.execute("DELETE FROM library_sections WHERE job_id = $1", job_id)
            if records:
                await conn.copy_records_to_table("library_sections", records=records, columns=COLUMNS)
                await conn.execute("SELECT docspasta_mark_repeated($1)", job_id)
            await conn.execute(
                "UPDATE crawl_jobs SET site_name = coalesce(site_name, $2), library_indexed_at = now() WHERE id = $1",
                job_id, site_name(url))
            await conn.execute(TERMS_OF_JOB, job_id)
            replaced = await conn.fetchval(
                "UPDATE crawl_jobs SET library_indexed_at = NULL WHERE id = (SELECT refresh_of FROM crawl_jobs"
                " WHERE id = $1) AND library_indexed_at IS NOT NULL RETURNING id", job_id)
            if replaced is not None:
                await conn.execute(TERMS_GONE, replaced)
                await conn.execute("DELETE FROM library_sections WHERE job_id = $1", replaced)
        return len(records)

    async def backfill(self) -> int:
        """Index the completed jobs that have no sections yet (completed before the library existed)."""
        ids = await self.pool.fetch(
            "SELECT id FROM crawl_jobs j WHERE status = 'completed' AND library_indexed_at IS NULL"
            " AND final_markdown IS NOT NULL AND NOT EXISTS (SELECT 1 FROM crawl_jobs r WHERE r.refresh_of = j.id"
            " AND r.library_indexed_at IS NOT NULL) ORDER BY completed_at")
        for row in ids:
            await self.index_job(row["id"])
        return len(ids)

    async def label(self, job_id: UUID, *, site: str | None = None, version: str | None = None,
                    set_version: bool = False) -> Any:
        """Name the job's site (when `site` is given) and version (when `set_version`; None clears it).
        Returns the job's label and whether it is its site's newest completed job, searched by default;
        None for an unknown job. A job labelled before it completes keeps its label."""
        return await self.pool.fetchrow(
            "WITH labelled AS (UPDATE crawl_jobs SET site_name = coalesce($2, site_name),"
            "  site_version = CASE WHEN $4 THEN $3 ELSE site_version END WHERE id = $1"
            "  RETURNING id, status, site_name, site_version, library_indexed_at, completed_at)"
            # (the UPDATE's own row is not yet visible to a query on crawl_jobs: compare with it)
            " SELECT l.*, l.status = 'completed' AND l.library_indexed_at IS NOT NULL AND NOT EXISTS ("
            "   SELECT 1 FROM crawl_jobs o WHERE o.site_name = l.site_name AND o.id <> l.id AND o.status = 'completed'"
            "   AND o.library_indexed_at IS NOT NULL AND o.completed_at > l.completed_at) AS searched"
            " FROM labelled l", job_id, site, version, set_version)

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
                if (by := await self.replaced_by(job)) is not None:
                    raise NotInLibrary(f"job: refreshed by job {by}, which the library holds instead", field="job")
                raise NotIndexed(f"job: the job is {row['status']}; completed jobs are in the library (once indexed)",
                                 field="job")
            return row
        if site is None:
            raise NotInLibrary("site or job: name the site (see list_sites) or the job", field="site")
        row = await self.pool.fetchrow(NEWEST_PER_SITE, site)
        if row is None:
            raise NotInLibrary(f"site: no completed job of the site {site!r} (see list_sites)", field="site")
        return row

    async def replaced_by(self, job_id: UUID) -> UUID | None:
        """The refresh of `job_id` that the library holds in its place (see `index_job`), if any."""
        return await self.pool.fetchval(
            "SELECT id FROM crawl_jobs WHERE refresh_of = $1 AND library_indexed_at IS NOT NULL", job_id)

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
        """Sections ranked by relevance to `query` (spiders/library/ranking.py says how), best first.

        Two round trips: the jobs searched with the question's words' counts, then the search."""
        question = ranking.read_question(query)
        if job is not None:
            jobs = [await self.resolve(job=job)]
            start = await self.pool.fetchrow(SEARCH_START, question.words, None, True)
        else:
            start = await self.pool.fetchrow(SEARCH_START, question.words, site, False)
            jobs = [{"id": id_, "site_name": name, "site_version": version} for id_, name, version in zip(
                start["ids"], start["names"], start["versions"], strict=True)]
            if site is not None and not jobs:
                raise NotInLibrary(f"site: no completed job of the site {site!r} (see list_sites)", field="site")
        labels = {row["id"]: row for row in jobs}
        counts = dict(zip(start["words"], start["sections"], strict=True))
        terms = ranking.question_terms(counts, start["total"])
        if not labels or not terms:
            return []
        job_ids = list(labels)
        tiers = ranking.candidate_tiers(terms)
        if len(job_ids) == 1:  # the index finds the job's sections by its word
            tiers = [[f"{ranking.tsquery_word(f'@job:{job_ids[0]}')} & {query}" for query in tier] for tier in tiers]
        tiers = [[]] * (ranking.TIERS - len(tiers)) + tiers  # (the statement has ranking.TIERS tiers)
        starts, ends, at = [], [], 1
        for tier in tiers:
            starts.append(at)
            ends.append(at + len(tier) - 1)
            at += len(tier)
        words = [ranking.tsquery_word(t.word) for t in terms]
        rows = await self.pool.fetch(
            search_sql(question.constraint is not None),
            job_ids, [query for tier in tiers for query in tier], question.constraint, words,
            [ranking.tsquery_word(t.word, "A") for t in terms], [t.idf for t in terms], sum(t.idf for t in terms),
            limit, max(2 * limit, CANDIDATES_WANTED), " | ".join(words), HEADLINE, starts, ends,
            [ranking.tsquery_word(t.word, "B") for t in terms], [ranking.tsquery_word(w, "A") for w in counts])
        return [{**dict(row), "site_name": labels[row["job_id"]]["site_name"],
                 "site_version": labels[row["job_id"]]["site_version"]} for row in rows]

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
