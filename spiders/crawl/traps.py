"""Crawler traps: URLs that a site can generate without end.

Infinite calendars, session ids, ever-deeper relative links and query
permutations all produce new URLs forever. Budgets stop them eventually; these
limits stop them early, and each refusal is recorded with its reason.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit


@dataclass(frozen=True)
class TrapLimits:
    max_url_length: int = 2048
    max_query_params: int = 12
    max_path_segments: int = 30
    max_segment_repeats: int = 3

    @classmethod
    def from_settings(cls, settings) -> TrapLimits:
        return cls(
            settings.getint("DOCSPASTA_MAX_URL_LENGTH", cls.max_url_length),
            settings.getint("DOCSPASTA_MAX_QUERY_PARAMS", cls.max_query_params),
            settings.getint("DOCSPASTA_MAX_PATH_SEGMENTS", cls.max_path_segments),
            settings.getint("DOCSPASTA_MAX_SEGMENT_REPEATS", cls.max_segment_repeats),
        )

    def reason(self, url: str) -> str | None:
        """Why this URL looks like a trap, or None."""
        if len(url) > self.max_url_length:
            return f"crawler trap: URL longer than {self.max_url_length} characters"
        parts = urlsplit(url)
        if len(parse_qsl(parts.query, keep_blank_values=True)) > self.max_query_params:
            return f"crawler trap: more than {self.max_query_params} query parameters"
        segments = [segment for segment in parts.path.split("/") if segment]
        if len(segments) > self.max_path_segments:
            return f"crawler trap: more than {self.max_path_segments} path segments"
        if segments:
            segment, repeats = Counter(segments).most_common(1)[0]
            if repeats >= self.max_segment_repeats:
                return f"crawler trap: path segment {segment!r} repeated {repeats} times"
        return None
