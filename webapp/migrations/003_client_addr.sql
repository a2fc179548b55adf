-- The address (an IPv6 client's /64) that created a job: per-client rate limit and active-job cap.
ALTER TABLE crawl_jobs ADD COLUMN IF NOT EXISTS client_addr text;
CREATE INDEX IF NOT EXISTS crawl_jobs_client ON crawl_jobs (client_addr, created_at DESC);
