"""URL identity and crawl scope.

`normalize_url` gives the key a page is deduplicated by; `Scope` says which URLs
belong to a job. w3lib does the canonical form; what it leaves (default ports,
index pages, trailing slashes, tracking parameters) is folded here.
"""
from __future__ import annotations

import posixpath
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from w3lib.url import canonicalize_url

_DEFAULT_PORTS = {"http": 80, "https": 443}
# Each cache holds the URLs every page repeats (the site's navigation), not every URL of
# the site: ~770 bytes a URL over the three caches, so 50,000 entries grew a 5,000-page
# crawl's processes by ~35 MB each (cppreference's many distinct links). The caches do not
# call each other: a miss of one filled the other with a URL it was never asked for again
# (5,000-page mix: the crawl process's clean_url cache 1 hit in 6,858 entries, an
# extraction worker's normalize_url cache 0-12 hits in 8,192).
_URL_CACHE_SIZE = 2048
_INDEX_PAGES = ("index.html", "index.htm", "index.php", "index.xhtml")
_TRACKING_PREFIXES = ("utm_", "mtm_", "pk_")
_TRACKING_PARAMS = frozenset(
    "gclid dclid gbraid wbraid fbclid msclkid yclid twclid igshid mc_cid mc_eid "
    "_ga _gl _hsenc _hsmi mkt_tok oly_anon_id oly_enc_id vero_id ref_src".split()
)

# Types that are never documentation pages; recorded as skipped without a request.
NON_HTML_EXTENSIONS = frozenset(
    "pdf ps eps djvu epub mobi doc docx xls xlsx ppt pptx odt ods odp rtf csv tsv "
    "zip gz tgz bz2 xz zst 7z rar tar jar war whl egg deb rpm dmg exe msi apk iso img bin "
    "png jpg jpeg gif webp svg ico bmp tif tiff avif psd "
    "mp3 mp4 m4a wav ogg oga ogv webm mov avi mkv flac "
    "woff woff2 ttf otf eot css js mjs map wasm json xml rss atom yaml yml toml "
    "ipynb py rs c h cpp go java rb sh txt md rst".split()
)


@lru_cache(maxsize=_URL_CACHE_SIZE)  # every page's links are checked: its sidebar's again and again
def is_http_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - a port out of range or a broken IPv6 host is no web address
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _is_tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered in _TRACKING_PARAMS or lowered.startswith(_TRACKING_PREFIXES)


# Navigation repeats the same links on every page: both are pure, so cache them.
def _route(fragment: str) -> str:
    """The client-side route in a fragment (`/guide` of `#/guide`), or "" for an anchor.

    Hash routers (docsify, Vue and Angular hash mode, `#!` hash-bang) keep the page
    address in a fragment that starts with `/` or `!/`; ordinary `#section` anchors
    never do. A route's `id` parameter (docsify's heading anchor) and tracking
    parameters do not make another page, and the root route `#/` is the page itself.
    """
    if not fragment.startswith(("/", "!/")):
        return ""
    path, _, query = fragment.partition("?")
    params = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k != "id" and not _is_tracking(k)]
    if path in ("/", "!/") and not params:
        return ""
    return path + ("?" + urlencode(params) if params else "")


@lru_cache(maxsize=_URL_CACHE_SIZE)
def clean_url(url: str) -> str:
    """The URL to request: no anchor, no tracking parameters, otherwise as written.
    A hash route (`#/guide`) is kept: on a single-page app it names the page."""
    return _clean_url(url)


def _clean_url(url: str) -> str:
    parts = urlsplit(url.strip())
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k)]
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", urlencode(query), _route(parts.fragment)))


@lru_cache(maxsize=_URL_CACHE_SIZE)
def normalize_url(url: str) -> str:
    """The identity of a page: two URLs with the same key are one page."""
    return _normalize_url(url)


def _normalize_url(url: str) -> str:
    cleaned = _clean_url(url)
    parts = urlsplit(canonicalize_url(cleaned))  # drops the fragment: a hash route goes back on below
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    port = parts.port
    netloc = host if port in (None, _DEFAULT_PORTS.get(scheme)) else f"{host}:{port}"
    path = parts.path or "/"
    head, _, last = path.rpartition("/")
    if last.lower() in _INDEX_PAGES:
        path = head + "/"
    if len(path) > 1:
        path = path.rstrip("/") or "/"
    return urlunsplit((scheme, netloc, path, parts.query, urlsplit(cleaned).fragment))


def url_extension(url: str) -> str:
    last = urlsplit(url).path.rsplit("/", 1)[-1]
    return last.rsplit(".", 1)[-1].lower() if "." in last else ""


def is_non_html_url(url: str) -> bool:
    return url_extension(url) in NON_HTML_EXTENSIONS


@dataclass(frozen=True)
class Scope:
    """Which URLs a job may follow.

    `prefix`: same host and under the start URL's directory. A last path segment
    without an extension (`/docs`) is taken as a directory, since documentation
    roots are often written that way. `host`: anywhere on the start URL's host.
    The scheme is not part of the scope: http and https of one host are one site.
    """

    mode: str
    netloc: str
    prefix: str

    @classmethod
    def from_url(cls, url: str, mode: str = "prefix") -> Scope:
        key = urlsplit(normalize_url(url))
        path = urlsplit(url).path or "/"
        if not path.endswith("/"):
            head, _, last = path.rpartition("/")
            path = head + "/" if "." in last else path + "/"
        return cls(mode, key.netloc, posixpath.normpath(path).rstrip("/") + "/")

    def contains(self, url: str) -> bool:
        return _in_scope(self, url)

    def _contains(self, url: str) -> bool:
        if not is_http_url(url):
            return False
        key = urlsplit(_normalize_url(url))
        if key.netloc != self.netloc:
            return False
        if self.mode == "host":
            return True
        path = key.path if key.path.endswith("/") else key.path + "/"
        return path.startswith(self.prefix)


# Every page repeats the site's navigation: the same links are checked again and again.
@lru_cache(maxsize=_URL_CACHE_SIZE)
def _in_scope(scope: Scope, url: str) -> bool:
    return scope._contains(url)
