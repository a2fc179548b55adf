-- The controls a job runs with (issue 15): a token budget for its document, path globs its
-- crawl follows or never follows, and how many request headers and cookies of its own it sent.
ALTER TABLE crawl_jobs ADD COLUMN IF NOT EXISTS token_budget integer CHECK (token_budget > 0);
ALTER TABLE crawl_jobs ADD COLUMN IF NOT EXISTS include_patterns text[] NOT NULL DEFAULT '{}';
ALTER TABLE crawl_jobs ADD COLUMN IF NOT EXISTS exclude_patterns text[] NOT NULL DEFAULT '{}';
-- Only how many: the names and values are secrets, kept in job_secrets while the job runs.
ALTER TABLE crawl_jobs ADD COLUMN IF NOT EXISTS private_headers smallint NOT NULL DEFAULT 0;
ALTER TABLE crawl_jobs ADD COLUMN IF NOT EXISTS private_cookies smallint NOT NULL DEFAULT 0;

-- A private job's request headers and cookies ([[name, value], ...]), apart from its settings:
-- read only by the crawl that runs it, and deleted in the statement that ends the job.
CREATE TABLE IF NOT EXISTS job_secrets (
    job_id   uuid PRIMARY KEY REFERENCES crawl_jobs (id) ON DELETE CASCADE,
    headers  jsonb NOT NULL DEFAULT '[]',
    cookies  jsonb NOT NULL DEFAULT '[]'
);

-- The job page of a large job (bench/job_page.py: 10,000 pages, under 300 ms; a filter under 100 ms).
-- Its list, newest first under a fate, is read in this index's order, LIMIT rows at a time, instead of
-- sorting every row of the job (the old partial index could not serve NULLS LAST, id).
DROP INDEX IF EXISTS job_urls_log;
CREATE INDEX IF NOT EXISTS job_urls_finished ON job_urls (job_id, finished_at DESC NULLS LAST, id DESC);
-- The few pages assembly left out, among thousands included: their own small index, in the same order.
CREATE INDEX IF NOT EXISTS job_urls_left_out ON job_urls (job_id, finished_at DESC NULLS LAST, id DESC)
    WHERE status = 'completed' AND included IS FALSE;
-- A page's Markdown (kilobytes) is moved out of the row once the row passes 1 KB, not 2 KB: the rows
-- that counts and lists scan are then a few hundred bytes, six times fewer heap pages for a job
-- (3.8 MB instead of 41 MB for 10,000 pages). Rows written from now on.
ALTER TABLE job_urls SET (toast_tuple_target = 1024);
-- An ended job's URLs no longer change: how many each fate has is counted once, when the job ends
-- (and again when a partial document's verdicts are stored), not on every view of its page.
ALTER TABLE crawl_jobs ADD COLUMN IF NOT EXISTS fate_counts jsonb;
