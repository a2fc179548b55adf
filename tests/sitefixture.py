"""A documentation site served on 127.0.0.1 (port 0) for real crawls in tests.

Each route is a small function of the request; the server logs every request
(path, Host, User-Agent, time) so tests can assert what was fetched, how often,
and how politely.
"""
from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable


@dataclass
class Reply:
    status: int = 200
    body: bytes | str = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "text/html; charset=utf-8"
    delay: float = 0.0  # seconds before answering
    reset: bool = False  # close the connection without answering
    chunks: int = 1  # send the body in this many writes (for large bodies)
    length: bool = True  # False: no Content-Length, the body ends when the connection closes


@dataclass
class Hit:
    path: str
    host: str
    user_agent: str
    at: float


def page(title: str, *links: str, body: str = "", head: str = "") -> str:
    """A small documentation page with a nav bar and real-looking content."""
    anchors = "\n".join(f'<li><a href="{href}">{href}</a></li>' for href in links)
    text = body or (
        f"<p>{title} explains one part of the library in enough words to count as a real page of "
        "documentation, with an example, the reasons behind the design, and what to read next.</p>"
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title>{head}</head>"
        f"<body><nav><a href='/'>Home</a></nav><main><h1>{title}</h1>{text}<ul>{anchors}</ul></main>"
        "<footer>Copyright fixture</footer></body></html>"
    )


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        pass  # clients that hang up mid-answer are part of the tests


class FixtureSite:
    def __init__(self, host: str = "127.0.0.1") -> None:
        self.routes: dict[str, Callable[[BaseHTTPRequestHandler], Reply]] = {}
        self.hits: list[Hit] = []
        self.active = 0
        self.max_active = 0
        self.aborted: list[str] = []  # paths whose body the client stopped reading
        self._lock = threading.Lock()
        self.host = host
        self._server = _QuietServer((host, 0), self._handler())
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # -- building the site --------------------------------------------------

    def url(self, path: str = "/", host: str | None = None) -> str:
        return f"http://{host or self.host}:{self.port}{path}"

    def add(self, path: str, reply: Reply | str | Callable[[BaseHTTPRequestHandler], Reply]) -> None:
        if isinstance(reply, str):
            reply = Reply(body=reply)
        self.routes[path] = reply if callable(reply) else (lambda _req, r=reply: r)

    def add_page(self, path: str, title: str, *links: str, **kwargs: str) -> None:
        self.add(path, page(title, *links, **kwargs))

    def redirect(self, path: str, to: str, status: int = 301) -> None:
        self.add(path, Reply(status=status, headers={"Location": to}))

    def sequence(self, path: str, *replies: Reply) -> None:
        """Answer with each reply in turn, then keep answering with the last."""
        calls = Counter()

        def respond(_req: BaseHTTPRequestHandler) -> Reply:
            with self._lock:
                n = calls[path]
                calls[path] += 1
            return replies[min(n, len(replies) - 1)]

        self.routes[path] = respond

    # -- what the crawler did -----------------------------------------------

    def count(self, path: str) -> int:
        return sum(1 for hit in self.hits if hit.path == path)

    def paths(self) -> list[str]:
        return [hit.path for hit in self.hits]

    # -- server -------------------------------------------------------------

    def start(self) -> FixtureSite:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                with site._lock:
                    site.hits.append(Hit(self.path, self.headers.get("Host", ""),
                                         self.headers.get("User-Agent", ""), time.monotonic()))
                    site.active += 1
                    site.max_active = max(site.max_active, site.active)
                self._counted = True
                try:
                    self._answer()
                finally:
                    self._finished()

            def _finished(self) -> None:
                # Counted out before the last bytes leave: once the client has the whole response
                # it may send its next request, which must not find this one still counted.
                if self._counted:
                    self._counted = False
                    with site._lock:
                        site.active -= 1

            def _answer(self) -> None:
                route = site.routes.get(self.path) or site.routes.get(self.path.split("?")[0])
                reply = route(self) if route else Reply(404, "<html><body><h1>Not found</h1></body></html>")
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.reset:
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                    self.close_connection = True
                    return
                body = reply.body.encode() if isinstance(reply.body, str) else reply.body
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                if reply.length:
                    self.send_header("Content-Length", str(len(body)))
                else:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                if not body:
                    self._finished()
                self.end_headers()
                step = max(1, len(body) // reply.chunks)
                try:
                    for start in range(0, len(body), step):
                        if start + step >= len(body):
                            self._finished()
                        self.wfile.write(body[start:start + step])
                        if reply.chunks > 1:
                            time.sleep(0.01)
                except (BrokenPipeError, ConnectionResetError):
                    site.aborted.append(self.path)
                    self.close_connection = True

        return Handler
