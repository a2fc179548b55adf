"""The machine's PostgreSQL and Redis are shared: the suite checks it left them as it found them.

Tests make databases and key prefixes of their own on these servers, and never stop, restart or
reconfigure them (a fault test runs servers of its own: tests/web/server.py). The fixture
`shared_services_untouched` (autouse, for the whole session; tests/conftest.py takes it in)
notes each server's process at the start and fails the session if another one answers at the
end, or none does. A server that does not answer at the start is not checked.

Also a pytest plugin (`-p tests.shared_services`), so the check itself can be tested on servers
of a test's own (tests/test_shared_services.py).
"""
from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path

import pytest

ADMIN_URL = os.environ.get("DOCSPASTA_TEST_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("DOCSPASTA_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def postgres_process(admin_url: str) -> str | None:
    """"pid N, up since T" for the postmaster behind `admin_url`; None if it does not answer.

    A backend's pid changes with each connection; the postmaster's start time only with a restart.
    The pid comes from postmaster.pid in the data directory, where this user may read it.
    """
    import asyncpg

    async def ask() -> tuple[str, str]:
        conn = await asyncpg.connect(admin_url, timeout=5)
        try:
            started = await conn.fetchval("SELECT pg_postmaster_start_time()::text")
            data_dir = await conn.fetchval("SELECT setting FROM pg_settings WHERE name = 'data_directory'")
            return started, data_dir or ""
        finally:
            await conn.close()

    result: dict[str, object] = {}

    def run() -> None:  # a thread of its own: the test thread's loop may belong to the reactor
        try:
            result["value"] = asyncio.run(ask())
        except (OSError, asyncio.TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            result["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    if "value" not in result:
        return None
    started, data_dir = result["value"]  # type: ignore[misc]
    try:
        pid = (Path(data_dir) / "postmaster.pid").read_text().split("\n", 1)[0]
    except OSError:
        pid = "unknown"
    return f"pid {pid}, up since {started}"


def redis_process(redis_url: str) -> str | None:
    """"pid N, run_id R" for the redis-server behind `redis_url`; None if it does not answer."""
    import redis

    client = redis.Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=5)
    try:
        info = client.info("server")
    except redis.RedisError:
        return None
    finally:
        client.close()
    return f"pid {info['process_id']}, run_id {info['run_id']}"


def shared_processes() -> dict[str, str | None]:
    return {f"PostgreSQL ({ADMIN_URL})": postgres_process(ADMIN_URL), f"Redis ({REDIS_URL})": redis_process(REDIS_URL)}


def changes(before: dict[str, str | None], after: dict[str, str | None]) -> list[str]:
    return [f"{name}: {was} before the tests, {after[name] or 'not answering'} after"
            for name, was in before.items() if was is not None and after[name] != was]


@pytest.fixture(scope="session", autouse=True)
def shared_services_untouched():
    before = shared_processes()
    yield
    changed = changes(before, shared_processes())
    if changed:
        pytest.fail("the tests stopped or restarted the machine's shared servers (a test must run its own "
                    "for that): " + "; ".join(changed), pytrace=False)
