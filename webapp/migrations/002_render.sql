-- A job's JavaScript-rendering mode (spider argument `render`: auto | always | never).
ALTER TABLE crawl_jobs ADD COLUMN render text NOT NULL DEFAULT 'auto'
    CHECK (render IN ('auto', 'always', 'never'));
