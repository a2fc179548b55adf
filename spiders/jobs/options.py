"""The options of one crawl job, in one place: names, types, ranges, defaults and messages.

Every entry point parses through `parse_options`: the JSON API (camelCase names), the
HTML form (snake_case), `scrapy crawl docs -a name=value`, `docspasta crawl` and the
spider itself. A bad value's message starts with the field as that client spelled it,
so it reads the same wherever it was typed. The web app narrows the ranges with its
own limits (`bounds`, `max_url_length`): parameters of this one check, not a second one.

Request headers and cookies (private documentation) are options too, checked here like
the others, but they are secrets: no message ever quotes a value (nor a name that is not
a valid header name: a pasted `Authorization Bearer abc…` would be one), `repr` leaves
them out, and `settings()` (what a job stores and shows) does not hold them.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
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
    patterns: bool = False  # a list of path globs
    secret: str = ""  # "headers" or "cookies": a secret list of (name, value) pairs
    cli: str = ""  # `docspasta crawl`'s flag, when not the name's (--header, repeatable)

    @property
    def flag(self) -> str:
        return self.cli or "--" + self.name.replace("_", "-")

    @property
    def many(self) -> bool:
        """Given as a list: repeatable in `docspasta crawl`."""
        return self.patterns or bool(self.secret)


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
    Option("token_budget", "tokenBudget", None, "fit the document in N tokens, leaving the lowest-quality pages "
           "out first (default: no budget)", bounds=(1, 100_000_000)),
    Option("include", "include", (), "only follow URLs whose path matches one of these globs (e.g. /guide/*); "
           "the start URL is always fetched", patterns=True),
    Option("exclude", "exclude", (), "never follow URLs whose path matches one of these globs (e.g. /api/*)",
           patterns=True),
    Option("headers", "headers", (), "a request header sent to the start URL's host only, 'Name: value' "
           "(private documentation; never stored past the job, logged or shown)", secret="headers", cli="--header"),
    Option("cookies", "cookies", (), "a cookie sent to the start URL's host only, 'name=value' "
           "(private documentation; never stored past the job, logged or shown)", secret="cookies", cli="--cookie"),
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


Pairs = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class CrawlOptions:
    url: str
    max_pages: int = DEFAULTS["max_pages"]
    max_depth: int = DEFAULTS["max_depth"]
    quality_threshold: int = DEFAULTS["quality_threshold"]
    scope: str = DEFAULTS["scope"]
    render: str = DEFAULTS["render"]
    token_budget: int | None = None
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    # secrets: out of repr, of settings() and of every message
    headers: Pairs = field(default=(), repr=False)
    cookies: Pairs = field(default=(), repr=False)

    @classmethod
    def parse(cls, **raw: Any) -> CrawlOptions:
        """From keyword arguments named as the spider's `-a` arguments (None: the default)."""
        return parse_options(raw)

    @property
    def private(self) -> bool:
        """Whether the job sends request headers or cookies of its own."""
        return bool(self.headers or self.cookies)

    @classmethod
    def from_job(cls, job: Mapping[str, Any], secrets: Mapping[str, Any] | None = None) -> CrawlOptions:
        """The options a stored job (a crawl_jobs row) runs with: its own, or a refresh's; with its headers
        and cookies when `secrets` (`JobStore.secrets`: [[name, value], ...] of each) are given."""
        columns = {"url": "initial_url", "include": "include_patterns", "exclude": "exclude_patterns"}
        raw: dict[str, Any] = {option.name: job[columns.get(option.name, option.name)] for option in OPTIONS
                               if not option.secret}
        for kind in ("headers", "cookies"):
            raw[kind] = {name: value for name, value in (secrets or {}).get(kind) or ()}
        return parse_options(raw)

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

    def settings(self) -> dict[str, Any]:
        """What the job ran with, as a job stores and shows it: every option but the secrets."""
        return {option.name: list(value) if isinstance(value := getattr(self, option.name), tuple) else value
                for option in OPTIONS if not option.secret}

    def as_dict(self) -> dict[str, Any]:
        """The spider's keyword arguments: the settings and the secrets, as parse_options takes them back."""
        return {**self.settings(), "headers": dict(self.headers), "cookies": dict(self.cookies)}


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
        if option.many:
            continue  # lists, checked below
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
    patterns = {option.name: _patterns(values[option.name], names[option.name]) for option in OPTIONS
                if option.patterns}
    secrets = {option.name: _secrets(option.secret, values[option.name], names[option.name]) for option in OPTIONS
               if option.secret}
    return CrawlOptions(url=url, **numbers, **words, **patterns, **secrets)


def _number(option: Option, value: Any, field: str, narrower: tuple[int, int] | None) -> int | None:
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


MAX_PATTERNS = 50
MAX_PATTERN_LENGTH = 300
MAX_SECRETS = 30  # headers, and cookies, per job
MAX_SECRET_LENGTH = 8192  # characters of one value
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$")  # RFC 9110 token: a header or cookie name
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # a tab may stay, nothing else below space
_COOKIE_VALUE = re.compile(r'^[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*$')  # RFC 6265 cookie-octets
# Headers a job may not set: the connection's own (hop-by-hop, framing, Host), what the
# crawler manages (compression, cookies, its identity), and what a browser would refuse
# to let a page set (Fetch's forbidden request-header names).
FORBIDDEN_HEADERS = frozenset({
    "accept-charset", "accept-encoding", "access-control-request-headers", "access-control-request-method",
    "connection", "content-length", "content-type", "cookie", "cookie2", "date", "dnt", "expect", "host",
    "keep-alive", "origin", "proxy-authenticate", "proxy-authorization", "proxy-connection", "range", "referer",
    "set-cookie", "te", "trailer", "transfer-encoding", "upgrade", "user-agent", "via",
})
FORBIDDEN_PREFIXES = ("proxy-", "sec-")


def _items(value: Any, field: str, what: str) -> list[Any]:
    """A list option's items: a list, or text with one item per line (or comma, for patterns)."""
    if value is None or value == "":
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    if isinstance(value, str):
        return [value]
    raise CrawlArgumentError(field, f"must be a list of {what}, got {type(value).__name__}")


def _patterns(value: Any, field: str) -> tuple[str, ...]:
    """Path globs from a list or from text separated by commas or lines; each starts with / or *."""
    patterns: list[str] = []
    for item in _items(value, field, "path patterns"):
        if not isinstance(item, str):
            raise CrawlArgumentError(field, f"must be a list of path patterns (text), got {item!r}")
        for pattern in re.split(r"[,\n]", item):
            pattern = pattern.strip()
            if not pattern:
                continue
            if not _utf8(pattern):
                raise CrawlArgumentError(field, "must be valid UTF-8 text")
            if not pattern.startswith(("/", "*")) or len(pattern) > MAX_PATTERN_LENGTH or _CONTROL.search(pattern):
                raise CrawlArgumentError(field, f"{pattern[:80]!r} is not a path pattern: one starting with / or *, "
                                                f"at most {MAX_PATTERN_LENGTH} characters, e.g. /guide/*")
            if pattern not in patterns:
                patterns.append(pattern)
    if len(patterns) > MAX_PATTERNS:
        raise CrawlArgumentError(field, f"at most {MAX_PATTERNS} patterns, got {len(patterns)}")
    return tuple(patterns)


def _secrets(kind: str, value: Any, field: str) -> Pairs:
    """Headers (`Name: value`) or cookies (`name=value`): a JSON object or mapping of names to values,
    or a list (text: one per line; cookies also `a=1; b=2`). The messages never quote a value."""
    one = "header" if kind == "headers" else "cookie"
    if isinstance(value, str) and value.strip().startswith("{"):
        try:
            value = json.loads(value)
        except ValueError:
            raise CrawlArgumentError(field, f"not a JSON object of {one} names and values") from None
    if isinstance(value, Mapping):
        pairs = []
        for name, text in value.items():
            if not isinstance(name, str) or not isinstance(text, str):
                raise CrawlArgumentError(field, f"each {one}'s name and value must be text")
            pairs.append((name, text))
    else:
        pairs = [_pair(kind, item, field, n) for n, item in enumerate(_lines(kind, value, field), 1)]
    if len(pairs) > MAX_SECRETS:
        raise CrawlArgumentError(field, f"at most {MAX_SECRETS} {kind}, got {len(pairs)}")
    seen: set[str] = set()
    checked = []
    for n, (name, text) in enumerate(pairs, 1):
        name, text = name.strip(), text.strip()
        if not _TOKEN.match(name):
            raise CrawlArgumentError(field, f"{one} {n}: the name is not a valid {one} name (letters, digits and "
                                            "!#$%&'*+.^_`|~- only)")
        key = name.lower() if kind == "headers" else name  # header names are case-insensitive, cookie names not
        if kind == "headers" and (key in FORBIDDEN_HEADERS or key.startswith(FORBIDDEN_PREFIXES)):
            hint = "; give cookies as cookies" if key == "cookie" else ""
            raise CrawlArgumentError(field, f"{name} is a header DocsPasta does not let a job set{hint}")
        if key in seen:
            raise CrawlArgumentError(field, f"{name} is given twice")
        seen.add(key)
        if not text:
            raise CrawlArgumentError(field, f"{name} has no value")
        if len(text) > MAX_SECRET_LENGTH:
            raise CrawlArgumentError(field, f"the value of {name} is longer than {MAX_SECRET_LENGTH} characters")
        if _CONTROL.search(text):
            raise CrawlArgumentError(field, f"the value of {name} contains a line break or another control character")
        if not text.isascii():
            raise CrawlArgumentError(field, f"the value of {name} must be ASCII text")
        if kind == "cookies" and not _COOKIE_VALUE.match(text):
            raise CrawlArgumentError(field, f"the value of {name} may not contain spaces, quotes, commas, semicolons "
                                            "or backslashes")
        checked.append((name, text))
    return tuple(checked)


def _lines(kind: str, value: Any, field: str) -> list[str]:
    lines: list[str] = []
    for item in _items(value, field, kind):
        if not isinstance(item, str):
            raise CrawlArgumentError(field, "must be a list of text, or an object of names and values")
        separators = r"[\r\n;]" if kind == "cookies" else r"[\r\n]"
        lines += [line for line in re.split(separators, item) if line.strip()]
    return lines


def _pair(kind: str, line: str, field: str, n: int) -> tuple[str, str]:
    separator, form = (":", "Name: value") if kind == "headers" else ("=", "name=value")
    name, found, text = line.partition(separator)
    if not found:
        raise CrawlArgumentError(field, f"{kind[:-1]} {n} is not written {form}")
    return name, text


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates, e.g. from a JSON "\ud800" or an undecodable argv byte
        return False
    return True
