"""A job's pages and document are stored lz4-compressed where PostgreSQL has lz4 (migration 011)."""
from __future__ import annotations

import uuid

import asyncpg

from tests.web.conftest import fresh_database, run_async
from webapp.migrate import migrate


async def _stored_compression(database_url: str) -> tuple[bool, dict[str, str]]:
    conn = await asyncpg.connect(database_url)
    try:
        await migrate(conn)
        has_lz4 = await conn.fetchval(
            "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'")
        job = uuid.uuid4()
        text = "Each page of the documentation explains one function, with an example. " * 200
        await conn.execute("INSERT INTO crawl_jobs (id, status, current_step, initial_url, max_pages, max_depth,"
                           " quality_threshold) VALUES ($1, 'completed', 'done', 'http://docs.test/', 5, 1, 20)", job)
        await conn.execute("UPDATE crawl_jobs SET final_markdown = $2, llms_txt = $2 WHERE id = $1", job, text)
        await conn.execute("INSERT INTO job_urls (job_id, url, normalized_url, status, markdown, extra) VALUES"
                           " ($1, 'http://docs.test/a', 'http://docs.test/a', 'completed', $2,"
                           " jsonb_build_object('links', $2::text))", job, text)
        row = await conn.fetchrow(
            "SELECT pg_column_compression(j.final_markdown) AS document, pg_column_compression(j.llms_txt) AS llms,"
            " pg_column_compression(u.markdown) AS page, pg_column_compression(u.extra) AS extra"
            " FROM crawl_jobs j JOIN job_urls u ON u.job_id = j.id WHERE j.id = $1", job)
        return has_lz4, dict(row)
    finally:
        await conn.close()


def test_pages_and_documents_are_compressed_with_lz4_where_postgres_has_it():
    for database_url in fresh_database():
        has_lz4, stored = run_async(_stored_compression(database_url))
    assert set(stored.values()) == ({"lz4"} if has_lz4 else {"pglz"}), stored
