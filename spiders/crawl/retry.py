"""Retries with a wait: exponential backoff, or the server's Retry-After."""
from __future__ import annotations

import asyncio
import email.utils
import time

from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.http import Request, Response
from scrapy.settings import BaseSettings
from scrapy.utils.response import response_status_message

RETRY_DELAY_META = "docspasta_retry_delay"


def parse_retry_after(value: bytes | str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class BackoffRetryMiddleware(RetryMiddleware):
    """Scrapy's retry policy, but each retry waits: exponential backoff, or the
    server's Retry-After (capped) when it sends one.

    The wait happens in `process_request` of the retried request, so it never
    blocks the reactor and other requests keep flowing meanwhile.
    """

    def __init__(self, settings: BaseSettings):
        super().__init__(settings)
        self.backoff_base = settings.getfloat("DOCSPASTA_RETRY_BACKOFF_BASE", 0.5)
        self.backoff_max = settings.getfloat("DOCSPASTA_RETRY_BACKOFF_MAX", 10.0)
        self.retry_after_max = settings.getfloat("DOCSPASTA_RETRY_AFTER_MAX", 30.0)

    async def process_request(self, request: Request) -> None:
        delay = request.meta.pop(RETRY_DELAY_META, 0)
        if delay > 0:
            await asyncio.sleep(delay)

    def process_response(self, request: Request, response: Response) -> Request | Response:
        if request.meta.get("dont_retry", False) or response.status not in self.retry_http_codes:
            return response
        retry = self._retry(request, response_status_message(response.status))
        if retry is None:
            return response
        server_wait = parse_retry_after(response.headers.get(b"Retry-After"))
        retry.meta[RETRY_DELAY_META] = (
            min(server_wait, self.retry_after_max) if server_wait is not None else self._backoff(retry)
        )
        return retry

    def process_exception(self, request: Request, exception: Exception) -> Request | Response | None:
        retry = super().process_exception(request, exception)
        if isinstance(retry, Request):
            retry.meta[RETRY_DELAY_META] = self._backoff(retry)
        return retry

    def _backoff(self, retry: Request) -> float:
        attempt = retry.meta.get("retry_times", 1)
        return min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1))
