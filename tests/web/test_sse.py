"""SSE semantics, with events written by hand (crawls off): snapshot, exact resume, trimming, lost streams.

Streams through the test client must end by themselves (the client buffers the
whole response), so live behaviour is tested on the generator itself.
"""
from __future__ import annotations

import asyncio
import json
import re
import uuid

from redis.asyncio import Redis

from spiders.jobs.events import Event, stream_key
from tests.web.conftest import REDIS_URL, read_stream, run_async, sql
from webapp.views import sse


def new_job(api, site) -> str:
    return api.post("/api/v3/jobs", json={"url": site.url("/docs/")}).json()["data"]["jobId"]


def publish(redis_client, prefix, job_id, event_type, maxlen=None, **data) -> str:
    fields = Event(event_type, data).to_redis()
    entry = redis_client.xadd(stream_key(prefix, job_id), fields, maxlen=maxlen, approximate=False)
    return entry.decode()


def set_status(database_url, job_id, status):
    sql(database_url, "UPDATE crawl_jobs SET status = $2, current_step = 'done' WHERE id = $1",
        uuid.UUID(job_id), status)


def payloads(messages):
    return [json.loads(message["data"]) for message in messages]


def test_resume_with_last_event_id_gives_exactly_the_events_after_it(api, api_site, redis_client, redis_prefix):
    job_id = new_job(api, api_site)
    ids = [publish(redis_client, redis_prefix, job_id, "url_completed", url=f"u{n}") for n in range(5)]
    ids.append(publish(redis_client, redis_prefix, job_id, "job_completed"))
    url = f"/api/v3/jobs/{job_id}/stream"
    for cut in range(len(ids) - 1):
        messages = read_stream(api, url, last_event_id=ids[cut])
        assert [m["id"] for m in messages] == ids[cut + 1:]
        assert payloads(messages)[-1]["type"] == "job_completed"
        assert all(p["type"] != "snapshot" for p in payloads(messages))


def test_without_last_event_id_a_finished_job_streams_a_snapshot_then_its_terminal_event(
        api, api_site, redis_client, redis_prefix, database_url):
    job_id = new_job(api, api_site)
    newest = publish(redis_client, redis_prefix, job_id, "url_completed", url="u")
    set_status(database_url, job_id, "completed")
    messages = read_stream(api, f"/api/v3/jobs/{job_id}/stream")
    kinds = [p["type"] for p in payloads(messages)]
    assert kinds == ["snapshot", "job_completed"]
    assert messages[0]["id"] == newest, "a snapshot's id is where a resume would start"
    assert payloads(messages)[0]["job"]["status"] == "completed"


def test_an_impossible_last_event_id_gets_a_snapshot(api, api_site, redis_client, redis_prefix, database_url):
    job_id = new_job(api, api_site)
    publish(redis_client, redis_prefix, job_id, "job_completed")
    set_status(database_url, job_id, "completed")
    for bad in ("99999999999999999999-1", "abc", "1-2-3", "-1"):
        messages = read_stream(api, f"/api/v3/jobs/{job_id}/stream", last_event_id=bad)
        assert [p["type"] for p in payloads(messages)][0] == "snapshot", bad


def test_a_client_whose_last_event_was_trimmed_away_gets_a_snapshot(api, api_site, redis_client, redis_prefix,
                                                                      database_url):
    job_id = new_job(api, api_site)
    first = publish(redis_client, redis_prefix, job_id, "url_completed", url="u0")
    for n in range(1, 6):
        publish(redis_client, redis_prefix, job_id, "url_completed", maxlen=3, url=f"u{n}")
    set_status(database_url, job_id, "cancelled")
    messages = read_stream(api, f"/api/v3/jobs/{job_id}/stream", last_event_id=first)
    assert [p["type"] for p in payloads(messages)] == ["snapshot", "job_cancelled"]


def test_when_redis_lost_the_stream_the_database_ends_it(api, api_site, redis_client, redis_prefix, database_url):
    job_id = new_job(api, api_site)
    seen = publish(redis_client, redis_prefix, job_id, "url_completed", url="u0")
    redis_client.delete(stream_key(redis_prefix, job_id))
    set_status(database_url, job_id, "failed")
    messages = read_stream(api, f"/api/v3/jobs/{job_id}/stream", last_event_id=seen)
    assert [p["type"] for p in payloads(messages)] == ["snapshot", "job_failed"]


def test_the_page_stream_sends_whole_state_fragments_named_progress_then_done(
        api, api_site, redis_client, redis_prefix, database_url):
    job_id = new_job(api, api_site)
    first = publish(redis_client, redis_prefix, job_id, "discovery_started")
    publish(redis_client, redis_prefix, job_id, "url_completed", url="u0")
    last = publish(redis_client, redis_prefix, job_id, "job_cancelled")
    set_status(database_url, job_id, "cancelled")
    messages = read_stream(api, f"/jobs/{job_id}/events", last_event_id=first)
    # the list of pages under the page's filter, the outline, then the state, which closes the stream and carries the id
    assert [m["event"] for m in messages] == ["pages", "outline", "done"]
    assert "id" not in messages[0] and "id" not in messages[1] and messages[2]["id"] == last
    assert 'data-status="cancelled"' in messages[2]["data"] and 'id="fate-fetched"' in messages[0]["data"]
    assert 'id="outline-summary"' in messages[1]["data"]
    assert "<script" not in "".join(m["data"] for m in messages)


def generator_run(settings, database_url, job_id: str, script):
    """Drive sse.job_events on a loop of its own; `script(events, publish)` does the talking."""

    async def main():
        import asyncpg

        from spiders.jobs.store import JobStore

        pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
        redis = Redis.from_url(REDIS_URL)
        try:
            store = JobStore(pool)

            async def publish_async(event_type, **data):
                return (await redis.xadd(stream_key(settings.redis_prefix, job_id),
                                         Event(event_type, data).to_redis())).decode()

            def events(last_event_id=None):
                return sse.job_events(store.get, redis, settings.redis_prefix, uuid.UUID(job_id),
                                      last_event_id, block_ms=100)

            return await asyncio.wait_for(script(events, publish_async, store), 20)
        finally:
            await redis.aclose()
            await pool.close()

    return run_async(main())


def test_a_live_stream_starts_with_a_snapshot_and_delivers_events_in_order_until_the_terminal_one(
        api, api_site, settings, database_url):
    job_id = new_job(api, api_site)

    async def script(events, publish, store):
        before = await publish("discovery_started")
        stream = events()
        (snapshot,) = await anext(stream)
        assert (snapshot.type, snapshot.id) == ("snapshot", before)
        sent = [await publish("url_completed", url=f"u{n}") for n in range(3)]
        sent.append(await publish("job_completed"))
        received = []
        async for batch in stream:
            received += [event.id for event in batch]
        return sent, received

    sent, received = generator_run(settings, database_url, job_id, script)
    assert received == sent


def test_a_quiet_stream_sends_keepalives_and_ends_when_the_database_says_the_job_ended(
        api, api_site, settings, database_url):
    job_id = new_job(api, api_site)

    async def script(events, publish, store):
        stream = events("not-an-id")  # unusable Last-Event-ID: snapshot
        (snapshot,) = await anext(stream)
        assert snapshot.type == "snapshot" and snapshot.id is None  # empty stream: no id to resume from
        assert await anext(stream) == []  # nothing for block_ms: keepalive
        await store.pool.execute("UPDATE crawl_jobs SET status = 'failed' WHERE id = $1", uuid.UUID(job_id))
        rest = [event.type async for batch in stream for event in batch]
        return rest

    assert generator_run(settings, database_url, job_id, script)[-1] == "job_failed"


def test_while_redis_is_down_the_stream_follows_postgresql(api, api_site, settings, database_url):
    job_id = new_job(api, api_site)

    async def main():
        import asyncpg

        from spiders.jobs.store import JobStore

        pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
        dead = Redis.from_url("redis://127.0.0.1:1", socket_connect_timeout=1)  # nothing listens there
        try:
            store = JobStore(pool)
            stream = sse.job_events(store.get, dead, settings.redis_prefix, uuid.UUID(job_id), "1-0",
                                    fallback_interval=0.01)
            (snapshot,) = await anext(stream)
            assert snapshot.type == "snapshot" and snapshot.data["job"]["status"] == "pending"
            assert await anext(stream) == [], "nothing changed: a keepalive"
            await pool.execute("UPDATE crawl_jobs SET status = 'completed', updated_at = now() WHERE id = $1",
                               uuid.UUID(job_id))
            rest = [event.type async for batch in stream for event in batch]
            return rest
        finally:
            await dead.aclose()
            await pool.close()

    assert run_async(asyncio.wait_for(main(), 20)) == ["snapshot", "job_completed"]


def parse_sse_bytes(raw: bytes) -> list[dict[str, str]]:
    """Messages as the SSE specification parses them: lines end at CRLF, CR or LF only
    (not at the other characters str.splitlines() and httpx's line reader split on)."""
    messages, current = [], {}
    for line in re.split(r"\r\n|\r|\n", raw.decode("utf-8")):
        if line == "":
            if "data" in current:
                messages.append(current)
            current = {}
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "data":
            current["data"] = current["data"] + "\n" + value if "data" in current else value
        elif name in ("id", "event"):
            current[name] = value
    return messages


def test_page_fragments_keep_characters_that_are_not_sse_line_ends(
        api, api_site, redis_client, redis_prefix, database_url):
    # Crawled text (an error, a title, a document) may hold any of these: SSE ends
    # lines only at CR and LF, so each must reach the browser unchanged.
    unusual = "a\u2028b\u2029c\x1cd\x1de\x1ef\x85g\x0bh\x0ci"
    job_id = new_job(api, api_site)
    first = publish(redis_client, redis_prefix, job_id, "discovery_started")
    publish(redis_client, redis_prefix, job_id, "job_failed")
    sql(database_url, "UPDATE crawl_jobs SET status = 'failed', current_step = 'done', error_details = $2"
        " WHERE id = $1", uuid.UUID(job_id), f"the crawl stopped: {unusual}")
    with api.stream("GET", f"/jobs/{job_id}/events", headers={"Last-Event-ID": first}) as response:
        assert response.status_code == 200
        raw = response.read()
    messages = parse_sse_bytes(raw)
    assert [m["event"] for m in messages] == ["pages", "outline", "done"]
    assert f"the crawl stopped: {unusual}" in messages[2]["data"]
