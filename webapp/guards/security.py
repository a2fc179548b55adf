"""Two ASGI middlewares every response passes through: security headers, and a request body limit.

Both are plain ASGI (not BaseHTTPMiddleware): they touch only `http.response.start`
and `http.request` messages, so SSE streams pass through unbuffered.
"""
from __future__ import annotations

import hmac
import re
from typing import Any

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from webapp.guards.errors import BodyTooLarge

# Nothing inline: scripts and styles come from /static only; the page talks to its own origin only.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
]


class SecurityHeadersMiddleware:
    """Adds the CSP and the other hardening headers to every HTTP response."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = list(message.get("headers", [])) + [
                    header for header in HEADERS if header[0] not in present]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyLimitMiddleware:
    """413 for a body larger than `max_bytes`: at once from Content-Length, else as soon as the stream passes it."""

    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        error = BodyTooLarge(f"the request body is larger than {self.max_bytes} bytes", field="body")
        length = _content_length(scope)
        if length is not None and length > self.max_bytes:
            response = JSONResponse(error.body(), status_code=error.status_code, headers={"Connection": "close"})
            return await response(scope, receive, send)
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise error  # raised inside the view's body read: the ApiError handler answers 413
            return message

        await self.app(scope, limited_receive, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def client_address(request: Any, trust_proxy: int) -> str:
    """The client's address: the peer's, or with `trust_proxy` proxies in front, the entry they vouch for.

    Each proxy appends the address it saw to X-Forwarded-For, so only the last
    `trust_proxy` entries are trustworthy; anything left of them the client wrote itself.
    """
    peer = request.client.host if request.client else "unknown"
    if trust_proxy <= 0:
        return peer
    entries = [entry.strip() for entry in ",".join(request.headers.getlist("x-forwarded-for")).split(",")]
    entries = [entry for entry in entries if entry]
    if not entries:
        return peer
    return entries[-trust_proxy] if len(entries) >= trust_proxy else entries[0]


_LIVE_LINK = re.compile(r"^https?://[^\s\x00-\x1f\x7f]+$", re.IGNORECASE)


def http_href(url: Any) -> str | None:
    """A crawled URL fit for an href (http or https, nothing a browser would strip first), else None.

    Browsers drop leading blanks and tabs/newlines inside a URL, so `" java\\tscript:"`
    is a live script link: anything but a plain http(s) URL is shown as text instead.
    """
    return url if isinstance(url, str) and _LIVE_LINK.match(url) else None


def bearer_matches(request: Any, secret: str) -> bool:
    """Whether the request sends `Authorization: Bearer <secret>`; never, while no secret is set."""
    sent = request.headers.get("authorization", "")
    return bool(secret) and hmac.compare_digest(sent.encode(), f"Bearer {secret}".encode())
