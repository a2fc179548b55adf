-- The progress a client has been shown (0-100): it only goes up, and is 100 only once the
-- job has completed. What a job expects to fetch grows as pages reveal links, so a ratio
-- recomputed on every change could move the bar back; this column keeps the highest value.
ALTER TABLE crawl_jobs ADD COLUMN IF NOT EXISTS progress smallint NOT NULL DEFAULT 0
    CHECK (progress BETWEEN 0 AND 100);
UPDATE crawl_jobs SET progress = 100 WHERE status = 'completed';
UPDATE crawl_jobs SET progress = least(99, 100 * (processed_urls + failed_urls + skipped_urls) / total_urls)
    WHERE status <> 'completed' AND total_urls > 0;
