"""The web app's errors, each turned into a JSON response in one handler.

Views raise these; nothing else decides an error's status code or body shape:
`{"success": false, "error": "...", "field": "..."}`.
"""
from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response


class ApiError(Exception):
    """Something the client should be told about, with a status code."""

    status_code = 400

    def __init__(self, message: str, *, field: str | None = None, retry_after: int | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.retry_after = retry_after  # seconds, sent as Retry-After

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"success": False, "error": self.message}
        if self.field:
            body["field"] = self.field
        return body


class InvalidInput(ApiError):
    """A request field is missing, malformed or out of range; `field` names it."""

    status_code = 422


class MalformedBody(ApiError):
    """The request body is not the JSON object the endpoint takes."""

    status_code = 400


class Unauthorized(ApiError):
    """A maintenance endpoint was called without the right secret."""

    status_code = 401


class CsrfFailed(ApiError):
    """A form post without the CSRF token of the page it came from."""

    status_code = 403


class BodyTooLarge(ApiError):
    """The request body is larger than DOCSPASTA_MAX_BODY_BYTES."""

    status_code = 413


class UnsupportedMediaType(ApiError):
    """The API was sent a body that is not declared as JSON."""

    status_code = 415


class TooManyRequests(ApiError):
    """This client created too many jobs lately, or has too many running; `retry_after` says when to retry."""

    status_code = 429


class AtCapacity(ApiError):
    """The server runs as many jobs as it takes (every client together); retry later."""

    status_code = 503


class JobNotFound(ApiError):
    """No job has this id."""

    status_code = 404


class JobConflict(ApiError):
    """The job's state does not allow this (e.g. cancelling a completed job)."""

    status_code = 409


class NotReady(ApiError):
    """The job has no document yet (it is still running, failed or was cancelled)."""

    status_code = 409


class ServiceUnavailable(ApiError):
    """A backing service (PostgreSQL, Redis) did not answer."""

    status_code = 503


async def api_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else None
    return JSONResponse(exc.body(), status_code=exc.status_code, headers=headers)


async def http_error_handler(request: Request, exc: Exception) -> Response:
    """Starlette's own 404/405: JSON in the same shape under /api, plain text elsewhere."""
    assert isinstance(exc, HTTPException)
    headers = getattr(exc, "headers", None)
    if request.url.path.startswith("/api/"):
        return JSONResponse({"success": False, "error": exc.detail}, status_code=exc.status_code, headers=headers)
    return PlainTextResponse(exc.detail, status_code=exc.status_code, headers=headers)


def backing_service(exc: BaseException) -> str | None:
    """"PostgreSQL" or "Redis" when `exc` says that one did not answer, else None.

    Their clients' own errors name them. A bare OSError does not (a Unix socket that is gone
    raises FileNotFoundError, a closed port ConnectionRefusedError, a connect timeout
    TimeoutError): the client it came out of is found in its traceback. Any other OSError is
    a bug of ours, not an outage.
    """
    import asyncpg
    import redis.exceptions

    if isinstance(exc, (asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError)):
        return "PostgreSQL"
    if isinstance(exc, redis.exceptions.RedisError):
        return "Redis"
    traceback = exc.__traceback__
    while traceback is not None:
        module = traceback.tb_frame.f_globals.get("__name__", "")
        if module.split(".")[0] == "asyncpg":
            return "PostgreSQL"
        if module.split(".")[0] == "redis":
            return "Redis"
        traceback = traceback.tb_next
    return None


async def unavailable_handler(request: Request, exc: Exception) -> Response:
    """PostgreSQL or Redis did not answer: the client may retry (503), it is not the input's fault.

    JSON under /api, as every API error; a line of text for a page.
    """
    service = backing_service(exc)
    if service is None:
        raise exc  # not an outage: Starlette's 500, with the traceback in the log
    error = ServiceUnavailable(f"{service} is unavailable ({type(exc).__name__}); try again shortly")
    headers = {"Retry-After": "5"}
    if request.url.path.startswith("/api/"):
        return JSONResponse(error.body(), status_code=error.status_code, headers=headers)
    return PlainTextResponse(f"Service unavailable: {error.message}.\n", status_code=error.status_code,
                             headers=headers)


def exception_handlers() -> dict[Any, Any]:
    import asyncpg
    import redis.exceptions

    handlers: dict[Any, Any] = {ApiError: api_error_handler, HTTPException: http_error_handler}
    # Starlette picks the handler by the exception's class, nearest first: ApiError and
    # HTTPException are not among these. OSError covers ConnectionError, FileNotFoundError and
    # TimeoutError; the handler tells an outage from a bug (backing_service).
    for unavailable in (asyncpg.PostgresConnectionError, asyncpg.InterfaceError, asyncpg.InternalClientError,
                        asyncpg.exceptions.OperatorInterventionError, redis.exceptions.ConnectionError,
                        redis.exceptions.TimeoutError, OSError):
        handlers[unavailable] = unavailable_handler
    return handlers
