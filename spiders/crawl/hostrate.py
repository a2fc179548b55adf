"""One request rate per target host for every worker of a deployment, kept in Redis.

Each host has one key, `<prefix>hostrate:<host>`, holding the next free turn (in
Redis server time, microseconds): a GCRA with no burst, so requests to a host are
at least 1/rate seconds apart whichever process sends them. One Lua script
reserves a turn atomically and returns how long the caller waits for it; server
time means the workers' clocks need not agree.

Redis is not on the correctness path: when it errors, `reserve` answers None and
the caller falls back to its own process's cap. The outage is logged once, then
Redis is tried again at most every `retry_after` seconds.
Settings read (through HostCapMiddleware): DOCSPASTA_REDIS_URL, DOCSPASTA_REDIS_PREFIX.
"""
from __future__ import annotations

import logging
import time
from typing import Any

logger = logging.getLogger(__name__)

# KEYS[1]: the host's key. ARGV[1]: microseconds between two requests to the host;
# ARGV[2]: microseconds from now before which the caller cannot go (turns it took on its
# own while Redis was down), so every later turn comes after those.
# Returns the microseconds until the caller's turn (0: go now).
RESERVE_TURN = """
local interval = tonumber(ARGV[1])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local earliest = now + tonumber(ARGV[2])
local turn = tonumber(redis.call('GET', KEYS[1]) or now)
if turn < earliest then turn = earliest end
local after = turn + interval
redis.call('SET', KEYS[1], string.format('%d', after), 'PX', math.ceil((after - now) / 1000) + 1000)
return turn - now
"""


def host_rate_key(prefix: str, host: str) -> str:
    return f"{prefix}hostrate:{host}"


def connect_rate_redis(url: str, timeout: float) -> Any:
    """A client that fails fast: redis-py would otherwise retry a dead server ten times
    with backoff, stalling every request to the host instead of falling back."""
    from redis.asyncio import Redis
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    return Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout, retry=Retry(NoBackoff(), 0))


class SharedHostRate:
    """Turns for each target host, shared through Redis by every process using the same prefix.

    One per process and configuration (politeness.host_caps); each crawl using it
    calls `open` when it starts and `close` when it ends, and the last one out
    closes the Redis client.
    """

    def __init__(self, redis_url: str, prefix: str, rate: float, *, timeout: float = 1.0,
                 retry_after: float = 1.0):
        self.redis_url = redis_url
        self.prefix = prefix
        self.interval_us = round(1_000_000 / rate)
        self.timeout = timeout
        self.retry_after = retry_after
        self._users = 0
        self._redis: Any = None
        self._script: Any = None
        self._down = False
        self._retry_at = 0.0

    def open(self) -> None:
        self._users += 1
        if self._redis is None:
            self._redis = connect_rate_redis(self.redis_url, self.timeout)
            self._script = self._redis.register_script(RESERVE_TURN)

    async def close(self) -> None:
        self._users -= 1
        if self._users <= 0 and self._redis is not None:
            redis, self._redis, self._script = self._redis, None, None
            await redis.aclose()

    async def reserve(self, host: str, not_before: float = 0.0) -> float | None:
        """Seconds until this request's turn at `host`, `not_before` seconds from now at the
        earliest; None when Redis cannot say."""
        from redis.exceptions import RedisError

        redis, script = self._redis, self._script
        if script is None or (self._down and time.monotonic() < self._retry_at):
            return None
        args = [self.interval_us, max(0, round(not_before * 1_000_000))]
        try:
            wait_us = await script(keys=[host_rate_key(self.prefix, host)], args=args, client=redis)
        except (RedisError, OSError) as exc:  # OSError covers TimeoutError and refused connections
            self._retry_at = time.monotonic() + self.retry_after
            if not self._down:
                self._down = True
                logger.warning("shared host rate cap unavailable (Redis: %s: %s); each worker caps its own "
                               "requests meanwhile", type(exc).__name__, exc)
            # Idle pooled connections to a server that went away are dead too: without this,
            # each would fail once after Redis is back, and the cap would flap.
            try:
                await redis.connection_pool.disconnect()
            except (RedisError, OSError):
                pass  # closing sockets that are already gone
            return None
        if self._down:
            self._down = False
            logger.info("shared host rate cap is back: Redis answers again")
        return int(wait_us) / 1_000_000
