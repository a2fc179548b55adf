-- Search that stays fast in a big library, and a document's repeated sections searched once.

-- 1. A section's tsvector lives in its row (compressed; out of line only when the row would not fit
--    a page): ranking reads the vector of every candidate, and fetching it from the TOAST table
--    (an index lookup and its chunks per candidate) cost more than the ranking. The table rewrite
--    of the column added below moves the vectors stored so far.
ALTER TABLE library_sections ALTER COLUMN search SET STORAGE MAIN;

-- 2. Whether another section of the same document holds this section's text (a compilation page
--    such as Node.js's api/all.html repeats every page; pages share a block): the repeats are left
--    out of the search index and the word counts, so a search finds the text once, in the smallest
--    page that holds it (a compilation holds more than any page it copies).
ALTER TABLE library_sections ADD COLUMN repeated boolean NOT NULL DEFAULT false;

-- 3. How many lexemes the section's own heading has: a heading all of whose words the question
--    says ("Event: 'line'" for "readline event for each line of input") names what it asks.
ALTER TABLE library_sections ADD COLUMN heading_lexemes smallint GENERATED ALWAYS AS (
    length(to_tsvector('docspasta', heading || ' ' || docspasta_identifier_words(heading)))) STORED;

-- A section as it reads: its heading, then its text whatever the heading's level and the links'
-- targets (a compilation nests the pages it copies a level deeper and points their links at itself).
-- A page's lead has no heading line: its heading is the page's title, as in a compilation's copy.
CREATE FUNCTION docspasta_section_key(heading text, body text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT md5(heading || ' ' || btrim(regexp_replace(
        docspasta_prose(regexp_replace(body, '^#{1,6}[ \t]+[^\n]*', '')), '\s+', ' ', 'g')))
$$;

-- Mark the job's repeated sections (see 2); returns how many sections changed.
CREATE FUNCTION docspasta_mark_repeated(job uuid) RETURNS bigint LANGUAGE sql AS $$
    WITH keyed AS (
        SELECT page_ordinal, ordinal, docspasta_section_key(heading, body) AS key,
               sum(token_count) OVER (PARTITION BY page_ordinal) AS page_tokens
        FROM library_sections WHERE job_id = job),
    ranked AS (
        SELECT page_ordinal, ordinal,
               row_number() OVER (PARTITION BY key ORDER BY page_tokens, page_ordinal, ordinal) > 1 AS repeated
        FROM keyed),
    marked AS (
        UPDATE library_sections s SET repeated = r.repeated FROM ranked r
        WHERE s.job_id = job AND s.page_ordinal = r.page_ordinal AND s.ordinal = r.ordinal
          AND s.repeated <> r.repeated
        RETURNING 1)
    SELECT count(*) FROM marked
$$;
SELECT docspasta_mark_repeated(id) FROM crawl_jobs WHERE library_indexed_at IS NOT NULL;

DROP INDEX library_sections_search;
CREATE INDEX library_sections_search ON library_sections USING gin (search) WITH (fastupdate = off)
    WHERE NOT repeated;

-- The words' counts describe the sections searched: count them again without the repeats.
TRUNCATE library_terms;
INSERT INTO library_terms (word, sections)
    SELECT word, ndoc FROM ts_stat('SELECT search FROM library_sections WHERE NOT repeated')
    WHERE word NOT LIKE '@job:%';
INSERT INTO library_terms (word, sections) SELECT '', count(*) FROM library_sections WHERE NOT repeated;
