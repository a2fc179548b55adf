"""A job request, checked with the crawl's own rules (`CrawlOptions.parse`) plus the web's limits.

The API takes camelCase JSON fields, the HTML form snake_case ones; either way
the error names the field exactly as the client sent it.
"""
from __future__ import annotations

import asyncio
from typing import Any, Mapping

from spiders.jobs.options import CrawlArgumentError, CrawlOptions
from webapp.guards.errors import InvalidInput
from webapp.settings import Settings

API_FIELDS = {"url": "url", "maxPages": "max_pages", "maxDepth": "max_depth",
              "qualityThreshold": "quality_threshold", "scope": "scope", "render": "render"}
FORM_FIELDS = {name: name for name in API_FIELDS.values()}


def parse_job_request(data: Mapping[str, Any], settings: Settings, fields: Mapping[str, str] = API_FIELDS,
                      *, ignore: tuple[str, ...] = ()) -> CrawlOptions:
    """CrawlOptions from a request, or InvalidInput naming the first bad field."""
    to_client = {option: name for name, option in fields.items()}
    for name, value in data.items():
        if not _encodable(name):
            raise InvalidInput(f"{name!r}: field names must be valid UTF-8", field=ascii(name))
        if name not in fields and name not in ignore:
            raise InvalidInput(f"{name}: unknown field; the fields are {', '.join(fields)}", field=name)
        if isinstance(value, str) and not _encodable(value):
            raise InvalidInput(f"{name}: must be valid UTF-8 text", field=name)
    raw: dict[str, Any] = {}
    for name, option in fields.items():
        value = data.get(name)
        if isinstance(value, bool) or isinstance(value, (dict, list)) or isinstance(value, float) and not value.is_integer():
            raise InvalidInput(f"{name}: must be {'a string' if option in ('url', 'scope', 'render') else 'a whole number'}, "
                               f"got {value!r}", field=name)
        if isinstance(value, float):
            value = int(value)
        if option == "url" and value is not None and not isinstance(value, str):
            raise InvalidInput(f"{name}: must be a string, got {value!r}", field=name)
        if option == "url" and isinstance(value, str) and len(value) > _max_url_length(settings):
            # the crawl would refuse it as a trap anyway (spiders/crawl/traps.py): say so now
            raise InvalidInput(f"{name}: longer than {_max_url_length(settings)} characters", field=name)
        raw[option] = value
    ranges = {"max_pages": (1, settings.max_pages_limit), "max_depth": (1, settings.max_depth_limit),
              "quality_threshold": (0, 100)}
    for option, (low, high) in ranges.items():
        value, name = raw.get(option), to_client[option]
        if value is None or value == "":
            continue
        try:
            number = int(str(value).strip())
        except ValueError:
            raise InvalidInput(f"{name}: must be a whole number from {low} to {high}, got {value!r}",
                               field=name) from None
        if not low <= number <= high:
            raise InvalidInput(f"{name}: must be from {low} to {high}, got {number}", field=name)
    try:
        options = CrawlOptions.parse(**raw)
    except CrawlArgumentError as exc:
        name = to_client.get(exc.field, exc.field)
        message = str(exc).split(": ", 1)[-1].replace("-a url=", "")
        raise InvalidInput(f"{name}: {message}", field=name) from None
    except ValueError as exc:  # urllib's own complaints about a URL (a port out of range, a broken [IPv6])
        name = to_client["url"]
        raise InvalidInput(f"{name}: not a usable address ({exc})", field=name) from None
    return options


def _max_url_length(settings: Settings) -> int:
    from spiders.crawl.traps import TrapLimits

    try:
        return int(settings.crawl_settings.get("DOCSPASTA_MAX_URL_LENGTH", TrapLimits.max_url_length))
    except (TypeError, ValueError):
        return TrapLimits.max_url_length


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates, e.g. from a JSON "\ud800"
        return False
    return True


async def check_target(options: CrawlOptions, settings: Settings, fields: Mapping[str, str] = API_FIELDS) -> None:
    """Refuse a start URL on an internal address (the SSRF guard's own check; it resolves, so in a thread)."""
    try:
        if _needs_dns(options.url, settings.allow_hosts):
            await asyncio.to_thread(options.check_target, settings.allow_hosts)
        else:  # an IP literal or an allow-listed host: decided without a lookup, no thread hop
            options.check_target(settings.allow_hosts)
    except CrawlArgumentError as exc:
        name = {option: name for name, option in fields.items()}.get(exc.field, exc.field)
        raise InvalidInput(f"{name}: {str(exc).split(': ', 1)[-1]}", field=name) from None
    except ValueError as exc:
        name = {option: name for name, option in fields.items()}["url"]
        raise InvalidInput(f"{name}: not a usable address ({exc})", field=name) from None


def _needs_dns(url: str, allow_hosts: str) -> bool:
    from urllib.parse import urlsplit

    from spiders.safety.addresses import AllowList, ip_literal

    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return ip_literal(host) is None and not AllowList.parse(allow_hosts).allows(host, port)
