"""Submitting internal addresses end to end, in a network namespace where nothing is reachable.

The issue's rule for tests: what is refused is shown without ever connecting to it. The
classifier and resolver hook are tested directly in tests/safety/test_ssrf.py; this test submits
private, metadata and ULA targets to a real `docspasta serve` and crawls a site that
redirects to them, but inside `unshare --net --mount` (only a loopback interface; /etc/hosts
replaced there with names that resolve to internal addresses), so a guard that failed would
reach nothing. The cases are in tests/safety/netns_cases.py, which refuses to run anywhere else.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# What an attacker's DNS would answer, as the namespace's /etc/hosts.
HOSTS = """\
127.0.0.1 localhost
::1 localhost
10.1.2.3 internal.test
169.254.169.254 metadata.test
fd00::1 ula.test
127.0.0.2 canary.test
"""


def test_internal_targets_are_refused_end_to_end_in_a_network_namespace(tmp_path):
    hosts = tmp_path / "hosts"
    hosts.write_text(HOSTS)
    inner = (f"ip link set lo up && mount --bind {hosts} /etc/hosts && exec {sys.executable} -m pytest -q "
             f"-p no:cacheprovider --basetemp {tmp_path / 'inner'} tests/safety/netns_cases.py")
    env = {**os.environ, "DOCSPASTA_NETNS": "1"}
    env.pop("DATABASE_URL", None)  # the namespace cannot reach the shared servers: embedded ones
    env.pop("REDIS_URL", None)
    run = subprocess.run(["unshare", "--net", "--mount", "sh", "-c", inner], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=600)
    output = run.stdout[-6000:] + run.stderr[-3000:]
    assert run.returncode == 0, output
    passed = re.search(r"(\d+) passed", run.stdout)
    assert passed and int(passed.group(1)) >= 16 and "skipped" not in run.stdout, output
