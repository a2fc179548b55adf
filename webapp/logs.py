"""The server's log: one line a record, carrying the job id whenever the record is about a job.

`DOCSPASTA_LOG_FORMAT=json` writes each record as one JSON object (`time`, `level`, `logger`,
`message`, `job_id`, `exc_info`), for log collectors; `text` (the default) appends
`job=<id>` to the line. The job id is found, in this order, in:

- `extra={"job_id": ...}` on the call;
- `job_context(job_id)`, a context variable set around work done for one job;
- the Scrapy spider the record came from (`spider.job_id`: spiders log with `extra={"spider": ...}`);
- the first argument of a message that starts `"job %s"`, the project's convention.
"""
from __future__ import annotations

import contextvars
import json
import logging
import sys
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any, Iterator

current_job: contextvars.ContextVar[Any] = contextvars.ContextVar("docspasta_job_id", default=None)

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s%(job_suffix)s"


@contextmanager
def job_context(job_id: Any) -> Iterator[None]:
    """Records logged inside carry this job id (per task or thread: a context variable)."""
    token = current_job.set(job_id)
    try:
        yield
    finally:
        current_job.reset(token)


def job_id_of(record: logging.LogRecord) -> str | None:
    job_id = getattr(record, "job_id", None) or current_job.get()
    if job_id is None:
        job_id = getattr(getattr(record, "spider", None), "job_id", None)
    if job_id is None and isinstance(record.msg, str) and record.msg.startswith("job %s") \
            and isinstance(record.args, tuple) and record.args:
        job_id = record.args[0]
    return str(job_id) if job_id is not None else None


class JobIdFilter(logging.Filter):
    """Sets `record.job_id` (None when the record is about no job) for the formatters."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.job_id = job_id_of(record)
        record.job_suffix = f" job={record.job_id}" if record.job_id else ""
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "job_id": getattr(record, "job_id", None),
        }
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def quiet_crawl_loggers(level: int) -> None:
    """Scrapy's per-crawl INFO lines (stats dumps, "Spider opened") would drown a server's own log."""
    for noisy in ("scrapy", "scrapy-playwright", "twisted", "pgserver"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


def configure_logging(level: int, log_format: str = "text") -> None:
    """The root logger's one handler, on stderr, in the chosen format, with the job id filter."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(JobIdFilter())
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)


def log_for_server(level_name: str, log_format: str) -> int:
    """serve's and worker's log: one handler with the job id, Scrapy's chatter quietened; the level."""
    level = getattr(logging, level_name.upper())
    configure_logging(level, log_format)
    quiet_crawl_loggers(level)
    return level
