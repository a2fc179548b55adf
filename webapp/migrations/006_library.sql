-- The library: each completed job's document split into sections, searched with PostgreSQL full-text search.
-- A site label names the jobs of one site; the newest completed job of a site is the one searched by default.
ALTER TABLE crawl_jobs ADD COLUMN IF NOT EXISTS site_name text;
ALTER TABLE crawl_jobs ADD COLUMN IF NOT EXISTS site_version text;
-- set once the job's sections are stored; completed jobs without it are indexed at start-up (the backfill)
ALTER TABLE crawl_jobs ADD COLUMN IF NOT EXISTS library_indexed_at timestamptz;
CREATE INDEX IF NOT EXISTS crawl_jobs_library ON crawl_jobs (site_name, completed_at DESC)
    WHERE status = 'completed' AND library_indexed_at IS NOT NULL;

CREATE TABLE IF NOT EXISTS library_sections (
    job_id        uuid NOT NULL REFERENCES crawl_jobs (id) ON DELETE CASCADE,
    page_ordinal  integer NOT NULL,  -- the page's place in the document
    ordinal       integer NOT NULL,  -- the section's place in its page
    url           text NOT NULL,
    page_title    text NOT NULL,
    heading_path  text[] NOT NULL,   -- page title first, this section's heading last
    heading       text NOT NULL,     -- this section's own heading (the page title for the page's lead)
    headings      text NOT NULL,     -- the page title and the headings above this section, as text
    level         integer NOT NULL,
    body          text NOT NULL,
    token_count   integer NOT NULL,
    -- a hit in the section's own heading weighs most (A), then in the page title and the headings
    -- above it (B), then in its text (D): the title of a page is shared by all its sections, so it
    -- cannot tell them apart
    search        tsvector GENERATED ALWAYS AS (
                      setweight(to_tsvector('english', heading), 'A')
                      || setweight(to_tsvector('english', headings), 'B')
                      || setweight(to_tsvector('english', body), 'D')) STORED,
    PRIMARY KEY (job_id, page_ordinal, ordinal)
);
CREATE INDEX IF NOT EXISTS library_sections_search ON library_sections USING gin (search);
CREATE INDEX IF NOT EXISTS library_sections_page ON library_sections (job_id, url);

-- How many sections hold each word (summed over jobs as they are indexed): a search that finds nothing
-- with every word drops the commonest words first. Approximate by design (re-indexing adds again):
-- only the words' order of frequency is used.
CREATE TABLE IF NOT EXISTS library_terms (
    word      text PRIMARY KEY,
    sections  bigint NOT NULL
);
