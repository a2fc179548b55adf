-- Jobs and their URLs: the source of truth, and the crawl frontier (job_urls).
CREATE TABLE crawl_jobs (
    id                uuid PRIMARY KEY,
    status            text NOT NULL DEFAULT 'pending'
                      CHECK (status IN ('pending', 'running', 'completed', 'failed', 'cancelled')),
    current_step      text NOT NULL DEFAULT 'init'
                      CHECK (current_step IN ('init', 'discovery', 'processing', 'finalizing', 'done')),
    initial_url       text NOT NULL,
    max_pages         integer NOT NULL CHECK (max_pages >= 1),
    max_depth         integer NOT NULL CHECK (max_depth >= 0),
    quality_threshold integer NOT NULL CHECK (quality_threshold BETWEEN 0 AND 100),
    scope             text NOT NULL DEFAULT 'prefix',
    -- counters, changed only in the statement that changes the URL they count
    total_urls        integer NOT NULL DEFAULT 0,
    processed_urls    integer NOT NULL DEFAULT 0,
    failed_urls       integer NOT NULL DEFAULT 0,
    skipped_urls      integer NOT NULL DEFAULT 0,
    discovered_urls   integer NOT NULL DEFAULT 0,
    error_details     text,
    close_reason      text,
    final_markdown    text,
    final_token_count integer,
    llms_txt          text,
    -- the worker that holds the job ("Durable jobs")
    lease_owner       text,
    lease_expires_at  timestamptz,
    heartbeat_at      timestamptz,
    cancel_requested_at timestamptz,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    started_at        timestamptz,
    completed_at      timestamptz
);
CREATE INDEX crawl_jobs_created_at ON crawl_jobs (created_at DESC);
CREATE INDEX crawl_jobs_active ON crawl_jobs (status) WHERE status IN ('pending', 'running');

CREATE TABLE job_urls (
    id                    bigserial PRIMARY KEY,
    job_id                uuid NOT NULL REFERENCES crawl_jobs (id) ON DELETE CASCADE,
    url                   text NOT NULL,
    normalized_url        text NOT NULL,
    status                text NOT NULL DEFAULT 'pending'
                          CHECK (status IN ('pending', 'processing', 'completed', 'failed', 'skipped')),
    depth                 integer NOT NULL DEFAULT 0,
    discovered_from       text,
    retry_count           integer NOT NULL DEFAULT 0,
    last_attempt_at       timestamptz,
    processing_started_at timestamptz,
    finished_at           timestamptz,
    error_message         text,
    -- the page result (the spider's item fields)
    final_url             text,
    http_status           integer,
    title                 text,
    markdown              text,
    quality               integer,
    quality_reasons       jsonb NOT NULL DEFAULT '[]',
    word_count            integer,
    token_count           integer,
    fetched_at            text,
    extra                 jsonb NOT NULL DEFAULT '{}',  -- item fields added later (e.g. toc_links)
    -- set when the document is assembled
    included              boolean,
    drop_reason           text,
    created_at            timestamptz NOT NULL DEFAULT now(),
    UNIQUE (job_id, normalized_url)
);
CREATE INDEX job_urls_frontier ON job_urls (job_id, status, depth);
CREATE INDEX job_urls_log ON job_urls (job_id, finished_at DESC) WHERE finished_at IS NOT NULL;
