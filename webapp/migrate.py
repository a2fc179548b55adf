"""Versioned SQL migrations, applied in order at start-up.

Files are `migrations/NNN_name.sql`; each runs once, in one transaction, and is
recorded in `schema_migrations`. A transaction-level advisory lock makes two
processes that start at once take turns: the second finds the work done.
"""
from __future__ import annotations

import re
from pathlib import Path

import asyncpg

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
_LOCK_KEY = 0x646F6373  # "docs": any constant shared by every DocsPasta process
_NAME = re.compile(r"^(\d+)_[\w-]+\.sql$")


def available() -> list[tuple[int, str, str]]:
    """(version, name, sql) of every migration file, in version order."""
    found = []
    for path in MIGRATIONS_DIR.iterdir():
        if match := _NAME.match(path.name):
            found.append((int(match.group(1)), path.name, path.read_text(encoding="utf-8")))
    found.sort()
    versions = [version for version, _, _ in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"two migrations share a version number in {MIGRATIONS_DIR}")
    return found


async def migrate(conn: asyncpg.Connection) -> list[str]:
    """Apply the pending migrations; returns the names applied (empty when up to date)."""
    applied_now = []
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {row["version"] for row in await conn.fetch("SELECT version FROM schema_migrations")}
        for version, name, sql in available():
            if version in done:
                continue
            await conn.execute(sql)
            await conn.execute("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", version, name)
            applied_now.append(name)
    return applied_now


async def migrate_url(database_url: str) -> list[str]:
    conn = await asyncpg.connect(database_url)
    try:
        return await migrate(conn)
    finally:
        await conn.close()
