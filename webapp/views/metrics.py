"""`GET /metrics` in Prometheus's text format, from a registry the app owns.

Jobs, pages, queue depth, errors and per-URL processing time are read from PostgreSQL when
Prometheus scrapes (one query each way, two in all): the database is the truth, whichever
process ran the crawl (the server's embedded worker or `docspasta worker`s), and the figures
survive restarts. Only what the database cannot know is counted in the process: the SSE
connections open now.

With `DOCSPASTA_METRICS_TOKEN` set, a scrape must send `Authorization: Bearer <token>`.
"""
from __future__ import annotations

from typing import Any, AsyncIterator, Iterable

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from webapp.guards.security import bearer_matches

# Upper bounds, in seconds, of the per-URL processing time histogram (claim to stored result).
BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

# A failed URL's error_message -> a reason label (few values, whatever the messages say).
ERROR_REASON_SQL = """CASE
    WHEN error_message ~ '^HTTP 4' THEN 'http_4xx'
    WHEN error_message ~ '^HTTP 5' THEN 'http_5xx'
    WHEN error_message ~ '^HTTP ' THEN 'http_other'
    WHEN error_message ILIKE 'timed out%' THEN 'timeout'
    WHEN error_message ILIKE 'host not found%' THEN 'dns'
    WHEN error_message ILIKE 'connection%' THEN 'connection'
    WHEN error_message ILIKE 'too large%' THEN 'too_large'
    WHEN error_message ILIKE 'redirect%' THEN 'redirect'
    WHEN error_message ILIKE 'rendering%' OR error_message ILIKE '%chromium%' THEN 'rendering'
    ELSE 'other' END"""

JOBS_SQL = """SELECT count(*) AS created,
    count(*) FILTER (WHERE status = 'completed') AS completed,
    count(*) FILTER (WHERE status = 'failed') AS failed,
    count(*) FILTER (WHERE status = 'cancelled') AS cancelled,
    count(*) FILTER (WHERE status = 'pending') AS pending,
    count(*) FILTER (WHERE status = 'running') AS running,
    coalesce(sum(processed_urls), 0) AS pages
  FROM crawl_jobs"""


def urls_sql() -> str:
    buckets = ",\n    ".join(
        f"count(*) FILTER (WHERE seconds <= {bound}) AS le_{n}" for n, bound in enumerate(BUCKETS))
    return f"""WITH u AS (
  SELECT u.status, {ERROR_REASON_SQL} AS reason, j.status AS job_status,
         extract(epoch FROM u.finished_at - u.processing_started_at) AS seconds
    FROM job_urls u JOIN crawl_jobs j ON j.id = u.job_id)
SELECT 'queue' AS kind, NULL AS reason, count(*) AS n, NULL::float8 AS total
    {"".join(f", NULL::bigint AS le_{n}" for n in range(len(BUCKETS)))}
  FROM u WHERE status IN ('pending', 'processing') AND job_status IN ('pending', 'running')
UNION ALL
SELECT 'error', reason, count(*), NULL {"".join(", NULL" for _ in BUCKETS)}
  FROM u WHERE status = 'failed' GROUP BY reason
UNION ALL
SELECT 'time', NULL, count(*), coalesce(sum(seconds), 0)::float8,
    {buckets}
  FROM u WHERE status IN ('completed', 'failed') AND seconds IS NOT NULL"""


class DatabaseCollector(Collector):
    """Collects from figures read just before (`refresh`): prometheus_client collects synchronously."""

    def __init__(self) -> None:
        self.jobs: dict[str, Any] = {}
        self.urls: list[dict[str, Any]] = []

    async def refresh(self, pool: Any) -> None:
        async with pool.acquire() as conn:
            self.jobs = dict(await conn.fetchrow(JOBS_SQL))
            self.urls = [dict(row) for row in await conn.fetch(urls_sql())]

    def collect(self) -> Iterable[Any]:
        jobs = self.jobs
        for name, key, text in (
            ("docspasta_jobs_created", "created", "Jobs created (rows in crawl_jobs)."),
            ("docspasta_jobs_completed", "completed", "Jobs that completed."),
            ("docspasta_jobs_failed", "failed", "Jobs that failed."),
            ("docspasta_jobs_cancelled", "cancelled", "Jobs that were cancelled."),
            ("docspasta_pages_crawled", "pages", "Pages crawled and stored as completed."),
        ):
            yield CounterMetricFamily(name, text, value=jobs.get(key, 0))
        active = GaugeMetricFamily("docspasta_jobs_active", "Jobs pending or running now.", labels=["status"])
        for status in ("pending", "running"):
            active.add_metric([status], jobs.get(status, 0))
        yield active
        queue = next((row["n"] for row in self.urls if row["kind"] == "queue"), 0)
        yield GaugeMetricFamily("docspasta_queue_depth",
                                "URLs pending or in flight in the frontier of jobs pending or running.", value=queue)
        errors = CounterMetricFamily("docspasta_url_errors", "URLs that failed, by reason.", labels=["reason"])
        for row in self.urls:
            if row["kind"] == "error":
                errors.add_metric([row["reason"]], row["n"])
        yield errors
        timing = next((row for row in self.urls if row["kind"] == "time"), None)
        if timing is not None:
            buckets = [(str(bound), timing[f"le_{n}"]) for n, bound in enumerate(BUCKETS)]
            buckets.append(("+Inf", timing["n"]))
            yield HistogramMetricFamily(
                "docspasta_url_processing_seconds",
                "Per-URL processing time, from the request going out to the result being stored.",
                buckets=buckets, sum_value=timing["total"] or 0.0)


class Metrics:
    """The app's registry: the database collector and the in-process SSE gauge."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.database = DatabaseCollector()
        self.registry.register(self.database)
        self.sse_connections = Gauge("docspasta_sse_connections", "Server-sent event streams open now.",
                                     registry=self.registry)

    async def track_stream(self, body: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        """The stream's bytes, counted in the open-connections gauge while it is open."""
        self.sse_connections.inc()
        try:
            async for chunk in body:
                yield chunk
        finally:
            self.sse_connections.dec()


async def metrics_endpoint(request: Request) -> Response:
    # Refused while no token is set, like the cron endpoint: the figures (job counts, error reasons,
    # queue depth) are the operator's, and a forgotten setting must not publish them.
    token = request.state.settings.metrics_token
    if not bearer_matches(request, token):
        why = "" if token else " (DOCSPASTA_METRICS_TOKEN is not set on the server)"
        return PlainTextResponse(f"a valid `Authorization: Bearer <DOCSPASTA_METRICS_TOKEN>` header is required{why}\n",
                                 status_code=401, headers={"WWW-Authenticate": "Bearer"})
    metrics: Metrics = request.state.metrics
    await metrics.database.refresh(request.state.store.pool)
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
