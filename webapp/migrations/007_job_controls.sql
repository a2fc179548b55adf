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
