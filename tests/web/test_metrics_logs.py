"""Structured logs: every record about a job carries its id, in text and in JSON."""
from __future__ import annotations

import json
import logging

import pytest

from webapp.logs import TEXT_FORMAT, JobIdFilter, JsonFormatter, job_context
from webapp.settings import Settings, SettingsError

JOB = "8c1e5d2a-0000-4000-8000-000000000001"


def formatted(formatter: logging.Formatter, msg: str, *args: object, **extra: object) -> str:
    record = logging.LogRecord("spiders.jobs.runner", logging.WARNING, __file__, 1, msg, args, None)
    record.__dict__.update(extra)
    JobIdFilter().filter(record)
    return formatter.format(record)


class Spider:
    job_id = JOB


@pytest.mark.parametrize("msg, args, extra", [
    ("job %s failed", (JOB,), {}),  # the project's "job %s" convention
    ("page stored", (), {"job_id": JOB}),  # extra=
    ("Spider opened", (), {"spider": Spider()}),  # Scrapy's records carry their spider
])
def test_json_lines_carry_the_job_id(msg, args, extra):
    entry = json.loads(formatted(JsonFormatter(), msg, *args, **extra))
    assert entry["job_id"] == JOB and entry["level"] == "WARNING" and entry["logger"] == "spiders.jobs.runner"
    assert entry["message"] == msg % args


def test_job_context_and_text_format():
    with job_context(JOB):
        line = formatted(logging.Formatter(TEXT_FORMAT), "finalizing")
    assert line.endswith(f"spiders.jobs.runner: finalizing job={JOB}")
    assert formatted(logging.Formatter(TEXT_FORMAT), "server started").endswith("server started")
    assert json.loads(formatted(JsonFormatter(), "server started"))["job_id"] is None


def test_log_format_setting():
    assert Settings.from_env({}).log_format == "text"
    assert Settings.from_env({"DOCSPASTA_LOG_FORMAT": "JSON"}).log_format == "json"
    with pytest.raises(SettingsError, match="DOCSPASTA_LOG_FORMAT"):
        Settings.from_env({"DOCSPASTA_LOG_FORMAT": "xml"})
