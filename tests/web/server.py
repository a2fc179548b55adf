"""`docspasta serve` in a subprocess: the one place where uvicorn, crochet and a real crawl meet in tests.

pytest-twisted owns the reactor of the test process, so the real server (asyncio
reactor installed before crochet.setup(), uvicorn on the main thread) runs in a
process of its own, on a free loopback port, and is stopped with SIGTERM.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import redis

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivateRedis:
    """A redis-server of this test's own, on a free port, that the test can kill and restart."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> PrivateRedis:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis(port=self.port)
        deadline = time.monotonic() + 10
        while True:  # a server starting up: nothing to wait on but its port
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.01)
        client.close()
        return self

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def keys(self) -> list[bytes]:
        client = redis.Redis(port=self.port)
        try:
            return client.keys("*")
        finally:
            client.close()


class PrivatePostgres:
    """A PostgreSQL of this test's own, that the test can stop and start; `close()` removes it.

    The embedded server's (pgserver's binaries, run as an unprivileged user when we are root,
    which `initdb` refuses to be), listening on a Unix socket in its directory only: the URL stays
    the same across restarts. The directory is not under pytest's tmp_path: every pytest session
    that starts resets /tmp/pytest-of-<user> to mode 700, which would lock that user out.
    """

    def __init__(self) -> None:
        from webapp.embedded import EmbeddedPostgres

        self.directory = Path(tempfile.mkdtemp(prefix="docspasta-test-postgres-"))
        self.server = EmbeddedPostgres(self.directory / "data")
        self.url: str | None = None

    def start(self) -> PrivatePostgres:
        self.url = self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    def close(self) -> None:
        self.server.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


class ManagedProcess:
    """A `docspasta` subcommand in a subprocess, its output in a log file, stopped with SIGTERM."""

    def __init__(self, args: list[str], env: dict[str, str], log_path: Path):
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.process = subprocess.Popen([sys.executable, "-m", "webapp.cli", *args], cwd=ROOT,
                                        env={**os.environ, **env}, stdout=self._log, stderr=subprocess.STDOUT)

    def log(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")[-4000:]

    def stop(self, timeout: float = 30.0) -> int:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGCONT)  # a paused process must be able to drain
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._log.close()
        return self.process.returncode


class ServerProcess(ManagedProcess):
    def __init__(self, env: dict[str, str], log_path: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        super().__init__(["serve", "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning"],
                         env, log_path)

    def wait_ready(self, timeout: float = 60.0) -> ServerProcess:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited with {self.process.returncode}:\n{self.log()}")
            try:
                if httpx.get(self.url + "/api/v3/jobs", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.05)  # polling a port that is not open yet: no event to wait on
        raise RuntimeError(f"the server did not answer within {timeout}s:\n{self.log()}")


class WorkerProcess(ManagedProcess):
    def __init__(self, env: dict[str, str], log_path: Path):
        super().__init__(["worker", "--log-level", "info"], env, log_path)


def server_env(database_url: str, redis_url: str, prefix: str, allow_hosts: str) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url, "REDIS_URL": redis_url, "DOCSPASTA_REDIS_PREFIX": prefix,
        "DOCSPASTA_ALLOW_HOSTS": allow_hosts,
        # many jobs from one address: the job limits are tested in-process (tests/web/test_security.py)
        "DOCSPASTA_RATE_LIMIT": "0", "DOCSPASTA_MAX_JOBS_PER_CLIENT": "0", "DOCSPASTA_MAX_ACTIVE_JOBS": "0",
        # fixture sites on 127.0.0.1, crawled at full speed: the rate cap per host is tested on its own
        # (tests/crawl/test_hostrate.py)
        "DOCSPASTA_HOST_RATE": "0",
        "DOCSPASTA_CRAWL_SETTINGS": json.dumps({"AUTOTHROTTLE_ENABLED": False, "LOG_LEVEL": "WARNING"}),
    }
