-- Refresh: a job can re-crawl a completed one (`refresh_of`) with conditional requests.
-- A refresh carries its site's label from creation on: the database lets one refresh of a
-- site be pending or running at a time, whichever process (the API, the cron endpoint, a
-- worker's schedule) starts it.
ALTER TABLE crawl_jobs ADD COLUMN IF NOT EXISTS refresh_of uuid REFERENCES crawl_jobs (id) ON DELETE SET NULL;
ALTER TABLE crawl_jobs ADD CONSTRAINT crawl_jobs_refresh_has_site CHECK (refresh_of IS NULL OR site_name IS NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS crawl_jobs_one_refresh_per_site ON crawl_jobs (site_name)
    WHERE refresh_of IS NOT NULL AND status IN ('pending', 'running');
-- a site's latest job, whatever its state: when its next scheduled refresh is due
CREATE INDEX IF NOT EXISTS crawl_jobs_site_created ON crawl_jobs (site_name, created_at DESC);

-- What a page was served with, for the next refresh's conditional requests (rendered pages
-- keep none: their plain HTML says nothing of what scripts load), and the hash of its
-- extracted Markdown, which decides whether it changed.
ALTER TABLE job_urls ADD COLUMN IF NOT EXISTS etag text;
ALTER TABLE job_urls ADD COLUMN IF NOT EXISTS last_modified text;
ALTER TABLE job_urls ADD COLUMN IF NOT EXISTS content_hash text;
-- An unchanged page is not stored twice: its row names the row that holds its Markdown
-- (same hash) and, when the server answered 304, its other extraction fields (`extra`:
-- links, table of contents, ...) too. Always the holder itself, never a chain. RESTRICT: the
-- rows of a job that a later refresh reads from cannot go while that refresh stays.
ALTER TABLE job_urls ADD COLUMN IF NOT EXISTS markdown_from bigint REFERENCES job_urls (id) ON DELETE RESTRICT;
ALTER TABLE job_urls ADD COLUMN IF NOT EXISTS extra_from bigint REFERENCES job_urls (id) ON DELETE RESTRICT;
CREATE INDEX IF NOT EXISTS job_urls_markdown_from ON job_urls (markdown_from) WHERE markdown_from IS NOT NULL;
CREATE INDEX IF NOT EXISTS job_urls_extra_from ON job_urls (extra_from) WHERE extra_from IS NOT NULL;

-- Scheduled refresh: a site (its label's name) refreshed every `every`, counted from its latest job.
CREATE TABLE IF NOT EXISTS refresh_schedules (
    site_name   text PRIMARY KEY,
    every       interval NOT NULL CHECK (every >= interval '1 hour'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
