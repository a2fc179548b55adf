-- What a job stores most of, its pages' Markdown and extraction fields and its document, compressed
-- with lz4 instead of PostgreSQL's default pglz where the server is built with lz4 (Debian's is;
-- the embedded pgserver is not, and keeps pglz): for a 500-page job about half the CPU its server
-- spent compressing the pages it stored and the document, and decompressing them to finalize.
-- Values already stored keep their compression; new values take the column's.
DO $$
BEGIN
    ALTER TABLE job_urls ALTER COLUMN markdown SET COMPRESSION lz4, ALTER COLUMN extra SET COMPRESSION lz4;
    ALTER TABLE crawl_jobs ALTER COLUMN final_markdown SET COMPRESSION lz4, ALTER COLUMN llms_txt SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'this PostgreSQL has no lz4: job pages and documents stay compressed with pglz';
END
$$;
