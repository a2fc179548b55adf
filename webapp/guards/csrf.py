"""CSRF protection for the HTML form posts: a signed double-submit token.

A page sets a cookie holding a random nonce and puts `nonce.signature` in its forms
(a hidden `csrf_token` field; htmx also sends it as `X-CSRF-Token`). A post must
carry a token whose nonce is the cookie's and whose HMAC signature is the server's:
another site can make the browser send the cookie but cannot read it, and a cookie
planted from elsewhere (a sibling subdomain) cannot come with a valid signature.
The JSON API takes no cookies and needs none of this.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from starlette.requests import Request
from starlette.responses import Response

from webapp.guards.errors import CsrfFailed

COOKIE = "docspasta_csrf"
FIELD = "csrf_token"
HEADER = "x-csrf-token"
_NONCE = re.compile(r"^[A-Za-z0-9_-]{32,64}$")


class CsrfTokens:
    def __init__(self, secret: str):
        self._key = hashlib.sha256(b"docspasta-csrf:" + secret.encode()).digest()

    def _sign(self, nonce: str) -> str:
        return hmac.new(self._key, nonce.encode(), hashlib.sha256).hexdigest()

    def token(self, nonce: str) -> str:
        return f"{nonce}.{self._sign(nonce)}"

    def page_token(self, request: Request) -> tuple[str, str | None]:
        """(the token for the page's forms, a new nonce to set as the cookie or None if it is set already)."""
        nonce = request.cookies.get(COOKIE, "")
        if _NONCE.match(nonce):
            return self.token(nonce), None
        nonce = secrets.token_urlsafe(32)
        return self.token(nonce), nonce

    def check(self, request: Request, sent: str | None) -> None:
        """CsrfFailed unless `sent` (or the X-CSRF-Token header) is this browser's signed token."""
        sent = sent or request.headers.get(HEADER) or ""
        nonce = request.cookies.get(COOKIE, "")
        given_nonce, _, signature = sent.partition(".")
        if not _NONCE.match(nonce) or not hmac.compare_digest(given_nonce.encode(), nonce.encode()) \
                or not hmac.compare_digest(signature.encode(), self._sign(nonce).encode()):
            reason = "missing" if not sent or not nonce else "wrong"
            raise CsrfFailed(f"csrf_token: the form's security token is {reason}; reload the page and submit again",
                             field=FIELD)


def set_cookie(request: Request, response: Response, nonce: str) -> None:
    response.set_cookie(COOKIE, nonce, httponly=True, samesite="strict", path="/",
                        secure=request.url.scheme == "https")
