"""The arguments of one crawl, checked once, with messages that name the argument.

The terminal commands, the spider and the web app all validate through
`CrawlOptions.parse`, so a bad value reads the same wherever it was typed.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit

from spiders.crawl.urls import is_http_url

SCOPES = ("prefix", "host")
RENDER_MODES = ("auto", "always", "never")
LIMITS = {
    "max_pages": (1, 10_000, 50),
    "max_depth": (0, 20, 2),
    "quality_threshold": (0, 100, 20),
}


class CrawlArgumentError(ValueError):
    """A crawl argument is missing or out of range; the message names it."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True)
class CrawlOptions:
    url: str
    max_pages: int = 50
    max_depth: int = 2
    quality_threshold: int = 20
    scope: str = "prefix"
    render: str = "auto"

    @classmethod
    def parse(cls, **raw: Any) -> CrawlOptions:
        url = raw.get("url")
        if url is None or not str(url).strip():
            raise CrawlArgumentError("url", "missing; give the documentation site's address, e.g. -a url=https://docs.example.org/")
        url = str(url).strip()
        if any(ch in url for ch in "\r\n\t\\ ") or not is_http_url(url):
            raise CrawlArgumentError("url", f"must be an http:// or https:// address with a host, got {url!r}")

        values: dict[str, Any] = {"url": url}
        for name, (low, high, default) in LIMITS.items():
            value = raw.get(name)
            if value is None or value == "":
                values[name] = default
                continue
            try:
                number = int(str(value).strip())
            except ValueError:
                raise CrawlArgumentError(name, f"must be a whole number from {low} to {high}, got {value!r}") from None
            if not low <= number <= high:
                raise CrawlArgumentError(name, f"must be from {low} to {high}, got {number}")
            values[name] = number
        scope = str(raw.get("scope") or "prefix").strip().lower()
        if scope not in SCOPES:
            raise CrawlArgumentError("scope", f"must be one of {', '.join(SCOPES)}, got {raw.get('scope')!r}")
        values["scope"] = scope
        render = str(raw.get("render") or "auto").strip().lower()
        if render not in RENDER_MODES:
            raise CrawlArgumentError("render", f"must be one of {', '.join(RENDER_MODES)}, got {raw.get('render')!r}")
        values["render"] = render
        return cls(**values)

    def check_target(self, allow_hosts: str | None) -> None:
        """Refuse a start URL on an internal address before anything is queued."""
        from spiders.safety.addresses import AllowList, target_refusal

        if reason := target_refusal(self.url, AllowList.parse(allow_hosts)):
            parts = urlsplit(self.url)
            hint = f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}"
            raise CrawlArgumentError("url", f"blocked: {reason} (to crawl it anyway, set DOCSPASTA_ALLOW_HOSTS={hint})")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
