"""The web app's settings: read from the environment in one place, passed to the app factory.

Every value is documented in README.md ("Configuration") as NAME (type, default).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any, Mapping

from scrapy.settings import BaseSettings

from spiders.crawl.traps import TrapLimits
from spiders.jobs.events import REDIS_PREFIX, STREAM_MAXLEN, STREAM_TTL
from spiders.safety.addresses import AllowList


class SettingsError(ValueError):
    """An environment variable has a value the app cannot use; the message names it."""


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name} must be from {low} to {high}, got {value}")
    return value


def _float(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from None
    if not low <= value <= high:  # also refuses nan
        raise SettingsError(f"{name} must be from {low:g} to {high:g}, got {value:g}")
    return value


def _choice(env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    raw = (env.get(name) or "").strip().lower() or default
    if raw not in choices:
        raise SettingsError(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
    return raw


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    return raw.strip().lower() in ("1", "true", "yes", "on")


def _allow_hosts(env: Mapping[str, str], name: str) -> str:
    raw = env.get(name, "")
    try:
        AllowList.parse(raw)
    except ValueError as exc:  # refused at start, not on every job submitted
        raise SettingsError(str(exc)) from None
    return raw


def _proxies(env: Mapping[str, str], name: str) -> int:
    """A count of trusted proxies; `true`/`false` mean 1/0."""
    raw = (env.get(name) or "").strip().lower()
    if raw in ("true", "yes", "on"):
        return 1
    if raw in ("false", "no", "off"):
        return 0
    return _int(env, name, 0, 0, 10)


@dataclass(frozen=True)
class Settings:
    # None: `docspasta serve` runs the server itself, from data_dir (webapp/embedded.py)
    database_url: str | None = None
    redis_url: str | None = None
    data_dir: str = ""  # embedded servers' data; empty: $XDG_DATA_HOME/docspasta or ~/.local/share/docspasta
    log_format: str = "text"  # text | json (one JSON object a line), both with the job id
    metrics_token: str = ""  # GET /metrics needs `Authorization: Bearer <token>`; refused while unset
    redis_prefix: str = REDIS_PREFIX  # every Redis key starts with it
    max_pages_limit: int = 200  # the highest maxPages the API accepts
    max_depth_limit: int = 5
    stream_maxlen: int = STREAM_MAXLEN  # events kept per job stream (XADD MAXLEN ~)
    stream_ttl: int = STREAM_TTL  # seconds a job's stream lives after its last event
    log_lines: int = 100  # URLs per page of the job page's list
    recent_jobs: int = 20
    db_pool_size: int = 20  # uvicorn's pool: one connection per request in flight avoids queueing for one
    crawl_db_pool_size: int = 10  # the crawl side's pool (pipelines of every running job)
    max_concurrent_jobs: int = 50  # crawls running at once in this process; later jobs wait, pending
    lease_seconds: int = 30  # a worker's hold on a job; another worker resumes it this long after a crash
    claim_interval: int = 2  # seconds between a worker's looks for jobs nobody runs
    cron_secret: str = ""  # POST /api/v3/process needs `Authorization: Bearer <CRON_SECRET>`; empty: refused
    # Requests per second to one target host from every worker together (shared through
    # Redis; each process on its own while Redis is down); 0: no rate cap beyond AutoThrottle.
    # The service crawls for strangers: it must not be a way to flood a third party.
    host_rate: float = 20.0
    allow_hosts: str = ""  # host:port pairs that may be crawled although local (the SSRF guard's allow-list)
    run_crawls: bool = True  # False: jobs are stored but no crawl starts (API-only tests)
    rate_limit: int = 10  # jobs a client may create per minute; 0: no limit
    max_jobs_per_client: int = 5  # a client's pending and running jobs at once; 0: no cap
    max_active_jobs: int = 200  # pending and running jobs at once, every client together; 0: no cap
    max_body_bytes: int = 64 * 1024  # the largest request body accepted (413 above it)
    trust_proxy: int = 0  # proxies in front whose X-Forwarded-For entries name the client; 0: the peer address
    secret_key: str = ""  # signs the forms' CSRF tokens; empty: a random key per process
    crawl_settings: dict[str, Any] = field(default_factory=dict)  # Scrapy settings layered on each job
    # The library (search API and MCP server)
    mcp_token: str = ""  # POST /mcp needs `Authorization: Bearer <token>`; refused while unset
    mcp_crawl: bool = False  # whether /mcp offers crawl_site; off: read-only (`docspasta mcp` has its own flag)
    answer_tokens: int = 8000  # the most tokens a library answer holds: the default and the cap of max_tokens

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        raw_crawl = env.get("DOCSPASTA_CRAWL_SETTINGS") or "{}"
        try:
            crawl_settings = json.loads(raw_crawl)
        except json.JSONDecodeError as exc:
            raise SettingsError(f"DOCSPASTA_CRAWL_SETTINGS must be a JSON object: {exc}") from None
        if not isinstance(crawl_settings, dict):
            raise SettingsError("DOCSPASTA_CRAWL_SETTINGS must be a JSON object")
        return cls(
            database_url=env.get("DATABASE_URL") or cls.database_url,
            redis_url=env.get("REDIS_URL") or cls.redis_url,
            data_dir=env.get("DOCSPASTA_DATA_DIR", ""),
            metrics_token=env.get("DOCSPASTA_METRICS_TOKEN", ""),
            log_format=_choice(env, "DOCSPASTA_LOG_FORMAT", cls.log_format, ("text", "json")),
            redis_prefix=env.get("DOCSPASTA_REDIS_PREFIX") or cls.redis_prefix,
            max_pages_limit=_int(env, "DOCSPASTA_MAX_PAGES_LIMIT", cls.max_pages_limit, 1, 10_000),
            max_depth_limit=_int(env, "DOCSPASTA_MAX_DEPTH_LIMIT", cls.max_depth_limit, 1, 20),
            stream_maxlen=_int(env, "DOCSPASTA_STREAM_MAXLEN", cls.stream_maxlen, 100, 10_000_000),
            stream_ttl=_int(env, "DOCSPASTA_STREAM_TTL", cls.stream_ttl, 60, 365 * 24 * 3600),
            log_lines=_int(env, "DOCSPASTA_LOG_LINES", cls.log_lines, 1, 1000),
            recent_jobs=_int(env, "DOCSPASTA_RECENT_JOBS", cls.recent_jobs, 1, 500),
            max_concurrent_jobs=_int(env, "DOCSPASTA_MAX_CONCURRENT_JOBS", cls.max_concurrent_jobs, 1, 1000),
            lease_seconds=_int(env, "DOCSPASTA_LEASE_SECONDS", cls.lease_seconds, 2, 3600),
            claim_interval=_int(env, "DOCSPASTA_CLAIM_INTERVAL", cls.claim_interval, 1, 60),
            cron_secret=env.get("CRON_SECRET", ""),
            db_pool_size=_int(env, "DOCSPASTA_DB_POOL_SIZE", cls.db_pool_size, 2, 200),
            crawl_db_pool_size=_int(env, "DOCSPASTA_CRAWL_DB_POOL_SIZE", cls.crawl_db_pool_size, 2, 200),
            host_rate=_float(env, "DOCSPASTA_HOST_RATE", cls.host_rate, 0, 10_000),
            allow_hosts=_allow_hosts(env, "DOCSPASTA_ALLOW_HOSTS"),
            run_crawls=_bool(env, "DOCSPASTA_RUN_CRAWLS", cls.run_crawls),
            rate_limit=_int(env, "DOCSPASTA_RATE_LIMIT", cls.rate_limit, 0, 100_000),
            max_jobs_per_client=_int(env, "DOCSPASTA_MAX_JOBS_PER_CLIENT", cls.max_jobs_per_client, 0, 1_000_000),
            max_active_jobs=_int(env, "DOCSPASTA_MAX_ACTIVE_JOBS", cls.max_active_jobs, 0, 10_000_000),
            max_body_bytes=_int(env, "DOCSPASTA_MAX_BODY_BYTES", cls.max_body_bytes, 1024, 64 * 1024 * 1024),
            trust_proxy=_proxies(env, "DOCSPASTA_TRUST_PROXY"),
            secret_key=env.get("DOCSPASTA_SECRET_KEY", ""),
            crawl_settings=crawl_settings,
            mcp_token=env.get("DOCSPASTA_MCP_TOKEN", ""),
            mcp_crawl=_bool(env, "DOCSPASTA_MCP_CRAWL", cls.mcp_crawl),
            answer_tokens=_int(env, "DOCSPASTA_ANSWER_TOKENS", cls.answer_tokens, 500, 1_000_000),
        )

    @property
    def job_bounds(self) -> dict[str, tuple[int, int]]:
        """The web's narrower ranges for a job's options (spiders/jobs/options.py has the crawl's)."""
        return {"max_pages": (1, self.max_pages_limit), "max_depth": (1, self.max_depth_limit)}

    @property
    def max_url_length(self) -> int:
        """The crawl's longest URL: a longer start URL would only be skipped as a trap."""
        try:
            return TrapLimits.from_settings(BaseSettings(self.crawl_settings)).max_url_length
        except (TypeError, ValueError):  # the crawl will say what is wrong with DOCSPASTA_CRAWL_SETTINGS
            return TrapLimits.max_url_length


def settings_for_command() -> Settings | None:
    """The settings a console command runs with, or None after saying on stderr what is wrong."""
    import sys

    try:
        return Settings.from_env()
    except SettingsError as exc:
        print(f"docspasta: error: {exc}", file=sys.stderr)
        return None
