-- Search that reads code documentation as it is written.
-- 1. A text search configuration with English stemming and no stop words: "once", "only", "not",
--    "before" name what a section is about in docs ("Handling events only once"), and `url_for`
--    must keep its "for". The words too common to tell sections apart are left out of a question
--    by their frequency in the library (library_terms), not by a fixed list.
-- 2. Identifiers are also indexed by their parts: `path.relative` under "path" and "relative",
--    `timersPromises.setTimeout` under "timers", "promises", "set", "timeout" and "setTimeout".
--    (`snake_case` needs nothing: the parser splits it at the underscores, in order.)
-- 3. A link is indexed by its text, not its target: a URL's host and path words are not the
--    section's words.
CREATE TEXT SEARCH DICTIONARY docspasta_stem (TEMPLATE = snowball, Language = english);
CREATE TEXT SEARCH CONFIGURATION docspasta (COPY = pg_catalog.english);
ALTER TEXT SEARCH CONFIGURATION docspasta
    ALTER MAPPING FOR asciiword, asciihword, hword_asciipart, word, hword, hword_part WITH docspasta_stem;

-- The parts of the identifiers in `text` (dotted names and camelCase), as words.
CREATE FUNCTION docspasta_identifier_words(text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(string_agg(
               CASE WHEN m[1] ~ '[.#:]' THEN regexp_replace(m[1], '[.#:]+', ' ', 'g') ELSE '' END || ' ' ||
               CASE WHEN m[1] ~ '[a-z0-9][A-Z]'
                    THEN regexp_replace(regexp_replace(m[1], '[.#:]+', ' ', 'g'), '([a-z0-9])([A-Z])', '\1 \2', 'g')
                    ELSE '' END, ' '), '')
    FROM regexp_matches($1, '([A-Za-z_$][A-Za-z0-9_$]*(?:(?:\.|::|#)[A-Za-z_$][A-Za-z0-9_$]*)+'
                            '|[A-Za-z][a-z0-9]+[A-Z][A-Za-z0-9]*)', 'g') AS m
$$;

-- Markdown as it reads: links and images reduced to their text.
CREATE FUNCTION docspasta_prose(text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT regexp_replace($1, '\]\([^)\s]*(\s+"[^"]*")?\)', '] ', 'g')
$$;

-- The section's own heading weighs most (A), then the page title and the headings above it (B),
-- then its text (D). Re-adding the column recomputes it for the sections already stored.
ALTER TABLE library_sections DROP COLUMN search;
-- (the default compression: lz4 would decompress faster, but PostgreSQL builds without it, such as
-- the embedded pgserver one, refuse the column)
ALTER TABLE library_sections ADD COLUMN search tsvector GENERATED ALWAYS AS (
       setweight(to_tsvector('docspasta', heading || ' ' || docspasta_identifier_words(heading)), 'A')
    || setweight(to_tsvector('docspasta', headings || ' ' || docspasta_identifier_words(headings)), 'B')
    || setweight(to_tsvector('docspasta', docspasta_prose(body) || ' '
                                          || docspasta_identifier_words(docspasta_prose(body))), 'D')
    -- the job as a word of its own: a search within one job finds its sections in the index,
    -- instead of every job's matches for the question's words (library_terms leaves it out)
    || array_to_tsvector(ARRAY['@job:' || job_id::text])) STORED;
-- Without the pending list: every search would read it whole until a vacuum merges it (a job's
-- sections arrive in one COPY), and searches far outnumber the jobs indexed.
CREATE INDEX library_sections_search ON library_sections USING gin (search) WITH (fastupdate = off);

-- The words changed with the configuration: count them again. The empty word (never a lexeme)
-- holds the number of sections, the N of the words' inverse document frequency.
TRUNCATE library_terms;
INSERT INTO library_terms (word, sections)
    SELECT word, ndoc FROM ts_stat('SELECT search FROM library_sections') WHERE word NOT LIKE '@job:%';
INSERT INTO library_terms (word, sections) SELECT '', count(*) FROM library_sections;
