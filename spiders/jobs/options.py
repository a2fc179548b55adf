"""The options of one crawl job, in one place: names, types, ranges, defaults and messages.

Every entry point parses through `parse_options`: the JSON API (camelCase names), the
HTML form (snake_case), `scrapy crawl docs -a name=value`, `docspasta crawl` and the
spider itself. A bad value's message starts with the field as that client spelled it,
so it reads the same wherever it was typed. The web app narrows the ranges with its
own limits (`bounds`, `max_url_length`): parameters of this one check, not a second one.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Mapping
from urllib.parse import urlsplit

from spiders.crawl.urls import is_http_url


@dataclass(frozen=True)
class Option:
    """One job option: its names, its default and the values it takes."""

    name: str  # the attribute, the form's field, the spider's `-a` name
    alias: str  # the JSON API's name
    default: Any
    help: str
    bounds: tuple[int, int] | None = None  # a whole number in this range
    choices: tuple[str, ...] = ()  # one of these words, in any case

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


OPTIONS = (
    Option("url", "url", None, "the documentation site's start URL (http or https)"),
    Option("max_pages", "maxPages", 50, "at most N completed pages", bounds=(1, 10_000)),
    Option("max_depth", "maxDepth", 2, "follow links at most N steps from the start page", bounds=(0, 20)),
    Option("quality_threshold", "qualityThreshold", 20, "leave pages scoring below N out of the document",
           bounds=(0, 100)),
    Option("scope", "scope", "prefix", "prefix: only under the start URL's directory (default); host: the whole host",
           choices=("prefix", "host")),
    Option("render", "render", "auto", "JavaScript rendering in Chromium: auto renders only pages whose plain HTML "
           "is an empty shell (default); always; never", choices=("auto", "always", "never")),
)
OPTION = {option.name: option for option in OPTIONS}
DEFAULTS = {option.name: option.default for option in OPTIONS}
RENDER_MODES = OPTION["render"].choices


@dataclass(frozen=True)
class Dialect:
    """How one kind of client names the options."""

    names: Mapping[str, str]  # option name -> the client's field name
    example: str  # a start URL written as this client would give it
    closed: bool = False  # refuse fields that name no option (a JSON body); else leave them be


# The JSON API; the HTML form; `scrapy crawl docs -a`, `docspasta crawl` and the spider's keywords.
API = Dialect({option.name: option.alias for option in OPTIONS}, "https://docs.example.org/", closed=True)
FORM = Dialect({option.name: option.name for option in OPTIONS}, "https://docs.example.org/", closed=True)
ARGS = Dialect(FORM.names, "-a url=https://docs.example.org/")


class CrawlArgumentError(ValueError):
    """A job option is missing or out of range; `field` names it as the client sent it."""

    def __init__(self, field: str, message: str, *, label: str | None = None):
        super().__init__(f"{label or field}: {message}")
        self.field = field


@dataclass(frozen=True)
class CrawlOptions:
    url: str
    max_pages: int = DEFAULTS["max_pages"]
    max_depth: int = DEFAULTS["max_depth"]
    quality_threshold: int = DEFAULTS["quality_threshold"]
    scope: str = DEFAULTS["scope"]
    render: str = DEFAULTS["render"]

    @classmethod
    def parse(cls, **raw: Any) -> CrawlOptions:
        """From keyword arguments named as the spider's `-a` arguments (None: the default)."""
        return parse_options(raw)

    @classmethod
    def from_job(cls, job: Mapping[str, Any]) -> CrawlOptions:
        """The options a stored job (a crawl_jobs row) runs with: its own, or a refresh's."""
        return parse_options({option.name: job["initial_url" if option.name == "url" else option.name]
                              for option in OPTIONS})

    def check_target(self, allow_hosts: str | None) -> None:
        """Refuse a start URL on an internal address before anything is queued (may resolve the name)."""
        from spiders.safety.addresses import AllowList, target_refusal

        allow = AllowList.parse(allow_hosts)  # a bad entry is a ValueError naming DOCSPASTA_ALLOW_HOSTS
        try:
            reason = target_refusal(self.url, allow)
        except ValueError as exc:  # urllib's own complaints about an address
            raise CrawlArgumentError("url", f"not a usable address ({exc})") from None
        if reason:
            parts = urlsplit(self.url)
            hint = f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}"
            raise CrawlArgumentError("url", f"blocked: {reason} (to crawl it anyway, set DOCSPASTA_ALLOW_HOSTS={hint})")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_options(raw: Mapping[str, Any], dialect: Dialect = ARGS, *, bounds: Mapping[str, tuple[int, int]] | None = None,
                  max_url_length: int | None = None) -> CrawlOptions:
    """CrawlOptions from what a client sent, or CrawlArgumentError naming the first bad field.

    Checked in this order, the first failure reported: the field names and text (UTF-8),
    each value's type, the numbers, the start URL, the words. `bounds` narrows a number's
    range (the web's limits); `max_url_length` refuses a longer start URL now rather than
    as a crawler trap later.
    """
    names = dialect.names
    known = {names[option.name]: option for option in OPTIONS}
    for key, value in raw.items():
        if not _utf8(key):
            raise CrawlArgumentError(ascii(key), "field names must be valid UTF-8", label=repr(key))
        if key not in known:
            if dialect.closed:
                raise CrawlArgumentError(key, f"unknown field; the fields are {', '.join(names.values())}")
        elif isinstance(value, str) and not _utf8(value):
            raise CrawlArgumentError(key, "must be valid UTF-8 text")

    values = {option.name: raw.get(names[option.name]) for option in OPTIONS}
    for option in OPTIONS:
        value, field = values[option.name], names[option.name]
        if isinstance(value, (bool, dict, list)) or isinstance(value, float) and not value.is_integer():
            raise CrawlArgumentError(field, f"must be {'a whole number' if option.bounds else 'a string'}, got {value!r}")
        if isinstance(value, float):
            values[option.name] = value = int(value)
        if option.name == "url" and value is not None:
            if not isinstance(value, str):
                raise CrawlArgumentError(field, f"must be a string, got {value!r}")
            if max_url_length is not None and len(value) > max_url_length:
                # the crawl would refuse it as a trap anyway (spiders/crawl/traps.py): say so now
                raise CrawlArgumentError(field, f"longer than {max_url_length} characters")

    numbers = {option.name: _number(option, values[option.name], names[option.name], (bounds or {}).get(option.name))
               for option in OPTIONS if option.bounds}
    url = _url(values["url"], names["url"], dialect.example)
    words = {option.name: _word(option, values[option.name], names[option.name]) for option in OPTIONS if option.choices}
    return CrawlOptions(url=url, **numbers, **words)


def _number(option: Option, value: Any, field: str, narrower: tuple[int, int] | None) -> int:
    low, high = option.bounds or (0, 0)
    if narrower:
        low, high = max(low, narrower[0]), min(high, narrower[1])
    if value is None or value == "":
        return option.default
    try:
        number = int(str(value).strip())
    except ValueError:
        raise CrawlArgumentError(field, f"must be a whole number from {low} to {high}, got {value!r}") from None
    if not low <= number <= high:
        raise CrawlArgumentError(field, f"must be from {low} to {high}, got {number}")
    return number


def _url(value: Any, field: str, example: str) -> str:
    if value is None or not str(value).strip():
        raise CrawlArgumentError(field, f"missing; give the documentation site's address, e.g. {example}")
    url = str(value).strip()
    if any(ch in url for ch in "\r\n\t\\ ") or not is_http_url(url):
        raise CrawlArgumentError(field, f"must be an http:// or https:// address with a host, got {url!r}")
    return url


def _word(option: Option, value: Any, field: str) -> str:
    word = str(value or option.default).strip().lower()
    if word not in option.choices:
        raise CrawlArgumentError(field, f"must be one of {', '.join(option.choices)}, got {value!r}")
    return word


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates, e.g. from a JSON "\ud800" or an undecodable argv byte
        return False
    return True
