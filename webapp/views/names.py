"""What a job's downloads are called: after the site, in ASCII safe in any header or file system."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

_UNSAFE = re.compile(r"[^a-z0-9.-]+")


def site_slug(url: str) -> str:
    """`docs.example.org` for https://docs.example.org:8443/en/: the host, punycoded, nothing else.

    The result is only [a-z0-9.-], so it needs no quoting in a Content-Disposition header,
    and never starts with a dot (a hidden file) or a dash (an option to a shell command)."""
    host = urlsplit(url).hostname or ""
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:  # not a name IDNA can spell: keep what is ASCII in it
        pass
    slug = _UNSAFE.sub("-", host.lower()).strip(".-")[:80].strip(".-")
    return slug or "site"


def download_name(url: str, what: str) -> str:
    """`<site>-docs.md`, `<site>-export.json`; llms.txt and llms-full.txt keep the names the proposal gives them."""
    if what in ("llms.txt", "llms-full.txt"):
        return what
    return f"{site_slug(url)}-{what}"
