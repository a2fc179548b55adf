"""The forward proxy Chromium has to use: the browser never resolves a name or opens
a connection by itself.

Chromium is launched with this proxy as its only way out (spiders/render/handler.py).
For each request it gets, a plain `GET http://host/...` or a `CONNECT host:port`
tunnel (https and WebSockets), the proxy asks `route(host, port)` for the addresses to
use: the name resolved now, every answer checked. It connects to those addresses and
nothing else, never resolving again, so a name that answered with a public address for
an earlier check and answers 127.0.0.1 now (DNS rebinding) is refused at the connection
that matters. A refusal is a 403 with the reason in the `X-DocsPasta-Blocked` header.
TLS is not intercepted: a CONNECT is a byte tunnel to the checked address.

It runs on the crawl's event loop (the asyncio reactor's), beside Playwright's own
connection: no thread, no second loop, and only waiting on sockets there; names are
resolved by the reactor's resolver, in its thread pool. A plain request gets a fresh
upstream connection and `Connection: close` both ways, so the proxy never has to find
where one response ends and the next request begins.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Awaitable, Callable
from urllib.parse import urlsplit

logger = logging.getLogger(__name__)

BLOCKED_HEADER = "X-DocsPasta-Blocked"
_HEAD_LIMIT = 64 * 1024  # request or response head; the stream's buffer limit
_CHUNK = 64 * 1024
_HOP_BY_HOP = {b"connection", b"proxy-connection", b"keep-alive", b"proxy-authorization"}


class Refused(Exception):
    """The proxy may not connect where the browser asked (the message says why)."""


# host, port -> the addresses to connect to, all checked; raises Refused.
Route = Callable[[str, int], Awaitable[list[str]]]


class GuardedProxy:
    """An HTTP forward proxy on 127.0.0.1 that connects only where `route` says."""

    def __init__(self, route: Route, refused: Callable[[str, str], None], connect_timeout: float = 30.0):
        self.route = route
        self.refused = refused  # called with (target, reason) for each refusal
        self.connect_timeout = connect_timeout
        self.port = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> GuardedProxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, limit=_HEAD_LIMIT)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        """Stop listening and end every connection still open."""
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await server.wait_closed()

    async def _serve(self, client: asyncio.StreamReader, to_client: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self._tasks.add(task)
        upstream: asyncio.StreamWriter | None = None
        try:
            head = await client.readuntil(b"\r\n\r\n")
            method, target, version, headers = _parse_head(head)
            if method == b"CONNECT":
                host, port = _authority(target.decode("latin-1"), 443)
                path = b""
            else:
                host, port, path = _absolute(target.decode("latin-1"))
            try:
                reader, upstream = await self._connect(host, port)
            except Refused as exc:
                self.refused(target.decode("latin-1"), str(exc))
                await _reply(to_client, 403, f"blocked: {exc}", {BLOCKED_HEADER: _header_safe(str(exc))})
                return
            except (OSError, asyncio.TimeoutError) as exc:
                await _reply(to_client, 502, f"cannot connect to {host}:{port}: {exc or type(exc).__name__}")
                return
            if method == b"CONNECT":
                to_client.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                await asyncio.gather(_pipe(client, upstream), _pipe(reader, to_client))
            else:
                upstream.write(_origin_request(method, path, version, headers))
                # Done when the server closes after its response, or when the browser hangs
                # up (it does once it has the whole response, which says `Connection: close`).
                await _first_of(_pipe(client, upstream), _relay_response(reader, to_client))
        except asyncio.IncompleteReadError as exc:
            if exc.partial:  # else a connection opened ahead of need, then closed unused
                await _reply(to_client, 400, "incomplete proxy request")
        except (ValueError, asyncio.LimitOverrunError):
            await _reply(to_client, 400, "not a proxy request this proxy understands")
        except ConnectionError:
            pass  # either side hung up: nothing left to tell anyone
        finally:
            for writer in (to_client, upstream):
                if writer is not None:
                    writer.close()
            self._tasks.discard(task)

    async def _connect(self, host: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        addresses = await asyncio.wait_for(self.route(host, port), self.connect_timeout)
        if not addresses:
            raise OSError(f"{host} does not resolve")
        error: Exception = OSError("no address")
        for address in addresses:  # every one of them checked; the first that answers wins
            try:
                return await asyncio.wait_for(
                    asyncio.open_connection(address, port, limit=_HEAD_LIMIT), self.connect_timeout)
            except (OSError, asyncio.TimeoutError) as exc:
                error = exc
        raise error


def _parse_head(head: bytes) -> tuple[bytes, bytes, bytes, list[bytes]]:
    request_line, *headers = head[:-4].split(b"\r\n")
    method, target, version = request_line.split(b" ")
    if not version.startswith(b"HTTP/1."):
        raise ValueError(version)
    return method.upper(), target, version, headers


def _authority(authority: str, default_port: int) -> tuple[str, int]:
    parts = urlsplit(f"//{authority}")
    if not parts.hostname:
        raise ValueError(authority)
    return parts.hostname, parts.port or default_port


def _absolute(target: str) -> tuple[str, int, bytes]:
    """Host, port and origin-form path of an absolute-form request target."""
    scheme, sep, rest = target.partition("://")
    if scheme.lower() != "http" or not sep:
        raise ValueError(target)
    authority, _, path = rest.partition("/")
    authority, _, query = authority.partition("?")  # http://host?q has no slash
    host, port = _authority(authority, 80)
    path = "/" + path if not query else f"/?{query}"
    return host, port, path.encode("latin-1")


def _origin_request(method: bytes, path: bytes, version: bytes, headers: list[bytes]) -> bytes:
    kept = [line for line in headers if line.split(b":", 1)[0].strip().lower() not in _HOP_BY_HOP]
    return b"\r\n".join([b" ".join((method, path, version)), *kept, b"Connection: close"]) + b"\r\n\r\n"


async def _first_of(*coroutines: Awaitable[None]) -> None:
    tasks = [asyncio.ensure_future(coroutine) for coroutine in coroutines]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    for task in done:
        task.result()  # a ConnectionError, say, is the caller's to handle


async def _relay_response(upstream: asyncio.StreamReader, client: asyncio.StreamWriter) -> None:
    """The response with `Connection: close`: the browser must not send another request here."""
    try:
        head = await upstream.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        client.write(exc.partial)  # no head at all: whatever came, then the close says the rest
    else:
        status, *headers = head[:-4].split(b"\r\n")
        kept = [line for line in headers if line.split(b":", 1)[0].strip().lower() not in _HOP_BY_HOP]
        client.write(b"\r\n".join([status, *kept, b"Connection: close"]) + b"\r\n\r\n")
        await _pipe(upstream, client)
    await client.drain()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy until the end of the stream, then half-close, so each direction ends by itself."""
    try:
        while data := await reader.read(_CHUNK):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except ConnectionError:
        writer.close()  # the other direction then sees the end as well


async def _reply(writer: asyncio.StreamWriter, status: int, text: str, headers: dict[str, str] | None = None) -> None:
    body = text.encode("utf-8", "replace") + b"\n"
    reason = {400: "Bad Request", 403: "Forbidden", 502: "Bad Gateway"}[status]
    lines = [f"HTTP/1.1 {status} {reason}", "Content-Type: text/plain; charset=utf-8",
             f"Content-Length: {len(body)}", "Connection: close",
             *(f"{name}: {value}" for name, value in (headers or {}).items())]
    writer.write("\r\n".join(lines).encode("latin-1", "replace") + b"\r\n\r\n" + body)
    try:
        await writer.drain()
    except ConnectionError:
        pass


def _header_safe(text: str) -> str:
    return "".join(ch if " " <= ch <= "~" else "?" for ch in text)[:500]
