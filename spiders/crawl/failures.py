"""What went wrong with a URL, in words a user can act on.

Every failed or skipped page carries one of these reasons in the export, the
web page and the event stream, so none of them may be a bare exception name.
"""
from __future__ import annotations

from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.error import ConnectionLost
from twisted.internet.error import TimeoutError as TxTimeoutError
from twisted.python.failure import Failure


def describe_failure(failure: Failure, max_size: int) -> tuple[str, int | None, str]:
    """(status, http_status, reason) for a request that ended in an errback."""
    if failure.check(HttpError):
        response = failure.value.response
        return "failed", response.status, f"HTTP {response.status}"
    message = failure.getErrorMessage()
    if failure.check(IgnoreRequest):
        if "robots.txt" in message:
            return "skipped", None, "disallowed by robots.txt"
        if "max redirections" in message.lower() or "redirect" in message.lower():
            return "failed", None, "redirect loop or too many redirects"
        if "DOWNLOAD_MAXSIZE" in message or "max size" in message.lower():
            return "failed", None, too_large(max_size)
        return "failed", None, message or "request refused"
    if failure.check(DownloadCancelledError) and ("size" in message.lower() or "maxsize" in message.lower()):
        return "failed", None, too_large(max_size)
    if failure.check(DownloadTimeoutError, TxTimeoutError):
        return "failed", None, f"timed out ({message})" if message else "timed out"
    if failure.check(CannotResolveHostError):
        return "failed", None, f"host not found ({message})"
    if failure.check(DownloadConnectionRefusedError):
        return "failed", None, "connection refused"
    if failure.check(ResponseDataLossError, ConnectionLost):
        return "failed", None, "connection lost before the page was complete"
    return "failed", None, f"{type(failure.value).__name__}: {message}"


def too_large(max_size: int) -> str:
    return f"too large (over {size_text(max_size)})"


def size_text(size: int) -> str:
    return f"{size / 1_048_576:g} MB" if size >= 1_048_576 else f"{size} bytes"
