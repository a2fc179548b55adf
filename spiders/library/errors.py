"""What the library refuses, and the checks of its parameters shared by the API and the MCP server."""
from __future__ import annotations

from typing import Any

MAX_QUERY_CHARS = 500
MAX_LIMIT = 50
MIN_MAX_TOKENS = 100  # below it not even the note saying what was left out fits
MAX_SITE_CHARS = 200
MAX_VERSION_CHARS = 100


class LibraryError(Exception):
    """A library request that cannot be answered; `field` names the parameter at fault."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class BadParameter(LibraryError):
    """A parameter is missing, malformed or out of range."""


class NotInLibrary(LibraryError):
    """No completed job, site, page or section answers to what was asked."""


class NotIndexed(LibraryError):
    """The job has not completed (or is still being indexed): it is not in the library yet."""


def check_query(query: Any, field: str = "q") -> str:
    if not isinstance(query, str) or not query.strip():
        raise BadParameter(f"{field}: a search query is required, e.g. {field}=error handlers", field=field)
    if len(query) > MAX_QUERY_CHARS:
        raise BadParameter(f"{field}: at most {MAX_QUERY_CHARS} characters, got {len(query)}", field=field)
    return query.strip()


def check_int(value: Any, field: str, low: int, high: int, default: int) -> int:
    """A whole number from `low` to `high` (from a query string or JSON); `default` when absent."""
    if value is None or value == "":
        return default
    if isinstance(value, bool) or isinstance(value, float) and not value.is_integer():
        raise BadParameter(f"{field}: must be a whole number from {low} to {high}, got {value!r}", field=field)
    try:
        number = int(str(value).strip()) if not isinstance(value, (int, float)) else int(value)
    except ValueError:
        raise BadParameter(f"{field}: must be a whole number from {low} to {high}, got {value!r}",
                           field=field) from None
    if not low <= number <= high:
        raise BadParameter(f"{field}: must be from {low} to {high}, got {number}", field=field)
    return number


def check_label(value: Any, field: str, max_chars: int, *, required: bool) -> str | None:
    """A site name or version: printable text of at most `max_chars` (blanks around it dropped).
    An empty or null version clears it (None); a site name is required."""
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise BadParameter(f"{field}: must be a string{'' if required else ' or null'}, got {value!r}", field=field)
    text = value.strip()
    if not text:
        if required:
            raise BadParameter(f"{field}: must not be empty", field=field)
        return None
    if len(text) > max_chars:
        raise BadParameter(f"{field}: at most {max_chars} characters, got {len(text)}", field=field)
    if not text.isprintable():
        raise BadParameter(f"{field}: control characters are not allowed", field=field)
    return text
