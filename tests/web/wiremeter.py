"""A TCP relay on loopback that counts the bytes PostgreSQL sends: what a request really reads.

Point an app's DATABASE_URL at `relay.url(database_url)`; `received` is every byte
the server sent to it so far (rows, protocol messages, everything). Once an HTTP
response is in hand, every byte the queries behind it read has passed through, so
`received` before and after is the request's cost, with no sampling or sleeps.
"""
from __future__ import annotations

import socket
import threading
from urllib.parse import urlsplit, urlunsplit


class WireMeter:
    def __init__(self, host: str, port: int):
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.received = 0  # bytes from the server
        self.sent = 0  # bytes to the server
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    @classmethod
    def for_url(cls, database_url: str) -> WireMeter:
        parts = urlsplit(database_url)
        return cls(parts.hostname or "127.0.0.1", parts.port or 5432)

    def url(self, database_url: str) -> str:
        """`database_url` through this relay."""
        parts = urlsplit(database_url)
        auth = parts.netloc.rpartition("@")[0]
        return urlunsplit(parts._replace(netloc=f"{auth + '@' if auth else ''}127.0.0.1:{self.port}"))

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # closed
            server = socket.create_connection(self.target)
            with self._lock:
                self._sockets += [client, server]
            threading.Thread(target=self._pump, args=(server, client, "received"), daemon=True).start()
            threading.Thread(target=self._pump, args=(client, server, "sent"), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, counter: str) -> None:
        try:
            while data := source.recv(1 << 16):
                with self._lock:
                    setattr(self, counter, getattr(self, counter) + len(data))
                sink.sendall(data)
        except OSError:
            pass
        finally:
            try:
                sink.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def close(self) -> None:
        self.listener.close()
        with self._lock:
            for sock in self._sockets:
                sock.close()
