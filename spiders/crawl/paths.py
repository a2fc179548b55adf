"""A job's include and exclude path globs: which discovered URLs its crawl follows.

Matched against the URL's path as it is written (percent-encoding kept, no query),
case-sensitively, with `fnmatch`'s globs: `*` matches any characters, `/` included
(`/api/*` is everything under /api/), `?` one character, `[...]` a set. A URL whose
path matches an exclude pattern, or none of the include patterns when there are some,
is recorded as skipped with the pattern that decided it. The start URL is always
fetched: its links are where the crawl begins.
"""
from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase
from urllib.parse import urlsplit


@dataclass(frozen=True)
class PathPatterns:
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    def refusal(self, url: str) -> str | None:
        """Why the crawl does not follow `url` (a skipped URL's reason), or None."""
        path = urlsplit(url).path or "/"
        for pattern in self.exclude:
            if fnmatchcase(path, pattern):
                return f"excluded: the path matches {pattern}"
        if self.include and not any(fnmatchcase(path, pattern) for pattern in self.include):
            return "not included: the path matches no include pattern"
        return None
