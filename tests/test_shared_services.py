"""The suite fails when a test restarted the shared PostgreSQL or Redis (tests/shared_services.py).

Shown on servers of this test's own, never the machine's: an inner pytest session is pointed at
them as if they were the shared ones, and they are restarted while its test runs.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.web.server import ROOT, PrivatePostgres, PrivateRedis

pytest.importorskip("pgserver")

INNER = '''
import time
from pathlib import Path


def test_meanwhile_the_servers_are_restarted():
    Path("{ready}").touch()
    deadline = time.monotonic() + 120
    while not Path("{go}").exists():  # the outer test restarts the servers now
        assert time.monotonic() < deadline
        time.sleep(0.05)
'''


def inner_session(tmp_path: Path, postgres_url: str, redis_url: str) -> subprocess.Popen:
    ready, go = tmp_path / "ready", tmp_path / "go"
    (tmp_path / "test_inner.py").write_text(INNER.format(ready=ready, go=go))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
           "DOCSPASTA_TEST_ADMIN_URL": postgres_url, "DOCSPASTA_TEST_REDIS_URL": redis_url}
    return subprocess.Popen([sys.executable, "-m", "pytest", "-q", "-p", "tests.shared_services", "-p", "no:cacheprovider",
                             "test_inner.py"], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)


def wait_for_file(path: Path, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while not path.exists():  # the inner session starting up: nothing to wait on but the file
        assert process.poll() is None, process.communicate()[0]
        assert time.monotonic() < deadline, "the inner session did not start"
        time.sleep(0.05)


@pytest.mark.parametrize("restart", ["postgresql", "redis", "neither"])
def test_a_session_that_restarted_a_shared_server_fails(tmp_path, restart):
    postgres = PrivatePostgres().start()
    redis = PrivateRedis().start()
    inner = None
    try:
        inner = inner_session(tmp_path, postgres.url, redis.url)
        wait_for_file(tmp_path / "ready", inner)
        if restart == "postgresql":
            postgres.stop()
            postgres.start()
        elif restart == "redis":
            redis.kill()
            redis.start()
        (tmp_path / "go").touch()
        output, _ = inner.communicate(timeout=120)
    finally:
        if inner is not None and inner.poll() is None:
            inner.kill()
            inner.wait(10)
        redis.kill()
        postgres.close()
    if restart == "neither":
        assert inner.returncode == 0, output
        return
    assert inner.returncode == 1, output
    assert "the tests stopped or restarted the machine's shared servers" in output, output
    changed = "PostgreSQL" if restart == "postgresql" else "Redis"
    unchanged = "Redis" if restart == "postgresql" else "PostgreSQL"
    assert f"{changed} (" in output.split("shared servers", 1)[1], output
    assert f"{unchanged} (" not in output.split("shared servers", 1)[1], output
